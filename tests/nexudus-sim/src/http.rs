//! The HTTP side: the token endpoint, the list and by-id reads, the admin API.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};
use sim_common::{RequestLog, requests_route, take, with_retry_after};

use crate::{Faults, Fixture, Logged, REFRESH_LIFETIME_SECS, Sim, entity_of, record_id, stamp};

pub(crate) fn router(sim: Sim) -> Router {
    Router::new()
        .route("/api/token", post(token))
        .route("/api/{module}/{entity}", get(list))
        .route("/api/{module}/{entity}/{id}", get(by_id))
        .route("/__admin/seed", post(admin_seed))
        .route("/__admin/records/{module}/{entity}", post(admin_upsert))
        .route(
            "/__admin/records/{module}/{entity}/{id}",
            delete(admin_delete),
        )
        .route("/__admin/faults", post(admin_faults).get(admin_get_faults))
        .route("/__admin/clock", post(admin_clock))
        .route("/__admin/requests", requests_route::<Sim>())
        .route("/__admin/webhooks", post(admin_subscribe))
        .route("/__admin/emit/{action}", post(admin_emit))
        .with_state(sim)
}

fn bad(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(json!({"Message": msg}))).into_response()
}

fn query_pairs(q: &Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_deref().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

// ------------------------------------------------------------------ token

async fn token(AxState(sim): AxState<Sim>, headers: HeaderMap, body: Bytes) -> Response {
    let form_ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let error = |e: &str, d: &str| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": e, "error_description": d})),
        )
            .into_response()
    };
    if !form_ct {
        return error("unsupported_grant_type", "");
    }
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let now = sim.now();
    let client_id = match get("client_id") {
        "" => get("username").to_string(),
        c => c.to_string(),
    };
    let mut st = sim.lock();
    let client_id = match get("grant_type") {
        "password" => {
            if get("username") != sim.config.username || get("password") != sim.config.password {
                return error("invalid_grant", "The user name or password is incorrect.");
            }
            client_id
        }
        "refresh_token" => match st.refresh.get(get("refresh_token")) {
            Some((c, exp)) if *exp > now => c.clone(),
            _ => return error("invalid_grant", "The refresh token is invalid."),
        },
        _ => return error("unsupported_grant_type", ""),
    };
    st.counter += 1;
    let n = st.counter;
    let access = format!("sim-access-{n}-{}", rand::random::<u64>());
    let refresh = format!("sim-refresh-{n}-{}", rand::random::<u64>());
    let lifetime = sim.config.token_lifetime_secs;
    st.tokens
        .insert(access.clone(), now + chrono::Duration::seconds(lifetime));
    // Refreshing invalidates that client id's earlier refresh tokens (R §1).
    st.refresh.retain(|_, (c, _)| *c != client_id);
    st.refresh.insert(
        refresh.clone(),
        (
            client_id,
            now + chrono::Duration::seconds(REFRESH_LIFETIME_SECS),
        ),
    );
    st.requests.push(Logged {
        method: "POST".into(),
        path: "/api/token".into(),
        query: String::new(),
        status: 200,
    });
    axum::Json(json!({"access_token": access, "token_type": "bearer",
        "expires_in": lifetime, "refresh_token": refresh}))
    .into_response()
}

// ------------------------------------------------------------------ reads

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.trim().bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Checks the credentials, then the faults; `Err` is the answer to give.
fn gate(
    sim: &Sim,
    headers: &HeaderMap,
    path: &str,
    query: &Option<String>,
) -> Result<(), Box<Response>> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let now = sim.now();
    let mut st = sim.lock();
    let ok = if let Some(t) = auth.strip_prefix("Bearer ") {
        st.tokens.get(t.trim()).is_some_and(|exp| *exp > now)
    } else if let Some(b) = auth.strip_prefix("Basic ") {
        decode_base64(b)
            .and_then(|raw| String::from_utf8(raw).ok())
            .is_some_and(|s| s == format!("{}:{}", sim.config.username, sim.config.password))
    } else {
        false
    };
    let log = |status: u16, st: &mut crate::State| {
        st.requests.push(Logged {
            method: "GET".into(),
            path: path.to_string(),
            query: query.clone().unwrap_or_default(),
            status,
        });
    };
    if !ok {
        log(401, &mut st);
        return Err(Box::new(bad(
            StatusCode::UNAUTHORIZED,
            "Authorization has been denied for this request.",
        )));
    }
    if take(&mut st.faults.throttle_requests) {
        let status = if st.faults.throttle_status == 429 {
            429
        } else {
            409
        };
        let wait = st.faults.retry_after_secs;
        log(status, &mut st);
        let r = if status == 429 {
            (
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many requests. Wait {} seconds.", wait.unwrap_or(1)),
            )
                .into_response()
        } else {
            // Documented: 409, empty body, Retry-After (R §4).
            StatusCode::CONFLICT.into_response()
        };
        return Err(Box::new(with_retry_after(r, wait)));
    }
    if take(&mut st.faults.error_requests) {
        let status = StatusCode::from_u16(st.faults.error_status)
            .ok()
            .filter(|s| s.is_server_error())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        log(status.as_u16(), &mut st);
        return Err(Box::new(
            (
                status,
                "Ooops! There was a problem while running this action...",
            )
                .into_response(),
        ));
    }
    log(200, &mut st);
    Ok(())
}

/// A filter value or a record field as a comparable key: instants (minute precision) as
/// timestamps, numbers, else text (case-insensitive).
#[derive(PartialEq, PartialOrd)]
enum Key {
    Time(i64),
    Num(f64),
    Text(String),
}

fn as_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc).timestamp());
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().timestamp());
        }
    }
    None
}

fn key_of(v: &Value) -> Option<Key> {
    match v {
        Value::Number(n) => n.as_f64().map(Key::Num),
        Value::Bool(b) => Some(Key::Text(b.to_string())),
        Value::String(s) => Some(as_time(s).map_or_else(|| Key::Text(s.to_lowercase()), Key::Time)),
        _ => None,
    }
}

fn param_key(s: &str, like: &Value) -> Option<Key> {
    match like {
        Value::Number(_) => s.trim().parse().ok().map(Key::Num),
        Value::String(t) if as_time(t).is_some() => as_time(s).map(|t| Key::Time(t - t % 60)),
        _ => Some(Key::Text(s.trim().to_lowercase())),
    }
}

/// The record's field a filter names: `Field`, else `FieldId` (related ids drop `Id`, R §3).
fn field<'a>(rec: &'a Value, name: &str) -> Option<&'a Value> {
    rec.get(name)
        .or_else(|| rec.get(format!("{name}Id")))
        .filter(|v| !v.is_null())
}

fn matches(rec: &Value, entity: &str, pairs: &[(String, String)]) -> bool {
    for (k, v) in pairs {
        let (op, name) = if let Some(n) = k.strip_prefix(&format!("from_{entity}_")) {
            ("from", n)
        } else if let Some(n) = k.strip_prefix(&format!("to_{entity}_")) {
            ("to", n)
        } else if let Some(n) = k.strip_prefix(&format!("{entity}_")) {
            ("eq", n)
        } else {
            continue; // unknown parameters are ignored (R §3)
        };
        let Some(f) = field(rec, name) else {
            return false;
        };
        let (Some(have), Some(want)) = (key_of(f), param_key(v, f)) else {
            return false;
        };
        // Minute precision: a stored time compares by its minute.
        let have = match have {
            Key::Time(t) => Key::Time(t - t.rem_euclid(60)),
            k => k,
        };
        let ok = match op {
            "from" => have >= want,
            "to" => have <= want,
            _ => have == want,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// A list row: the record without its collections (R §3: only GET by id returns them).
fn partial(rec: &Value) -> Value {
    match rec {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_array())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        v => v.clone(),
    }
}

async fn list(
    AxState(sim): AxState<Sim>,
    Path((module, entity)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let path = format!("{module}/{entity}");
    if let Err(r) = gate(&sim, &headers, &format!("/api/{path}"), &query) {
        return *r;
    }
    let Some(name) = entity_of(&path) else {
        return bad(StatusCode::NOT_FOUND, "No HTTP resource was found.");
    };
    let pairs = query_pairs(&query);
    let get = |k: &str| pairs.iter().find(|(p, _)| p == k).map(|(_, v)| v.as_str());
    let mut st = sim.lock();
    let empty = BTreeMap::new();
    let coll = st.collections.get(&path).unwrap_or(&empty);
    // Batch form: `?id=[1,2,3]` → a bare array of full records (R §3).
    if let Some(ids) = get("id") {
        let ids: Vec<i64> = ids
            .trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        let out: Vec<Value> = ids.iter().filter_map(|i| coll.get(i).cloned()).collect();
        return axum::Json(Value::Array(out)).into_response();
    }
    let mut rows: Vec<&Value> = coll.values().filter(|r| matches(r, name, &pairs)).collect();
    let order = get("orderBy").unwrap_or("Id");
    rows.sort_by(|a, b| {
        let ka = field(a, order).and_then(key_of);
        let kb = field(b, order).and_then(key_of);
        ka.partial_cmp(&kb)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(record_id(a).cmp(&record_id(b)))
    });
    if matches!(get("dir"), Some("-1" | "descending" | "Descending")) {
        rows.reverse();
    }
    let size = get("size")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, sim.config.max_page_size);
    let page = get("page")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let total = rows.len();
    let pages = total.div_ceil(size);
    let from = ((page - 1) * size).min(total);
    let to = (from + size).min(total);
    let mut records: Vec<Value> = rows[from..to].iter().map(|r| partial(r)).collect();
    if page < pages && take(&mut st.faults.short_page_requests) {
        records.truncate(records.len() / 2);
    }
    let n = records.len();
    axum::Json(json!({
        "Records": records,
        "CurrentPage": page,
        "CurrentPageSize": size,
        "CurrentOrderField": order,
        "CurrentSortDirection": 1,
        "FirstItem": if n == 0 { 0 } else { from + 1 },
        "LastItem": from + n,
        "TotalItems": total,
        "TotalPages": pages,
        "HasNextPage": page < pages,
        "HasPreviousPage": page > 1,
    }))
    .into_response()
}

async fn by_id(
    AxState(sim): AxState<Sim>,
    Path((module, entity, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("{module}/{entity}");
    if let Err(r) = gate(&sim, &headers, &format!("/api/{path}/{id}"), &None) {
        return *r;
    }
    let found = id.parse::<i64>().ok().and_then(|i| sim.get(&path, i));
    match found {
        Some(r) => axum::Json(r).into_response(),
        None => bad(StatusCode::NOT_FOUND, "Not found"),
    }
}

// ------------------------------------------------------------------ admin

fn input(e: impl std::fmt::Display) -> Response {
    bad(StatusCode::BAD_REQUEST, &e.to_string())
}

async fn admin_seed(AxState(sim): AxState<Sim>, body: Bytes) -> Response {
    let fixture: Fixture = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return input(e),
    };
    match sim.seed(&fixture) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => input(e),
    }
}

/// Body: the record's fields; `?webhook=<Action>` also sends that webhook with the result.
async fn admin_upsert(
    AxState(sim): AxState<Sim>,
    Path((module, entity)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let fields: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return input(e),
    };
    let rec = match sim.upsert(&format!("{module}/{entity}"), &fields) {
        Ok(r) => r,
        Err(e) => return input(e),
    };
    let pairs = query_pairs(&query);
    let mut sent = Vec::new();
    if let Some((_, action)) = pairs.iter().find(|(k, _)| k == "webhook") {
        sent = sim.emit(action, &rec).await;
    }
    axum::Json(json!({"record": rec, "sent": sent})).into_response()
}

async fn admin_delete(
    AxState(sim): AxState<Sim>,
    Path((module, entity, id)): Path<(String, String, i64)>,
) -> Response {
    match sim.delete(&format!("{module}/{entity}"), id) {
        Some(r) => axum::Json(r).into_response(),
        None => bad(StatusCode::NOT_FOUND, "Not found"),
    }
}

async fn admin_faults(AxState(sim): AxState<Sim>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            sim.set_faults(f);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => input(e),
    }
}

async fn admin_get_faults(AxState(sim): AxState<Sim>) -> Response {
    axum::Json(sim.faults()).into_response()
}

async fn admin_clock(AxState(sim): AxState<Sim>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct Clock {
        now: Option<DateTime<Utc>>,
    }
    match serde_json::from_slice::<Clock>(&body) {
        Ok(c) => {
            sim.set_clock(c.now);
            axum::Json(json!({"now": stamp(sim.now())})).into_response()
        }
        Err(e) => input(e),
    }
}

impl RequestLog for Sim {
    type Entry = Logged;

    fn requests(&self) -> Vec<Logged> {
        Sim::requests(self)
    }

    fn clear_requests(&self) {
        self.reset_requests();
    }
}

async fn admin_subscribe(AxState(sim): AxState<Sim>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct Sub {
        action: String,
        url: String,
    }
    match serde_json::from_slice::<Sub>(&body) {
        Ok(s) => {
            sim.subscribe(&s.action, &s.url);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => input(e),
    }
}

/// Body: the record to send as a webhook of `action` (not stored).
async fn admin_emit(
    AxState(sim): AxState<Sim>,
    Path(action): Path<String>,
    body: Bytes,
) -> Response {
    match serde_json::from_slice::<Value>(&body) {
        Ok(rec) => axum::Json(sim.emit(&action, &rec).await).into_response(),
        Err(e) => input(e),
    }
}
