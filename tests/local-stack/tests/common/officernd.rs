//! A local stack with a platform's API simulator for one test (OfficeRnD by default; Nexudus and
//! Optix through [`Org::generated_on`]): a generated organisation dated on a fixed virtual day
//! ([`DAY`]), a mapping that opens a group for everything its records name, the handlers and
//! `platform_sync` in process.

use access_sync_aws::testing::free_port;
use access_sync_engine::ApplyOptions;
use access_sync_platforms::Platform;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::{Event, Instant};
use local_stack::Driver;
use local_stack::functions::InProcess;
use local_stack::platforms::PlatformAdmin;
use local_stack::pumps::Pumps;
use local_stack::stack::{LocalStack, Options};
use local_stack::timeline::Line;
use serde_json::{Value, json};

/// A stack with an organisation in a platform's simulator.
pub struct Org {
    /// The platform.
    pub platform: Platform,
    pub stack: LocalStack,
    pub driver: Driver<InProcess>,
    pub mappings: Mappings,
    /// The organisation as generated.
    pub fixture: Value,
    /// When the stack's clock started.
    pub t0: Instant,
}

/// The virtual day the organisation is dated on (midnight UTC). Not the system's: the sync
/// lists dated collections in windows around the stack's clock, not the system clock.
pub const DAY: &str = "2026-06-15T00:00:00Z";

/// Midnight UTC of [`DAY`].
pub fn today() -> Instant {
    DAY.parse().expect("DAY is an instant")
}

pub use local_stack::platforms::mapping_for;

impl Org {
    /// Generates `members` members from `seed` in the simulator, applies a mapping of
    /// everything their records name, and sets the clock to 08:00 of the virtual day.
    /// `extra_env` goes to the functions. No sync has run yet; none runs by itself unless
    /// [`Org::with_sync_every`] asks.
    pub async fn generated(
        name: &str,
        members: usize,
        seed: u64,
        extra_env: &[(&str, &str)],
    ) -> Org {
        Org::generated_on(Platform::Officernd, name, members, seed, extra_env).await
    }

    /// [`Org::generated`] in `platform`'s simulator.
    pub async fn generated_on(
        platform: Platform,
        name: &str,
        members: usize,
        seed: u64,
        extra_env: &[(&str, &str)],
    ) -> Org {
        Org::generated_at(platform, name, members, seed, extra_env, today()).await
    }

    /// [`Org::generated_on`], the organisation dated on `anchor` (midnight UTC of its day)
    /// and the clock at 08:00 of it.
    pub async fn generated_at(
        platform: Platform,
        name: &str,
        members: usize,
        seed: u64,
        extra_env: &[(&str, &str)],
        anchor: Instant,
    ) -> Org {
        let t0 = anchor + chrono::Duration::hours(8);
        let dir =
            std::env::temp_dir().join(format!("local-stack-test-{}-{name}", std::process::id()));
        let opts = Options {
            root: std::env::current_dir().unwrap(),
            dir,
            moto_port: free_port(),
            sim_port: free_port(),
            lambda_port: None,
            kisi_rate_limit: 0,
            function_log: None,
            platforms: vec![(platform, None)],
        };
        // The groups are seeded from the mapping below, once the organisation exists.
        let stack = LocalStack::start(&opts, &[]).await.unwrap();
        let admin = stack.platforms[0].admin.clone();
        admin.set_clock(t0).await.unwrap();
        admin.generate(members, seed, anchor).await.unwrap();
        let fixture = admin.fixture().await.unwrap();
        let mut env = stack.names.function_env();
        env.push(("KISI_MAX_ATTEMPTS".into(), "1".into()));
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let functions = InProcess::from_pairs_unpaced(&env, &stack.sdk).unwrap();
        stack.sim.set_clock(t0).await.unwrap();
        let mut org = Org {
            platform,
            driver: Driver::new(
                Pumps::new(
                    functions,
                    &stack.sdk,
                    stack.queues.clone(),
                    stack.names.schedule_group(),
                    stack.sim.clone(),
                ),
                stack.sim.clone(),
            ),
            stack,
            mappings: Mappings::parse("").unwrap(),
            fixture,
            t0,
        };
        org.driver.platforms.push(admin);
        let toml = mapping_for(&org.platform_events(t0).await);
        org.mappings = Mappings::parse(&toml).unwrap();
        for g in org.mappings.managed_groups() {
            org.stack
                .sim
                .seed_group(g.get(), &format!("group {}", g.get()))
                .await
                .unwrap();
        }
        let change = org
            .driver
            .pumps
            .functions
            .app()
            .engine
            .apply_mapping(&toml, t0, &ApplyOptions::default())
            .await
            .unwrap();
        assert!(change.applied, "{name}: mapping not applied: {change:?}");
        org
    }

    /// Runs `platform_sync` every `minutes` virtual minutes from now on.
    pub fn with_sync_every(mut self, minutes: i64) -> Org {
        self.driver
            .ticks
            .push(local_stack::Tick::platform_sync(self.platform, minutes));
        self
    }

    /// The simulator's admin API.
    pub fn admin(&self) -> &PlatformAdmin {
        &self.stack.platforms[0].admin
    }

    /// The canonical events the platform's state means at `at`, dated no earlier than `at`
    /// ([`local_stack::platforms::platform_events`]).
    pub async fn platform_events(&self, at: Instant) -> Vec<Event> {
        local_stack::platforms::platform_events(&self.stack, self.platform, at)
            .await
            .unwrap()
    }

    /// Stops the stack.
    pub async fn stop(self) {
        self.stack.stop().await;
    }
}

/// Fails with the lines only one side has.
pub fn assert_same(kisi: &[Line], preview: &[Line]) {
    let only_kisi: Vec<&Line> = kisi.iter().filter(|l| !preview.contains(l)).collect();
    let only_preview: Vec<&Line> = preview.iter().filter(|l| !kisi.contains(l)).collect();
    assert!(
        only_kisi.is_empty() && only_preview.is_empty(),
        "Kisi differs from preview ({} vs {} intervals)\nonly in Kisi: {only_kisi:#?}\nonly in preview: {only_preview:#?}",
        kisi.len(),
        preview.len()
    );
}

pub use local_stack::platforms::script::{Change, changes as changes_from};
use local_stack::platforms::script::{active, id, records};

/// The platform's script ([`local_stack::platforms::script::for_platform`]) from 08:00 of the
/// virtual day.
pub fn changes_on(
    platform: Platform,
    fixture: &Value,
    n: usize,
    seed: u64,
    every: i64,
) -> Vec<Change> {
    local_stack::platforms::script::for_platform(
        platform,
        fixture,
        n,
        seed,
        every,
        today() + chrono::Duration::hours(8),
    )
}

/// [`changes_from`] 08:00 of the virtual day.
pub fn changes(fixture: &Value, n: usize, seed: u64, every: i64) -> Vec<Change> {
    changes_from(
        fixture,
        n,
        seed,
        every,
        today() + chrono::Duration::hours(8),
    )
}

/// What a play did.
#[derive(Debug, Default)]
pub struct Played {
    /// Webhooks delivered and dropped.
    pub delivered: usize,
    pub dropped: usize,
    /// When the run ended (after the first sync that followed the last change).
    pub end: Option<Instant>,
}

/// Imports the organisation (one sync), then plays `script` with `platform_sync` every 15
/// minutes, dropping each webhook with probability `drop` (deterministic in `seed`), and ends
/// one minute after the first sync that follows the last change.
pub async fn play(org: &Org, script: &[Change], drop: f64, seed: u64) -> Played {
    org.driver.sync(org.platform, json!({})).await.unwrap();
    let mut played = Played::default();
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut last = org.t0;
    let tick = local_stack::Tick::platform_sync(org.platform, 15);
    for c in script {
        let at = org.t0 + chrono::Duration::minutes(c.minute);
        advance_with_syncs(org, &tick, at).await;
        let hooks = org
            .admin()
            .change(c.change, c.collection, c.id.as_deref(), c.body.as_ref())
            .await
            .unwrap();
        for w in hooks {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            if ((rng % 10_000) as f64) < drop * 10_000.0 {
                played.dropped += 1;
            } else {
                org.driver.deliver(&w).await.unwrap();
                played.delivered += 1;
            }
        }
        org.driver.pumps.drain().await.unwrap();
        last = at;
    }
    let end = tick.next_after(last) + chrono::Duration::minutes(1);
    advance_with_syncs(org, &tick, end).await;
    played.end = Some(end);
    played
}

/// Advances the clock to `t`, running `platform_sync` at each tick of the grid on the way.
async fn advance_with_syncs(org: &Org, tick: &local_stack::Tick, t: Instant) {
    loop {
        let now = org.driver.sim.now().await.unwrap();
        let next = tick.next_after(now);
        if next > t {
            break;
        }
        org.driver.advance(next).await.unwrap();
        org.driver.sync(org.platform, json!({})).await.unwrap();
    }
    org.driver.advance(t).await.unwrap();
}

/// Removes up to `n` active memberships (every one when `n` is 0), sending no webhook (as
/// when every webhook was lost); answers how many.
pub async fn remove_memberships(org: &Org, n: usize) -> usize {
    let ids: Vec<String> = records(&org.fixture, "memberships")
        .into_iter()
        .filter(|m| active(m))
        .map(id)
        .collect();
    let take = if n == 0 { ids.len() } else { n.min(ids.len()) };
    for id in &ids[..take] {
        org.admin()
            .change("remove", "memberships", Some(id), None)
            .await
            .unwrap();
    }
    take
}

#[allow(unused_imports)]
pub use local_stack::timeline::{Key, intervals, uncovered};

/// The records of collection `c` in a fixture.
pub fn records_of<'a>(fixture: &'a Value, c: &str) -> Vec<&'a Value> {
    records(fixture, c)
}

/// A variable's value, or `default`.
pub fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Imports a generated organisation of `members` in `platform`'s simulator with one sync, and
/// checks Kisi shows exactly `preview`'s timeline for the platform's state (and a second sync
/// publishes nothing).
pub async fn import_equals_preview(platform: Platform, members: usize, seed: u64) {
    use local_stack::timeline::{kisi_state, kisi_timeline, preview_state, preview_timeline};
    let org = Org::generated_on(platform, "import", members, seed, &[]).await;
    let t0 = org.t0;
    let before = org.driver.sim.timeline().await.unwrap().len();
    let out = org.driver.sync(platform, json!({})).await.unwrap();
    assert_eq!(out["held"], json!(false), "{out}");
    assert!(out["changes"].as_u64().unwrap() > 0, "{out}");
    let horizon = t0 + chrono::Duration::hours(20);
    org.driver.advance(horizon).await.unwrap();
    let events = org.platform_events(t0).await;
    let preview = preview_timeline(&org.mappings, &events, horizon);
    let kisi = kisi_timeline(&org.driver.sim.timeline().await.unwrap(), horizon);
    assert!(
        before == 0 && !kisi.is_empty(),
        "{platform:?}: nothing granted"
    );
    assert_same(&kisi, &preview);
    let open: std::collections::BTreeSet<(String, u64)> =
        kisi_state(&org.driver.sim.state().await.unwrap())
            .into_iter()
            .map(|(e, g, _)| (e, g))
            .collect();
    assert_eq!(open, preview_state(&preview));
    let again = org.driver.sync(platform, json!({})).await.unwrap();
    assert_eq!(again["changes"], json!(0), "{again}");
    assert_eq!(again["endings"], json!(0), "{again}");
    org.stop().await;
}

/// Who holds which group in Kisi (an open-ended grant's lease runs from when it was granted,
/// so its `valid_until` is not compared).
pub async fn holders(org: &Org) -> std::collections::BTreeSet<(String, u64)> {
    local_stack::timeline::kisi_state(&org.driver.sim.state().await.unwrap())
        .into_iter()
        .map(|(e, g, _)| (e, g))
        .collect()
}

/// The same organisation and `n` changes of `platform`'s script, one every `every` minutes,
/// played twice side by side (two stacks, each on its own virtual clock): every webhook
/// delivered, and a fifth dropped; after the next sync Kisi must be the same.
pub async fn drops_repaired(platform: Platform, members: usize, n: usize, every: i64) {
    let all = Org::generated_on(platform, "drops-none", members, 2, &[]).await;
    let script = changes_on(platform, &all.fixture, n, 7, every);
    assert!(script.len() >= n / 2, "{platform:?}: a short script");
    let lossy = Org::generated_on(platform, "drops-fifth", members, 2, &[]).await;
    let (none, fifth) = tokio::join!(play(&all, &script, 0.0, 3), play(&lossy, &script, 0.2, 3));
    assert!(fifth.dropped > 0 && none.dropped == 0, "{none:?} {fifth:?}");
    assert_eq!(none.end, fifth.end);
    let a = holders(&all).await;
    assert_eq!(
        a,
        holders(&lossy).await,
        "{platform:?}: Kisi after the next sync differs from the run without drops"
    );
    assert!(!a.is_empty());
    all.stop().await;
    lossy.stop().await;
}
