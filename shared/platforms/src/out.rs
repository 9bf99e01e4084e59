//! Building canonical events from one payload: deterministic delivery ids, members resolved
//! from e-mail-only payloads, and entitlements checked so that each emitted event reads back
//! from its canonical JSON.

use crate::Rejection;
use crate::directory::Known;
use access_sync_rules::event::{MemberEvent, TeamEvent};
use access_sync_rules::{
    Body, Email, Entitlement, EntitlementId, Event, Holder, Instant, Kind, MemberId, Ref, Source,
    Status, TeamId,
};
use sha2::{Digest, Sha256};

/// A delivery id made from the parts that identify one platform event (platform, event type,
/// record id, the payload's timestamp), for platforms whose payload carries no delivery id: a
/// redelivered webhook hashes to the same id, so the core ignores it.
pub(crate) fn hashed_id(platform: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // The separator keeps ("ab","c") and ("a","bc") apart.
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let digest = hex::encode(h.finalize());
    format!("{platform}:{}", &digest[..32])
}

/// Gives `e`, an event read from `platform`'s API, an id hashed from its content: its body,
/// `tag` (which kind of reading), and its `at` only when `stamped` — when that is the record's
/// own stamp; a sync's `now` would change the id at every read.
pub(crate) fn with_content_id(mut e: Event, platform: &str, tag: &str, stamped: bool) -> Event {
    let at = e.at;
    if !stamped {
        e.at = Instant::UNIX_EPOCH;
    }
    e.id = String::new();
    e.id = hashed_id(platform, &[tag, &e.to_json()]);
    e.at = at;
    e
}

/// The events of `bodies`, read from `platform`'s API by a sync at `now`: each at `now`, with
/// an id hashed from its body alone ([`with_content_id`]), so the same records give the same ids.
pub(crate) fn events_at(bodies: Vec<Body>, platform: &str, now: Instant) -> Vec<Event> {
    bodies
        .into_iter()
        .map(|body| {
            let e = Event {
                id: String::new(),
                at: now,
                body,
            };
            with_content_id(e, platform, "api", false)
        })
        .collect()
}

/// The canonical events of one payload, all with the payload's `at`. The first is identified by
/// `base`, the others by `base/<role>`, so every id is a function of the payload alone.
pub(crate) struct Out {
    base: String,
    at: Instant,
    events: Vec<Event>,
}

impl Out {
    /// Events of the delivery `base`, which happened at `at`.
    pub(crate) fn new(base: String, at: Instant) -> Out {
        Out {
            base,
            at,
            events: Vec::new(),
        }
    }

    /// Adds an event; `role` tells it apart from the payload's other events.
    pub(crate) fn push(&mut self, role: &str, body: Body) {
        let id = if role.is_empty() {
            self.base.clone()
        } else {
            format!("{}/{role}", self.base)
        };
        if self.events.iter().all(|e| e.id != id) {
            self.events.push(Event {
                id,
                at: self.at,
                body,
            });
        }
    }

    /// Adds an entitlement (role: its id).
    pub(crate) fn entitlement(&mut self, e: Entitlement) {
        let role = format!("entitlement:{}", e.id);
        self.push(&role, Body::Entitlement(e));
    }

    /// Adds a cancel (role: the entitlement's id).
    pub(crate) fn cancel(&mut self, id: EntitlementId) {
        let role = format!("cancel:{id}");
        self.push(&role, Body::Cancel(id));
    }

    /// Adds a member event (role: the member's id).
    pub(crate) fn member(&mut self, m: MemberEvent) {
        let role = format!("member:{}", m.id);
        self.push(&role, Body::Member(m));
    }

    /// Adds a team event (role: the team's id).
    pub(crate) fn team(&mut self, id: TeamId, members: Vec<MemberId>) {
        let role = format!("team:{id}");
        self.push(&role, Body::Team(TeamEvent { id, members }));
    }

    /// The events.
    pub(crate) fn finish(self) -> Vec<Event> {
        self.events
    }
}

/// A ref; `None` for an empty id (the caller decides whether that is an error).
pub(crate) fn reference(source: Source, id: &str) -> Option<Ref> {
    let id = id.trim();
    (!id.is_empty()).then(|| Ref {
        source,
        id: id.to_string(),
    })
}

/// An entitlement with the fields every platform fills; the rest default to empty.
pub(crate) struct Grant {
    pub(crate) id: String,
    pub(crate) kind: Kind,
    pub(crate) refs: Vec<Ref>,
    pub(crate) holder: Holder,
    pub(crate) start: Option<Instant>,
    pub(crate) end: Option<Instant>,
    pub(crate) status: Status,
}

impl Grant {
    /// The canonical entitlement. `end_field` names the field an `end` before `start` came from.
    pub(crate) fn build(
        self,
        guests: Vec<Email>,
        end_field: &str,
    ) -> Result<Entitlement, Rejection> {
        if let (Some(s), Some(e)) = (self.start, self.end)
            && e < s
        {
            return Err(Rejection::malformed(end_field, "ends before it starts"));
        }
        let mut unique: Vec<Email> = Vec::new();
        for g in guests {
            if !unique.contains(&g) {
                unique.push(g);
            }
        }
        let mut refs: Vec<Ref> = Vec::new();
        for r in self.refs {
            if !refs.contains(&r) {
                refs.push(r);
            }
        }
        Ok(Entitlement {
            id: EntitlementId(self.id),
            kind: self.kind,
            refs,
            holder: self.holder,
            guests: unique,
            start: self.start,
            end: self.end,
            blocks: Vec::new(),
            tz: None,
            status: self.status,
        })
    }
}

/// Who a payload that names a person by e-mail (and maybe an id) means. The id is, in order:
/// the payload's own member id, the member already known with that address, or the address
/// itself — stable across payloads, so later ones find the same member. A member event is added
/// when the address is not already the member's known one.
pub(crate) fn person(
    out: &mut Out,
    known: &dyn Known,
    id: Option<String>,
    email: Option<Email>,
    name: Option<String>,
) -> Option<MemberId> {
    let id = match (id, &email) {
        (Some(id), _) => MemberId(id),
        (None, Some(e)) => known
            .member_by_email(e)
            .unwrap_or_else(|| MemberId(e.as_str().to_string())),
        (None, None) => return None,
    };
    if let Some(e) = email
        && known.email_of(&id).as_ref() != Some(&e)
    {
        out.member(MemberEvent {
            id: id.clone(),
            email: Some(e),
            name: name.filter(|n| !n.trim().is_empty()),
            removed: false,
        });
    }
    Some(id)
}
