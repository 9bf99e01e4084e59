//! Expands a booking into its occurrences for `GET /bookings/occurrences` (reference §2.5: a
//! recurring series is one entry in `/bookings`, first instance only; the occurrences endpoint
//! returns every instance in a period).
//!
//! The reference gives `recurrence{rrule, exdates[]}` and an example rule
//! `FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=10`, nothing about which RRULE parts OfficeRnD uses. The
//! simulator expands the common subset: `FREQ` = `DAILY` | `WEEKLY` | `MONTHLY`, `INTERVAL`,
//! `COUNT`, `UNTIL`, and `BYDAY` (weekly rules only). Instances keep the first instance's
//! wall-clock time in the booking's `timezone` (UTC when absent), so a weekly 09:00 booking
//! stays at 09:00 across a daylight-saving change. `COUNT` counts instances before `exdates`
//! are removed (RFC 5545). Anything else in a rule is refused when the booking is stored, so a
//! fixture cannot silently mean something the simulator does not do.

use chrono::{DateTime, Datelike, Days, Duration, Months, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::model::{InputError, Record};

/// The most instances one series is expanded to, whatever its rule says.
pub const MAX_INSTANCES: usize = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Freq {
    Daily,
    Weekly,
    Monthly,
}

/// A booking's schedule: its first instance and, for a series, the rule.
#[derive(Debug, Clone)]
pub struct Series {
    start: DateTime<Utc>,
    duration: Duration,
    tz: Tz,
    rule: Option<Rule>,
    exdates: Vec<Exdate>,
}

#[derive(Debug, Clone)]
struct Rule {
    freq: Freq,
    interval: u32,
    count: Option<usize>,
    until: Option<DateTime<Utc>>,
    by_day: Vec<chrono::Weekday>,
}

#[derive(Debug, Clone)]
enum Exdate {
    At(DateTime<Utc>),
    Day(NaiveDate),
}

fn bad(msg: impl Into<String>) -> InputError {
    InputError(msg.into())
}

fn instant(rec: &Record, field: &str) -> Result<DateTime<Utc>, InputError> {
    let s = rec
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("booking needs a \"{field}\" date-time")))?;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad(format!("booking \"{field}\" {s:?} is not ISO 8601")))
}

impl Series {
    /// Reads `start`, `end`, `timezone` and `recurrence{rrule, exdates}` of a booking.
    pub fn from_booking(rec: &Record) -> Result<Series, InputError> {
        let start = instant(rec, "start")?;
        let end = instant(rec, "end")?;
        if end < start {
            return Err(bad("booking \"end\" is before \"start\""));
        }
        let tz = match rec.get("timezone").and_then(Value::as_str) {
            None => Tz::UTC,
            Some(name) => name
                .parse::<Tz>()
                .map_err(|_| bad(format!("booking \"timezone\" {name:?} is unknown")))?,
        };
        let recurrence = rec.get("recurrence").and_then(Value::as_object);
        let rule = match recurrence
            .and_then(|r| r.get("rrule"))
            .and_then(Value::as_str)
        {
            None | Some("") => None,
            Some(text) => Some(parse_rule(text)?),
        };
        let mut exdates = Vec::new();
        if let Some(list) = recurrence.and_then(|r| r.get("exdates")) {
            let list = list
                .as_array()
                .ok_or_else(|| bad("booking \"recurrence.exdates\" must be an array"))?;
            for v in list {
                let s = v
                    .as_str()
                    .ok_or_else(|| bad("booking exdates must be strings"))?;
                let ex = if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                    Exdate::At(t.with_timezone(&Utc))
                } else if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                    Exdate::Day(d)
                } else {
                    return Err(bad(format!("booking exdate {s:?} is not a date")));
                };
                exdates.push(ex);
            }
        }
        Ok(Series {
            start,
            duration: end - start,
            tz,
            rule,
            exdates,
        })
    }

    /// The `(start, end)` of every instance that overlaps `[from, to)`, in order.
    pub fn occurrences(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut out = Vec::new();
        for s in self.instance_starts(to) {
            let e = s + self.duration;
            if s < to && e > from && !self.excluded(s) {
                out.push((s, e));
            }
        }
        out
    }

    fn excluded(&self, s: DateTime<Utc>) -> bool {
        let local_day = s.with_timezone(&self.tz).date_naive();
        self.exdates.iter().any(|x| match x {
            Exdate::At(t) => *t == s,
            Exdate::Day(d) => *d == local_day,
        })
    }

    /// Instance starts (exdates not yet removed) up to `horizon`.
    fn instance_starts(&self, horizon: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let Some(rule) = &self.rule else {
            return vec![self.start];
        };
        let first_local = self.start.with_timezone(&self.tz).naive_local();
        let time = first_local.time();
        let limit = rule.count.unwrap_or(MAX_INSTANCES).min(MAX_INSTANCES);
        let mut out = Vec::new();
        let mut period = 0u32;
        // Each period (day, week or month) yields its candidate local dates in order.
        while out.len() < limit {
            let Some(dates) = self.period_dates(rule, first_local.date(), period) else {
                break;
            };
            period = period.saturating_add(1);
            let mut past_end = false;
            for d in dates {
                let local = NaiveDateTime::new(d, time);
                if local < first_local {
                    continue;
                }
                let Some(s) = self.to_utc(local) else {
                    continue;
                };
                if rule.until.is_some_and(|u| s > u) || s >= horizon {
                    past_end = true;
                    break;
                }
                out.push(s);
                if out.len() >= limit {
                    break;
                }
            }
            if past_end || period as usize > MAX_INSTANCES * 31 {
                break;
            }
        }
        out
    }

    fn period_dates(&self, rule: &Rule, first: NaiveDate, period: u32) -> Option<Vec<NaiveDate>> {
        let step = period.checked_mul(rule.interval)?;
        match rule.freq {
            Freq::Daily => Some(vec![first.checked_add_days(Days::new(step.into()))?]),
            Freq::Monthly => {
                // Months without that day (the 31st in April) have no instance (RFC 5545).
                let month_start = first.with_day(1)?.checked_add_months(Months::new(step))?;
                Some(month_start.with_day(first.day()).into_iter().collect())
            }
            Freq::Weekly => {
                let monday = first
                    .checked_sub_days(Days::new(first.weekday().num_days_from_monday().into()))?
                    .checked_add_days(Days::new(u64::from(step) * 7))?;
                let mut days: Vec<_> = if rule.by_day.is_empty() {
                    vec![first.weekday()]
                } else {
                    rule.by_day.clone()
                };
                days.sort_by_key(|w| w.num_days_from_monday());
                days.into_iter()
                    .map(|w| monday.checked_add_days(Days::new(w.num_days_from_monday().into())))
                    .collect()
            }
        }
    }

    /// Local wall-clock time to UTC; a time skipped by a daylight-saving change moves on by an
    /// hour, an ambiguous one takes the earlier instant.
    fn to_utc(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                self.tz
                    .from_local_datetime(&(local + Duration::hours(1)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc))
    }
}

fn parse_rule(text: &str) -> Result<Rule, InputError> {
    let mut freq = None;
    let mut rule = Rule {
        freq: Freq::Daily,
        interval: 1,
        count: None,
        until: None,
        by_day: Vec::new(),
    };
    let text = text.strip_prefix("RRULE:").unwrap_or(text);
    for part in text.split(';').filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("rrule part {part:?} has no '='")))?;
        match k {
            "FREQ" => {
                freq = Some(match v {
                    "DAILY" => Freq::Daily,
                    "WEEKLY" => Freq::Weekly,
                    "MONTHLY" => Freq::Monthly,
                    _ => return Err(bad(format!("rrule FREQ={v} is not simulated"))),
                })
            }
            "INTERVAL" => {
                rule.interval =
                    v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        bad(format!("rrule INTERVAL={v} is not a positive number"))
                    })?
            }
            "COUNT" => {
                rule.count = Some(
                    v.parse()
                        .map_err(|_| bad(format!("rrule COUNT={v} is not a number")))?,
                )
            }
            "UNTIL" => rule.until = Some(parse_until(v)?),
            "BYDAY" => {
                for d in v.split(',') {
                    rule.by_day.push(match d {
                        "MO" => chrono::Weekday::Mon,
                        "TU" => chrono::Weekday::Tue,
                        "WE" => chrono::Weekday::Wed,
                        "TH" => chrono::Weekday::Thu,
                        "FR" => chrono::Weekday::Fri,
                        "SA" => chrono::Weekday::Sat,
                        "SU" => chrono::Weekday::Sun,
                        _ => return Err(bad(format!("rrule BYDAY value {d:?} is not simulated"))),
                    });
                }
            }
            "WKST" if v == "MO" => {}
            _ => return Err(bad(format!("rrule part {part:?} is not simulated"))),
        }
    }
    rule.freq = freq.ok_or_else(|| bad(format!("rrule {text:?} has no FREQ")))?;
    if !rule.by_day.is_empty() && rule.freq != Freq::Weekly {
        return Err(bad("rrule BYDAY is simulated for FREQ=WEEKLY only"));
    }
    Ok(rule)
}

/// `UNTIL` as `20241231T235959Z`, `20241231` or an ISO 8601 date-time.
fn parse_until(v: &str) -> Result<DateTime<Utc>, InputError> {
    if let Ok(t) = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%SZ") {
        return Ok(t.and_utc());
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y%m%d") {
        return d
            .and_hms_opt(23, 59, 59)
            .map(|t| t.and_utc())
            .ok_or_else(|| bad(format!("rrule UNTIL={v} is not a date")));
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad(format!("rrule UNTIL={v} is not a date")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn booking(v: Value) -> Series {
        Series::from_booking(v.as_object().unwrap()).unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_reference_example_rule_gives_ten_instances_on_its_weekdays() {
        let s = booking(
            json!({"start":"2024-10-30T13:00:00.000Z","end":"2024-10-30T13:30:00.000Z",
            "timezone":"Europe/London",
            "recurrence":{"rrule":"FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=10","exdates":[]}}),
        );
        let all = s.occurrences(t("2024-01-01T00:00:00Z"), t("2025-01-01T00:00:00Z"));
        assert_eq!(all.len(), 10);
        assert_eq!(all[0].0, t("2024-10-30T13:00:00Z"));
        assert_eq!(all[1].0, t("2024-11-01T13:00:00Z"));
        assert_eq!(all[2].0, t("2024-11-04T13:00:00Z"));
        assert!(all.iter().all(|(s, e)| *e - *s == Duration::minutes(30)));
    }

    #[test]
    fn wall_clock_time_survives_a_daylight_saving_change_and_exdates_drop_instances() {
        let s = booking(
            json!({"start":"2024-10-21T09:00:00Z","end":"2024-10-21T10:00:00Z",
            "timezone":"Europe/London",
            "recurrence":{"rrule":"FREQ=WEEKLY;COUNT=3","exdates":["2024-10-28"]}}),
        );
        let all = s.occurrences(t("2024-01-01T00:00:00Z"), t("2025-01-01T00:00:00Z"));
        // 10:00 BST on the 21st; the 28th is excluded; 10:00 GMT on 4 Nov is 10:00Z.
        assert_eq!(
            all.iter().map(|o| o.0).collect::<Vec<_>>(),
            vec![t("2024-10-21T09:00:00Z"), t("2024-11-04T10:00:00Z")]
        );
    }

    #[test]
    fn an_open_series_stops_at_the_window_and_until_ends_a_series() {
        let open = booking(
            json!({"start":"2024-01-01T08:00:00Z","end":"2024-01-01T09:00:00Z",
            "recurrence":{"rrule":"FREQ=DAILY;INTERVAL=2"}}),
        );
        let w = open.occurrences(t("2024-01-10T00:00:00Z"), t("2024-01-15T00:00:00Z"));
        assert_eq!(
            w.iter().map(|o| o.0.day()).collect::<Vec<_>>(),
            vec![11, 13]
        );
        let until = booking(
            json!({"start":"2024-01-31T08:00:00Z","end":"2024-01-31T09:00:00Z",
            "recurrence":{"rrule":"FREQ=MONTHLY;UNTIL=20240701T000000Z"}}),
        );
        let m = until.occurrences(t("2024-01-01T00:00:00Z"), t("2025-01-01T00:00:00Z"));
        // February, April and June have no 31st.
        assert_eq!(
            m.iter().map(|o| o.0.month()).collect::<Vec<_>>(),
            vec![1, 3, 5]
        );
    }

    #[test]
    fn rules_outside_the_simulated_subset_are_refused() {
        for rule in [
            "FREQ=YEARLY",
            "FREQ=DAILY;BYDAY=MO",
            "FREQ=WEEKLY;BYSETPOS=1",
            "COUNT=3",
        ] {
            let r = Series::from_booking(
                json!({"start":"2024-01-01T08:00:00Z","end":"2024-01-01T09:00:00Z",
                    "recurrence":{"rrule":rule}})
                .as_object()
                .unwrap(),
            );
            assert!(r.is_err(), "{rule}");
        }
    }
}
