//! How the stack reaches the functions: in process (the real handler code called directly,
//! for end-to-end tests and benchmarks) or over HTTP through `cargo lambda watch` (the local
//! stack a developer runs). Either way the payloads are what AWS would send.

use access_sync_engine::ReconcileConfig;
use access_sync_kisi::{RequestBudget, RetryPolicy};
use access_sync_platforms::Platform;
use access_sync_runtime::{App, Config};
use access_sync_sources::Pacing;
use anyhow::{Context, Result, anyhow, bail};
use aws_lambda_events::event::sqs::SqsEvent;
use ingest::trust::{CANONICAL_SECRET_VARIABLE, TrustSettings};
use ingest::wiring::{IngestApp, IngestSettings, secret_names};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

/// The functions, as the pumps and the driver call them.
pub trait Functions: Send + Sync {
    /// Invokes `function` with `payload` (what Lambda would pass); answers its result, or an
    /// error when the function failed (a Lambda function error).
    fn invoke(&self, function: &str, payload: Value) -> impl Future<Output = Result<Value>> + Send;

    /// An HTTP request to `ingest`'s function URL: `path` with its query, headers, body;
    /// answers the status and the body.
    fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> impl Future<Output = Result<(u16, String)>> + Send;
}

/// The real handlers, called in this process, over one [`App`] (the same wiring each
/// function's `main` builds at cold start).
pub struct InProcess {
    app: App,
    ingest: IngestApp,
    reconcile: ReconcileConfig,
    /// `platform_sync`'s wiring, which `platform_reread` (the same binary on the `reread`
    /// queue) runs; built from the environment pairs.
    sync: Option<platform_sync::wiring::SyncApp>,
}

impl InProcess {
    /// Builds the functions' shared wiring from settings and moto's SDK configuration.
    ///
    /// # Errors
    /// A bad setting.
    pub fn new(
        config: Config,
        webhook_secrets: BTreeMap<Platform, String>,
        canonical_secret: Option<String>,
        trust: TrustSettings,
        sdk: &access_sync_aws::SdkConfig,
    ) -> Result<InProcess> {
        InProcess::build(config, webhook_secrets, canonical_secret, trust, sdk, None)
    }

    fn build(
        config: Config,
        webhook_secrets: BTreeMap<Platform, String>,
        canonical_secret: Option<String>,
        trust: TrustSettings,
        sdk: &access_sync_aws::SdkConfig,
        pacing: Option<(Arc<dyn RequestBudget>, RetryPolicy)>,
    ) -> Result<InProcess> {
        let settings = IngestSettings {
            bus: config.aws.event_bus_name.clone(),
            table: config.aws.table_name.clone(),
            webhook_secrets,
            canonical_secret,
            clock_url: config.clock_url.clone(),
            trust,
            // The local stack keeps no offered API tokens (an Optix token is set in its
            // secret when the stack starts).
            api_token_secrets: None,
        };
        let ingest = IngestApp::new(sdk, settings).map_err(|e| anyhow!("{e}"))?;
        let app = match pacing {
            None => App::new(config, sdk),
            Some((budget, retry)) => App::with_kisi_pacing(config, sdk, budget, retry),
        }
        .map_err(|e| anyhow!("{e}"))?;
        let reconcile = app.reconcile_config();
        Ok(InProcess {
            app,
            ingest,
            reconcile,
            sync: None,
        })
    }

    /// Adds `platform_sync`'s wiring (the Lambda's own: the same secret names and registry of
    /// platform clients) from the same environment pairs, its clients paced as `pacing` says.
    fn with_sync(
        mut self,
        env: &[(String, String)],
        sdk: &access_sync_aws::SdkConfig,
        pacing: Pacing,
    ) -> Result<Self> {
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let sync_env = platform_sync::wiring::Env::from_lookup(get).map_err(|e| anyhow!("{e}"))?;
        self.sync = Some(
            platform_sync::wiring::SyncApp::new(sync_env, sdk)
                .map_err(|e| anyhow!("{e}"))?
                .with_pacing(pacing),
        );
        Ok(self)
    }

    /// Builds it from the same environment pairs the functions get under `cargo lambda watch`.
    ///
    /// # Errors
    /// A bad setting.
    pub fn from_pairs(env: &[(String, String)], sdk: &access_sync_aws::SdkConfig) -> Result<Self> {
        InProcess::from_pairs_sync_paced(env, sdk, Pacing::Deployed)
    }

    /// [`InProcess::from_pairs`] (Kisi's client paced as deployed), the platform clients of
    /// `platform_sync` paced as `sync` says: a platform's request budget is one of real time
    /// (Optix's 30 a minute for the sync), which the virtual clock does not need.
    ///
    /// # Errors
    /// A bad setting.
    pub fn from_pairs_sync_paced(
        env: &[(String, String)],
        sdk: &access_sync_aws::SdkConfig,
        sync: Pacing,
    ) -> Result<Self> {
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let config = Config::from_lookup(get).map_err(|e| anyhow!("{e}"))?;
        let trust = TrustSettings::from_lookup(get).map_err(|e| anyhow!("{}", e.join("; ")))?;
        InProcess::build(
            config,
            secret_names(get),
            get(CANONICAL_SECRET_VARIABLE),
            trust,
            sdk,
            None,
        )?
        .with_sync(env, sdk, sync)
    }

    /// [`InProcess::from_pairs`] with no Kisi request budget and millisecond retry backoffs
    /// (the same number of attempts as deployed): for benchmarks that play virtual days in
    /// wall-clock seconds. The virtual clock stands still while a handler runs, so the real
    /// waits would only cost wall time; the simulator's rate limit, if set, and its 429 and 5xx
    /// faults still apply.
    ///
    /// # Errors
    /// A bad setting.
    pub fn from_pairs_unpaced(
        env: &[(String, String)],
        sdk: &access_sync_aws::SdkConfig,
    ) -> Result<Self> {
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let config = Config::from_lookup(get).map_err(|e| anyhow!("{e}"))?;
        let trust = TrustSettings::from_lookup(get).map_err(|e| anyhow!("{}", e.join("; ")))?;
        InProcess::build(
            config,
            secret_names(get),
            get(CANONICAL_SECRET_VARIABLE),
            trust,
            sdk,
            Some((
                Arc::new(access_sync_kisi::Unlimited),
                RetryPolicy {
                    base_delay: std::time::Duration::from_millis(2),
                    max_delay: std::time::Duration::from_millis(20),
                    rate_limit_floor: std::time::Duration::from_millis(2),
                    ..RetryPolicy::default()
                },
            )),
        )?
        .with_sync(env, sdk, Pacing::Unpaced)
    }

    /// The wiring (engine, publisher, clock).
    pub fn app(&self) -> &App {
        &self.app
    }
}

impl Functions for InProcess {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value> {
        let a = &self.app;
        let batch = || -> Result<SqsEvent> {
            serde_json::from_value(payload.clone()).context("not an SQS batch")
        };
        let out = match function {
            // One handler, three functions (one queue each).
            "on_booking" | "on_plan_change" | "on_checkin" => {
                let r = on_event::handler::handle(&a.engine, &a.events, &a.clock, batch()?);
                serde_json::to_value(r.await)?
            }
            "on_edge" => {
                let input = serde_json::from_value(payload).context("not an on_edge input")?;
                let out = on_edge::handler::handle(&a.engine, &a.clock, input).await;
                serde_json::to_value(out.map_err(|e| anyhow!("on_edge failed: {e}"))?)?
            }
            "reconcile_15m" => {
                let out =
                    reconcile_15m::handler::handle(&a.engine, &a.events, &a.clock, &self.reconcile);
                out.await
                    .map_err(|e| anyhow!("reconcile_15m failed: {e}"))?
            }
            // platform_sync's binary on the `reread` queue (infra: `BINARY`).
            "platform_reread" | "platform_sync" => {
                let sync = self
                    .sync
                    .as_ref()
                    .context("platform_sync is not wired (PLATFORM_SECRETS_PREFIX unset)")?;
                let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(600);
                sync.invoke(payload, deadline)
                    .await
                    .map_err(|e| anyhow!("{function} failed: {e}"))?
            }
            other => bail!("no function {other}"),
        };
        Ok(out)
    }

    async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(u16, String)> {
        let mut req = lambda_http::http::Request::builder()
            .method("POST")
            .uri(format!("https://ingest.lambda-url.us-east-1.on.aws{path}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(lambda_http::Body::Binary(body))?;
        let i = &self.ingest;
        let r =
            ingest::handler::handle(&i.events, &i.secrets, &i.directory, &i.door, &i.clock, req)
                .await;
        let body = String::from_utf8_lossy(r.body().as_ref()).into_owned();
        Ok((r.status().as_u16(), body))
    }
}

/// The functions under `cargo lambda watch` (its invoke API and function URLs).
#[derive(Debug, Clone)]
pub struct Watch {
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Watch {
    /// Talks to `cargo lambda watch` at `base`.
    pub fn new(base: impl Into<String>) -> Watch {
        let http = reqwest::Client::builder()
            // The first invocation of each function builds it.
            .timeout(std::time::Duration::from_secs(900))
            .build()
            .expect("a plain HTTP client");
        Watch {
            http,
            base: base.into(),
        }
    }

    /// `ingest`'s function URL.
    pub fn ingest_url(&self) -> String {
        format!("{}/lambda-url/ingest", self.base)
    }
}

impl Functions for Watch {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value> {
        // `cargo lambda watch` serves binaries: the re-reader is platform_sync's.
        let binary = if function == "platform_reread" {
            "platform_sync"
        } else {
            function
        };
        let url = format!("{}/2015-03-31/functions/{binary}/invocations", self.base);
        let r = self.http.post(&url).json(&payload).send().await?;
        let failed = r.headers().contains_key("x-amz-function-error");
        let status = r.status();
        let text = r.text().await?;
        if failed || !status.is_success() {
            bail!("{function} failed ({status}): {text}");
        }
        Ok(if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        })
    }

    async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(u16, String)> {
        let mut req = self.http.post(format!("{}{path}", self.ingest_url()));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.body(body).send().await?;
        Ok((r.status().as_u16(), r.text().await?))
    }
}
