//! v2 list mechanics (reference §3): strict query parameters, exact and `$in` filters, date
//! comparisons, `properties[...]`, `$select`, `$sort`, and cursor paging with `$limit` ≤ 50 and
//! the `{results, cursorNext, cursorPrev, rangeStart, rangeEnd}` envelope.
//!
//! Cursors are keyset cursors: an opaque hex string naming the sort key and `_id` of the
//! record a page ended (or began) with. A record added during a scan shows up if it sorts
//! after the cursor, a removed one simply vanishes, and no record is served twice — the
//! reference says nothing about cursor behaviour when data changes mid-scan (§6); this is the
//! behaviour a MongoDB keyset cursor has.

// Helpers return a ready `Response` as their error so handlers can `?` straight into the
// answer; its size does not matter in a test server.
#![allow(clippy::result_large_err)]

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use crate::faults::{FaultState, Readings};
use crate::model::{DATE_OPS, Record};
use crate::{ApiError, api_error};

use axum::http::StatusCode;

/// Documented maximum and default page size (§3 "Page size").
pub const MAX_LIMIT: i64 = 50;
/// What `$limit=0` gave on staging (§3).
pub const ZERO_LIMIT_PAGE: usize = 20;

/// What one list endpoint accepts.
#[derive(Debug, Clone)]
pub(crate) struct ListSpec {
    pub(crate) eq: Vec<&'static str>,
    pub(crate) date: Vec<&'static str>,
    pub(crate) sort: &'static [&'static str],
    pub(crate) properties: bool,
    /// Parameters the endpoint reads itself (the occurrence window).
    pub(crate) extra: &'static [&'static str],
    /// The field records are ordered by before `_id` (none: `_id` only).
    pub(crate) order_by: Option<&'static str>,
}

enum Filter {
    Eq(String, Vec<String>),
    Date(String, &'static str, DateTime<Utc>),
    Prop(String, String),
}

fn bad_request(msg: impl Into<String>) -> ApiError {
    api_error(StatusCode::BAD_REQUEST, &msg.into())
}

/// A query date: ISO 8601 date-time, or a plain date (midnight UTC).
pub(crate) fn parse_query_date(v: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn field_text<'a>(rec: &'a Record, field: &str) -> Option<Cow<'a, str>> {
    match rec.get(field)? {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

fn record_date(rec: &Record, field: &str) -> Option<DateTime<Utc>> {
    rec.get(field)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

struct Query {
    filters: Vec<Filter>,
    limit: usize,
    next: Option<Key<'static>>,
    prev: Option<Key<'static>>,
    select: Option<Vec<String>>,
    sort: Option<(&'static str, bool)>,
}

fn decode_cursor(raw: &str) -> Result<Key<'static>, ApiError> {
    // An unreadable cursor was answered 500 on staging (§3 "Bad cursors").
    let broken = || api_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
    let bytes = hex::decode(raw).map_err(|_| broken())?;
    let (key, id): (String, String) = serde_json::from_slice(&bytes).map_err(|_| broken())?;
    Ok((Cow::Owned(key), Cow::Owned(id)))
}

fn encode_cursor(key: &str, id: &str) -> String {
    hex::encode(json!([key, id]).to_string())
}

fn parse_sort(
    raw: &str,
    allowed: &'static [&'static str],
) -> Result<(&'static str, bool), ApiError> {
    // The JSON syntax is not shown in the docs (§2.1): accept `{"name":1}`, `{"name":-1}`,
    // `{"name":"desc"}`, and the plain forms `name` / `-name`.
    let (field, desc) = match serde_json::from_str::<Map<String, Value>>(raw) {
        Ok(obj) if obj.len() == 1 => {
            let (k, v) = obj.into_iter().next().unwrap_or_default();
            let desc = match &v {
                Value::Number(n) => n.as_i64() == Some(-1),
                Value::String(s) => s.eq_ignore_ascii_case("desc"),
                _ => false,
            };
            (k, desc)
        }
        Ok(_) => return Err(bad_request("$sort must name exactly one field")),
        Err(_) => match raw.strip_prefix('-') {
            Some(f) => (f.to_owned(), true),
            None => (raw.to_owned(), false),
        },
    };
    allowed
        .iter()
        .find(|f| **f == field)
        .map(|f| (*f, desc))
        .ok_or_else(|| bad_request(format!("$sort field {field} is not sortable")))
}

fn parse_query(
    spec: &ListSpec,
    params: &[(String, String)],
    readings: &Readings,
) -> Result<Query, ApiError> {
    let mut q = Query {
        filters: Vec::new(),
        limit: MAX_LIMIT as usize,
        next: None,
        prev: None,
        select: None,
        sort: None,
    };
    let unknown = |k: &str| -> Result<(), ApiError> {
        if readings.ignore_unknown_params {
            Ok(())
        } else {
            Err(bad_request(format!("property {k} should not exist")))
        }
    };
    for (k, v) in params {
        match k.as_str() {
            "$limit" => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| bad_request("$limit must be an integer number"))?;
                q.limit = match n {
                    n if n > MAX_LIMIT => {
                        return Err(bad_request("$limit must not be greater than 50"));
                    }
                    0 => ZERO_LIMIT_PAGE,
                    n if n < 0 => return Err(bad_request("$limit must not be less than 0")),
                    n => n as usize,
                };
            }
            "$cursorNext" => q.next = Some(decode_cursor(v)?),
            "$cursorPrev" => q.prev = Some(decode_cursor(v)?),
            "$select" => {
                q.select = Some(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                )
            }
            "$sort" if !spec.sort.is_empty() => q.sort = Some(parse_sort(v, spec.sort)?),
            k if spec.extra.contains(&k) => {}
            k if spec.eq.contains(&k) => q.filters.push(Filter::Eq(k.to_owned(), vec![v.clone()])),
            k if spec.date.contains(&k) => match parse_query_date(v) {
                // A bare date field is an exact instant match.
                Some(t) => {
                    let field = spec.date.iter().find(|f| **f == k).copied().unwrap_or("");
                    q.filters.push(Filter::Date(field.to_owned(), "$eq", t));
                }
                None => return Err(bad_request(format!("{k} must be a valid ISO 8601 date"))),
            },
            k => {
                let Some((field, rest)) = k.split_once('[') else {
                    unknown(k)?;
                    continue;
                };
                let Some(op) = rest.strip_suffix(']') else {
                    unknown(k)?;
                    continue;
                };
                if op == "$in" && spec.eq.contains(&field) {
                    let values = v.split(',').map(str::to_owned).collect();
                    q.filters.push(Filter::Eq(field.to_owned(), values));
                } else if let Some(op) = DATE_OPS.iter().find(|o| **o == op)
                    && spec.date.contains(&field)
                {
                    let t = parse_query_date(v)
                        .ok_or_else(|| bad_request(format!("{k} must be a valid ISO 8601 date")))?;
                    q.filters.push(Filter::Date(field.to_owned(), op, t));
                } else if field == "properties" && spec.properties && !op.is_empty() {
                    q.filters.push(Filter::Prop(op.to_owned(), v.clone()));
                } else {
                    unknown(k)?;
                }
            }
        }
    }
    if q.next.is_some() && q.prev.is_some() {
        // Observed on staging (§3 "Bad cursors").
        return Err(api_error(StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout"));
    }
    Ok(q)
}

fn matches(rec: &Record, filters: &[Filter], readings: &Readings) -> bool {
    filters.iter().all(|f| match f {
        Filter::Eq(field, values) => field_text(rec, field).is_some_and(|have| {
            values.iter().any(|want| {
                if field == "email" && readings.email_case_insensitive {
                    have.eq_ignore_ascii_case(want)
                } else {
                    have.as_ref() == want.as_str()
                }
            })
        }),
        Filter::Date(field, op, t) => record_date(rec, field).is_some_and(|have| match *op {
            "$gt" => have > *t,
            "$gte" => have >= *t,
            "$lt" => have < *t,
            "$lte" => have <= *t,
            _ => have == *t,
        }),
        Filter::Prop(key, want) => rec
            .get("properties")
            .and_then(|p| p.get(key))
            .and_then(Value::as_str)
            .is_some_and(|have| have == want),
    })
}

type Key<'a> = (Cow<'a, str>, Cow<'a, str>);
type Keyed<'a> = (Key<'a>, &'a Record);

fn order(a: &Key<'_>, b: &Key<'_>, desc: bool) -> Ordering {
    let o = (a.0.as_ref(), a.1.as_ref()).cmp(&(b.0.as_ref(), b.1.as_ref()));
    if desc { o.reverse() } else { o }
}

/// Filters, sorts and pages `records` for one list request. `faults` supplies the short-page
/// switch, which fires only on a page that has records after it.
pub(crate) fn list(
    records: Vec<&Record>,
    spec: &ListSpec,
    params: &[(String, String)],
    readings: &Readings,
    faults: &mut FaultState,
) -> Result<(Value, bool), ApiError> {
    let q = parse_query(spec, params, readings)?;
    let (sort_field, desc) = match q.sort {
        Some((f, d)) => (Some(f), d),
        None => (spec.order_by, false),
    };
    let mut keyed: Vec<Keyed> = records
        .into_iter()
        .filter(|r| matches(r, &q.filters, readings))
        .map(|r| {
            let key = sort_field
                .and_then(|f| field_text(r, f))
                .unwrap_or_default();
            let id = field_text(r, "_id").unwrap_or_default();
            ((key, id), r)
        })
        .collect();
    keyed.sort_unstable_by(|a, b| order(&a.0, &b.0, desc));

    let total = keyed.len();
    let (start, mut end) = if let Some(c) = &q.prev {
        let before = keyed.partition_point(|(k, _)| order(k, c, desc) == Ordering::Less);
        (before.saturating_sub(q.limit), before)
    } else {
        let start = match &q.next {
            Some(c) => keyed.partition_point(|(k, _)| order(k, c, desc) != Ordering::Greater),
            None => 0,
        };
        (start, (start + q.limit).min(total))
    };
    let mut short = false;
    if end < total && end - start >= 2 && faults.take_short_page() {
        end = start + (end - start).div_ceil(2);
        short = true;
    }
    let page = &keyed[start..end];
    let cursor_next = (end < total)
        .then(|| page.last().map(|((k, id), _)| encode_cursor(k, id)))
        .flatten();
    let cursor_prev = (start > 0)
        .then(|| page.first().map(|((k, id), _)| encode_cursor(k, id)))
        .flatten();
    let results: Vec<Value> = page
        .iter()
        .map(|(_, r)| Value::Object(select(r, q.select.as_deref())))
        .collect();
    let (range_start, range_end) = if results.is_empty() {
        (0, 0)
    } else {
        (start + 1, end)
    };
    let mut env = Map::new();
    env.insert("results".into(), Value::Array(results));
    for (key, cursor) in [("cursorNext", cursor_next), ("cursorPrev", cursor_prev)] {
        match cursor {
            Some(c) => {
                env.insert(key.into(), Value::String(c));
            }
            None if readings.null_cursor_keys => {
                env.insert(key.into(), Value::Null);
            }
            None => {}
        }
    }
    env.insert("rangeStart".into(), json!(range_start));
    env.insert("rangeEnd".into(), json!(range_end));
    Ok((Value::Object(env), short))
}

fn select(rec: &Record, fields: Option<&[String]>) -> Record {
    match fields {
        None => rec.clone(),
        Some(fields) => rec
            .iter()
            .filter(|(k, _)| *k == "_id" || fields.iter().any(|f| f == *k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}
