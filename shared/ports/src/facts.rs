//! The facts store (member, team and entitlement records, the mapping document).
//!
//! Being written: see issue 5.

/// Store of the facts the rules need (being written).
pub trait FactStore {}
