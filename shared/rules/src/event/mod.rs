//! Canonical events (ACCESS-MODEL §2): what every platform adapter produces and what the core
//! consumes. Parsing validates fully; an [`Event`] that exists is well-formed. The serde form of
//! an [`Event`] is exactly the canonical JSON, so events can be stored and republished as-is.
//!
//! - `types`: the event types.
//! - `wire`: the JSON shape of a line, as read before any check.
//! - `scan`: the fast scanner for the common shape of a line (serde reads the rest).
//! - `parse`: reading (checking every field) and writing the canonical JSON; [`parse_jsonl`].

mod parse;
pub(crate) mod scan;
mod types;
pub(crate) mod wire;

pub use parse::parse_jsonl;
pub use types::{
    Block, Body, Entitlement, Event, Holder, Kind, MemberEvent, Ref, Status, TeamEvent,
};
