//! # access-sync engine
//!
//! The application layer between the thin Lambda handlers and the ports: parse → load →
//! decide → apply. It holds no rules of its own (those are `access-sync-rules`) and no
//! technology (that is the adapters): it sequences them.
//!
//! - [`engine`]: [`Engine::converge`], the one path that writes Kisi state, and
//!   [`Engine::handle_event`], which records a platform event once and says which pairs to
//!   converge.
//! - [`reconcile`]: the 15-minute safety net: drift both ways, lost grants repaired.
//! - [`brake`]: the one brake on every revoke, and the notes reconcile repairs from.
//! - [`mappings`]: applying a new mapping file in the live system.

#![warn(missing_docs)]

pub mod brake;
pub mod engine;
pub mod mappings;
pub mod reconcile;
mod repair;

pub use brake::{BrakeStatus, Outcome};
pub use engine::{Engine, EngineError, Handled, Settings, Step, Store, Trigger};
pub use mappings::{ApplyOptions, MappingChange};
pub use reconcile::{ReconcileConfig, ReconcileReport};
