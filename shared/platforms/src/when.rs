//! Instants as the platforms write them: RFC 3339, an offset-less date-time (taken as UTC), a
//! bare date, or unix seconds. Only years 1970–9999 are accepted, so every instant we emit
//! reads back from the canonical JSON.

use access_sync_rules::Instant;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// How a bare date (no time of day) is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DateIs {
    /// The start of that day (UTC midnight): a start date.
    Start,
    /// The end of that day (the next UTC midnight): an inclusive end date.
    End,
}

const MIN_UNIX: i64 = 0;
// 9999-12-31T23:59:59Z: RFC 3339 has four-digit years.
const MAX_UNIX: i64 = 253_402_300_799;

fn in_range(t: Instant) -> Option<Instant> {
    (MIN_UNIX..=MAX_UNIX).contains(&t.timestamp()).then_some(t)
}

/// Unix seconds; a value too large to be seconds in our range is read as milliseconds, since
/// some platforms send JavaScript timestamps.
pub(crate) fn from_unix(n: i64) -> Option<Instant> {
    let secs = if n > MAX_UNIX { n / 1000 } else { n };
    in_range(Utc.timestamp_opt(secs, 0).single()?)
}

/// Parses a platform's instant. `None` when it is none of the accepted forms.
pub(crate) fn parse(s: &str, date_is: DateIs) -> Option<Instant> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return in_range(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return in_range(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let d = match date_is {
            DateIs::Start => d,
            DateIs::End => d.succ_opt()?,
        };
        return in_range(d.and_time(NaiveTime::MIN).and_utc());
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return from_unix(s.parse().ok()?);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> Instant {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_accepted_form_reads() {
        let t = utc("2026-12-07T10:00:00Z");
        assert_eq!(parse("2026-12-07T10:00:00Z", DateIs::Start), Some(t));
        assert_eq!(parse("2026-12-07T11:00:00+01:00", DateIs::Start), Some(t));
        assert_eq!(parse("2026-12-07T10:00:00", DateIs::Start), Some(t));
        assert_eq!(parse("2026-12-07T10:00:00.000", DateIs::Start), Some(t));
        assert_eq!(parse("1796637600", DateIs::Start), Some(t));
        assert_eq!(parse("1796637600000", DateIs::Start), Some(t));
    }

    #[test]
    fn a_bare_end_date_includes_that_day() {
        assert_eq!(
            parse("2026-12-07", DateIs::Start),
            Some(utc("2026-12-07T00:00:00Z"))
        );
        assert_eq!(
            parse("2026-12-07", DateIs::End),
            Some(utc("2026-12-08T00:00:00Z"))
        );
    }

    #[test]
    fn nonsense_and_out_of_range_are_refused() {
        for s in [
            "",
            "soon",
            "-5",
            "99999-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse(s, DateIs::Start), None, "{s}");
        }
        assert_eq!(from_unix(i64::MAX), None);
        assert_eq!(from_unix(i64::MIN), None);
    }
}
