//! The `officernd-sim` binary: `--generate-members 500 --seed 1 --port 0` serves a generated
//! organisation on a free port and prints where.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;

/// Kills the child when the test ends, pass or fail.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_a_generated_organisation_on_a_free_port() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_officernd-sim"))
            .args(["--generate-members", "500", "--seed", "1", "--port", "0"])
            .args(["--anchor", "2026-03-02T00:00:00Z"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    // "officernd-sim listening on http://127.0.0.1:PORT (token: …, api: …, …)"
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    let body = format!(
        "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={SECRET}&scope=flex.community.members.read"
    );
    let tok: serde_json::Value = http()
        .post(format!("{base}/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tok = tok["access_token"].as_str().unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut url = format!("{base}/api/v2/organizations/{SLUG}/members?$limit=50");
    loop {
        let page: serde_json::Value = http()
            .get(&url)
            .bearer_auth(tok)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for m in page["results"].as_array().unwrap() {
            assert!(seen.insert(m["_id"].as_str().unwrap().to_owned()));
        }
        match page["cursorNext"].as_str() {
            Some(c) => {
                url =
                    format!("{base}/api/v2/organizations/{SLUG}/members?$limit=50&$cursorNext={c}")
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 500);
    // The same seed and anchor give the same organisation as the library function.
    let lib = officernd_sim::generate(500, 1, "2026-03-02T00:00:00Z".parse().unwrap());
    let mut want: Vec<String> = lib.records["members"]
        .iter()
        .map(|m| m["_id"].as_str().unwrap().to_owned())
        .collect();
    let mut got: Vec<String> = seen.into_iter().collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
}
