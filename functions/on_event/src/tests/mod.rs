//! The event handler on the in-memory ports and Kisi, with each function's kind of events.

mod booking;
mod checkin;
mod plan_change;
