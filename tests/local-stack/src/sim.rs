//! The Kisi simulator's admin API over HTTP: its clock (the stack's movable clock), faults,
//! seeding, and what it holds and has seen.

use access_sync_rules::Instant;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};

/// A client of `/__admin/`.
#[derive(Debug, Clone)]
pub struct SimAdmin {
    http: reqwest::Client,
    /// The simulator's base URL.
    pub base: String,
}

/// What Kisi grants now.
#[derive(Debug, Clone, Deserialize)]
pub struct State {
    /// Users.
    pub users: Vec<User>,
    /// Role assignments.
    pub role_assignments: Vec<Assignment>,
    /// Request counts (`total`, `by_route`, `by_status`, ...).
    #[serde(default)]
    pub requests: serde_json::Value,
}

/// A Kisi user.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// Id.
    pub id: u64,
    /// E-mail.
    pub email: String,
}

/// A role assignment.
#[derive(Debug, Clone, Deserialize)]
pub struct Assignment {
    /// The user.
    pub user_id: u64,
    /// The group.
    pub group_id: u64,
    /// Until when it is valid.
    pub valid_until: Option<Instant>,
}

impl SimAdmin {
    /// A client of the simulator at `base`.
    pub fn new(base: impl Into<String>) -> SimAdmin {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("a plain HTTP client");
        SimAdmin {
            http,
            base: base.into(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut req = self
            .http
            .request(method, format!("{}/__admin{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req
            .send()
            .await
            .with_context(|| format!("kisi-sim {path}"))?;
        if !r.status().is_success() {
            bail!("kisi-sim {path} answered {}", r.status());
        }
        let text = r.text().await?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sets the clock every function reads.
    ///
    /// # Errors
    /// The simulator did not answer.
    pub async fn set_clock(&self, t: Instant) -> Result<()> {
        self.call(reqwest::Method::POST, "/clock", Some(json!({"now": t})))
            .await
            .map(drop)
    }

    /// The clock.
    ///
    /// # Errors
    /// The simulator did not answer.
    pub async fn now(&self) -> Result<Instant> {
        let v = self.call(reqwest::Method::GET, "/clock", None).await?;
        Ok(serde_json::from_value(v["now"].clone())?)
    }

    /// Sets the fault switches (`{}` clears them).
    ///
    /// # Errors
    /// The simulator did not answer.
    pub async fn set_faults(&self, faults: Value) -> Result<()> {
        self.call(reqwest::Method::POST, "/faults", Some(faults))
            .await
            .map(drop)
    }

    /// Creates a group with the operator's chosen id (as it exists in their Kisi).
    ///
    /// # Errors
    /// The simulator did not answer.
    pub async fn seed_group(&self, id: u64, name: &str) -> Result<()> {
        self.call(
            reqwest::Method::POST,
            "/groups",
            Some(json!({"id": id, "name": name})),
        )
        .await
        .map(drop)
    }

    /// Every assignment change so far.
    ///
    /// # Errors
    /// The simulator did not answer.
    pub async fn timeline(&self) -> Result<Vec<kisi_sim::TimelineEntry>> {
        let v = self.call(reqwest::Method::GET, "/timeline", None).await?;
        Ok(serde_json::from_value(v)?)
    }

    /// Users and assignments now.
    ///
    /// # Errors
    /// The simulator did not answer.
    pub async fn state(&self) -> Result<State> {
        let v = self.call(reqwest::Method::GET, "/state", None).await?;
        Ok(serde_json::from_value(v)?)
    }
}
