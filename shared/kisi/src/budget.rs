//! Request budgets: what keeps access-sync under Kisi's limit of 5 requests per second per user.
//!
//! Kisi counts requests per *user* (the API key's owner), across every process using that key,
//! and answers 429 beyond 5/s. The client asks a [`RequestBudget`] before every HTTP attempt
//! (retries included), so the policy is swappable:
//!
//! - [`TokenBucket`] (implemented): an in-process bucket. [`TokenBucket::kisi`] spaces requests
//!   about 206 ms apart (5/s less a 3 % margin, burst 1), so even a strict one-second sliding
//!   window on Kisi's side never sees a sixth request.
//! - **Production plan**: the Kisi-writing Lambda runs with *reserved concurrency 1*, so one
//!   process at a time holds the key, and that process uses [`TokenBucket::kisi`]. Together they
//!   keep the whole deployment under 5/s without shared state. Read-only tools (the CLI) are
//!   run by hand and rarely.
//! - **Later, if writers must run concurrently**: a DynamoDB-backed budget (a per-second counter
//!   item updated with a conditional `ADD`, or a token item with a lease) implements this trait
//!   and is passed with [`crate::KisiClient::with_budget`]; nothing else changes.
//!
//! When Kisi answers 429 anyway (another tool used the key), the client calls
//! [`RequestBudget::rate_limited`] so every task sharing the budget pauses, not just the one
//! that was refused.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::KisiError;

/// A boxed, sendable future, so the trait stays object-safe (`Arc<dyn RequestBudget>`).
pub type BudgetFuture<'a> = Pin<Box<dyn Future<Output = Result<(), KisiError>> + Send + 'a>>;

/// Permission to send requests to Kisi.
pub trait RequestBudget: Send + Sync + fmt::Debug {
    /// Waits until one more request may be sent, and takes it from the budget.
    ///
    /// # Errors
    /// A shared budget that cannot be reached returns an error (the request is not sent); the
    /// in-process bucket never fails.
    fn acquire(&self) -> BudgetFuture<'_>;

    /// Kisi answered 429: pause everyone drawing on this budget for at least `pause`.
    fn rate_limited(&self, pause: Duration);
}

/// A budget that never waits: for tests of the simulator's own limit and for one-off tools.
#[derive(Debug, Default, Clone, Copy)]
pub struct Unlimited;

impl RequestBudget for Unlimited {
    fn acquire(&self) -> BudgetFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    fn rate_limited(&self, _pause: Duration) {}
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    last: Instant,
    paused_until: Option<Instant>,
}

/// An in-process token bucket: `rate` tokens per second, at most `burst` saved up.
///
/// Waiters are served in arrival order: the turnstile is a fair `tokio` mutex held while a
/// waiter sleeps for its token, so concurrent tasks cannot starve each other.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<BucketState>,
    turnstile: tokio::sync::Mutex<()>,
}

/// Kisi's published limit per user.
pub const KISI_REQUESTS_PER_SECOND: f64 = 5.0;

impl TokenBucket {
    /// A bucket of `rate` requests per second with `burst` requests saved up at most.
    ///
    /// # Errors
    /// `Config` when `rate` is not positive or `burst` is below 1.
    pub fn new(rate: f64, burst: u32) -> Result<Self, KisiError> {
        if !(rate.is_finite() && rate > 0.0) || burst < 1 {
            return Err(KisiError::Config(format!(
                "a token bucket needs a positive rate and a burst of at least 1 (got {rate}, {burst})"
            )));
        }
        Ok(Self {
            rate,
            burst: f64::from(burst),
            state: Mutex::new(BucketState {
                tokens: f64::from(burst),
                last: Instant::now(),
                paused_until: None,
            }),
            turnstile: tokio::sync::Mutex::new(()),
        })
    }

    /// The budget for one process using a Kisi key: 97 % of 5/s, burst 1. A burst above 1
    /// would let 5 + 5 requests into one second, which Kisi's sliding window refuses; the 3 %
    /// margin absorbs network jitter between our send time and Kisi's arrival time.
    pub fn kisi() -> Self {
        Self {
            rate: KISI_REQUESTS_PER_SECOND * 0.97,
            burst: 1.0,
            state: Mutex::new(BucketState {
                tokens: 1.0,
                last: Instant::now(),
                paused_until: None,
            }),
            turnstile: tokio::sync::Mutex::new(()),
        }
    }

    /// Takes a token if one is there; otherwise says how long to wait.
    fn try_take(&self) -> Option<Duration> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some(until) = s.paused_until {
            if now < until {
                return Some(until - now);
            }
            s.paused_until = None;
        }
        let elapsed = now.saturating_duration_since(s.last).as_secs_f64();
        s.tokens = (s.tokens + elapsed * self.rate).min(self.burst);
        s.last = now;
        if s.tokens >= 1.0 {
            s.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - s.tokens) / self.rate))
        }
    }
}

impl RequestBudget for TokenBucket {
    fn acquire(&self) -> BudgetFuture<'_> {
        Box::pin(async move {
            let _turn = self.turnstile.lock().await;
            while let Some(wait) = self.try_take() {
                tokio::time::sleep(wait).await;
            }
            Ok(())
        })
    }

    fn rate_limited(&self, pause: Duration) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let until = Instant::now() + pause;
        s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
        s.tokens = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn kisi_bucket_never_lets_six_requests_into_one_second() {
        let bucket = TokenBucket::kisi();
        let start = Instant::now();
        let mut sent = Vec::new();
        for _ in 0..11 {
            bucket.acquire().await.unwrap();
            sent.push(Instant::now() - start);
        }
        for w in sent.windows(6) {
            assert!(
                w[5] - w[0] >= Duration::from_secs(1),
                "six requests within {:?}",
                w[5] - w[0]
            );
        }
        // ...and it is not needlessly slow: 11 requests well under 2.6 s (floor 2.0 s at 5/s; slack
        // for a loaded CI machine).
        assert!(sent[10] < Duration::from_millis(2600), "{:?}", sent[10]);
    }

    #[tokio::test]
    async fn a_429_pauses_the_bucket() {
        let bucket = TokenBucket::kisi();
        bucket.acquire().await.unwrap();
        let t0 = Instant::now();
        bucket.rate_limited(Duration::from_millis(600));
        bucket.acquire().await.unwrap();
        assert!(Instant::now() - t0 >= Duration::from_millis(600));
    }

    #[test]
    fn nonsense_rates_are_refused() {
        assert!(TokenBucket::new(0.0, 1).is_err());
        assert!(TokenBucket::new(5.0, 0).is_err());
        assert!(TokenBucket::new(f64::NAN, 1).is_err());
    }
}
