//! What the sync tests share: a hand-written mapping, an in-memory platform, and a world of
//! ports to run the sync in (in memory, or DynamoDB on moto).
#![allow(dead_code)]

use access_sync_engine::sync::{PlatformMapping, PlatformSync, SyncSettings};
use access_sync_platforms::Platform;
use access_sync_platforms::api::{ApiRecord, Mapped, NoApiMapping, Unmapped};
use access_sync_ports::memory::{MemoryPublisher, MemorySource, MemoryStore, MemorySyncState};
use access_sync_ports::{AuditLog, FactStore, OutboundEvent, SourceRecord, SyncStateStore};
use access_sync_rules::event::MemberEvent;
use access_sync_rules::{
    Body, Email, Entitlement, EntitlementId, Event, Facts, Holder, Instant, Kind, Mappings,
    MemberId, Ref, Source, Status,
};
use serde_json::json;

pub const NOW: &str = "2026-03-01T10:00:00Z";

pub fn always() -> bool {
    true
}

pub fn at(s: &str) -> Instant {
    s.parse().unwrap()
}

/// A tiny hand-written mapping: `members` {email} → member; `plans` {member, plan} →
/// entitlement `officernd:plan:<id>`; a plan without a member is unmapped.
pub fn map(records: &[ApiRecord<'_>], at: Instant) -> Result<Mapped, NoApiMapping> {
    let mut out = Mapped::default();
    for r in records {
        let body = match r.collection {
            "members" => Body::Member(MemberEvent {
                id: MemberId(r.id.to_string()),
                email: r.body["email"].as_str().and_then(Email::parse),
                name: None,
                removed: false,
            }),
            "plans" => {
                let Some(m) = r.body["member"].as_str() else {
                    out.unmapped.push(Unmapped {
                        collection: r.collection.into(),
                        id: r.id.into(),
                        reason: "no member".into(),
                    });
                    continue;
                };
                Body::Entitlement(Entitlement {
                    id: EntitlementId(format!("officernd:plan:{}", r.id)),
                    kind: Kind::Plan,
                    refs: vec![Ref {
                        source: Source::Plan,
                        id: r.body["plan"].as_str().unwrap_or("x").into(),
                    }],
                    holder: Holder::Member(MemberId(m.into())),
                    guests: vec![],
                    start: None,
                    end: None,
                    blocks: vec![],
                    tz: None,
                    status: Status::Active,
                })
            }
            _ => continue,
        };
        out.events.push(Event {
            id: String::new(),
            at,
            body,
        });
    }
    Ok(out)
}

pub fn covers(id: &EntitlementId) -> bool {
    id.as_str().starts_with("officernd:")
}

pub fn encode(e: &Event) -> OutboundEvent {
    OutboundEvent {
        source: "access-sync.ingest".into(),
        detail_type: "plan".into(),
        detail: serde_json::from_str(&e.to_json()).unwrap(),
    }
}

pub fn record(collection: &str, id: &str, body: serde_json::Value) -> SourceRecord {
    SourceRecord {
        collection: collection.into(),
        id: id.into(),
        modified_at: None,
        body,
    }
}

pub struct World<St = MemorySyncState, F = MemoryStore> {
    pub source: MemorySource,
    pub state: St,
    pub store: F,
    pub bus: MemoryPublisher,
}

/// `members` m0..m{n}, one plan each, listed a record per page.
pub fn source(n: usize) -> MemorySource {
    let source = MemorySource::new(Platform::Officernd, &["members", "plans"], &[], 1);
    for i in 0..n {
        source.put(record(
            "members",
            &format!("m{i}"),
            json!({"email": format!("p{i}@x.io")}),
        ));
        source.put(record(
            "plans",
            &format!("{i}"),
            json!({"member": format!("m{i}"), "plan": "hot"}),
        ));
    }
    source
}

impl World {
    /// Every port in memory.
    pub fn new(n: usize) -> World {
        World::with(n, MemorySyncState::default(), MemoryStore::default())
    }
}

impl<St: SyncStateStore, F: FactStore + AuditLog> World<St, F> {
    /// A world on the given stores.
    pub fn with(n: usize, state: St, store: F) -> World<St, F> {
        World {
            source: source(n),
            state,
            store,
            bus: MemoryPublisher::default(),
        }
    }

    pub fn sync(&self) -> PlatformSync<'_, MemorySource, St, F, MemoryPublisher> {
        PlatformSync {
            source: &self.source,
            state: &self.state,
            facts: &self.store,
            publisher: &self.bus,
            mapping: PlatformMapping::Custom {
                map: &map,
                covers: &covers,
            },
            encode,
            settings: SyncSettings::default(),
        }
    }

    pub fn published(&self) -> Vec<Event> {
        self.bus
            .published()
            .iter()
            .map(|o| Event::parse(&o.detail.to_string()).unwrap())
            .collect()
    }

    /// What the event functions would do with the published events: store them.
    pub async fn apply_published(&self) {
        for ev in self.published() {
            let loaded = self.store.load_for_event(&ev.body).await.unwrap();
            let mut facts = Facts::from_records(loaded.records.clone());
            if let Some(r) = facts.apply(&ev, &Mappings::default()).record {
                self.store.save(&loaded, &r).await.unwrap();
            }
        }
    }
}
