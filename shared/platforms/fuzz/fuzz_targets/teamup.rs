//! Fuzz the teamup normaliser: no input may panic, and every event it returns must round-trip
//! through the canonical JSON. Input: the raw body, optionally preceded by a side-channel line
//! (Nexudus action / TeamUp webhook id) and a newline.
#![no_main]

mod common;

use access_sync_platforms::Platform;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::check(Platform::Teamup, data));
