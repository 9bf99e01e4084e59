//! The pure access rules (being written).
