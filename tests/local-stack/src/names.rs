//! The names of the stack's AWS resources and the environment the functions run with.

/// Where the local stack's pieces listen, and what its AWS resources are called.
#[derive(Debug, Clone)]
pub struct Names {
    /// Prefix of every resource name.
    pub prefix: String,
    /// moto's endpoint, `http://127.0.0.1:<port>`.
    pub moto_url: String,
    /// The Kisi simulator's base URL.
    pub sim_url: String,
    /// The Kisi API key the simulator accepts (stored in Secrets Manager for the functions).
    pub kisi_key: String,
    /// The platforms whose API the stack simulates (their credentials are in Secrets Manager
    /// and `platform_sync` syncs them).
    pub platforms: Vec<access_sync_platforms::Platform>,
}

/// One SQS-fed function: the EventBridge detail-type routed to its queue.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The function.
    pub function: &'static str,
    /// The detail-type its rule matches.
    pub detail_type: &'static str,
    /// Whether the rule also matches the source `access-sync.ingest` (platform events).
    pub from_ingest: bool,
}

/// The routes, as in `infra/lib/service-stack.ts`, in the order the pumps drain them: the
/// re-reads of webhook hints (which publish events), the events, then the converge requests
/// they cause.
pub const ROUTES: [Route; 5] = [
    Route {
        function: "platform_reread",
        detail_type: "reread",
        from_ingest: true,
    },
    Route {
        function: "on_booking",
        detail_type: "booking",
        from_ingest: true,
    },
    Route {
        function: "on_plan_change",
        detail_type: "plan",
        from_ingest: true,
    },
    Route {
        function: "on_checkin",
        detail_type: "checkin",
        from_ingest: true,
    },
    Route {
        function: "on_edge",
        detail_type: "converge",
        from_ingest: false,
    },
];

/// The ARN edge schedules target (moto never invokes it; the scheduler pump reads it).
pub const ON_EDGE_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:on_edge";

impl Names {
    /// The single DynamoDB table.
    pub fn table(&self) -> String {
        format!("{}-access-sync", self.prefix)
    }
    /// The event bus.
    pub fn bus(&self) -> String {
        format!("{}-bus", self.prefix)
    }
    /// The queue feeding `route`.
    pub fn queue(&self, route: &Route) -> String {
        format!("{}-{}", self.prefix, route.detail_type)
    }
    /// Where messages go after five failed deliveries.
    pub fn dlq(&self) -> String {
        format!("{}-dlq", self.prefix)
    }
    /// The Scheduler group of edge schedules.
    pub fn schedule_group(&self) -> String {
        format!("{}-edges", self.prefix)
    }
    /// The Secrets Manager secret holding the Kisi API key.
    pub fn secret(&self) -> String {
        format!("{}-kisi-token", self.prefix)
    }
    /// The Secrets Manager secret holding a platform's webhook secret.
    pub fn webhook_secret(&self, p: access_sync_platforms::Platform) -> String {
        format!("{}-webhook-{}", self.prefix, p.as_str())
    }
    /// The Secrets Manager secret holding a platform's API credentials (what `platform_sync`
    /// reads; for OfficeRnD the JSON of `access_sync_sources::officernd::credentials`).
    pub fn platform_secret(&self, p: access_sync_platforms::Platform) -> String {
        format!("{}/{}", self.platform_secrets_prefix(), p.as_str())
    }

    /// `PLATFORM_SECRETS_PREFIX`: the platforms' credentials are `<this>/<platform>`.
    pub fn platform_secrets_prefix(&self) -> String {
        format!("{}/platforms", self.prefix)
    }
    /// The Secrets Manager secret holding the canonical route's secret.
    pub fn canonical_secret(&self) -> String {
        format!("{}-webhook-canonical", self.prefix)
    }
    /// The test clock every function reads (`GET` answers `{"now"}`).
    pub fn clock_url(&self) -> String {
        format!("{}/__admin/clock", self.sim_url)
    }

    /// The environment of every function (and of `access-sync mappings apply`): the same
    /// variables as in AWS, pointed at moto and the simulator, plus the movable clock.
    pub fn function_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.moto_url.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("TABLE_NAME", self.table()),
            ("SCHEDULE_GROUP", self.schedule_group()),
            ("CONVERGE_FUNCTION_ARN", ON_EDGE_ARN.into()),
            (
                "SCHEDULER_ROLE_ARN",
                "arn:aws:iam::123456789012:role/local-scheduler".into(),
            ),
            ("EVENT_BUS_NAME", self.bus()),
            ("KISI_TOKEN_SECRET", self.secret()),
            ("KISI_BASE_URL", self.sim_url.clone()),
            ("ACCESS_SYNC_CLOCK_URL", self.clock_url()),
            (PLATFORM_SECRETS_PREFIX, self.platform_secrets_prefix()),
            (
                ingest::trust::CANONICAL_SECRET_VARIABLE,
                self.canonical_secret(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .chain(
            access_sync_platforms::Platform::ALL
                .iter()
                .map(|p| (ingest::wiring::secret_variable(*p), self.webhook_secret(*p))),
        )
        .chain(self.platform_sync_env())
        .collect()
    }
}

/// The variable of `platform_sync`'s environment naming where the platforms' API credentials
/// are: the secret `<prefix>/<platform>` (as in `functions/platform_sync/src/wiring.rs`).
pub const PLATFORM_SECRETS_PREFIX: &str = "PLATFORM_SECRETS_PREFIX";

impl Names {
    /// `platform_sync`'s settings on the local stack: every sync lists the platform in full.
    /// The engine already does so for OfficeRnD (some of its collections cannot be listed by
    /// change time); this makes it so for any platform on the stack.
    fn platform_sync_env(&self) -> Vec<(String, String)> {
        if self.platforms.is_empty() {
            return Vec::new();
        }
        vec![("SYNC_FULL_EVERY_HOURS".into(), "0".into())]
    }
}

/// The local stack's webhook secret of each platform (configure the platform's webhook with
/// it when pointing a real platform at a local stack; the tests sign with it).
pub fn local_webhook_secret(platform: access_sync_platforms::Platform) -> String {
    format!("local-{}-secret", platform.as_str())
}

/// The local stack's canonical route secret (`access-sync post --secret-env` or
/// `--secret-file` with it, to post canonical events to a local stack).
pub const LOCAL_CANONICAL_SECRET: &str = "local-canonical-secret";

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_platforms::Platform;

    /// The stack's functions get the names the deployed `platform_sync` reads: its wiring
    /// finds each platform's credentials exactly where the stack stores them.
    #[test]
    fn platform_sync_finds_the_credentials_where_the_stack_stores_them() {
        let names = Names {
            prefix: "local".into(),
            moto_url: "http://127.0.0.1:1".into(),
            sim_url: "http://127.0.0.1:2".into(),
            kisi_key: "k".into(),
            platforms: vec![Platform::Officernd],
        };
        let env: std::collections::BTreeMap<String, String> =
            names.function_env().into_iter().collect();
        let wiring = platform_sync::wiring::Env::from_lookup(|k| {
            env.get(k)
                .cloned()
                .or_else(|| (k == "TABLE_NAME").then(|| names.table()))
        })
        .unwrap();
        assert_eq!(
            wiring.secret_name(Platform::Officernd),
            names.platform_secret(Platform::Officernd)
        );
        assert_eq!(
            names.platform_secret(Platform::Officernd),
            "local/platforms/officernd"
        );
    }
}
