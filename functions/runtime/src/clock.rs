//! Where handlers get `now` from.
//!
//! In AWS it is the system clock. A local stack (moto, the Kisi simulator, `cargo lambda
//! watch`) can move time instead: set `ACCESS_SYNC_CLOCK_URL` to a URL whose `GET` answers
//! `{"now":"2026-12-07T10:00:00Z"}` (RFC 3339), and every invocation asks it. That is how a
//! demo plays a day in minutes and how end-to-end tests fire edges without waiting. Rules never
//! read a clock; only handlers do, through [`Clock::now`].

use access_sync_rules::Instant;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::sync::Mutex;
use std::time::Duration;

/// A source of the current instant.
#[derive(Debug)]
pub enum Clock {
    /// The machine's clock (production).
    System,
    /// `GET url` answers `{"now": RFC 3339}` (a local stack's test clock).
    Remote {
        /// The client (short timeouts).
        http: reqwest::Client,
        /// The URL asked.
        url: String,
    },
    /// A fixed instant, moved by [`Clock::set`] (handler tests, replays).
    Fixed(Mutex<Instant>),
}

/// The clock could not say what time it is (only a remote clock can fail): retry later.
#[derive(Debug, thiserror::Error)]
#[error("the clock at {url} failed: {reason}")]
pub struct ClockError {
    /// The clock's URL.
    pub url: String,
    /// What went wrong.
    pub reason: String,
}

#[derive(Deserialize)]
struct Now {
    now: String,
}

impl Clock {
    /// The system clock, or a remote clock when `url` is set.
    ///
    /// # Errors
    /// A message naming `ACCESS_SYNC_CLOCK_URL` when the URL is not http(s).
    pub fn new(url: Option<&str>) -> Result<Clock, String> {
        let Some(url) = url else {
            return Ok(Clock::System);
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "ACCESS_SYNC_CLOCK_URL={url:?} must be an http(s) URL answering {{\"now\":\"<RFC 3339>\"}}"
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| format!("cannot build the clock's HTTP client: {e}"))?;
        Ok(Clock::Remote {
            http,
            url: url.to_string(),
        })
    }

    /// A clock standing still at `t`.
    pub fn fixed(t: Instant) -> Clock {
        Clock::Fixed(Mutex::new(t))
    }

    /// Moves a fixed clock to `t` (other clocks ignore it).
    pub fn set(&self, t: Instant) {
        if let Clock::Fixed(m) = self {
            *m.lock().unwrap_or_else(|e| e.into_inner()) = t;
        }
    }

    /// The current instant.
    ///
    /// # Errors
    /// A remote clock that does not answer, or answers something other than `{"now": RFC 3339}`.
    pub async fn now(&self) -> Result<Instant, ClockError> {
        match self {
            Clock::System => Ok(Utc::now()),
            Clock::Fixed(m) => Ok(*m.lock().unwrap_or_else(|e| e.into_inner())),
            Clock::Remote { http, url } => {
                let fail = |reason: String| ClockError {
                    url: url.clone(),
                    reason,
                };
                let answer = http
                    .get(url)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .map_err(|e| fail(e.to_string()))?;
                let now: Now = answer.json().await.map_err(|e| fail(e.to_string()))?;
                DateTime::parse_from_rfc3339(&now.now)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| fail(format!("{:?} is not RFC 3339: {e}", now.now)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-shot HTTP server answering `body` once; returns its URL.
    async fn serve_once(body: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/now", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(reply.as_bytes()).await;
        });
        url
    }

    #[tokio::test]
    async fn a_remote_clock_reads_now_from_its_url() {
        let url = serve_once(r#"{"now":"2026-12-07T10:00:00+01:00"}"#).await;
        let clock = Clock::new(Some(&url)).unwrap();
        let want = DateTime::parse_from_rfc3339("2026-12-07T09:00:00Z").unwrap();
        assert_eq!(clock.now().await.unwrap(), want);
    }

    #[tokio::test]
    async fn a_remote_clock_that_answers_nonsense_is_an_error_naming_its_url() {
        let url = serve_once(r#"{"now":"tea time"}"#).await;
        let err = Clock::new(Some(&url)).unwrap().now().await.unwrap_err();
        assert!(err.to_string().contains(&url), "{err}");
    }

    #[tokio::test]
    async fn a_fixed_clock_moves_only_when_set_and_no_url_means_the_system_clock() {
        let t = DateTime::parse_from_rfc3339("2026-12-07T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::fixed(t);
        assert_eq!(clock.now().await.unwrap(), t);
        clock.set(t + chrono::Duration::hours(1));
        assert_eq!(clock.now().await.unwrap(), t + chrono::Duration::hours(1));
        assert!(matches!(Clock::new(None), Ok(Clock::System)));
        assert!(Clock::new(Some("localhost:9")).is_err());
    }
}
