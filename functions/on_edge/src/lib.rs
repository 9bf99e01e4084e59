//! `on_edge`: the only function that writes Kisi (reserved concurrency 1, one request budget).
//!
//! The handler is a library so that end-to-end tests and the local stack can run it in
//! process; `main.rs` only wires it to the Lambda runtime.

// Deeply nested SDK futures need more than the default 128.
#![recursion_limit = "256"]

pub mod handler;

#[cfg(test)]
mod tests;
