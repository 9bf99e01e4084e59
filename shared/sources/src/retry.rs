//! How hard a source client tries before it says `Unavailable`.

use std::time::Duration;

use rand::Rng;

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
}
