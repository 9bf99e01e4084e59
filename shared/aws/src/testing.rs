//! The moto test harness: starts a private `moto_server` on a free loopback port, waits until
//! it answers, hands out SDK configuration pointing at it, and kills it on drop.
//!
//! Only compiled with the `testing` feature (this crate's own tests turn it on). Tests share
//! one server per test binary through [`shared`]; each test uses its own table, schedule
//! group, bus and queue names so they run in parallel without seeing each other's state.
//!
//! `moto_server` is looked up in this order: `$MOTO_SERVER`, `PATH`, then
//! `.venv-tools/bin/moto_server` under the workspace root (where CI installs it). If none is
//! found the harness panics with a message saying how to install it: a moto test never passes
//! silently without moto.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running moto server, killed when dropped.
pub struct Moto {
    child: Child,
    // Held open for the server's lifetime: when it closes (drop, or this process exiting for
    // any reason, statics included) the wrapper shell kills moto. See `spawn_guarded`.
    lifeline: Option<ChildStdin>,
    endpoint: String,
}

impl Moto {
    /// Starts a moto server on a free loopback port and waits (up to 30 s) until
    /// `GET /moto-api/` answers.
    ///
    /// # Panics
    /// If `moto_server` cannot be found or does not become ready: tests must fail loudly.
    pub fn start() -> Self {
        Moto::start_on(free_port())
    }

    /// Starts a moto server on `port` (see [`Moto::start`]).
    ///
    /// # Panics
    /// As [`Moto::start`]; also when the port is taken.
    pub fn start_on(port: u16) -> Self {
        let exe = find_moto_server().unwrap_or_else(|| {
            panic!(
                "moto_server not found: set MOTO_SERVER, put it on PATH, or install it with \
                 `python3 -m venv .venv-tools && .venv-tools/bin/pip install \"moto[server]==5.2.1\"` \
                 in the workspace root"
            )
        });
        let mut child = spawn_guarded(&exe, port);
        let lifeline = child.stdin.take();
        let mut moto = Moto {
            child,
            lifeline,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready(port) {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited early with {status}");
            }
            if Instant::now() > deadline {
                drop(moto.lifeline.take());
                panic!("moto_server on port {port} not ready after 30 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// SDK configuration for this server: region us-east-1, static test credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .endpoint_url(&self.endpoint)
            .load()
            .await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Closing the lifeline makes the wrapper kill moto and exit.
        drop(self.lifeline.take());
        let _ = self.child.wait();
    }
}

/// Starts moto under a small `sh` wrapper that kills it when its stdin reaches end of file.
///
/// Why the wrapper: a server shared through a `static` is never dropped, and a test binary that
/// panics or is interrupted must not leave moto running. The kernel closes our end of the pipe
/// whenever this process ends, however it ends; the wrapper notices and kills moto. The
/// wrapper itself exits when moto does, so an early crash is seen by `try_wait`.
///
/// Why single-threaded: `moto_server` always serves with threads, and moto applies a
/// conditional write or transaction without holding a lock across the check and the write, so
/// two concurrent conditional writers can both "win" (seen under load). Real DynamoDB
/// serialises them. The wrapper serves moto's same WSGI application with `threaded=False`,
/// using the Python interpreter `moto_server` itself runs on (so the same moto); the
/// single-threaded server speaks HTTP/1.0, so no kept-alive connection blocks another. If
/// that interpreter cannot import moto, plain `moto_server` is started instead.
///
/// The same wrapper also fixes moto's TransactWriteItems, which deep-copied the whole table per
/// item of every transaction (seconds per call and gigabytes of memory once a table holds a few
/// thousand items): see `moto_app.py`.
fn spawn_guarded(exe: &Path, port: u16) -> Child {
    // fd 3 keeps the pipe: background jobs of a non-interactive shell get /dev/null as stdin.
    let script = r#"exec 3<&0
py=$(head -n 1 "$0" | sed -n 's/^#!//p' | cut -d' ' -f1)
case "$py" in *python*) ;; *) py=python3 ;; esac
[ -x "$py" ] || command -v "$py" >/dev/null 2>&1 || py=python3
if MOTO_PORT="$1" "$py" -c 'import moto.moto_server.werkzeug_app' >/dev/null 2>&1; then
  MOTO_PORT="$1" "$py" -c "$2" "$1" >/dev/null 2>&1 &
else
  "$0" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 &
fi
pid=$!
(read _ <&3; kill "$pid" 2>/dev/null) &
wait "$pid""#;
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(exe)
        .arg(port.to_string())
        .arg(MOTO_APP)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()))
}

/// The Python program the wrapper runs: moto's WSGI app, single-threaded, with the transaction fix.
const MOTO_APP: &str = include_str!("moto_app.py");

/// The one moto server of this test binary, started on first use and stopped when the
/// binary exits (see [`Moto`]'s lifeline).
pub fn shared() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(Moto::start)
}

fn find_moto_server() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MOTO_SERVER") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Some(p);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("moto_server");
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    // CARGO_MANIFEST_DIR is shared/aws; the workspace root is two levels up.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = root.join(".venv-tools/bin/moto_server");
    venv.is_file().then_some(venv)
}

/// A port no one listens on right now (the kernel's choice).
pub fn free_port() -> u16 {
    // Bind port 0, read the port the kernel chose, release it for moto. A race with another
    // process is possible but harmless: moto would fail to bind and we would panic clearly.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("no free port: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("no local address: {e}"))
        .port()
}

fn ready(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf.starts_with(b"HTTP/1.") && &buf[9..12] == b"200")
}

/// Counts DynamoDB requests as they go on the wire, by operation (`PutItem`, `Query`, ...).
///
/// An SDK interceptor's `read_before_transmit` runs once per HTTP request actually sent
/// (SDK retries included), so the count is the real number of round trips, not of calls in
/// our code. The operation is read from the `X-Amz-Target` header of DynamoDB's JSON protocol.
#[derive(Debug, Clone, Default)]
pub struct RoundTrips {
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl RoundTrips {
    /// A DynamoDB client on `sdk` that reports every request to this counter.
    pub fn client(&self, sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::config::Builder::from(sdk)
            .interceptor(self.clone())
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    /// The operations sent since the last [`RoundTrips::take`], in order, and resets.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl aws_sdk_dynamodb::config::Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let op = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("?")
            .to_string();
        self.log.lock().unwrap_or_else(|e| e.into_inner()).push(op);
        Ok(())
    }
}

/// Every edge schedule stored in `group`, by schedule name, read back from its target input
/// (what EventBridge Scheduler would invoke `on_edge` with). moto stores schedules but never
/// fires them: tests and the local stack's scheduler pump read them here to fire them.
///
/// # Errors
/// Scheduler could not be reached. A schedule deleted meanwhile, or one whose input is not an
/// edge, is skipped.
pub async fn stored_edges(
    client: &aws_sdk_scheduler::Client,
    group: &str,
) -> Result<Vec<(String, access_sync_ports::Edge)>, String> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_schedules()
            .group_name(group)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| format!("listing schedules: {e}"))?;
        for s in page.schedules() {
            let name = s.name().unwrap_or_default().to_string();
            let Ok(got) = client
                .get_schedule()
                .group_name(group)
                .name(&name)
                .send()
                .await
            else {
                continue;
            };
            let input = got.target().and_then(|t| t.input()).unwrap_or_default();
            if let Ok(edge) = serde_json::from_str(input) {
                out.push((name, edge));
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}
