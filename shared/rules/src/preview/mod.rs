//! `preview`: the access timeline of an event file (ACCESS-MODEL §4). It sits on top of the
//! core — the production path reads event → facts → access → converge — and nothing in the core
//! depends on it (`tests/module_graph.rs` checks that).
//!
//! The reference is [`preview_live`]: a [`Simulation`] does exactly what production does, in
//! memory (see `live`); it shares [`Facts::apply`](crate::facts::Facts::apply),
//! [`Facts::access`](crate::facts::Facts::access) and [`decide`](crate::converge::decide) with
//! production. [`preview`] computes the same records from the whole history at once (`batch`,
//! with the same window code, over the borrowed event records of `records`) unless weekly
//! blocks are present; `tests/batch.rs` holds the two to byte-for-byte equality, and
//! `access-sync preview --live` runs the reference.
//!
//! - `timeline`: what a preview prints ([`Interval`], [`Preview`]).
//! - `live`: the live engine on a virtual clock ([`Simulation`], [`preview_live`]).
//! - `records`: the events as the batch reading needs them, borrowed from the file's text.
//! - `batch`: the batch reading of the timeline.

mod batch;
mod live;
mod records;
mod timeline;

pub use live::{Simulation, Step, preview_live};
pub use timeline::{Interval, Preview};

use crate::error::LineError;
use crate::event::{Event, parse_jsonl};
use crate::mapping::Mappings;
use crate::time::Instant;
use records::{Arena, Rec, scan_records};

/// Runs a preview: events are de-duplicated by delivery id (the first line wins), sorted by `at`
/// stably, and read into the timeline the live engine records ([`preview_live`]) up to the
/// horizon (`until`, or 30 days after the latest event). Without weekly blocks the timeline is
/// computed from the whole history at once (the same intervals, reasons and warnings, byte for
/// byte; see [`preview_batch`]); with them the engine itself runs.
pub fn preview(mappings: &Mappings, events: Vec<Event>, until: Option<Instant>) -> Preview {
    match batch::preview(mappings, &events, until) {
        Some(p) => p,
        None => preview_live(mappings, events, until),
    }
}

/// An event file read for [`preview`] (see [`PreviewInput::parse`]).
#[derive(Debug)]
pub struct PreviewInput<'a>(Input<'a>);

#[derive(Debug)]
enum Input<'a> {
    /// Records borrowing the file's text, for the batch reading.
    Records(Vec<Rec<'a>>, Arena<'a>),
    /// Parsed events (a line of another shape, or weekly blocks).
    Events(Vec<Event>),
}

impl<'a> PreviewInput<'a> {
    /// Reads a JSON Lines event file: accepts and rejects exactly what [`parse_jsonl`] does, with
    /// the same error. Lines of the common shape are read into records that borrow the text
    /// (no allocation per event); a file with any other line, or with weekly blocks, is read
    /// into [`Event`]s.
    pub fn parse(text: &'a str) -> Result<Self, LineError> {
        Ok(PreviewInput(match scan_records(text) {
            Some((recs, arena)) => Input::Records(recs, arena),
            None => Input::Events(parse_jsonl(text)?.into_iter().map(|(_, e)| e).collect()),
        }))
    }

    /// The number of events read (blank lines left out).
    pub fn len(&self) -> usize {
        match &self.0 {
            Input::Records(recs, _) => recs.len(),
            Input::Events(events) => events.len(),
        }
    }

    /// Whether the file holds no event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`preview`] of these events.
    pub fn preview(self, mappings: &Mappings, until: Option<Instant>) -> Preview {
        match self.0 {
            Input::Records(recs, arena) => batch::timeline(mappings, &recs, &arena, until),
            Input::Events(events) => preview(mappings, events, until),
        }
    }
}

/// [`preview`] by the batch reading only: `None` when some version has weekly blocks, which the
/// engine expands only up to its look-ahead from each converge (so the batch reading could
/// differ). For comparing the two readings.
pub fn preview_batch(
    mappings: &Mappings,
    events: Vec<Event>,
    until: Option<Instant>,
) -> Option<Preview> {
    batch::preview(mappings, &events, until)
}
