//! How hard a source client tries before it says `Unavailable`, and the retry step the four
//! clients share: what they count ([`Counters`]), how a failed attempt is classified
//! ([`Retryable`]), and the wait — or the giving up — that follows ([`Retrier::back_off`]).
//! Each client keeps its own failure type (its error texts differ) and its own stats type
//! (their fields differ); the mechanism between them lives here once.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use access_sync_kisi::RequestBudget;
use rand::Rng;
use tokio::time::Instant;

/// Retries of one request (429, 5xx, timeouts, broken connections), bounded by attempts and
/// by time. Past either bound the request fails as `SourceError::Unavailable`.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time (with jitter).
    pub base_delay: Duration,
    /// Longest single backoff (a `Retry-After` may ask for more; the deadline still holds).
    pub max_delay: Duration,
    /// Wait after a 429 without `Retry-After`.
    pub rate_limit_floor: Duration,
    /// Total time for one request, retries included: no retry is started whose wait would
    /// end past it (so a `Retry-After` longer than what is left ends the request at once).
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    /// 6 attempts, 0.5 s doubling to 8 s, 2 s after a bare 429, 60 s in all.
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            rate_limit_floor: Duration::from_secs(2),
            deadline: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`: exponential with "equal jitter" (half fixed,
    /// half random), at least `Retry-After` (or the floor) after a 429.
    pub(crate) fn delay(
        &self,
        attempt: u32,
        rate_limited: bool,
        retry_after: Option<Duration>,
    ) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
        let d = half + Duration::from_millis(jitter);
        match (rate_limited, retry_after) {
            (true, Some(ra)) => d.max(ra),
            (true, None) => d.max(self.rate_limit_floor),
            // A 503 may carry Retry-After too; honour it.
            (false, Some(ra)) => d.max(ra),
            (false, None) => d,
        }
    }

    /// The wait after failed attempt `attempt` (1-based) of a request that has run for
    /// `elapsed`, or `None` to give up: the attempts are spent, or the wait would end past
    /// [`RetryPolicy::deadline`].
    pub(crate) fn next_delay(
        &self,
        attempt: u32,
        trouble: Trouble,
        hint: Option<Duration>,
        elapsed: Duration,
    ) -> Option<Duration> {
        let delay = self.delay(attempt, trouble == Trouble::Throttled, hint);
        (attempt < self.max_attempts && elapsed + delay <= self.deadline).then_some(delay)
    }
}

/// What kind of retryable failure an attempt had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trouble {
    /// The platform said "too many requests": the whole budget pauses.
    Throttled,
    /// A 5xx, or a 200 the client cannot accept (a listing that moved under it).
    Server,
    /// A timeout or a broken connection.
    Transport,
}

/// A client's failed attempt, as the retry step sees it; its `Display` is the reason given
/// when the request is abandoned.
pub(crate) trait Retryable: fmt::Display {
    /// Its kind, and the wait the platform asked for (`Retry-After` or the like), if any.
    fn classify(&self) -> (Trouble, Option<Duration>);
}

/// One count, bumped from any task.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub(crate) fn bump(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// The count so far.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// What every client counts; each `stats()` reports them under its own field names, beside
/// the counts only it has (tokens, refreshes).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Requests sent (first attempts, retries, resends).
    pub(crate) requests: Counter,
    /// Pages (or root fields) read.
    pub(crate) pages: Counter,
    /// Throttled answers.
    pub(crate) throttled: Counter,
    /// [`Trouble::Server`] failures.
    pub(crate) server_errors: Counter,
    /// [`Trouble::Transport`] failures.
    pub(crate) transport_errors: Counter,
    /// Answers refusing the credentials.
    pub(crate) unauthorized: Counter,
}

impl Counters {
    /// Counts one failed attempt of kind `trouble`.
    pub(crate) fn failed(&self, trouble: Trouble) {
        match trouble {
            Trouble::Throttled => self.throttled.bump(),
            Trouble::Server => self.server_errors.bump(),
            Trouble::Transport => self.transport_errors.bump(),
        }
    }
}

/// The retry step of one client: its policy, its counts, the budgets a throttled answer
/// pauses, and its name for the logs.
pub(crate) struct Retrier<'a> {
    /// The bounds and backoff.
    pub(crate) policy: &'a RetryPolicy,
    /// Where failures are counted.
    pub(crate) counters: &'a Counters,
    /// Paused for the wait after a throttled answer (everyone drawing on them waits, not only
    /// this request).
    pub(crate) budgets: &'a [Arc<dyn RequestBudget>],
    /// The platform, as the logs name it ("TeamUp").
    pub(crate) client: &'static str,
}

impl Retrier<'_> {
    /// After failed attempt `attempt` (1-based) of the request `what` begun at `started`:
    /// counts the failure, then either waits before the next attempt or gives up with the
    /// reason to report as `Unavailable` (`"<what>: <failure> after <n> attempts"`).
    pub(crate) async fn back_off(
        &self,
        failure: &impl Retryable,
        attempt: u32,
        started: Instant,
        what: &str,
    ) -> Result<(), String> {
        let (trouble, hint) = failure.classify();
        self.counters.failed(trouble);
        let Some(delay) = self
            .policy
            .next_delay(attempt, trouble, hint, started.elapsed())
        else {
            return Err(format!("{what}: {failure} after {attempt} attempts"));
        };
        if trouble == Trouble::Throttled {
            for b in self.budgets {
                b.rate_limited(delay);
            }
        }
        tracing::debug!(what, attempt, %failure, delay_ms = delay.as_millis() as u64, "retrying {} request", self.client);
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_a_floor_and_backoff_grows_to_its_cap() {
        let p = RetryPolicy::default();
        assert!(p.delay(1, true, Some(Duration::from_secs(7))) >= Duration::from_secs(7));
        assert!(p.delay(1, true, None) >= p.rate_limit_floor);
        for attempt in 1..20 {
            let d = p.delay(attempt, false, None);
            assert!(d <= p.max_delay, "{d:?}");
        }
        assert!(p.delay(5, false, None) >= Duration::from_secs(4));
    }

    #[test]
    fn the_next_delay_stops_at_the_last_attempt_and_at_the_deadline() {
        let p = RetryPolicy::default();
        let none = Duration::ZERO;
        assert!(p.next_delay(1, Trouble::Server, None, none).is_some());
        assert!(p.next_delay(5, Trouble::Transport, None, none).is_some());
        assert_eq!(p.next_delay(6, Trouble::Server, None, none), None);
        // A Retry-After longer than what is left ends the request at once.
        let ra = Some(Duration::from_secs(30));
        assert_eq!(
            p.next_delay(1, Trouble::Throttled, ra, Duration::from_secs(31)),
            None
        );
        assert_eq!(
            p.next_delay(1, Trouble::Throttled, ra, Duration::from_secs(29)),
            Some(Duration::from_secs(30))
        );
    }

    struct Failed(Trouble, Option<Duration>);

    impl fmt::Display for Failed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }

    impl Retryable for Failed {
        fn classify(&self) -> (Trouble, Option<Duration>) {
            (self.0, self.1)
        }
    }

    /// Records the pauses asked of it.
    #[derive(Debug, Default)]
    struct Pauses(std::sync::Mutex<Vec<Duration>>);

    impl RequestBudget for Pauses {
        fn acquire(&self) -> access_sync_kisi::BudgetFuture<'_> {
            Box::pin(async { Ok(()) })
        }

        fn rate_limited(&self, pause: Duration) {
            self.0.lock().unwrap().push(pause);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_back_off_counts_the_failure_pauses_the_budgets_when_throttled_and_gives_up() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let counters = Counters::default();
        let pauses = Arc::new(Pauses::default());
        let budgets: Vec<Arc<dyn RequestBudget>> = vec![pauses.clone()];
        let r = Retrier {
            policy: &policy,
            counters: &counters,
            budgets: &budgets,
            client: "Test",
        };
        let started = Instant::now();
        let ra = Some(Duration::from_secs(5));
        r.back_off(&Failed(Trouble::Throttled, ra), 1, started, "x")
            .await
            .unwrap();
        assert!(started.elapsed() >= Duration::from_secs(5));
        assert_eq!(pauses.0.lock().unwrap().len(), 1);
        r.back_off(&Failed(Trouble::Server, None), 2, started, "x")
            .await
            .unwrap();
        assert_eq!(pauses.0.lock().unwrap().len(), 1, "only a throttle pauses");
        let e = r
            .back_off(&Failed(Trouble::Transport, None), 3, started, "members")
            .await
            .unwrap_err();
        assert_eq!(e, "members: Transport after 3 attempts");
        assert_eq!(
            (
                counters.throttled.get(),
                counters.server_errors.get(),
                counters.transport_errors.get(),
                counters.requests.get(),
            ),
            (1, 1, 1, 0)
        );
    }
}
