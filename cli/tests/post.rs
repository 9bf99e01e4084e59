//! `access-sync post`: the built binary signs a JSON Lines file as the canonical route checks it
//! (`access_sync_platforms::canonical::verify`, the function ingest runs), posts it unchanged,
//! and exits 0 on 2xx, 1 on a refusal, 2 on bad usage.

use access_sync_platforms::canonical::{CANONICAL_HEADER, verify};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use std::process::Command;
use std::sync::{Arc, Mutex};

const SECRET: &str = "whsec_cli_test";

/// A receiver checking signatures with `secret`; answers 202 or 401 and keeps what it got.
fn receiver(secret: &'static str) -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let kept = got.clone();
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let kept = kept.clone();
            async move {
                let header = headers.get(CANONICAL_HEADER).and_then(|v| v.to_str().ok());
                match verify(secret.as_bytes(), header, &body, chrono::Utc::now()) {
                    Ok(_) => {
                        kept.lock().unwrap().push(body.to_vec());
                        (StatusCode::ACCEPTED, "{\"accepted\":1}".to_string())
                    }
                    Err(e) => (StatusCode::UNAUTHORIZED, format!("{{\"error\":\"{e}\"}}")),
                }
            }
        }),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (url, got)
}

fn post(url: &str, secret_var: Option<&str>, file: &std::path::Path) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_access-sync"));
    cmd.args([
        "post",
        "--url",
        url,
        "--secret-env",
        "CANONICAL_SECRET_FOR_TEST",
    ])
    .arg(file)
    .env_remove("CANONICAL_SECRET_FOR_TEST");
    if let Some(s) = secret_var {
        cmd.env("CANONICAL_SECRET_FOR_TEST", s);
    }
    cmd.output().unwrap()
}

fn events_file() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/demo-day/events.jsonl")
}

#[test]
fn a_file_is_signed_as_ingest_checks_and_posted_unchanged() {
    let (url, got) = receiver(SECRET);
    let out = post(&url, Some(SECRET), &events_file());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("202 "), "{stdout}");
    assert_eq!(
        got.lock().unwrap().as_slice(),
        [std::fs::read(events_file()).unwrap()]
    );
}

#[test]
fn a_refusal_exits_1_and_a_missing_secret_exits_2_without_posting() {
    let (url, got) = receiver(SECRET);
    let out = post(&url, Some("not-the-secret"), &events_file());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("401 "));
    let out = post(&url, None, &events_file());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CANONICAL_SECRET_FOR_TEST"));
    assert!(got.lock().unwrap().is_empty());
    // The secret never reaches the output.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("not-the-secret"));
}
