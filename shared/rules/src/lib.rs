//! # access-sync rules
//!
//! The pure core of access-sync: it turns the operator's mapping file and the platforms'
//! canonical events into an access timeline — who may open which Kisi group, from when to when —
//! and decides what converge must do about one (e-mail, group) pair at a given `now`.
//!
//! Nothing here reads a clock, touches the network or knows about AWS: time is a parameter and
//! every decision is returned as plain data for the shell to carry out. The contract is
//! `ACCESS-MODEL.md` (in the shared reference beside the repository).
//!
//! The production path reads, module by module, event → facts → access → converge:
//!
//! - [`mapping`]: the mapping file, validated with line numbers.
//! - [`event`]: canonical events, validated.
//! - [`windows`]: the windows one entitlement version opens, per kind.
//! - [`facts`]: the stored facts (latest versions of members, teams, entitlements), applying an
//!   event to them and telling which (e-mail, group) pairs it can change.
//! - [`access`]: for one pair at `now`: open or closed, until when, and the next edge.
//! - [`converge`]: desired access against what we own in Kisi → one decision.
//! - [`brake`]: which decisions take access away (the one brake counts them), its sliding
//!   budget, and which pairs should be open (the index reconcile repairs lost grants from).
//! - [`ids`], [`time`], [`Source`], [`LineError`]: identifiers, instants, mapping sources and
//!   input errors.
//!
//! On top of the core, never below it:
//!
//! - [`preview`]: the same operations on a virtual clock over an event file (and the same
//!   timeline read from the whole history at once).
//!
//! `tests/module_graph.rs` checks that the files import each other without a cycle and that no
//! core module imports the preview folder.

#![warn(missing_docs)]

pub mod access;
pub mod brake;
pub mod converge;
mod error;
pub mod event;
pub mod facts;
pub mod ids;
pub mod limits;
pub mod mapping;
pub mod preview;
mod short_list;
mod source;
pub mod time;
pub mod windows;

pub use access::Access;
pub use error::LineError;
pub use event::{Body, Entitlement, Event, Holder, Kind, Ref, Status};
pub use facts::Facts;
pub use ids::{Email, EntitlementId, GroupId, MemberId, Pair, TeamId};
pub use mapping::Mappings;
pub use source::Source;
pub use time::Instant;
