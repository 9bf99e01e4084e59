//! The HTTP side: lists, by-id reads, share status, reports, the admin API.

use std::collections::BTreeSet;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sim_common::{RequestLog, requests_route, take, with_retry_after};

use crate::{COLLECTIONS, Faults, Fixture, Logged, Rows, Sim, State, id_of};

pub(crate) fn router(sim: Sim) -> Router {
    Router::new()
        .route("/api/v2/reports/{name}/data", get(report))
        .route("/api/v2/customer_memberships/{id}/share_status", get(share))
        .route("/api/v2/{collection}", get(list))
        .route("/api/v2/{collection}/{id}", get(by_id))
        .route("/__admin/seed", post(admin_seed))
        .route("/__admin/records/{collection}", post(admin_put))
        .route("/__admin/records/{collection}/{id}", delete(admin_delete))
        .route("/__admin/faults", post(admin_faults).get(admin_get_faults))
        .route("/__admin/clock", post(admin_clock))
        .route("/__admin/deliver", post(admin_deliver))
        .route("/__admin/requests", requests_route::<Sim>())
        .with_state(sim)
}

fn error(status: StatusCode, code: &str, msg: &str) -> Response {
    (
        status,
        axum::Json(json!({"code": code, "field_errors": {}, "message": msg, "type": "invalid_request_error"})),
    )
        .into_response()
}

fn pairs(q: &Option<String>) -> Rows {
    form_urlencoded::parse(q.as_deref().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn scheme(headers: &HeaderMap) -> (String, Option<String>) {
    let v = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match v.split_once(' ') {
        Some((s, t)) => (s.to_owned(), Some(t.trim().to_owned())),
        None => (String::new(), None),
    }
}

/// Authentication, the rate window and the faults; `Err` is the answer to give.
#[allow(clippy::result_large_err)]
fn gate(
    sim: &Sim,
    headers: &HeaderMap,
    path: &str,
    query: &Option<String>,
) -> Result<(), Response> {
    let (sch, token) = scheme(headers);
    let mut s = sim.lock();
    let log = |s: &mut State, status: u16| {
        s.requests.push(Logged {
            path: path.to_owned(),
            query: query.clone().unwrap_or_default(),
            scheme: sch.clone(),
            status,
        });
    };
    let good = matches!(sch.as_str(), "Bearer" | "Token")
        && token.as_deref() == Some(sim.config.token.as_str());
    if !good || s.faults.token_expired {
        log(&mut s, 401);
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "authentication_failed",
            "Invalid or expired token.",
        ));
    }
    if let Some(p) = headers
        .get("teamup-provider-id")
        .and_then(|v| v.to_str().ok())
        && p.trim() != sim.config.provider_id.to_string()
    {
        log(&mut s, 403);
        return Err(error(
            StatusCode::FORBIDDEN,
            "provider_invalid",
            "The provider is not reachable with these credentials.",
        ));
    }
    if let Some(limit) = sim.config.requests_per_minute {
        let minute = std::time::Duration::from_secs(60);
        if s.recent
            .admit(std::time::Instant::now(), minute, limit)
            .is_err()
        {
            log(&mut s, 429);
            return Err(error(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "Request was throttled.",
            ));
        }
    }
    if take(&mut s.faults.error_requests) {
        let st = match s.faults.error_status {
            0 => 500,
            n => n,
        };
        log(&mut s, st);
        let st = StatusCode::from_u16(st).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Err(error(st, "server_error", "Server error."));
    }
    if take(&mut s.faults.throttle_requests) {
        log(&mut s, 429);
        let r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            "Request was throttled.",
        );
        return Err(with_retry_after(r, s.faults.retry_after_secs));
    }
    log(&mut s, 200);
    Ok(())
}

fn set_status(sim: &Sim, status: u16) {
    if let Some(l) = sim.lock().requests.last_mut() {
        l.status = status;
    }
}

fn instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
        })
}

fn ids(v: &str) -> BTreeSet<i64> {
    v.split(',').filter_map(|s| s.trim().parse().ok()).collect()
}

fn field_instant(r: &Value, key: &str) -> Option<DateTime<Utc>> {
    r.get(key).and_then(Value::as_str).and_then(instant)
}

/// The customers a membership reaches: its owner, and the family it is shared with.
fn reaches(s: &State, m: &Value, customer: i64) -> bool {
    if m.get("customer").and_then(id_of) == Some(customer) {
        return true;
    }
    let Some(id) = m.get("id").and_then(id_of) else {
        return false;
    };
    let Some(share) = s.shares.get(&id) else {
        return false;
    };
    if share.get("shared").and_then(Value::as_bool) != Some(true) {
        return false;
    }
    let Some(family) = share.get("family").and_then(id_of) else {
        return false;
    };
    s.collections
        .get("customers")
        .and_then(|c| c.get(&customer))
        .and_then(|c| c.get("family"))
        .and_then(id_of)
        == Some(family)
}

fn related(s: &State, collection: &str, id: Option<i64>) -> Option<Value> {
    s.collections.get(collection)?.get(&id?).cloned()
}

/// Whether `r` of `collection` passes every filter of `q` the simulator knows.
fn passes(s: &State, collection: &str, r: &Value, q: &Rows) -> bool {
    let window = |key: &str, t: Option<DateTime<Utc>>| -> bool {
        let lo = q.get(&format!("{key}_gte")).and_then(|v| instant(v));
        let hi = q.get(&format!("{key}_lte")).and_then(|v| instant(v));
        match t {
            Some(t) => lo.is_none_or(|l| t >= l) && hi.is_none_or(|h| t <= h),
            None => lo.is_none() && hi.is_none(),
        }
    };
    if let Some(v) = q.get("ids")
        && !r
            .get("id")
            .and_then(id_of)
            .is_some_and(|i| ids(v).contains(&i))
    {
        return false;
    }
    if let Some(v) = q.get("customer")
        && !r
            .get("customer")
            .and_then(id_of)
            .is_some_and(|i| ids(v).contains(&i))
    {
        return false;
    }
    if let Some(v) = q.get("event")
        && !r
            .get("event")
            .and_then(id_of)
            .is_some_and(|i| ids(v).contains(&i))
    {
        return false;
    }
    if let Some(v) = q.get("family")
        && r.get("family").and_then(id_of) != v.trim().parse().ok()
    {
        return false;
    }
    if let Some(v) = q.get("status") {
        let want: Vec<&str> = v
            .split(',')
            .map(|x| {
                if x.trim() == "complete" {
                    "completed"
                } else {
                    x.trim()
                }
            })
            .collect();
        if !r
            .get("status")
            .and_then(Value::as_str)
            .is_some_and(|st| want.contains(&st))
        {
            return false;
        }
    }
    if let Some(v) = q.get("is_active")
        && r.get("is_active").and_then(Value::as_bool) != Some(v == "true")
    {
        return false;
    }
    if let Some(v) = q.get("owned_or_shared_with_customer") {
        let Ok(c) = v.trim().parse::<i64>() else {
            return false;
        };
        if !reaches(s, r, c) {
            return false;
        }
    }
    if collection == "customers" {
        let deleted = r.get("deleted_at").is_some_and(|d| !d.is_null());
        let want = q.get("deleted").map(String::as_str) == Some("true");
        if deleted != want {
            return false;
        }
    }
    match collection {
        "events" | "course_sessions" => window("starts_at", field_instant(r, "starts_at")),
        "attendances" => {
            let ev = related(s, "events", r.get("event").and_then(id_of));
            window(
                "event_starts_at",
                ev.as_ref().and_then(|e| field_instant(e, "starts_at")),
            )
        }
        "course_session_attendances" => {
            let cs = related(
                s,
                "course_sessions",
                r.get("course_session").and_then(id_of),
            );
            window(
                "course_session_starts_at",
                cs.as_ref().and_then(|e| field_instant(e, "starts_at")),
            )
        }
        _ => true,
    }
}

fn expand(s: &State, collection: &str, mut r: Value, q: &Rows) -> Value {
    let Some(e) = q.get("expand") else { return r };
    for what in e.split(',').map(str::trim) {
        let target = match (collection, what) {
            ("customer_memberships", "membership") => "memberships",
            ("attendances", "event") => "events",
            ("course_session_attendances", "course_session") => "course_sessions",
            ("customer_memberships" | "attendances", "customer") => "customers",
            _ => continue,
        };
        if let Some(v) = related(s, target, r.get(what).and_then(id_of)) {
            r[what] = v;
        }
    }
    r
}

fn page_params(q: &Rows, max: usize) -> (usize, usize) {
    let size = q
        .get("page_size")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, max);
    let page = q
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    (page, size)
}

fn page_url(base: &str, path: &str, q: &Rows, page: usize) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    let mut keys: Vec<&String> = q.keys().filter(|k| *k != "page").collect();
    keys.sort();
    for k in keys {
        ser.append_pair(k, &q[k]);
    }
    ser.append_pair("page", &page.to_string());
    format!("{base}{path}?{}", ser.finish())
}

async fn list(
    AxState(sim): AxState<Sim>,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let path = format!("/api/v2/{collection}");
    if let Err(r) = gate(&sim, &headers, &path, &raw) {
        return r;
    }
    if !COLLECTIONS.contains(&collection.as_str()) {
        set_status(&sim, 404);
        return error(StatusCode::NOT_FOUND, "not_found", "Not found.");
    }
    let q = pairs(&raw);
    let max = if collection == "events" { 250 } else { 100 };
    let (page, size) = page_params(&q, max);
    let mut s = sim.lock();
    let all: Vec<Value> = s
        .collections
        .get(&collection)
        .into_iter()
        .flat_map(|m| m.values())
        .filter(|r| passes(&s, &collection, r, &q))
        .cloned()
        .collect();
    let count = all.len();
    let from = (page - 1) * size;
    let mut rows: Vec<Value> = all
        .into_iter()
        .skip(from)
        .take(size)
        .map(|r| expand(&s, &collection, r, &q))
        .collect();
    let last = from + size >= count;
    if !last && take(&mut s.faults.short_page_requests) {
        rows.truncate(rows.len() / 2);
    }
    let base = s.base_url.clone();
    drop(s);
    let next = (!last).then(|| page_url(&base, &path, &q, page + 1));
    let previous = (page > 1).then(|| page_url(&base, &path, &q, page - 1));
    axum::Json(json!({"count": count, "next": next, "previous": previous, "results": rows}))
        .into_response()
}

async fn by_id(
    AxState(sim): AxState<Sim>,
    Path((collection, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let path = format!("/api/v2/{collection}/{id}");
    if let Err(r) = gate(&sim, &headers, &path, &raw) {
        return r;
    }
    let q = pairs(&raw);
    let s = sim.lock();
    let found = id
        .parse::<i64>()
        .ok()
        .and_then(|i| related(&s, &collection, Some(i)))
        .filter(|r| collection != "customers" || r.get("deleted_at").is_none_or(Value::is_null));
    match found {
        Some(r) => {
            let r = expand(&s, &collection, r, &q);
            drop(s);
            axum::Json(r).into_response()
        }
        None => {
            drop(s);
            set_status(&sim, 404);
            error(StatusCode::NOT_FOUND, "not_found", "Not found.")
        }
    }
}

async fn share(
    AxState(sim): AxState<Sim>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let path = format!("/api/v2/customer_memberships/{id}/share_status");
    if let Err(r) = gate(&sim, &headers, &path, &raw) {
        return r;
    }
    let s = sim.lock();
    let Some(m) = id
        .parse::<i64>()
        .ok()
        .and_then(|i| related(&s, "customer_memberships", Some(i)))
    else {
        drop(s);
        set_status(&sim, 404);
        return error(StatusCode::NOT_FOUND, "not_found", "Not found.");
    };
    let mid = m.get("id").and_then(id_of).unwrap_or_default();
    let answer = s.shares.get(&mid).cloned().unwrap_or_else(
        || json!({"customer": m.get("customer").and_then(id_of), "family": null, "shared": false}),
    );
    axum::Json(answer).into_response()
}

fn person(s: &State, id: Option<i64>) -> Value {
    let c = related(s, "customers", id).unwrap_or(Value::Null);
    let name = format!(
        "{} {}",
        c.get("first_name").and_then(Value::as_str).unwrap_or(""),
        c.get("last_name").and_then(Value::as_str).unwrap_or("")
    );
    json!({"id": id, "name": name.trim(), "email": c.get("email").cloned().unwrap_or(Value::Null)})
}

fn report_row(s: &State, name: &str, r: &Value) -> Value {
    if name == "customer_memberships" {
        let cat =
            related(s, "memberships", r.get("membership").and_then(id_of)).unwrap_or_default();
        let kind = match cat.get("type").and_then(Value::as_str) {
            Some("recurring_plan") => "recurring",
            Some("prepaid_plan") => "prepaid",
            Some(other) => other,
            None => "",
        };
        json!({
            "id": r.get("id"), "updated_at": r.get("updated_at"),
            "customer": person(s, r.get("customer").and_then(id_of)),
            "membership": {"id": cat.get("id"), "name": cat.get("name")},
            "type": kind, "status": r.get("status"),
            "start_date": r.get("start_date"), "expiration_date": r.get("expiration_date"),
            "renewal_date": r.get("renewal_date"), "cancelled_date": null,
            "completed_at": r.get("completed_at"),
        })
    } else {
        let ev = related(s, "events", r.get("event").and_then(id_of)).unwrap_or_default();
        json!({
            "id": r.get("id"), "updated_at": r.get("updated_at"),
            "customer": person(s, r.get("customer").and_then(id_of)),
            "event": {"id": ev.get("id"), "starts_at": ev.get("starts_at"),
                      "ends_at": ev.get("ends_at"), "name": ev.get("name")},
            "offering_type": ev.get("offering_type"), "venue": ev.get("venue"),
            "instructors": [], "booking_method": "membership",
            "customer_membership": {"id": r.get("customer_membership")},
            "booking_source": r.get("booking_source"), "status": r.get("status"),
            "checkin": null, "is_first_attendance": false,
        })
    }
}

async fn report(
    AxState(sim): AxState<Sim>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let path = format!("/api/v2/reports/{name}/data");
    if let Err(r) = gate(&sim, &headers, &path, &raw) {
        return r;
    }
    if !matches!(name.as_str(), "customer_memberships" | "attendances") {
        set_status(&sim, 404);
        return error(StatusCode::NOT_FOUND, "not_found", "Not found.");
    }
    let q = pairs(&raw);
    let s = sim.lock();
    let lo = q.get("updated_at_gte").and_then(|v| instant(v));
    let hi = q.get("updated_at_lte").and_then(|v| instant(v));
    let rows: Vec<Value> = s
        .collections
        .get(&name)
        .into_iter()
        .flat_map(|m| m.values())
        .filter(|r| {
            let t = field_instant(r, "updated_at");
            lo.is_none_or(|l| t.is_some_and(|t| t >= l))
                && hi.is_none_or(|h| t.is_some_and(|t| t <= h))
        })
        .map(|r| report_row(&s, &name, r))
        .collect();
    drop(s);
    let total = rows.len();
    let (offset, size) = if let Some(l) = q.get("limit") {
        let size = l.parse::<usize>().unwrap_or(50).clamp(1, 100);
        (
            q.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0),
            size,
        )
    } else {
        let (page, size) = page_params(&q, 100);
        ((page - 1) * size, size)
    };
    let rows: Vec<Value> = rows.into_iter().skip(offset).take(size).collect();
    if q.get("format").map(String::as_str) != Some("json") {
        // The default is CSV (§3): the ids and statuses only, enough to see it is not JSON.
        let mut csv = String::from("id,status,updated_at\n");
        for r in &rows {
            csv.push_str(&format!(
                "{},{},{}\n",
                r["id"],
                r["status"].as_str().unwrap_or(""),
                r["updated_at"].as_str().unwrap_or("")
            ));
        }
        return ([(header::CONTENT_TYPE, "text/csv")], csv).into_response();
    }
    let headers: Vec<Value> = rows
        .first()
        .and_then(Value::as_object)
        .map(|o| {
            o.keys()
                .map(|k| json!({"label": k, "key": k, "sortable": true}))
                .collect()
        })
        .unwrap_or_default();
    axum::Json(json!({"total": total, "column_headers": headers, "rows": rows})).into_response()
}

async fn admin_seed(AxState(sim): AxState<Sim>, body: Bytes) -> Response {
    let fixture: Fixture = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_fixture", &e.to_string()),
    };
    match sim.seed(&fixture) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, "bad_fixture", &e.0),
    }
}

async fn admin_put(
    AxState(sim): AxState<Sim>,
    Path(collection): Path<String>,
    body: Bytes,
) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_record", &e.to_string()),
    };
    match sim.put(&collection, &v) {
        Ok(r) => axum::Json(r).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, "bad_record", &e.0),
    }
}

async fn admin_delete(
    AxState(sim): AxState<Sim>,
    Path((collection, id)): Path<(String, i64)>,
) -> Response {
    match sim.remove(&collection, id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "Not found."),
    }
}

async fn admin_faults(AxState(sim): AxState<Sim>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            sim.set_faults(f);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, "bad_faults", &e.to_string()),
    }
}

async fn admin_get_faults(AxState(sim): AxState<Sim>) -> Response {
    axum::Json(sim.faults()).into_response()
}

async fn admin_clock(AxState(sim): AxState<Sim>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match v.get("now") {
        Some(Value::Null) | None => sim.set_clock(None),
        Some(Value::String(s)) => match instant(s) {
            Some(t) => sim.set_clock(Some(t)),
            None => return error(StatusCode::BAD_REQUEST, "bad_clock", "now is not RFC 3339"),
        },
        Some(_) => return error(StatusCode::BAD_REQUEST, "bad_clock", "now is not a string"),
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn admin_deliver(AxState(sim): AxState<Sim>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_delivery", &e.to_string()),
    };
    let Some(url) = v.get("url").and_then(Value::as_str) else {
        return error(StatusCode::BAD_REQUEST, "bad_delivery", "url is required");
    };
    let item = v.get("item").cloned().unwrap_or_else(|| json!({}));
    let sent = match v.get("webhook_id").and_then(Value::as_str) {
        Some(id) => {
            let body = sim.webhook_body(&item);
            sim.deliver(url, id, &body).await
        }
        None => sim.emit(url, &item).await,
    };
    axum::Json(sent).into_response()
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
