//! The messages passed between the functions through EventBridge (and the SQS queues its rules
//! fill), and their routing.
//!
//! | source | detail-type | detail | rule → queue → function |
//! |---|---|---|---|
//! | `access-sync.ingest` | `booking` | canonical event (booking, assignment, registration) | → `on_booking` |
//! | `access-sync.ingest` | `plan` | canonical event (plan, allowance, pass, occupancy, member, team, cancel) | → `on_plan_change` |
//! | `access-sync.ingest` | `checkin` | canonical event (checkin) | → `on_checkin` |
//! | `access-sync.events` | `converge` | [`ConvergeRequest`] (from the `on_*` functions and `reconcile_15m`) | → `on_edge` |
//!
//! The split of canonical events is operational (separate queues, alarms and DLQs per kind of
//! traffic): every `on_*` function handles every canonical event correctly.

use access_sync_engine::Trigger;
use access_sync_ports::OutboundEvent;
use access_sync_rules::{Body, Email, Event, GroupId, Kind, LineError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Source of the canonical events `ingest` publishes.
pub const SOURCE_INGEST: &str = "access-sync.ingest";
/// Source of the converge requests the event functions and reconcile publish.
pub const SOURCE_EVENTS: &str = "access-sync.events";
/// Detail-type of a converge request.
pub const DETAIL_CONVERGE: &str = "converge";

/// The detail-type a canonical event is published with (its routing).
pub fn detail_type(event: &Event) -> &'static str {
    match &event.body {
        Body::Entitlement(e) => match e.kind {
            Kind::Booking | Kind::Assignment | Kind::Registration => "booking",
            Kind::Checkin => "checkin",
            Kind::Plan | Kind::Allowance | Kind::Pass | Kind::Occupancy => "plan",
        },
        // A cancel names no kind; members and teams change plans' holders.
        Body::Member(_) | Body::Team(_) | Body::Cancel(_) => "plan",
    }
}

/// A canonical event as `ingest` publishes it.
pub fn canonical_event(event: &Event) -> OutboundEvent {
    OutboundEvent {
        source: SOURCE_INGEST.into(),
        detail_type: detail_type(event).into(),
        detail: serde_json::from_str(&event.to_json()).unwrap_or_default(),
    }
}

/// The canonical events of a request body: JSON Lines (blank lines skipped), or one JSON
/// object (which may span lines).
///
/// # Errors
/// The first bad line (1-based) and what is wrong with it.
pub fn parse_body(text: &str) -> Result<Vec<Event>, LineError> {
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
        return Event::parse(text.trim())
            .map(|e| vec![e])
            .map_err(|m| LineError::new(1, m));
    }
    let lines = access_sync_rules::event::parse_jsonl(text)?;
    Ok(lines.into_iter().map(|(_, e)| e).collect())
}

/// "Converge these groups of this person": published by the event functions, carried out by
/// `on_edge` (the only function that writes Kisi).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvergeRequest {
    /// The person (normalised e-mail).
    pub email: Email,
    /// The groups whose access may have changed.
    pub groups: BTreeSet<GroupId>,
    /// Why (recorded in the audit).
    pub trigger: Trigger,
}

impl ConvergeRequest {
    /// The request as an EventBridge event.
    pub fn to_event(&self) -> OutboundEvent {
        OutboundEvent {
            source: SOURCE_EVENTS.into(),
            detail_type: DETAIL_CONVERGE.into(),
            detail: serde_json::to_value(self).unwrap_or_default(),
        }
    }
}

/// The parts of an EventBridge event envelope (as an EventBridge rule puts it on an SQS queue)
/// that the functions read.
#[derive(Clone, Debug, Deserialize)]
pub struct Envelope<T> {
    /// `detail-type`.
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// `source`.
    pub source: String,
    /// `detail`.
    pub detail: T,
}

/// Parses an SQS message body holding an EventBridge envelope.
///
/// # Errors
/// A description naming the field that is wrong (never the payload itself).
pub fn envelope<T: serde::de::DeserializeOwned>(body: &str) -> Result<Envelope<T>, String> {
    serde_json::from_str(body).map_err(|e| format!("not an EventBridge event: {e}"))
}

/// The canonical event in an SQS message body (an EventBridge envelope).
///
/// # Errors
/// A description of what is wrong.
pub fn canonical_from_sqs(body: &str) -> Result<Event, String> {
    let env: Envelope<serde_json::Value> = envelope(body)?;
    Event::parse(&env.detail.to_string()).map_err(|e| format!("detail: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(line: &str) -> Event {
        Event::parse(line).unwrap()
    }

    #[test]
    fn events_are_routed_by_kind_and_cancels_members_and_teams_go_to_plan() {
        let ent = |kind: &str| {
            ev(&format!(
                r#"{{"id":"d","at":"2026-12-07T07:00:00Z","entitlement":{{"id":"x:1","kind":"{kind}","refs":["plan:p"],"holder":{{"member":"m"}},"start":"2026-12-07T08:00:00Z","end":"2026-12-07T09:00:00Z"}}}}"#
            ))
        };
        for (kind, want) in [
            ("booking", "booking"),
            ("registration", "booking"),
            ("checkin", "checkin"),
            ("plan", "plan"),
            ("pass", "plan"),
            ("allowance", "plan"),
            ("occupancy", "plan"),
        ] {
            assert_eq!(detail_type(&ent(kind)), want, "{kind}");
        }
        let cancel = ev(r#"{"id":"c","at":"2026-12-07T07:00:00Z","cancel":{"entitlement":"x:1"}}"#);
        assert_eq!(detail_type(&cancel), "plan");
        let member =
            ev(r#"{"id":"m","at":"2026-12-07T07:00:00Z","member":{"id":"m","email":"a@b.c"}}"#);
        assert_eq!(detail_type(&member), "plan");
    }

    #[test]
    fn a_converge_request_has_the_documented_shape() {
        let req = ConvergeRequest {
            email: Email::parse("Ann@Acme.io").unwrap(),
            groups: [GroupId::new(202).unwrap(), GroupId::new(201).unwrap()].into(),
            trigger: Trigger::Event,
        };
        let out = req.to_event();
        assert_eq!(out.detail_type, "converge");
        assert_eq!(
            out.detail,
            serde_json::json!({"email": "ann@acme.io", "groups": [201, 202], "trigger": "event"})
        );
    }
}
