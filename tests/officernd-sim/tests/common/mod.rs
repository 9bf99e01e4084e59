//! Helpers shared by the simulator's HTTP tests: start a simulator on a free loopback port,
//! fetch a token the way a client does, and call the API.

#![allow(dead_code)]

use officernd_sim::{Fixture, Sim, SimConfig, SimHandle};
use reqwest::StatusCode;
use serde_json::Value;

pub const CLIENT_ID: &str = "sim-client";
pub const SECRET: &str = "sim-secret";
pub const SLUG: &str = "sim-coworking";

/// One HTTP client for every test (building one loads the TLS roots, which is slow); it keeps
/// no idle connections, since each test runs its own runtime and server.
pub fn http() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap()
        })
        .clone()
}

pub fn small_org() -> Fixture {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/small-org.json"
    ))
    .unwrap();
    Fixture::from_json(&text).unwrap()
}

/// A simulator seeded with `fixture`, no token limit unless `config` says otherwise.
pub async fn start_with(config: SimConfig, fixture: Option<&Fixture>) -> SimHandle {
    let sim = Sim::new(config);
    if let Some(f) = fixture {
        sim.load_fixture(f).unwrap();
    }
    officernd_sim::spawn_sim(sim).await.unwrap()
}

pub async fn start(fixture: Option<&Fixture>) -> SimHandle {
    start_with(
        SimConfig {
            token_limit_per_min: 0,
            ..SimConfig::default()
        },
        fixture,
    )
    .await
}

pub struct Reply {
    pub status: StatusCode,
    pub retry_after: Option<String>,
    pub body: Value,
}

pub async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    Reply {
        status,
        retry_after,
        body,
    }
}

/// `POST /oauth/token` with a form body.
pub async fn token_request(sim: &SimHandle, form: &[(&str, &str)]) -> Reply {
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(' ', "+")))
        .collect::<Vec<_>>()
        .join("&");
    let resp = http()
        .post(sim.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    reply(resp).await
}

/// A token with every scope the default application has.
pub async fn token(sim: &SimHandle) -> String {
    token_with(sim, &officernd_sim::ALL_SCOPES.join(" ")).await
}

pub async fn token_with(sim: &SimHandle, scope: &str) -> String {
    let r = token_request(
        sim,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["access_token"].as_str().unwrap().to_owned()
}

/// `GET <api base><path>` with a bearer token.
pub async fn get(sim: &SimHandle, token: &str, path: &str) -> Reply {
    let url = format!("{}/api/v2/organizations/{SLUG}{path}", sim.base_url);
    let resp = http().get(url).bearer_auth(token).send().await.unwrap();
    reply(resp).await
}

/// Calls the admin API.
pub async fn admin(
    sim: &SimHandle,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let mut req = http().request(method, format!("{}/__admin{path}", sim.base_url));
    if let Some(b) = body {
        req = req.json(&b);
    }
    reply(req.send().await.unwrap()).await
}

/// Follows `cursorNext` from `first_path` and returns every record's `_id` and the pages.
pub async fn scan(sim: &SimHandle, token: &str, first_path: &str) -> (Vec<String>, Vec<Value>) {
    let mut ids = Vec::new();
    let mut pages = Vec::new();
    let sep = if first_path.contains('?') { '&' } else { '?' };
    let mut path = first_path.to_owned();
    loop {
        let r = get(sim, token, &path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        for rec in r.body["results"].as_array().unwrap() {
            ids.push(rec["_id"].as_str().unwrap().to_owned());
        }
        let next = r
            .body
            .get("cursorNext")
            .and_then(Value::as_str)
            .map(str::to_owned);
        pages.push(r.body);
        match next {
            Some(c) => path = format!("{first_path}{sep}$cursorNext={c}"),
            None => return (ids, pages),
        }
        assert!(pages.len() < 10_000, "paging does not end");
    }
}
