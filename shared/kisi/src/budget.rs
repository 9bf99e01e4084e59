//! Request budgets: what keeps access-sync under Kisi's limit of 5 requests per second per user.
//!
//! Kisi counts requests per *user* (the API key's owner), across every process using that key,
//! and answers 429 beyond 5/s. The client asks a [`RequestBudget`] before every HTTP attempt
//! (retries included), so the policy is swappable:
//!
//! - [`SlidingWindow`] (the default): an in-process sliding log. [`SlidingWindow::kisi`] lets a
//!   request go when fewer than 5 were sent in the last 1.031 s (one second plus a 3 % margin
//!   for network jitter), so a strict one-second sliding window on Kisi's side never sees a
//!   sixth request, while a change of one to five calls after a quiet second goes out at once
//!   instead of being spaced 206 ms apart.
//! - [`TokenBucket`]: an in-process bucket. At 97 % of 5/s with burst 1 it spaces requests
//!   about 206 ms apart (the production default before [`SlidingWindow`]: the same long-run
//!   rate, but a 3-call grant always waited ~0.4 s). Kept for benches that need an arbitrary
//!   steady rate.
//! - **Production plan**: the Kisi-writing Lambda runs with *reserved concurrency 1*, so one
//!   process at a time holds the key, and that process uses [`SlidingWindow::kisi`]. Together they
//!   keep the whole deployment under 5/s without shared state. Read-only tools (the CLI) are
//!   run by hand and rarely.
//! - **Later, if writers must run concurrently**: a DynamoDB-backed budget (a per-second counter
//!   item updated with a conditional `ADD`, or a token item with a lease) implements this trait
//!   and is passed with [`crate::KisiClient::with_budget`]; nothing else changes.
//!
//! When Kisi answers 429 anyway (another tool used the key), the client calls
//! [`RequestBudget::rate_limited`] so every task sharing the budget pauses, not just the one
//! that was refused.

use std::collections::VecDeque;
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

/// A pause after a 429, shared by the in-process budgets.
#[derive(Debug, Default)]
struct Pause(Option<Instant>);

impl Pause {
    /// Extends the pause to at least `pause` from now; the instant it ends.
    fn extend(&mut self, pause: Duration) -> Instant {
        let until = Instant::now() + pause;
        let until = self.0.map_or(until, |p| p.max(until));
        self.0 = Some(until);
        until
    }

    /// How long the pause still lasts at `now`, if it does (an ended pause is forgotten).
    fn remaining(&mut self, now: Instant) -> Option<Duration> {
        match self.0 {
            Some(until) if now < until => Some(until - now),
            _ => {
                self.0 = None;
                None
            }
        }
    }
}

/// Waits in arrival order (the fair `turnstile`) until `try_take` grants a request.
async fn in_turn(
    turnstile: &tokio::sync::Mutex<()>,
    try_take: impl Fn() -> Option<Duration>,
) -> Result<(), KisiError> {
    let _turn = turnstile.lock().await;
    while let Some(wait) = try_take() {
        tokio::time::sleep(wait).await;
    }
    Ok(())
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    last: Instant,
    paused: Pause,
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
                paused: Pause::default(),
            }),
            turnstile: tokio::sync::Mutex::new(()),
        })
    }

    /// Takes a token if one is there; otherwise says how long to wait.
    fn try_take(&self) -> Option<Duration> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some(wait) = s.paused.remaining(now) {
            return Some(wait);
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
        Box::pin(in_turn(&self.turnstile, || self.try_take()))
    }

    fn rate_limited(&self, pause: Duration) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.paused.extend(pause);
        s.tokens = 0.0;
    }
}

#[derive(Debug)]
struct WindowState {
    /// Send instants of the last `limit` requests, oldest first.
    sent: VecDeque<Instant>,
    paused: Pause,
}

/// An in-process sliding log: at most `limit` requests in any `window`.
///
/// Unlike a token bucket with burst 1, requests after a quiet spell go out back to back (up to
/// `limit`), and any `limit + 1` consecutive requests still span at least `window`. Waiters are
/// served in arrival order through a fair `tokio` mutex, as in [`TokenBucket`].
#[derive(Debug)]
pub struct SlidingWindow {
    limit: usize,
    window: Duration,
    state: Mutex<WindowState>,
    turnstile: tokio::sync::Mutex<()>,
}

impl SlidingWindow {
    /// At most `limit` requests in any `window`.
    ///
    /// # Errors
    /// `Config` when `limit` is 0 or `window` is zero.
    pub fn new(limit: usize, window: Duration) -> Result<Self, KisiError> {
        if limit == 0 || window.is_zero() {
            return Err(KisiError::Config(format!(
                "a sliding window needs a limit of at least 1 and a positive window (got {limit} in {window:?})"
            )));
        }
        Ok(Self {
            limit,
            window,
            state: Mutex::new(WindowState {
                sent: VecDeque::with_capacity(limit),
                paused: Pause::default(),
            }),
            turnstile: tokio::sync::Mutex::new(()),
        })
    }

    /// The budget for one process using a Kisi key: 5 requests in any 1.031 s (Kisi's 5 per
    /// second with a 3 % margin for jitter between our send time and Kisi's arrival time).
    pub fn kisi() -> Self {
        Self::new(
            KISI_REQUESTS_PER_SECOND as usize,
            Duration::from_secs_f64(1.0 / 0.97),
        )
        .expect("5 requests per 1.031 s is a valid window")
    }

    /// Records a send if the window has room; otherwise says how long to wait.
    fn try_take(&self) -> Option<Duration> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some(wait) = s.paused.remaining(now) {
            return Some(wait);
        }
        if s.sent.len() >= self.limit {
            // Full: the oldest of the last `limit` sends must have left the window.
            let free_at = s.sent[0] + self.window;
            if now < free_at {
                return Some(free_at - now);
            }
            s.sent.pop_front();
        }
        s.sent.push_back(now);
        None
    }
}

impl RequestBudget for SlidingWindow {
    fn acquire(&self) -> BudgetFuture<'_> {
        Box::pin(in_turn(&self.turnstile, || self.try_take()))
    }

    fn rate_limited(&self, pause: Duration) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let until = s.paused.extend(pause);
        // Kisi counted more than we did (another tool on the key): after the pause, start a
        // fresh window as if `limit` requests had just been sent.
        s.sent.clear();
        s.sent.extend(std::iter::repeat_n(until, self.limit));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `n` requests through `budget` as fast as it allows; the send instants.
    async fn send(budget: &dyn RequestBudget, n: usize) -> Vec<Duration> {
        let start = Instant::now();
        let mut sent = Vec::new();
        for _ in 0..n {
            budget.acquire().await.unwrap();
            sent.push(Instant::now() - start);
        }
        sent
    }

    // These run on tokio's paused clock: sleeps advance virtual time exactly, so the
    // assertions are about the schedule the budget produces, not about this machine's speed.

    #[tokio::test(start_paused = true)]
    async fn sliding_window_never_lets_six_requests_into_one_second() {
        let sent = send(&SlidingWindow::kisi(), 41).await;
        for w in sent.windows(6) {
            assert!(
                w[5] - w[0] >= Duration::from_secs(1),
                "six requests within {:?}",
                w[5] - w[0]
            );
        }
        // Full use of the limit: 41 requests = 8 full windows + 1 (tokio's timer rounds each
        // sleep up to the next millisecond).
        let floor = Duration::from_secs_f64(8.0 / 0.97);
        assert!(
            sent[40] >= floor && sent[40] <= floor + Duration::from_millis(8),
            "{:?}",
            sent[40]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_quiet_second_five_requests_go_at_once() {
        let budget = SlidingWindow::kisi();
        assert_eq!(send(&budget, 5).await, vec![Duration::ZERO; 5]);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        // A new user's grant (3 calls) then waits for nothing.
        assert_eq!(send(&budget, 3).await, vec![Duration::ZERO; 3]);
        // Two more fit; the sixth within a window waits for the first of these to age out.
        let more = send(&budget, 3).await;
        assert_eq!(more[..2], [Duration::ZERO; 2]);
        let window = Duration::from_secs_f64(1.0 / 0.97);
        assert!(
            more[2] >= window && more[2] <= window + Duration::from_millis(1),
            "{:?}",
            more[2]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_the_window_and_starts_it_afresh() {
        let budget = SlidingWindow::kisi();
        send(&budget, 1).await;
        budget.rate_limited(Duration::from_millis(600));
        let sent = send(&budget, 6).await;
        // Nothing before the pause ends; then a full window is assumed used at the pause's end.
        let window = Duration::from_secs_f64(1.0 / 0.97);
        let after = Duration::from_millis(600) + window;
        assert!(sent.iter().all(|t| *t >= after), "{sent:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_tasks_share_one_window() {
        let budget = std::sync::Arc::new(SlidingWindow::kisi());
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let b = budget.clone();
            tasks.push(tokio::spawn(async move {
                let mut at = Vec::new();
                for _ in 0..5 {
                    b.acquire().await.unwrap();
                    at.push(Instant::now() - start);
                }
                at
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all.sort();
        for w in all.windows(6) {
            assert!(w[5] - w[0] >= Duration::from_secs(1), "{all:?}");
        }
    }

    #[test]
    fn nonsense_windows_are_refused() {
        assert!(SlidingWindow::new(0, Duration::from_secs(1)).is_err());
        assert!(SlidingWindow::new(5, Duration::ZERO).is_err());
    }

    #[tokio::test]
    async fn kisi_bucket_never_lets_six_requests_into_one_second() {
        let bucket = TokenBucket::new(KISI_REQUESTS_PER_SECOND * 0.97, 1).unwrap();
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
        let bucket = TokenBucket::new(KISI_REQUESTS_PER_SECOND * 0.97, 1).unwrap();
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
