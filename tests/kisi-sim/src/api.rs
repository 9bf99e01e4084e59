//! The Kisi endpoints the access-sync client uses: users, groups, role assignments, places.
//!
//! Behaviour follows `shared/reference/kisi-api.md`: bare arrays with `X-Collection-Range`
//! (`*/N` for an empty page; `end` is `offset + limit - 1` even past the total, as in the spec's
//! own example), limits clamped per endpoint, 200 on create, 204 on patch and delete, 404 with
//! `{code,error}` for unknown ids, 422 with `{"errors":{field:[..]}}`, 409 for a duplicate
//! e-mail or a second assignment of a user to the same group (Kisi allows one role per group).

// Helpers return a ready `Response` as their error so handlers can `?` straight into the
// answer; its size does not matter in a test server.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::model::{
    EmailKind, PlaceRoleAssignment, RoleAssignment, SentEmail, TimelineAction, TimelineEntry, User,
};
use crate::{Sim, kisi_error};

type Params = Query<HashMap<String, String>>;

/// Per-endpoint page limits from the published spec: (default, max).
const USERS_LIMITS: (usize, usize) = (50, 100);
const GROUPS_LIMITS: (usize, usize) = (10, 250);
const ASSIGNMENTS_LIMITS: (usize, usize) = (10, 250);
const PLACES_LIMITS: (usize, usize) = (50, 250);
const MAX_OFFSET: usize = 20_000;

/// Roles a group assignment may carry.
const GROUP_ROLES: [&str; 2] = ["group_basic", "group_manager"];

/// Roles a place assignment may carry. Kisi's place role ids are not confirmed by the
/// reference (kisi-api.md §2.4); these are the simulator's [I] choice, matching the client's
/// `ROLE_PLACE_BASIC`, plus two a person might give by hand.
pub(crate) const PLACE_ROLES: [&str; 3] = ["place_basic", "place_manager", "place_administrator"];

pub(crate) fn routes() -> Router<Sim> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", get(get_user).patch(patch_user))
        .route("/groups", get(list_groups).post(create_group))
        .route("/groups/{id}", get(get_group))
        .route(
            "/role_assignments",
            get(list_assignments).post(create_assignment),
        )
        .route(
            "/role_assignments/{id}",
            get(get_assignment).delete(delete_assignment),
        )
        .route("/places", get(list_places))
}

fn not_found(what: &str) -> Response {
    kisi_error(
        StatusCode::NOT_FOUND,
        "000404",
        &format!("{what} not found."),
    )
}

fn unprocessable(field: &str, msg: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({"errors": {field: [msg]}})),
    )
        .into_response()
}

fn conflict(msg: &str) -> Response {
    kisi_error(StatusCode::CONFLICT, "000409", msg)
}

fn parse_id(raw: &str) -> Option<u64> {
    raw.parse().ok()
}

/// Parses a JSON body and takes the object under `wrapper` (`{"user": {...}}`).
fn wrapped(body: &Bytes, wrapper: &str) -> Result<Map<String, Value>, Response> {
    let v: Value = serde_json::from_slice(body).map_err(|_| {
        kisi_error(
            StatusCode::BAD_REQUEST,
            "000400",
            "The request body is not valid JSON.",
        )
    })?;
    match v.get(wrapper) {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(unprocessable(wrapper, "is missing")),
    }
}

fn opt_time(m: &Map<String, Value>, field: &str) -> Result<Option<DateTime<Utc>>, Response> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| unprocessable(field, "is not a valid date-time")),
        Some(_) => Err(unprocessable(field, "is not a valid date-time")),
    }
}

fn opt_u64(m: &Map<String, Value>, field: &str) -> Result<Option<u64>, Response> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| unprocessable(field, "must be an integer")),
    }
}

fn opt_bool(m: &Map<String, Value>, field: &str) -> Result<Option<bool>, Response> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(unprocessable(field, "must be a boolean")),
    }
}

fn plausible_email(s: &str) -> bool {
    let mut parts = s.split('@');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(local), Some(domain), None)
            if !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace)
    )
}

/// Cuts one page out of `items`, applying the short/duplicate page faults.
fn page(
    sim: &Sim,
    items: Vec<Value>,
    q: &HashMap<String, String>,
    limits: (usize, usize),
) -> Response {
    let (default_limit, max_limit) = limits;
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(default_limit)
        .min(max_limit);
    let offset = q
        .get("offset")
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_OFFSET);
    let total = items.len();
    let start = offset.min(total);
    let end = (offset.saturating_add(limit)).min(total);
    let mut body: Vec<Value> = items[start..end].to_vec();
    let range = if body.is_empty() {
        format!("*/{total}")
    } else {
        format!("{}-{}/{}", offset, offset + limit - 1, total)
    };

    let (short, duplicate) = {
        let mut g = sim.lock();
        let short = !body.is_empty() && g.faults.take_short_page();
        let duplicate = !short && !body.is_empty() && g.faults.take_duplicate_page();
        (short, duplicate)
    };
    if short {
        body.pop();
    } else if duplicate {
        // As if a record was inserted before this page between two reads: the page slides back
        // by one, repeating the previous page's last item (or, on the first page, its own first).
        if start > 0 {
            body.insert(0, items[start - 1].clone());
            body.pop();
        } else if let Some(first) = body.first().cloned() {
            body.pop();
            body.push(first);
        }
    }

    let mut resp = (StatusCode::OK, axum::Json(Value::Array(body))).into_response();
    if let Ok(v) = HeaderValue::from_str(&range) {
        resp.headers_mut().insert("x-collection-range", v);
    }
    resp
}

fn ids_filter(q: &HashMap<String, String>) -> Option<Vec<u64>> {
    q.get("ids")
        .map(|s| s.split(',').filter_map(|p| p.trim().parse().ok()).collect())
}

// ---------------------------------------------------------------- users

async fn list_users(State(sim): State<Sim>, Query(q): Params) -> Response {
    let (ignore_email, case_sensitive) = {
        let g = sim.lock();
        (
            g.faults.faults.email_filter_ignored,
            g.faults.faults.email_filter_case_sensitive,
        )
    };
    let items: Vec<Value> = {
        let g = sim.lock();
        let ids = ids_filter(&q);
        let email = q.get("email").filter(|_| !ignore_email);
        let query = q.get("query").map(|s| s.to_lowercase());
        let group = q.get("group_id").and_then(|s| parse_id(s));
        g.org
            .users
            .values()
            .filter(|u| ids.as_ref().is_none_or(|ids| ids.contains(&u.id)))
            .filter(|u| {
                email.is_none_or(|e| {
                    if case_sensitive {
                        u.email == *e
                    } else {
                        u.email.eq_ignore_ascii_case(e)
                    }
                })
            })
            .filter(|u| {
                // Kisi's free-text search: a case-insensitive substring over email, name, notes.
                query.as_ref().is_none_or(|needle| {
                    u.email.to_lowercase().contains(needle)
                        || u.name.to_lowercase().contains(needle)
                        || u.notes
                            .as_deref()
                            .is_some_and(|n| n.to_lowercase().contains(needle))
                })
            })
            .filter(|u| {
                group.is_none_or(|gid| {
                    g.org
                        .role_assignments
                        .values()
                        .any(|r| r.user_id == u.id && r.group_id == gid)
                })
            })
            .map(|u| g.org.user_json(u))
            .collect()
    };
    page(&sim, items, &q, USERS_LIMITS)
}

async fn create_user(State(sim): State<Sim>, body: Bytes) -> Response {
    let m = match wrapped(&body, "user") {
        Ok(m) => m,
        Err(r) => return r,
    };
    let email = match m.get("email").and_then(Value::as_str).map(str::trim) {
        Some(e) if plausible_email(e) => e.to_owned(),
        _ => return unprocessable("email", "can't be blank or invalid"),
    };
    let flags = (|| {
        Ok::<_, Response>((
            opt_bool(&m, "send_emails")?,
            opt_bool(&m, "confirm")?,
            opt_bool(&m, "access_enabled")?,
            opt_bool(&m, "password_flow_enabled")?,
        ))
    })();
    let (send_emails, confirm, access_enabled, password_flow) = match flags {
        Ok(f) => f,
        Err(r) => return r,
    };
    let name = m
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_default();
    let notes = m.get("notes").and_then(Value::as_str).map(str::to_owned);
    let metadata = match m.get("metadata") {
        None | Some(Value::Null) => json!({}),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => return unprocessable("metadata", "must be an object"),
    };
    let now = sim.now();
    let mut g = sim.lock();
    if g.org.user_by_email(&email).is_some() {
        return conflict("Email has already been taken.");
    }
    let id = g.org.next_user_id();
    // Kisi e-mails a user unless told `send_emails:false` (a managed user).
    let send_emails = send_emails.unwrap_or(true);
    let user = User {
        id,
        name,
        email: email.clone(),
        notes,
        send_emails,
        confirmed: confirm.unwrap_or(false),
        access_enabled: access_enabled.unwrap_or(true),
        password_flow_enabled: password_flow.unwrap_or(false),
        metadata,
        created_at: now,
        updated_at: now,
    };
    if send_emails {
        g.org.emails.push(SentEmail {
            kind: EmailKind::Welcome,
            to: email,
            user_id: id,
            group_id: None,
            at: now,
        });
    }
    let json = g.org.user_json(&user);
    g.org.users.insert(id, user);
    (StatusCode::OK, axum::Json(json)).into_response()
}

async fn get_user(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    let g = sim.lock();
    match parse_id(&id).and_then(|id| g.org.users.get(&id)) {
        Some(u) => (StatusCode::OK, axum::Json(g.org.user_json(u))).into_response(),
        None => not_found("User"),
    }
}

async fn patch_user(State(sim): State<Sim>, Path(id): Path<String>, body: Bytes) -> Response {
    let m = match wrapped(&body, "user") {
        Ok(m) => m,
        Err(r) => return r,
    };
    let access = match opt_bool(&m, "access_enabled") {
        Ok(a) => a,
        Err(r) => return r,
    };
    let now = sim.now();
    let mut g = sim.lock();
    let Some(u) = parse_id(&id).and_then(|id| g.org.users.get_mut(&id)) else {
        return not_found("User");
    };
    if let Some(a) = access {
        u.access_enabled = a;
    }
    if let Some(n) = m.get("name").and_then(Value::as_str) {
        u.name = n.to_owned();
    }
    match m.get("notes") {
        Some(Value::String(n)) => u.notes = Some(n.clone()),
        Some(Value::Null) => u.notes = None,
        _ => {}
    }
    u.updated_at = now;
    StatusCode::NO_CONTENT.into_response()
}

// ---------------------------------------------------------------- groups

async fn list_groups(State(sim): State<Sim>, Query(q): Params) -> Response {
    let items: Vec<Value> = {
        let g = sim.lock();
        let ids = ids_filter(&q);
        let place = q.get("place_id").and_then(|s| parse_id(s));
        let query = q.get("query").map(|s| s.to_lowercase());
        g.org
            .groups
            .values()
            .filter(|x| ids.as_ref().is_none_or(|ids| ids.contains(&x.id)))
            .filter(|x| place.is_none_or(|p| x.place_id == Some(p)))
            .filter(|x| {
                query
                    .as_ref()
                    .is_none_or(|n| x.name.to_lowercase().contains(n))
            })
            .map(|x| g.org.group_json(x))
            .collect()
    };
    page(&sim, items, &q, GROUPS_LIMITS)
}

async fn create_group(State(sim): State<Sim>, body: Bytes) -> Response {
    let m = match wrapped(&body, "group") {
        Ok(m) => m,
        Err(r) => return r,
    };
    let name = match m.get("name").and_then(Value::as_str) {
        Some(n) if !n.trim().is_empty() => n.to_owned(),
        _ => return unprocessable("name", "can't be blank"),
    };
    let place_id = match opt_u64(&m, "place_id") {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Some(p) = place_id
        && !sim.lock().org.places.contains_key(&p)
    {
        return unprocessable("place_id", "does not exist");
    }
    let id = sim.seed_group(&name, place_id);
    let g = sim.lock();
    match g.org.groups.get(&id) {
        Some(x) => (StatusCode::OK, axum::Json(g.org.group_json(x))).into_response(),
        None => not_found("Group"),
    }
}

async fn get_group(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    let g = sim.lock();
    match parse_id(&id).and_then(|id| g.org.groups.get(&id)) {
        Some(x) => (StatusCode::OK, axum::Json(g.org.group_json(x))).into_response(),
        None => not_found("Group"),
    }
}

// ---------------------------------------------------------------- role assignments

async fn list_assignments(State(sim): State<Sim>, Query(q): Params) -> Response {
    let num = |k: &str| q.get(k).and_then(|s| parse_id(s));
    let user = num("user_id").or_else(|| {
        (q.get("assignee_type").map(String::as_str) == Some("User"))
            .then(|| num("assignee_id"))
            .flatten()
    });
    let kind = q.get("applies_to_type").map(String::as_str);
    let scope = q.get("scope").map(String::as_str);
    let group = num("group_id").or_else(|| {
        (kind == Some("Group"))
            .then(|| num("applies_to_id"))
            .flatten()
    });
    let place = num("place_id").or_else(|| {
        (kind == Some("Place"))
            .then(|| num("applies_to_id"))
            .flatten()
    });
    // Which kinds the filters leave: a group filter only groups, a place filter only places.
    let groups_too =
        place.is_none() && kind.is_none_or(|k| k == "Group") && scope.is_none_or(|s| s == "group");
    let places_too =
        group.is_none() && kind.is_none_or(|k| k == "Place") && scope.is_none_or(|s| s == "place");
    let role = q.get("role_id");
    let ids = ids_filter(&q);
    let items: Vec<Value> = {
        let g = sim.lock();
        let mut rows: Vec<(u64, Value)> = Vec::new();
        if groups_too {
            rows.extend(
                g.org
                    .role_assignments
                    .values()
                    .filter(|r| ids.as_ref().is_none_or(|ids| ids.contains(&r.id)))
                    .filter(|r| user.is_none_or(|u| r.user_id == u))
                    .filter(|r| group.is_none_or(|x| r.group_id == x))
                    .filter(|r| role.is_none_or(|x| r.role_id == *x))
                    .map(|r| (r.id, g.org.assignment_json(r))),
            );
        }
        if places_too {
            rows.extend(
                g.org
                    .place_assignments
                    .values()
                    .filter(|r| ids.as_ref().is_none_or(|ids| ids.contains(&r.id)))
                    .filter(|r| user.is_none_or(|u| r.user_id == u))
                    .filter(|r| place.is_none_or(|x| r.place_id == x))
                    .filter(|r| role.is_none_or(|x| r.role_id == *x))
                    .map(|r| (r.id, g.org.place_assignment_json(r))),
            );
        }
        rows.sort_by_key(|(id, _)| *id);
        rows.into_iter().map(|(_, v)| v).collect()
    };
    page(&sim, items, &q, ASSIGNMENTS_LIMITS)
}

/// A place role assignment (`applies_to_type: Place`): no `valid_*` fields in Kisi's Place
/// variant, so the simulator refuses them (422) rather than silently dropping a window.
fn create_place_assignment(sim: &Sim, m: &Map<String, Value>) -> Response {
    let parsed = (|| {
        if m.get("assignee_type")
            .and_then(Value::as_str)
            .is_some_and(|t| t != "User")
        {
            return Err(unprocessable("assignee_type", "only User is simulated"));
        }
        for f in ["valid_from", "valid_until"] {
            if m.get(f).is_some_and(|v| !v.is_null()) {
                return Err(unprocessable(
                    f,
                    "is not a field of a place role assignment",
                ));
            }
        }
        let user = opt_u64(m, "assignee_id")?.or(opt_u64(m, "user_id")?);
        let place = opt_u64(m, "applies_to_id")?.or(opt_u64(m, "place_id")?);
        let user = user.ok_or_else(|| unprocessable("assignee_id", "can't be blank"))?;
        let place = place.ok_or_else(|| unprocessable("applies_to_id", "can't be blank"))?;
        let role = match m.get("role_id").and_then(Value::as_str) {
            Some(r) if PLACE_ROLES.contains(&r) => r.to_owned(),
            Some(_) => return Err(unprocessable("role_id", "is invalid")),
            None => return Err(unprocessable("role_id", "can't be blank")),
        };
        let notify = opt_bool(m, "notify")?.unwrap_or(true);
        Ok((user, place, role, notify))
    })();
    let (user_id, place_id, role_id, notify) = match parsed {
        Ok(p) => p,
        Err(r) => return r,
    };
    let now = sim.now();
    let mut g = sim.lock();
    if !g.org.users.contains_key(&user_id) {
        return not_found("User");
    }
    if !g.org.places.contains_key(&place_id) {
        return not_found("Place");
    }
    if g.org
        .place_assignments
        .values()
        .any(|r| r.user_id == user_id && r.place_id == place_id)
    {
        return conflict("User already has a role in this place.");
    }
    let id = g.org.next_assignment_id();
    let ra = PlaceRoleAssignment {
        id,
        user_id,
        place_id,
        role_id,
        notify,
        created_at: now,
    };
    let json = g.org.place_assignment_json(&ra);
    g.org.place_assignments.insert(id, ra);
    (StatusCode::OK, axum::Json(json)).into_response()
}

/// Accepts the canonical `applies_to_*`/`assignee_*` shape and the deprecated
/// `user_id`/`group_id` shape of the how-to guide.
async fn create_assignment(State(sim): State<Sim>, body: Bytes) -> Response {
    let m = match wrapped(&body, "role_assignment") {
        Ok(m) => m,
        Err(r) => return r,
    };
    let applies_to_type = m.get("applies_to_type").and_then(Value::as_str);
    if applies_to_type == Some("Place") || (applies_to_type.is_none() && m.contains_key("place_id"))
    {
        return create_place_assignment(&sim, &m);
    }
    let parsed = (|| {
        let assignee_type = m.get("assignee_type").and_then(Value::as_str);
        if applies_to_type.is_some_and(|t| t != "Group") {
            return Err(unprocessable(
                "applies_to_type",
                "only Group and Place are simulated",
            ));
        }
        if assignee_type.is_some_and(|t| t != "User") {
            return Err(unprocessable("assignee_type", "only User is simulated"));
        }
        let user = opt_u64(&m, "assignee_id")?.or(opt_u64(&m, "user_id")?);
        let group = opt_u64(&m, "applies_to_id")?.or(opt_u64(&m, "group_id")?);
        let user = user.ok_or_else(|| unprocessable("assignee_id", "can't be blank"))?;
        let group = group.ok_or_else(|| unprocessable("applies_to_id", "can't be blank"))?;
        let role = match m.get("role_id").and_then(Value::as_str) {
            Some(r) if GROUP_ROLES.contains(&r) => r.to_owned(),
            Some(_) => return Err(unprocessable("role_id", "is invalid")),
            None => return Err(unprocessable("role_id", "can't be blank")),
        };
        let valid_from = opt_time(&m, "valid_from")?;
        let valid_until = opt_time(&m, "valid_until")?;
        if let (Some(f), Some(u)) = (valid_from, valid_until)
            && u <= f
        {
            return Err(unprocessable("valid_until", "must be after valid_from"));
        }
        // Kisi's default when `notify` is left out is an [I] choice: it notifies, as the UI's
        // "Notify the user" toggle does.
        let notify = opt_bool(&m, "notify")?.unwrap_or(true);
        Ok((user, group, role, valid_from, valid_until, notify))
    })();
    let (user_id, group_id, role_id, valid_from, valid_until, notify) = match parsed {
        Ok(p) => p,
        Err(r) => return r,
    };
    let now = sim.now();
    let mut g = sim.lock();
    let Some(user) = g.org.users.get(&user_id).cloned() else {
        return not_found("User");
    };
    if !g.org.groups.contains_key(&group_id) {
        return not_found("Group");
    }
    if g.org
        .role_assignments
        .values()
        .any(|r| r.user_id == user_id && r.group_id == group_id)
    {
        return conflict("User already has a role in this group.");
    }
    let id = g.org.next_assignment_id();
    let ra = RoleAssignment {
        id,
        user_id,
        group_id,
        role_id: role_id.clone(),
        notify,
        valid_from,
        valid_until,
        created_at: now,
    };
    // A managed user (send_emails:false) gets no Kisi e-mail whatever `notify` says.
    if notify && user.send_emails {
        g.org.emails.push(SentEmail {
            kind: EmailKind::AccessGranted,
            to: user.email.clone(),
            user_id,
            group_id: Some(group_id),
            at: now,
        });
    }
    g.org.timeline.push(TimelineEntry {
        at: now,
        action: TimelineAction::Created,
        role_assignment_id: id,
        user_id,
        email: user.email,
        group_id,
        role_id,
        valid_from,
        valid_until,
    });
    let json = g.org.assignment_json(&ra);
    g.org.role_assignments.insert(id, ra);
    (StatusCode::OK, axum::Json(json)).into_response()
}

async fn get_assignment(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    let g = sim.lock();
    let id = parse_id(&id);
    if let Some(r) = id.and_then(|id| g.org.place_assignments.get(&id)) {
        return (StatusCode::OK, axum::Json(g.org.place_assignment_json(r))).into_response();
    }
    match id.and_then(|id| g.org.role_assignments.get(&id)) {
        Some(r) => (StatusCode::OK, axum::Json(g.org.assignment_json(r))).into_response(),
        None => not_found("Role assignment"),
    }
}

async fn delete_assignment(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    let now = sim.now();
    let mut g = sim.lock();
    if parse_id(&id)
        .and_then(|id| g.org.place_assignments.remove(&id))
        .is_some()
    {
        return StatusCode::NO_CONTENT.into_response();
    }
    let Some(r) = parse_id(&id).and_then(|id| g.org.role_assignments.remove(&id)) else {
        return not_found("Role assignment");
    };
    let email = g
        .org
        .users
        .get(&r.user_id)
        .map(|u| u.email.clone())
        .unwrap_or_default();
    g.org.timeline.push(TimelineEntry {
        at: now,
        action: TimelineAction::Deleted,
        role_assignment_id: r.id,
        user_id: r.user_id,
        email,
        group_id: r.group_id,
        role_id: r.role_id,
        valid_from: r.valid_from,
        valid_until: r.valid_until,
    });
    StatusCode::NO_CONTENT.into_response()
}

// ---------------------------------------------------------------- places

async fn list_places(State(sim): State<Sim>, Query(q): Params) -> Response {
    let items: Vec<Value> = {
        let g = sim.lock();
        let ids = ids_filter(&q);
        g.org
            .places
            .values()
            .filter(|p| ids.as_ref().is_none_or(|ids| ids.contains(&p.id)))
            .map(|p| g.org.place_json(p))
            .collect()
    };
    page(&sim, items, &q, PLACES_LIMITS)
}
