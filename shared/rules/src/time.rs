//! Instants, RFC 3339 in and out, and local wall-clock time in an IANA zone.
//!
//! The core never reads a clock: every instant comes in as data. Local times that a DST change
//! skips or repeats resolve with the UTC offset in force *before* the change (ACCESS-MODEL §3.2).

use chrono::{
    DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use std::hash::{Hash, Hasher};

/// An instant in UTC.
pub type Instant = DateTime<Utc>;

/// Parses an RFC 3339 instant with an explicit offset (`Z` or `±hh:mm`).
pub fn parse_instant(s: &str) -> Result<Instant, String> {
    if let Some(t) = parse_plain_utc(s) {
        return Ok(t);
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("bad instant {s:?}: {e} (want RFC 3339, e.g. 2026-12-07T10:00:00Z)"))
}

/// Formats an instant as RFC 3339 in UTC with whole seconds (fractions truncated) and `Z`.
pub fn format_instant(t: Instant) -> String {
    let mut out = String::with_capacity(20);
    push_instant(&mut out, t);
    out
}

/// Appends [`format_instant`] of `t` to `out`.
pub fn push_instant(out: &mut String, t: Instant) {
    match plain_utc(t) {
        Some(b) => b.iter().for_each(|&c| out.push(char::from(c))),
        None => out.push_str(&t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    }
}

/// Appends [`format_instant`] of `t` to `out`, as bytes.
pub(crate) fn push_instant_bytes(out: &mut Vec<u8>, t: Instant) {
    match plain_utc(t) {
        Some(b) => out.extend_from_slice(&b),
        None => out.extend_from_slice(t.format("%Y-%m-%dT%H:%M:%SZ").to_string().as_bytes()),
    }
}

/// [`push_instant_bytes`] remembering the text of recent instants: a timeline repeats a few
/// instants (bookings start on the hour) many times.
pub(crate) struct InstantText {
    recent: Vec<Option<(Instant, [u8; 20])>>,
}

impl InstantText {
    pub(crate) fn new() -> Self {
        InstantText {
            recent: vec![None; 1024],
        }
    }

    /// Appends [`format_instant`] of `t` to `out`.
    pub(crate) fn push(&mut self, out: &mut Vec<u8>, t: Instant) {
        let mut h = rustc_hash::FxHasher::default();
        t.hash(&mut h);
        let slot = &mut self.recent[(h.finish() >> 54) as usize];
        match slot {
            Some((at, text)) if *at == t => out.extend_from_slice(text),
            _ => match plain_utc(t) {
                Some(text) => {
                    *slot = Some((t, text));
                    out.extend_from_slice(&text);
                }
                None => push_instant_bytes(out, t),
            },
        }
    }
}

/// [`parse_instant`], in a file remembering the instants of the plain form
/// (`YYYY-MM-DDTHH:MM:SSZ`) it read last: the events of a file repeat a few instants (their
/// `at`, bookings on the hour). The default remembers nothing (one line).
#[derive(Default)]
pub(crate) struct RecentInstants {
    recent: Vec<Option<([u8; 20], Instant)>>,
}

impl RecentInstants {
    /// Remembering the last 1,024 or so instants read.
    pub(crate) fn remembering() -> Self {
        RecentInstants {
            recent: vec![None; 1024],
        }
    }

    /// [`parse_instant`] of `s`.
    pub(crate) fn parse(&mut self, s: &str) -> Result<Instant, String> {
        let Ok(key) = <[u8; 20]>::try_from(s.as_bytes()) else {
            return parse_instant(s);
        };
        if self.recent.is_empty() {
            return parse_instant(s);
        }
        let mut h = rustc_hash::FxHasher::default();
        key.hash(&mut h);
        let slot = &mut self.recent[(h.finish() >> 54) as usize];
        match slot {
            Some((text, t)) if *text == key => Ok(*t),
            _ => {
                let t = parse_instant(s)?;
                *slot = Some((key, t));
                Ok(t)
            }
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of `t` (ASCII), computed without chrono's calendar lookups; `None`
/// for the years chrono prints with a sign and for leap seconds (rare: its formatter does those).
fn plain_utc(t: Instant) -> Option<[u8; 20]> {
    let secs = t.timestamp();
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    if !(0..=9999).contains(&year) || t.nanosecond() >= 1_000_000_000 {
        return None;
    }
    let of_day = secs.rem_euclid(86_400) as u32;
    let mut b = *b"0000-00-00T00:00:00Z";
    let mut two = |at: usize, v: u32| {
        b[at] = b'0' + (v / 10) as u8;
        b[at + 1] = b'0' + (v % 10) as u8;
    };
    let year = year as u32;
    two(0, year / 100);
    two(2, year % 100);
    two(5, month);
    two(8, day);
    two(11, of_day / 3600);
    two(14, of_day / 60 % 60);
    two(17, of_day % 60);
    Some(b)
}

/// The proleptic Gregorian (year, month, day) of a day counted from 1970-01-01, without
/// chrono's ordinal tables (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365], from 1 March
    let mp = (5 * doy + 2) / 153; // [0, 11], from March
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `YYYY-MM-DDTHH:MM:SSZ` exactly, the form nearly every instant comes in: read without the
/// general RFC 3339 parser. `None` for anything else (the general parser then decides).
fn parse_plain_utc(s: &str) -> Option<Instant> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<u32> {
        b[from..from + len].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 2)?, num(8, 2)?)?;
    let time = NaiveTime::from_hms_opt(num(11, 2)?, num(14, 2)?, num(17, 2)?)?;
    Some(date.and_time(time).and_utc())
}

/// Formats an instant as RFC 3339 in UTC keeping any fraction (for storage round trips).
pub fn format_instant_exact(t: Instant) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// `t + d`, as chrono computes it, without chrono's calendar step when the result falls on the
/// same UTC day (lead and lag are minutes, so it nearly always does).
pub(crate) fn add_duration(t: Instant, d: Duration) -> Instant {
    let time = t.time();
    let nanos = time.nanosecond();
    // Whole seconds onto a time that is not a leap second, staying within the day.
    if d.subsec_nanos() == 0 && nanos < 1_000_000_000 {
        let secs = i64::from(time.num_seconds_from_midnight()) + d.num_seconds();
        if let Ok(secs) = u32::try_from(secs)
            && let Some(time) = NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)
        {
            return t.date_naive().and_time(time).and_utc();
        }
    }
    t + d
}

/// Parses an IANA time-zone name such as `Europe/London`.
pub fn parse_tz(s: &str) -> Result<Tz, String> {
    s.parse::<Tz>()
        .map_err(|_| format!("unknown time zone {s:?} (want an IANA name such as Europe/London)"))
}

/// The instant of a local wall-clock time in `tz`. A time skipped by a DST change (spring) or
/// repeated by one (autumn) uses the UTC offset in force before the change.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> Instant {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        // Repeated: the first occurrence is the one under the offset before the change.
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // Skipped: find the offset in force just before the gap and apply it.
            let mut probe = local;
            for _ in 0..48 {
                probe -= Duration::hours(1);
                if let LocalResult::Single(t) = tz.from_local_datetime(&probe) {
                    let offset = t.naive_local() - t.naive_utc();
                    return (local - offset).and_utc();
                }
            }
            // No zone has a gap longer than two days; treat the wall time as UTC as a last resort.
            local.and_utc()
        }
    }
}

/// The local date of an instant in `tz`.
pub fn local_date(tz: Tz, t: Instant) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

/// The first local midnight in `tz` strictly after `t`.
pub fn next_local_midnight(tz: Tz, t: Instant) -> Instant {
    let mut day = local_date(tz, t);
    loop {
        day = day.succ_opt().unwrap_or(day);
        let m = local_to_utc(tz, day.and_time(NaiveTime::MIN));
        if m > t {
            return m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Instant {
        parse_instant(s).unwrap()
    }

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
    }

    #[test]
    fn instants_print_in_utc_with_whole_seconds() {
        assert_eq!(
            format_instant(at("2026-12-07T10:00:00.987+01:00")),
            "2026-12-07T09:00:00Z"
        );
    }

    #[test]
    fn the_plain_utc_form_reads_and_prints_as_the_general_one_does() {
        for s in [
            "2026-12-07T10:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2028-02-29T12:30:45Z",
        ] {
            let general = DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
            assert_eq!(parse_plain_utc(s), Some(general), "{s}");
            assert_eq!(format_instant(general), s);
            assert_eq!(
                format_instant(general),
                general.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            );
        }
        for s in [
            "2027-02-29T12:30:45Z",
            "2026-12-07T24:00:00Z",
            "2026-12-07T23:59:60Z",
            "2026-13-07T10:00:00Z",
            "2026-12-07t10:00:00Z",
            "2026-12-07T10:00:00z",
            "+026-12-07T10:00:00Z",
            "2026-12-07T10:00:00.5Z",
        ] {
            assert_eq!(parse_plain_utc(s), None, "{s}");
            assert_eq!(
                parse_instant(s).ok(),
                DateTime::parse_from_rfc3339(s)
                    .ok()
                    .map(|t| t.with_timezone(&Utc)),
                "{s}"
            );
        }
        let leap = DateTime::parse_from_rfc3339("2016-12-31T23:59:60Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            format_instant(leap),
            leap.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        );
    }

    #[test]
    fn instants_print_as_chrono_prints_them_across_the_calendar() {
        let from = at("0000-01-01T00:00:00Z").timestamp();
        let to = at("9999-12-31T23:59:59Z").timestamp();
        // Every 1,000,003 s (about 11.6 days, so every day of the year and time of day comes
        // round), and the days around the edges of the range and of centuries.
        let mut secs: Vec<i64> = (from..=to).step_by(1_000_003).collect();
        for edge in [
            "0000-01-01T00:00:00Z",
            "1600-02-29T23:59:59Z",
            "1700-02-28T12:00:00Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "2100-03-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            let t = at(edge).timestamp();
            secs.extend((t - 3 * 86_400..=t + 3 * 86_400).step_by(3_601));
        }
        for s in secs {
            let t = DateTime::from_timestamp(s, 0).unwrap();
            assert_eq!(
                format_instant(t),
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            );
        }
        // Years outside 0–9999 go to chrono's formatter.
        for (y, m, d) in [(-1, 12, 31), (10_000, 1, 1)] {
            let t = NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(23, 59, 59)
                .unwrap()
                .and_utc();
            assert_eq!(
                format_instant(t),
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            );
        }
    }

    #[test]
    fn remembered_instants_print_as_the_others() {
        let mut text = InstantText::new();
        let mut out = Vec::new();
        let mut want = String::new();
        // Enough distinct instants to clash in the 1,024 slots, each printed a few times.
        for round in 0..3 {
            for i in 0..3_000 {
                let t = at("2026-12-07T10:00:00Z") + Duration::minutes(37 * i);
                text.push(&mut out, t);
                want.push_str(&format_instant(t));
            }
            let far = NaiveDate::from_ymd_opt(10_000 + round, 1, 1)
                .unwrap()
                .and_time(NaiveTime::MIN)
                .and_utc();
            text.push(&mut out, far);
            want.push_str(&format_instant(far));
        }
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn adding_a_duration_is_what_chrono_adds() {
        let leap = DateTime::parse_from_rfc3339("2016-12-31T23:59:60.5Z")
            .unwrap()
            .with_timezone(&Utc);
        for t in [
            at("2026-12-07T10:00:00Z"),
            at("2026-12-07T00:04:59Z"),
            at("2026-12-31T23:57:00Z"),
            at("2028-02-28T23:59:59Z"),
            at("2026-12-07T10:00:00.25Z"),
            leap,
        ] {
            for m in [-1_500, -61, -5, -1, 0, 1, 5, 61, 1_500] {
                for d in [
                    Duration::minutes(m),
                    Duration::seconds(m),
                    Duration::days(m),
                ] {
                    assert_eq!(add_duration(t, d), t + d, "{t} + {d}");
                    assert_eq!(add_duration(t, -d), t - d, "{t} - {d}");
                }
            }
        }
    }

    #[test]
    fn an_instant_without_offset_is_rejected() {
        assert!(parse_instant("2026-12-07T10:00:00").is_err());
    }

    #[test]
    fn a_local_time_skipped_in_spring_uses_the_winter_offset() {
        // London skips 01:00–02:00 on 2027-03-28; 01:30 is read with +00:00.
        let tz = parse_tz("Europe/London").unwrap();
        assert_eq!(
            local_to_utc(tz, local("2027-03-28T01:30")),
            at("2027-03-28T01:30:00Z")
        );
    }

    #[test]
    fn a_local_time_repeated_in_autumn_uses_the_summer_offset() {
        // London repeats 01:00–02:00 on 2026-10-25; 01:30 is read with +01:00.
        let tz = parse_tz("Europe/London").unwrap();
        assert_eq!(
            local_to_utc(tz, local("2026-10-25T01:30")),
            at("2026-10-25T00:30:00Z")
        );
    }

    #[test]
    fn local_midnight_in_new_york_is_five_hours_after_utc_midnight_in_winter() {
        let tz = parse_tz("America/New_York").unwrap();
        assert_eq!(
            next_local_midnight(tz, at("2026-12-07T23:30:00Z")),
            at("2026-12-08T05:00:00Z")
        );
        // 03:00Z on the 8th is still the 7th in New York.
        assert_eq!(
            next_local_midnight(tz, at("2026-12-08T03:00:00Z")),
            at("2026-12-08T05:00:00Z")
        );
    }

    #[test]
    fn a_check_in_at_local_midnight_lasts_until_the_next_one() {
        let tz = parse_tz("Europe/Berlin").unwrap();
        assert_eq!(
            next_local_midnight(tz, at("2026-12-07T23:00:00Z")),
            at("2026-12-08T23:00:00Z")
        );
    }
}
