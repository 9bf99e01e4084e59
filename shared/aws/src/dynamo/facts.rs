//! Facts (being written).
