//! # access-sync console
//!
//! `access-sync console`: the operator's web console, served on 127.0.0.1 only, over the same
//! live system and with the same credentials as the CLI (`App::from_env`: the table, the
//! scheduler, the Kisi key in Secrets Manager; the local stack's settings locally).
//!
//! Pages are rendered on the server ([`html`]), charts are inline SVG ([`svg`]), and the only
//! JavaScript fills the mapping text area from a chosen file. Pages: Overview, People (search
//! over [`people`] → [`person`]), Mappings ([`mappings`]), Activity ([`feed`]) and Problems
//! ([`pages`]). What they show comes from the operator crate (`access_sync_operator`), as the
//! CLI's does.
//!
//! **Who may use it.** Nothing listens beyond loopback. Every route needs the session cookie
//! that `/login?token=…` sets; the token is 256 random bits made for this run and printed (and
//! opened in the browser) by the command, so another local user or a web page cannot use the
//! console. Requests whose `Host` is not this server's loopback address are refused (DNS
//! rebinding). Every action is a POST carrying a second per-run token (CSRF) and, when the
//! browser sends one, a matching `Origin`. Tokens are compared in constant time.
//!
//! **Bounds.** Bodies are at most 512 KiB, each request has 30 s, at most 16 run at once, and
//! every list a page shows has a limit.

pub mod cli;
pub mod feed;
pub mod html;
pub mod mappings;
pub mod pages;
pub mod people;
pub mod person;
pub mod svg;

use access_sync_operator::AwsOperator;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rand::RngCore;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::sync::{Semaphore, oneshot};

/// The session cookie's name.
pub const COOKIE: &str = "access_sync_console";
/// Largest request body.
pub const MAX_BODY: usize = 512 * 1024;
/// Time a request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests served at once.
pub const CONCURRENCY: usize = 16;

/// How to serve.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The port on 127.0.0.1 (0: any free one).
    pub port: u16,
}

/// A per-run secret, compared in constant time.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// 256 random bits, hex.
    pub fn random() -> Token {
        let mut b = [0u8; 32];
        rand::rng().fill_bytes(&mut b);
        Token(hex::encode(b))
    }

    /// The value (for URLs, cookies and forms).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time equality with what a request carried.
    pub fn matches(&self, other: &str) -> bool {
        self.0.len() == other.len() && bool::from(self.0.as_bytes().ct_eq(other.as_bytes()))
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// A value read now and then, with when it was read.
pub(crate) type Cached<T> = Mutex<Option<(std::time::Instant, Arc<T>)>>;

/// What every handler shares.
pub struct Console {
    /// The live system, as the CLI sees it.
    pub ops: AwsOperator,
    /// The token of `/login`.
    pub login: Token,
    /// The session cookie's value.
    pub session: Token,
    /// The CSRF token of forms.
    pub csrf: Token,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    /// The `Host` values accepted.
    hosts: [String; 2],
    /// Kisi's group names, read at most once a minute.
    group_names: Cached<BTreeMap<u64, String>>,
    /// The people index of the search, kept current in the background ([`people`]).
    pub(crate) people: Cached<people::PeopleIndex>,
    /// Grants and revokes per hour over the last day, read at most once a minute.
    pub(crate) hours: Cached<Vec<svg::HourCount>>,
}

impl Console {
    /// Kisi's group names by id (empty when Kisi cannot be asked; cached a minute).
    pub async fn group_names(&self) -> Arc<BTreeMap<u64, String>> {
        if let Ok(g) = self.group_names.lock()
            && let Some((at, names)) = g.as_ref()
            && at.elapsed() < Duration::from_secs(60)
        {
            return names.clone();
        }
        let names: Arc<BTreeMap<u64, String>> =
            match self.ops.engine().kisi().client().list_groups().await {
                Ok(groups) => Arc::new(groups.into_iter().map(|g| (g.id.0, g.name)).collect()),
                Err(e) => {
                    tracing::warn!(error = %e, "console: Kisi groups not read");
                    return Arc::new(BTreeMap::new());
                }
            };
        if let Ok(mut g) = self.group_names.lock() {
            *g = Some((std::time::Instant::now(), names.clone()));
        }
        names
    }
}

/// A running console.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The URL to open (logs the browser in).
    pub login_url: String,
    /// Shared state (tests read the tokens).
    pub console: Arc<Console>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    refresh: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops serving and waits for the server to end.
    pub async fn stop(mut self) {
        self.refresh.abort();
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Serves until the server ends (it does not on its own: for Ctrl-C, select on it).
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }
}

/// Binds 127.0.0.1 and serves the console over `app`.
///
/// # Errors
/// The port is taken.
pub async fn start(ops: AwsOperator, opts: &Options) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port)).await?;
    let addr = listener.local_addr()?;
    let origin = format!("http://127.0.0.1:{}", addr.port());
    let console = Arc::new(Console {
        ops,
        login: Token::random(),
        session: Token::random(),
        csrf: Token::random(),
        hosts: [
            format!("127.0.0.1:{}", addr.port()),
            format!("localhost:{}", addr.port()),
        ],
        origin: origin.clone(),
        group_names: Mutex::new(None),
        people: Mutex::new(None),
        hours: Mutex::new(None),
    });
    let login_url = format!("{origin}/login?token={}", console.login.expose());
    // The people search reads an index kept current in the background from what the store
    // says changed, so no search waits for a read.
    let refresh = tokio::spawn(people::keep_current(console.clone()));
    let router = router(console.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
        if let Err(e) = server.await {
            tracing::error!(error = %e, "console: server ended");
        }
    });
    Ok(Running {
        addr,
        login_url,
        console,
        stop: Some(stop),
        task,
        refresh,
    })
}

/// Every route, with the guards around them (outermost first: bounds, host, session).
pub fn router(console: Arc<Console>) -> Router {
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    Router::new()
        .route("/", get(pages::overview))
        .route("/people", get(pages::people))
        .route("/people/{email}", get(pages::person))
        .route("/people/converge", post(pages::converge))
        .route("/people/include", post(pages::include))
        .route("/people/exclude", post(pages::exclude))
        .route("/mappings", get(pages::mappings))
        .route("/mappings/preview", post(pages::mappings_preview))
        .route("/mappings/apply", post(pages::mappings_apply))
        .route("/activity", get(pages::activity))
        .route("/problems", get(pages::problems))
        .route("/problems/release", post(pages::release))
        .route("/problems/discard", post(pages::discard))
        .route("/static/console.css", get(css))
        .route("/static/console.js", get(js))
        .route_layer(middleware::from_fn_with_state(console.clone(), session))
        .route("/login", get(login))
        .layer(middleware::from_fn_with_state(console.clone(), host))
        .layer(middleware::from_fn(move |req, next| {
            bounded(limit.clone(), req, next)
        }))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(console)
}

fn security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

async fn bounded(limit: Arc<Semaphore>, req: Request, next: Next) -> Response {
    let Ok(_permit) = limit.try_acquire_owned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "busy: try again").into_response();
    };
    let mut resp = match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(r) => r,
        Err(_) => (
            StatusCode::GATEWAY_TIMEOUT,
            "the request took longer than 30 s",
        )
            .into_response(),
    };
    security_headers(resp.headers_mut());
    resp
}

async fn host(State(c): State<Arc<Console>>, req: Request, next: Next) -> Response {
    let ok = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| c.hosts.iter().any(|a| a == h));
    if !ok {
        return (StatusCode::MISDIRECTED_REQUEST, "unknown host").into_response();
    }
    next.run(req).await
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn session(State(c): State<Arc<Console>>, req: Request, next: Next) -> Response {
    let ok = cookie_value(req.headers(), COOKIE).is_some_and(|v| c.session.matches(v));
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            Html(
                "<!doctype html><html lang=\"en\"><title>Log in</title><body><h1>Not logged in</h1>\
<p>Open the address <code>access-sync console</code> printed (it carries this run's token).</p></body></html>",
            ),
        )
            .into_response();
    }
    if req.method() == axum::http::Method::POST {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok());
        if let Some(o) = origin
            && o != c.origin
            && !c.hosts.iter().any(|h| o == format!("http://{h}"))
        {
            return (StatusCode::FORBIDDEN, "cross-origin request refused").into_response();
        }
    }
    next.run(req).await
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    token: Option<String>,
}

async fn login(
    State(c): State<Arc<Console>>,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    if !q.token.as_deref().is_some_and(|t| c.login.matches(t)) {
        return (StatusCode::UNAUTHORIZED, "wrong or missing token").into_response();
    }
    let mut resp = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        c.session.expose()
    )) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../assets/console.css"),
    )
        .into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../assets/console.js"),
    )
        .into_response()
}

/// Checks a form's CSRF token.
pub(crate) fn csrf_ok(c: &Console, token: &str) -> bool {
    c.csrf.matches(token)
}

/// A response body as HTML with a status.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_compared_whole() {
        let a = Token::random();
        let b = Token::random();
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a.expose(), b.expose());
        assert!(a.matches(a.expose()));
        assert!(!a.matches(b.expose()));
        assert!(!a.matches(&a.expose()[..63]));
        assert!(!a.matches(""));
        assert_eq!(format!("{a:?}"), "Token(…)");
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; access_sync_console=abc; b=2"),
        );
        assert_eq!(cookie_value(&h, COOKIE), Some("abc"));
        assert_eq!(cookie_value(&h, "c"), None);
    }
}
