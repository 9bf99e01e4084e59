//! What the platform API simulators (`teamup-sim`, `nexudus-sim`, `officernd-sim`,
//! `optix-sim`) share, so each keeps only what its platform does its own way: the HTTP
//! server's start and stop ([`Server`]), the virtual clock ([`Clock`]), counted fault switches
//! ([`take`], [`with_retry_after`]), the rolling request budget ([`Window`]), bad admin input
//! ([`InputError`]), the request-log admin route ([`requests_route`]) and the lock that a
//! panicked test cannot poison ([`lock`]).
//!
//! Each simulator's API, admin API, fault switches and error bodies stay its own: only the
//! plumbing under them is here.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Bad input to a simulator's admin API (or to the methods behind it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(pub String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// Locks a simulator's state. A test thread that panicked while holding the lock would only
/// poison a test server, so the poison is ignored rather than failing every later request.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A simulator's clock: the time a test set, else the wall clock. Stamps, token expiry and
/// webhook times read it, so a test (or the local stack's driver) can run days in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock(Option<DateTime<Utc>>);

impl Clock {
    /// The simulator's now.
    pub fn now(&self) -> DateTime<Utc> {
        self.0.unwrap_or_else(Utc::now)
    }

    /// Sets the clock (`None`: the wall clock again).
    pub fn set(&mut self, now: Option<DateTime<Utc>>) {
        self.0 = now;
    }

    /// The time a test set, if any.
    pub fn fixed(&self) -> Option<DateTime<Utc>> {
        self.0
    }
}

/// Fires a counted fault ("the next N requests …"): `true`, one fewer left, while any are
/// left; the switch turns itself off at zero.
pub fn take(n: &mut u32) -> bool {
    if *n > 0 {
        *n -= 1;
        true
    } else {
        false
    }
}

/// `resp` with `Retry-After: <secs>` when there are seconds to send.
pub fn with_retry_after(mut resp: Response, secs: Option<u64>) -> Response {
    if let Some(s) = secs
        && let Ok(v) = HeaderValue::from_str(&s.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// A rolling-window request budget (one per token or client): the instants of the requests
/// it admitted within the last span.
#[derive(Debug, Clone, Default)]
pub struct Window(VecDeque<Instant>);

impl Window {
    /// Admits a request at `now` if fewer than `limit` were admitted in the `span` before it:
    /// `Ok` with how many more it would admit now, `Err` with the wait until a slot frees.
    /// Only admitted requests count, so a client that backs off gets in.
    ///
    /// # Errors
    /// The budget is spent: the wait until its oldest request leaves the window.
    pub fn admit(&mut self, now: Instant, span: Duration, limit: usize) -> Result<usize, Duration> {
        while self
            .0
            .front()
            .is_some_and(|t| now.duration_since(*t) >= span)
        {
            self.0.pop_front();
        }
        if self.0.len() >= limit {
            let oldest = self.0.front().copied().unwrap_or(now);
            Err(span.saturating_sub(now.duration_since(oldest)))
        } else {
            self.0.push_back(now);
            Ok(limit - self.0.len())
        }
    }

    /// Forgets every admitted request.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// A simulator's log of the API requests it answered, as its admin API lists and clears it.
pub trait RequestLog: Clone + Send + Sync + 'static {
    /// One logged request.
    type Entry: Serialize;

    /// The logged requests, oldest first.
    fn requests(&self) -> Vec<Self::Entry>;

    /// Forgets them (and whatever the simulator counts with them).
    fn clear_requests(&self);
}

/// The admin route over a [`RequestLog`]: `GET` answers the log as JSON, `DELETE` clears it
/// and answers 204.
pub fn requests_route<S: RequestLog>() -> MethodRouter<S> {
    get(|State(sim): State<S>| async move { axum::Json(sim.requests()) }).delete(
        |State(sim): State<S>| async move {
            sim.clear_requests();
            StatusCode::NO_CONTENT
        },
    )
}

/// A simulator's HTTP server, serving on the current tokio runtime. Dropping it without
/// [`Server::stop`] or [`Server::abort`] starts a graceful shutdown and does not wait for it.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Binds `bind` (port 0: a free one) and serves the router `app` builds for the bound
    /// address; returns once the socket is listening, so a first request cannot race the
    /// start.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn start(
        bind: SocketAddr,
        app: impl FnOnce(SocketAddr) -> Router,
    ) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let app = app(addr);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Server {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`, with no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops taking connections, lets open ones finish, and waits for the server to end.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Stops the server at once, without waiting (for a `Drop`).
    pub fn abort(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counted_fault_fires_n_times_then_switches_off() {
        let mut n = 2;
        assert_eq!(
            [take(&mut n), take(&mut n), take(&mut n)],
            [true, true, false]
        );
        assert_eq!(n, 0);
    }

    #[test]
    fn a_window_admits_up_to_its_limit_and_frees_a_slot_after_the_span() {
        let t0 = Instant::now();
        let span = Duration::from_secs(60);
        let mut w = Window::default();
        assert_eq!(w.admit(t0, span, 2), Ok(1));
        assert_eq!(w.admit(t0 + Duration::from_secs(10), span, 2), Ok(0));
        assert_eq!(
            w.admit(t0 + Duration::from_secs(20), span, 2),
            Err(Duration::from_secs(40))
        );
        assert_eq!(w.admit(t0 + span, span, 2), Ok(0));
    }

    #[test]
    fn the_clock_is_the_set_time_until_cleared() {
        let t: DateTime<Utc> = "2026-01-02T03:04:05Z".parse().unwrap_or_default();
        let mut c = Clock::default();
        c.set(Some(t));
        assert_eq!((c.now(), c.fixed()), (t, Some(t)));
        c.set(None);
        assert_eq!(c.fixed(), None);
    }
}
