//! The endpoints a client sees: the OAuth2 token endpoint (`POST /oauth/token`, standing in for
//! `https://identity.officernd.com/oauth/token`) and the v2 API under
//! `/api/v2/organizations/{orgSlug}` (reference §1–§4).
//!
//! Every API request passes, in order: route match (unknown → NestJS 404 `Cannot GET …`), the
//! bearer token (missing, unknown, expired, or lacking the endpoint's scope → 401 — never 403,
//! §4), the fault switches (429 / 5xx), the configured read/write rate limit (429), the
//! organisation slug (unknown → 500 "Organization not found", §4), then the handler.

// Helpers return a ready `Response` as their error so handlers can `?` straight into the
// answer; its size does not matter in a test server.
#![allow(clippy::result_large_err)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde_json::{Value, json};
use sim_common::with_retry_after;

use crate::faults::Readings;
use crate::listing::{self, ListSpec, parse_query_date};
use crate::model::{Collection, Record, iso};
use crate::recur::Series;
use crate::{Inner, LoggedRequest, Sim, Token, api_error};

/// The API prefix before the slug.
const PREFIX: &str = "/api/v2/organizations/";

/// The longest `/bookings/occurrences` window (reference §2.5: "the period may be at most one
/// year").
const MAX_OCCURRENCE_DAYS: i64 = 366;

pub(crate) fn routes() -> Router<Sim> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/api/v2/organizations/{*rest}", any(api))
}

/// Compares secrets in time independent of where they differ.
fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// `POST /oauth/token`: client credentials only (reference §1). Errors use the OAuth2 shape
/// `{"error","error_description"}` ([I]: the reference shows only the success body).
async fn token(State(sim): State<Sim>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (resp, client_id) = issue_token(&sim, &headers, &body);
    sim.lock().counters.token_requests += 1;
    if resp.status() == StatusCode::OK {
        sim.lock().counters.tokens_issued += 1;
    }
    sim.log_request(LoggedRequest {
        seq: 0,
        at: sim.now(),
        method: "POST".into(),
        route: "POST /oauth/token".into(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        status: resp.status().as_u16(),
        client_id,
    });
    resp
}

fn issue_token(sim: &Sim, headers: &HeaderMap, body: &[u8]) -> (Response, Option<String>) {
    if sim.lock().faults.take_token_error() {
        sim.lock().counters.injected_errors += 1;
        let r = oauth_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "injected",
        );
        return (r, None);
    }
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_encoded {
        let r = oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
        return (r, None);
    }
    let field = |name: &str| {
        form_urlencoded::parse(body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let (grant, id, secret, scope) = (
        field("grant_type"),
        field("client_id"),
        field("client_secret"),
        field("scope"),
    );
    if grant.as_deref() != Some("client_credentials") {
        let r = oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
        return (r, None);
    }
    let app = sim.config.clients.iter().find(|c| {
        id.as_deref().is_some_and(|i| ct_eq(i, &c.client_id))
            & secret
                .as_deref()
                .is_some_and(|s| ct_eq(s, &c.client_secret))
    });
    let Some(app) = app else {
        let r = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client");
        return (r, None);
    };
    let client_id = Some(app.client_id.clone());
    if let Err(wait) = sim.admit("token", &app.client_id, sim.config.token_limit_per_min) {
        let r = oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "slow_down",
            "too many token requests",
        );
        return (with_retry_after(r, Some(wait)), client_id);
    }
    let requested: Vec<String> = scope
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if requested.is_empty() {
        let r = oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "scope is required",
        );
        return (r, client_id);
    }
    if let Some(missing) = requested.iter().find(|s| !app.scopes.contains(s)) {
        let r = oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("scope {missing} is not granted to this application"),
        );
        return (r, client_id);
    }
    let now = sim.now();
    let lifetime = sim.config.token_lifetime_secs;
    let access_token = random_hex(32);
    {
        let mut g = sim.lock();
        g.tokens.retain(|_, t| t.expires_at > now);
        g.tokens.insert(
            access_token.clone(),
            Token {
                client_id: app.client_id.clone(),
                scopes: requested.clone(),
                expires_at: now + Duration::seconds(lifetime),
            },
        );
    }
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime - 1,
        "scope": requested.join(" "),
    });
    (
        (StatusCode::OK, axum::Json(body)).into_response(),
        client_id,
    )
}

/// What a v2 path names.
#[derive(Debug, Clone)]
enum Target {
    List(Collection),
    Get(Collection, String),
    Occurrences,
    MembershipCount,
    ResourceStatus(String),
    Webhooks,
    Webhook(String),
}

/// Resolves the segments after the slug; the route template is for the request log.
fn resolve(segs: &[&str]) -> Option<(Target, String)> {
    let by_path = |p: &str| crate::model::ALL.into_iter().find(|c| c.path() == p);
    let t = match segs {
        ["webhooks"] => (Target::Webhooks, "/webhooks".to_owned()),
        ["webhooks", id] => (
            Target::Webhook((*id).to_owned()),
            "/webhooks/{id}".to_owned(),
        ),
        ["bookings", "occurrences"] => (Target::Occurrences, "/bookings/occurrences".to_owned()),
        ["memberships", "count"] => (Target::MembershipCount, "/memberships/count".to_owned()),
        ["resources", id, "status"] => (
            Target::ResourceStatus((*id).to_owned()),
            "/resources/{id}/status".to_owned(),
        ),
        ["checkins", "visitors"] => (
            Target::List(Collection::VisitorCheckins),
            "/checkins/visitors".to_owned(),
        ),
        ["checkins", "visitors", id] => (
            Target::Get(Collection::VisitorCheckins, (*id).to_owned()),
            "/checkins/visitors/{id}".to_owned(),
        ),
        [coll] => {
            let c = by_path(&format!("/{coll}"))?;
            (Target::List(c), c.path().to_owned())
        }
        [coll, id] => {
            let c = by_path(&format!("/{coll}"))?;
            (
                Target::Get(c, (*id).to_owned()),
                format!("{}/{{id}}", c.path()),
            )
        }
        _ => return None,
    };
    Some(t)
}

/// The scope a request needs, or `None` when the method is not served on that path.
fn needed_scope(target: &Target, method: &Method) -> Option<&'static str> {
    match (target, method.as_str()) {
        (Target::Webhooks, "GET") | (Target::Webhook(_), "GET") => {
            Some("flex.settings.webhooks.read")
        }
        (Target::Webhooks, "POST") => Some("flex.settings.webhooks.create"),
        (Target::Webhook(_), "DELETE") => Some("flex.settings.webhooks.delete"),
        (Target::List(c) | Target::Get(c, _), "GET") => Some(c.read_scope()),
        (Target::Occurrences, "GET") => Some(Collection::Bookings.read_scope()),
        (Target::MembershipCount, "GET") => Some(Collection::Memberships.read_scope()),
        (Target::ResourceStatus(_), "GET") => Some(Collection::Resources.read_scope()),
        _ => None,
    }
}

fn cannot(method: &Method, path: &str) -> Response {
    api_error(StatusCode::NOT_FOUND, &format!("Cannot {method} {path}"))
}

fn unauthorized() -> Response {
    api_error(StatusCode::UNAUTHORIZED, "Unauthorized access")
}

async fn api(
    State(sim): State<Sim>,
    method: Method,
    uri: Uri,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let rest = path.strip_prefix(PREFIX).unwrap_or("");
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let (slug, tail) = segs.split_first().map_or(("", &[][..]), |(s, t)| (*s, t));
    let resolved = resolve(tail);
    let route = match &resolved {
        Some((_, r)) => format!("{method} {r}"),
        None => format!("{method} (unknown)"),
    };
    let mut client_id = None;
    let resp = match resolved {
        None => cannot(&method, &path),
        Some((target, _)) => {
            let params: Vec<(String, String)> =
                form_urlencoded::parse(raw_query.as_deref().unwrap_or("").as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
            match gate(&sim, &target, &method, &headers) {
                Err(r) => r,
                Ok(client) => {
                    client_id = Some(client);
                    if slug == sim.lock().org_slug {
                        serve(&sim, target, &method, &params, &body)
                    } else {
                        api_error(StatusCode::INTERNAL_SERVER_ERROR, "Organization not found")
                    }
                }
            }
        }
    };
    sim.log_request(LoggedRequest {
        seq: 0,
        at: sim.now(),
        method: method.to_string(),
        route,
        path,
        query: raw_query,
        status: resp.status().as_u16(),
        client_id,
    });
    resp
}

/// Token, scope, faults and rate limit; the client id when the request may proceed.
fn gate(
    sim: &Sim,
    target: &Target,
    method: &Method,
    headers: &HeaderMap,
) -> Result<String, Response> {
    let scope = needed_scope(target, method).ok_or_else(|| cannot(method, "this path"))?;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let now = sim.now();
    let client = {
        let g = sim.lock();
        let token = bearer.and_then(|b| g.tokens.get(b));
        match token {
            Some(t) if t.expires_at > now && t.scopes.iter().any(|s| s == scope) => {
                t.client_id.clone()
            }
            _ => return Err(unauthorized()),
        }
    };
    let roll: f64 = rand::random();
    let verdict = sim.lock().faults.next_verdict(roll);
    if verdict.rate_limit_storm {
        let r = api_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
        return Err(with_retry_after(r, verdict.retry_after_secs));
    }
    if let Some(status) = verdict.server_error {
        sim.lock().counters.injected_errors += 1;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let message = status.canonical_reason().unwrap_or("Error");
        return Err(api_error(status, message));
    }
    let (kind, limit) = if method == Method::GET {
        ("read", sim.config.read_limit_per_min)
    } else {
        ("write", sim.config.write_limit_per_min)
    };
    if let Err(wait) = sim.admit(kind, &client, limit) {
        let r = api_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
        let header = (!sim.lock().readings.limiter_without_retry_after).then_some(wait);
        return Err(with_retry_after(r, header));
    }
    Ok(client)
}

fn not_found(id: &str) -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        &format!("Item with Id ({id}) not found"),
    )
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

/// The list spec of a collection under the current readings.
fn spec_for(c: Collection, readings: &Readings) -> ListSpec {
    let mut date = c.date_filters().to_vec();
    if readings.modified_at_everywhere {
        for f in ["createdAt", "modifiedAt"] {
            if !date.contains(&f) {
                date.push(f);
            }
        }
    }
    ListSpec {
        eq: c.eq_filters().to_vec(),
        date,
        sort: c.sort_fields(),
        properties: c.properties_filter(),
        extra: &[],
        order_by: None,
    }
}

fn run_list(
    g: &mut Inner,
    pick: Pick<'_>,
    spec: &ListSpec,
    params: &[(String, String)],
) -> Response {
    // Split borrows: the records are read in place while the short-page switch is consumed.
    let Inner {
        store,
        registered,
        faults,
        readings,
        counters,
        ..
    } = g;
    let records: Vec<&Record> = match pick {
        Pick::Collection(c) => store.iter(c).collect(),
        Pick::Webhooks => registered.values().collect(),
        Pick::Owned(list) => list.iter().collect(),
    };
    match listing::list(records, spec, params, readings, faults) {
        Ok((v, short)) => {
            if short {
                counters.short_pages += 1;
            }
            ok(v)
        }
        Err(r) => r,
    }
}

/// Which records a list serves.
enum Pick<'a> {
    Collection(Collection),
    Webhooks,
    Owned(&'a [Record]),
}

fn serve(
    sim: &Sim,
    target: Target,
    method: &Method,
    params: &[(String, String)],
    body: &[u8],
) -> Response {
    let now = sim.now();
    let mut g = sim.lock();
    match target {
        Target::List(c) => {
            let spec = spec_for(c, &g.readings);
            run_list(&mut g, Pick::Collection(c), &spec, params)
        }
        // Single-item GETs ignore query parameters (§3 "Strict params").
        Target::Get(c, id) => match g.store.get(c, &id) {
            Some(r) => ok(Value::Object(r.clone())),
            None => not_found(&id),
        },
        Target::MembershipCount => ok(json!({"total": g.store.len(Collection::Memberships)})),
        Target::ResourceStatus(id) => match g.store.get(Collection::Resources, &id) {
            Some(r) => {
                let status = resource_status(&g, r, now);
                ok(json!({"_id": id, "status": status, "ownStatus": status}))
            }
            None => not_found(&id),
        },
        Target::Occurrences => occurrences(&mut g, params),
        Target::Webhooks if method == Method::POST => {
            let r = create_webhook(&mut g, body, now);
            drop(g);
            r
        }
        Target::Webhooks => {
            let spec = ListSpec {
                eq: vec!["_id"],
                date: vec![],
                sort: &[],
                properties: false,
                extra: &[],
                order_by: None,
            };
            run_list(&mut g, Pick::Webhooks, &spec, params)
        }
        Target::Webhook(id) if method == Method::DELETE => match g.registered.remove(&id) {
            Some(r) => ok(Value::Object(r)),
            None => not_found(&id),
        },
        Target::Webhook(id) => match g.registered.get(&id) {
            Some(r) => ok(Value::Object(r.clone())),
            None => not_found(&id),
        },
    }
}

/// `occupied` when an assignment of the resource covers today, `unavailable` outside its
/// `availability`, else `available` ([I]: the reference gives the values, not the rule).
fn resource_status(g: &Inner, resource: &Record, now: DateTime<Utc>) -> &'static str {
    let date = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let availability = resource.get("availability");
    let from = date(availability.and_then(|a| a.get("startDate")));
    let until = date(availability.and_then(|a| a.get("endDate")));
    if from.is_some_and(|f| f > now) || until.is_some_and(|u| u < now) {
        return "unavailable";
    }
    let id = resource.get("_id");
    let occupied = g.store.iter(Collection::Assignments).any(|a| {
        a.get("resource") == id
            && date(a.get("startDate")).is_none_or(|s| s <= now)
            && date(a.get("endDate")).is_none_or(|e| e + Duration::days(1) > now)
    });
    if occupied { "occupied" } else { "available" }
}

/// `GET /bookings/occurrences`: every instance overlapping the window. The window's parameter
/// names are not confirmed for v2 (§2.5): `start`/`end` (v1 code) and `from`/`to` (a v2
/// connector) are both accepted; a plain date as the end means the end of that day.
fn occurrences(g: &mut Inner, params: &[(String, String)]) -> Response {
    let param = |names: [&str; 2]| {
        params
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
    };
    let (Some((fk, fv)), Some((tk, tv))) = (param(["start", "from"]), param(["end", "to"])) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "start and end (or from and to) are required",
        );
    };
    let from = parse_query_date(&fv);
    let to = parse_query_date(&tv).map(|t| {
        if tv.len() == 10 {
            t + Duration::days(1)
        } else {
            t
        }
    });
    let (Some(from), Some(to)) = (from, to) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            &format!("{fk} and {tk} must be valid ISO 8601 dates"),
        );
    };
    if to <= from || to - from > Duration::days(MAX_OCCURRENCE_DAYS) {
        return api_error(
            StatusCode::BAD_REQUEST,
            "the period must be positive and at most one year",
        );
    }
    let mut out = Vec::new();
    for b in g.store.iter(Collection::Bookings) {
        let Ok(series) = Series::from_booking(b) else {
            continue;
        };
        for (s, e) in series.occurrences(from, to) {
            let mut o = b.clone();
            o.insert("start".into(), Value::String(iso(s)));
            o.insert("end".into(), Value::String(iso(e)));
            out.push(o);
        }
    }
    let spec = ListSpec {
        eq: Collection::Bookings.eq_filters().to_vec(),
        date: vec![],
        sort: &[],
        properties: false,
        extra: &["start", "end", "from", "to"],
        order_by: Some("start"),
    };
    run_list(g, Pick::Owned(&out), &spec, params)
}

/// `POST /webhooks {url, eventTypes[], description}` → the record with its `secret`
/// (reference §5).
fn create_webhook(g: &mut Inner, body: &[u8], now: DateTime<Utc>) -> Response {
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(body) else {
        return api_error(StatusCode::BAD_REQUEST, "body must be a JSON object");
    };
    let url = req
        .get("url")
        .and_then(Value::as_str)
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"));
    let Some(url) = url else {
        return api_error(StatusCode::BAD_REQUEST, "url must be an http(s) URL");
    };
    let types: Option<Vec<Value>> = req
        .get("eventTypes")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty() && a.iter().all(Value::is_string))
        .cloned();
    let Some(types) = types else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "eventTypes must be a non-empty array of strings",
        );
    };
    let id = g.store.new_id(now);
    let hook = json!({
        "_id": id,
        "url": url,
        "description": req.get("description").cloned().unwrap_or(Value::Null),
        "eventTypes": types,
        "secret": random_hex(24),
        "isEnabled": true,
        "createdAt": iso(now),
    });
    if let Value::Object(rec) = &hook {
        g.registered.insert(id, rec.clone());
    }
    (StatusCode::CREATED, axum::Json(hook)).into_response()
}
