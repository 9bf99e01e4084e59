//! The windows one version of an entitlement opens through one mapping (ACCESS-MODEL §3.2).
//!
//! Windows are half-open `[from, until)`; `until = None` is open-ended. Weekly blocks can recur
//! forever, so callers pass the range `[lo, hi)` they care about; windows wholly outside it may be
//! left out.

use crate::event::{Block, Entitlement, Kind};
use crate::time::{Instant, add_duration, local_date, local_to_utc, next_local_midnight};
use chrono::{Datelike, Duration, NaiveTime};
use chrono_tz::Tz;

/// A half-open window `[from, until)`; `until = None` never ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    /// First instant inside.
    pub from: Instant,
    /// First instant outside; `None` is open-ended.
    pub until: Option<Instant>,
}

impl Window {
    /// Whether the window holds no instant.
    pub fn is_empty(&self) -> bool {
        matches!(self.until, Some(u) if u <= self.from)
    }

    /// The window with `from` raised to at least `t` (rule 3: nothing before what it depends on).
    pub fn not_before(self, t: Instant) -> Window {
        Window {
            from: self.from.max(t),
            until: self.until,
        }
    }

    /// The window with `until` lowered to at most `t`.
    pub fn not_after(self, t: Option<Instant>) -> Window {
        let until = match (self.until, t) {
            (None, t) => t,
            (u, None) => u,
            (Some(u), Some(t)) => Some(u.min(t)),
        };
        Window {
            from: self.from,
            until,
        }
    }
}

/// Lead, lag and zone that apply to an entitlement through one mapping.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Open this much early (booking, registration, assignment).
    pub lead: Duration,
    /// Close this much late (booking, registration, assignment).
    pub lag: Duration,
    /// Zone for blocks and check-in day end when the entitlement has no `tz`.
    pub default_tz: Tz,
}

/// The windows `e` opens, with `start` already resolved (`e.start` or the record's first `at`),
/// that may intersect `[lo, hi)`.
pub fn windows(
    e: &Entitlement,
    start: Instant,
    t: Timing,
    lo: Instant,
    hi: Instant,
) -> Vec<Window> {
    let mut out = Vec::new();
    for_each_window(e, start, t, lo, hi, |w| out.push(w));
    out
}

/// [`windows`], handing each window to `f` instead of collecting them.
pub(crate) fn for_each_window(
    e: &Entitlement,
    start: Instant,
    t: Timing,
    lo: Instant,
    hi: Instant,
    f: impl FnMut(Window),
) {
    let shape = Shape {
        kind: e.kind,
        end: e.end,
        tz: e.tz,
        blocks: &e.blocks,
    };
    for_each_window_of(shape, start, t, lo, hi, f);
}

/// What of a version decides its windows, besides its start.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape<'e> {
    /// Kind.
    pub(crate) kind: Kind,
    /// End.
    pub(crate) end: Option<Instant>,
    /// Zone for blocks and check-in day end.
    pub(crate) tz: Option<Tz>,
    /// Weekly blocks.
    pub(crate) blocks: &'e [Block],
}

/// [`for_each_window`] of a version's [`Shape`].
pub(crate) fn for_each_window_of(
    e: Shape<'_>,
    start: Instant,
    t: Timing,
    lo: Instant,
    hi: Instant,
    mut f: impl FnMut(Window),
) {
    let tz = e.tz.unwrap_or(t.default_tz);
    let (lead, lag) = if e.kind.uses_lead_lag() {
        (t.lead, t.lag)
    } else {
        (Duration::zero(), Duration::zero())
    };
    let mut plain = |from: Instant, until: Option<Instant>| {
        let w = Window { from, until };
        if !w.is_empty() {
            f(w);
        }
    };
    let early = |t: Instant| add_duration(t, -lead);
    let late = |t: Instant| add_duration(t, lag);
    match e.kind {
        Kind::Plan | Kind::Allowance | Kind::Pass | Kind::Occupancy => plain(start, e.end),
        Kind::Booking | Kind::Registration => plain(early(start), e.end.map(late)),
        Kind::Assignment if e.blocks.is_empty() => plain(early(start), e.end.map(late)),
        Kind::Assignment => weekly(e, start, tz, lead, lag, lo, hi)
            .into_iter()
            .for_each(f),
        Kind::Checkin => plain(
            start,
            Some(e.end.unwrap_or_else(|| next_local_midnight(tz, start))),
        ),
    }
}

/// Weekly blocks: every occurrence whose local block start lies in `[start, end)` opens
/// `[block start − lead, block end + lag)`, not clipped to `end`.
fn weekly(
    e: Shape<'_>,
    start: Instant,
    tz: Tz,
    lead: Duration,
    lag: Duration,
    lo: Instant,
    hi: Instant,
) -> Vec<Window> {
    // A block lasts at most a day, so an occurrence starting more than a day (plus lag) before
    // `lo` cannot reach it; one starting at or after `hi + lead` opens after `hi`.
    let first = start.max(lo - Duration::days(1) - lag - Duration::days(1));
    let last = match e.end {
        Some(end) => end.min(hi + lead),
        None => hi + lead,
    };
    if first >= last {
        return vec![];
    }
    let mut out = Vec::new();
    let mut day = local_date(tz, first) - Duration::days(1);
    let stop = local_date(tz, last) + Duration::days(1);
    while day <= stop {
        for b in e.blocks {
            if !b.days.contains(&day.weekday()) {
                continue;
            }
            let block_start = local_to_utc(tz, day.and_time(minutes(b.from)));
            if block_start < start || e.end.is_some_and(|end| block_start >= end) {
                continue;
            }
            let block_end = if b.to == 1440 {
                local_to_utc(tz, (day + Duration::days(1)).and_time(NaiveTime::MIN))
            } else {
                local_to_utc(tz, day.and_time(minutes(b.to)))
            };
            let w = Window {
                from: block_start - lead,
                until: Some(block_end + lag),
            };
            if !w.is_empty() {
                out.push(w);
            }
        }
        day += Duration::days(1);
    }
    out.sort();
    out
}

fn minutes(m: u32) -> NaiveTime {
    NaiveTime::from_num_seconds_from_midnight_opt(m * 60, 0).unwrap_or(NaiveTime::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Body, Event};
    use crate::time::{parse_instant, parse_tz};

    fn at(s: &str) -> Instant {
        parse_instant(s).unwrap()
    }

    fn ent(json: &str) -> Entitlement {
        let line = format!(r#"{{"id":"e","at":"2026-01-01T00:00:00Z","entitlement":{json}}}"#);
        match Event::parse(&line).unwrap().body {
            Body::Entitlement(e) => e,
            _ => unreachable!(),
        }
    }

    fn timing(lead: i64, lag: i64, tz: &str) -> Timing {
        Timing {
            lead: Duration::minutes(lead),
            lag: Duration::minutes(lag),
            default_tz: parse_tz(tz).unwrap(),
        }
    }

    fn w(from: &str, until: Option<&str>) -> Window {
        Window {
            from: at(from),
            until: until.map(at),
        }
    }

    fn all(e: &Entitlement, start: &str, t: Timing) -> Vec<Window> {
        windows(
            e,
            at(start),
            t,
            at("2020-01-01T00:00:00Z"),
            at("2030-01-01T00:00:00Z"),
        )
    }

    #[test]
    fn a_booking_opens_lead_minutes_early_and_closes_lag_minutes_late() {
        let e = ent(
            r#"{"id":"b","kind":"booking","refs":[],"holder":{"member":"m"},"start":"2026-12-07T10:00:00Z","end":"2026-12-07T11:00:00Z"}"#,
        );
        assert_eq!(
            all(&e, "2026-12-07T10:00:00Z", timing(15, 10, "UTC")),
            vec![w("2026-12-07T09:45:00Z", Some("2026-12-07T11:10:00Z"))]
        );
    }

    #[test]
    fn a_plan_ignores_lead_and_lag() {
        let e = ent(
            r#"{"id":"p","kind":"plan","refs":[],"holder":{"member":"m"},"start":"2026-12-07T00:00:00Z"}"#,
        );
        assert_eq!(
            all(&e, "2026-12-07T00:00:00Z", timing(15, 10, "UTC")),
            vec![w("2026-12-07T00:00:00Z", None)]
        );
    }

    #[test]
    fn a_check_in_without_end_lasts_until_local_midnight_in_a_non_utc_zone() {
        let e = ent(
            r#"{"id":"c","kind":"checkin","refs":[],"holder":{"member":"m"},"tz":"America/Los_Angeles"}"#,
        );
        // 22:00 local on the 7th is 06:00Z on the 8th; local midnight is 08:00Z on the 8th.
        assert_eq!(
            all(&e, "2026-12-08T06:00:00Z", timing(5, 5, "UTC")),
            vec![w("2026-12-08T06:00:00Z", Some("2026-12-08T08:00:00Z"))]
        );
    }

    #[test]
    fn weekly_blocks_open_each_occurrence_with_lead_and_lag() {
        let e = ent(
            r#"{"id":"a","kind":"assignment","refs":[],"holder":{"member":"m"},"start":"2026-12-07T00:00:00Z","end":"2026-12-12T00:00:00Z","blocks":[{"days":["mon","fri"],"from":"09:00","to":"17:00"}]}"#,
        );
        assert_eq!(
            all(&e, "2026-12-07T00:00:00Z", timing(5, 5, "UTC")),
            vec![
                w("2026-12-07T08:55:00Z", Some("2026-12-07T17:05:00Z")),
                w("2026-12-11T08:55:00Z", Some("2026-12-11T17:05:00Z")),
            ]
        );
    }

    #[test]
    fn a_block_starting_before_end_is_not_clipped_to_end() {
        let e = ent(
            r#"{"id":"a","kind":"assignment","refs":[],"holder":{"member":"m"},"start":"2026-12-07T00:00:00Z","end":"2026-12-07T12:00:00Z","blocks":[{"days":["mon"],"from":"09:00","to":"17:00"}]}"#,
        );
        assert_eq!(
            all(&e, "2026-12-07T00:00:00Z", timing(0, 0, "UTC")),
            vec![w("2026-12-07T09:00:00Z", Some("2026-12-07T17:00:00Z"))]
        );
    }

    #[test]
    fn a_block_whose_start_is_before_the_assignment_start_is_left_out() {
        let e = ent(
            r#"{"id":"a","kind":"assignment","refs":[],"holder":{"member":"m"},"start":"2026-12-07T09:30:00Z","end":"2026-12-15T00:00:00Z","blocks":[{"days":["mon"],"from":"09:00","to":"17:00"}]}"#,
        );
        assert_eq!(
            all(&e, "2026-12-07T09:30:00Z", timing(5, 5, "UTC")),
            vec![w("2026-12-14T08:55:00Z", Some("2026-12-14T17:05:00Z"))]
        );
    }

    #[test]
    fn weekly_blocks_follow_local_time_across_the_spring_dst_change() {
        // London: Sunday 2027-03-28 clocks go forward. Mon 22nd 09:00 is 09:00Z, Mon 29th is 08:00Z.
        let e = ent(
            r#"{"id":"a","kind":"assignment","refs":[],"holder":{"member":"m"},"start":"2027-03-22T00:00:00Z","end":"2027-04-01T00:00:00Z","tz":"Europe/London","blocks":[{"days":["mon"],"from":"09:00","to":"10:00"}]}"#,
        );
        assert_eq!(
            all(&e, "2027-03-22T00:00:00Z", timing(0, 0, "UTC")),
            vec![
                w("2027-03-22T09:00:00Z", Some("2027-03-22T10:00:00Z")),
                w("2027-03-29T08:00:00Z", Some("2027-03-29T09:00:00Z")),
            ]
        );
    }

    #[test]
    fn weekly_blocks_follow_local_time_across_the_autumn_dst_change() {
        // London: Sunday 2026-10-25 clocks go back. Sun 18th 09:00 is 08:00Z, Sun 25th is 09:00Z.
        let e = ent(
            r#"{"id":"a","kind":"assignment","refs":[],"holder":{"member":"m"},"start":"2026-10-18T00:00:00Z","end":"2026-10-26T00:00:00Z","tz":"Europe/London","blocks":[{"days":["sun"],"from":"09:00","to":"10:00"}]}"#,
        );
        assert_eq!(
            all(&e, "2026-10-18T00:00:00Z", timing(0, 0, "UTC")),
            vec![
                w("2026-10-18T08:00:00Z", Some("2026-10-18T09:00:00Z")),
                w("2026-10-25T09:00:00Z", Some("2026-10-25T10:00:00Z")),
            ]
        );
    }

    #[test]
    fn a_block_in_the_skipped_hour_uses_the_offset_before_the_change() {
        // 01:30 on 2027-03-28 does not exist in London; read with +00:00 it is 01:30Z.
        let e = ent(
            r#"{"id":"a","kind":"assignment","refs":[],"holder":{"member":"m"},"start":"2027-03-27T00:00:00Z","end":"2027-03-29T00:00:00Z","tz":"Europe/London","blocks":[{"days":["sun"],"from":"01:30","to":"03:00"}]}"#,
        );
        assert_eq!(
            all(&e, "2027-03-27T00:00:00Z", timing(0, 0, "UTC")),
            vec![w("2027-03-28T01:30:00Z", Some("2027-03-28T02:00:00Z"))]
        );
    }

    #[test]
    fn a_block_until_24_00_ends_at_the_next_local_midnight() {
        let e = ent(
            r#"{"id":"a","kind":"assignment","refs":[],"holder":{"member":"m"},"start":"2026-12-05T00:00:00Z","end":"2026-12-06T00:00:00Z","blocks":[{"days":["sat"],"from":"18:00","to":"24:00"}]}"#,
        );
        assert_eq!(
            all(&e, "2026-12-05T00:00:00Z", timing(0, 0, "Europe/Berlin")),
            vec![w("2026-12-05T17:00:00Z", Some("2026-12-05T23:00:00Z"))]
        );
    }

    #[test]
    fn open_ended_blocks_are_generated_only_near_the_range() {
        let e = ent(
            r#"{"id":"a","kind":"assignment","refs":[],"holder":{"member":"m"},"start":"2026-01-05T00:00:00Z","blocks":[{"days":["mon"],"from":"09:00","to":"10:00"}]}"#,
        );
        let ws = windows(
            &e,
            at("2026-01-05T00:00:00Z"),
            timing(0, 0, "UTC"),
            at("2026-06-01T00:00:00Z"),
            at("2026-06-15T00:00:00Z"),
        );
        assert!(ws.len() <= 4, "{ws:?}");
        assert!(ws.contains(&w("2026-06-08T09:00:00Z", Some("2026-06-08T10:00:00Z"))));
    }
}
