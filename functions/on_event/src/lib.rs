//! The three event functions, `on_booking`, `on_plan_change` and `on_checkin`: one crate, one
//! binary each (`src/bin/`), the same handler ([`handler::handle`]) and the same `main`
//! ([`serve`]).
//!
//! They differ only in the queue they read (one EventBridge rule each, so each has its own
//! concurrency, alarms and dead letters): `booking` (bookings, assignments, registrations),
//! `plan` (plans, allowances, passes, occupancy, members, teams, cancels) and `checkin`.
//! Every one of them handles every canonical event correctly.
//!
//! The handler is a library so that end-to-end tests and the local stack can run it in
//! process; each binary only wires it to the Lambda runtime.

// Deeply nested SDK futures need more than the default 128.
#![recursion_limit = "256"]

pub mod handler;

pub use handler::serve;

#[cfg(test)]
mod tests;
