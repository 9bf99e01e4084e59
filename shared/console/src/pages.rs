//! The handlers: read what a page needs from the live system, render it, and carry out the
//! actions (each a POST with the CSRF token, answered by a redirect to the page it changed, so
//! a reload never repeats it).

use crate::html::{Nav, csrf_field, esc, notice, page, table, url_enc};
use crate::people::PEOPLE_INDEX_TTL;
use crate::person::{PersonPage, group_label, horizon};
use crate::{Console, csrf_ok, html};
use access_sync_engine::ApplyOptions;
use access_sync_operator::{AuditQuery, Excluded, KeyHealth};
use access_sync_ports::{AuditAction, FactStore, Reduction};
use access_sync_rules::facts::Facts;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::time::format_instant;
use access_sync_rules::{Email, GroupId, Instant, Pair};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::fmt::Write;
use std::sync::Arc;

/// Results a search shows.
pub const SEARCH_LIMIT: usize = 50;

type C = State<Arc<Console>>;

fn fail(c: &Console, title: &str, nav: Nav, what: &str, e: impl std::fmt::Display) -> Response {
    tracing::warn!(page = title, "console: {what} failed");
    html(
        StatusCode::BAD_GATEWAY,
        page(
            title,
            nav,
            c.csrf.expose(),
            &notice("bad", &format!("{}: {}", esc(what), esc(&e.to_string()))),
        ),
    )
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        "the form's token is not this console's: reload the page and try again",
    )
        .into_response()
}

async fn now(c: &Console) -> Result<Instant, String> {
    c.ops.now().await.map_err(|e| e.to_string())
}

/// A short message carried across a redirect (`?done=…`), from a fixed list so a link cannot
/// put words on the page.
#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

fn done_notice(d: &Done) -> String {
    let text = match d.done.as_deref() {
        Some("converged") => "converged: Kisi now matches the rules for this person",
        Some("included") => "the exclusion is lifted and the person converged",
        Some("not-excluded") => "the person was not excluded: nothing changed",
        Some("excluded") => "excluded: access-sync grants nothing and took back what it granted",
        Some("already-excluded") => "the person was excluded already: nothing changed",
        Some("released") => "released: the held revokes were carried out",
        Some("discarded") => "discarded: the access stays as it is",
        Some("nothing-held") => "nothing was held for that",
        _ => return String::new(),
    };
    notice("ok", text)
}

// ------------------------------------------------------------------ overview

/// Hours the Overview's chart shows.
pub const CHART_HOURS: i64 = 24;

fn figure(label: &str, value: &str, alert: bool) -> String {
    format!(
        "<div{}><dt>{}</dt><dd>{}</dd></div>",
        if alert { " class=\"alert\"" } else { "" },
        esc(label),
        esc(value)
    )
}

/// `GET /`
pub async fn overview(State(c): C) -> Response {
    let now = match now(&c).await {
        Ok(t) => t,
        Err(e) => return fail(&c, "Overview", Nav::Overview, "reading the clock", e),
    };
    let (status, chart) = tokio::join!(
        c.ops.status(now),
        crate::feed::per_hour(&c, now, CHART_HOURS)
    );
    let st = match status {
        Ok(s) => s,
        Err(e) => return fail(&c, "Overview", Nav::Overview, "reading the status", e),
    };
    let mut s = String::new();
    let problems = st.problems();
    if problems.is_empty() {
        s.push_str(&notice("ok", "no problems"));
    } else {
        s.push_str(
            "<section aria-labelledby=\"pr\"><h2 id=\"pr\">Problems</h2><ul class=\"problems\">",
        );
        for p in &problems {
            let _ = write!(s, "<li>{}</li>", esc(p));
        }
        s.push_str("</ul><p><a href=\"/problems\">Held revokes, held events and dead letters</a></p></section>");
    }
    let held = st
        .brake
        .holds
        .iter()
        .filter(|h| h.discarded.is_none())
        .count();
    let dead: u64 = st.dead_letters.iter().map(|q| q.depth).sum();
    let kisi = match &st.kisi {
        KeyHealth::Ok(n) => (format!("key works ({n} groups)"), false),
        KeyHealth::Rejected(_) => ("key rejected".to_string(), true),
        KeyHealth::Unavailable(_) => ("unreachable".to_string(), true),
    };
    let reconcile = match &st.last_reconcile {
        Some(r) => (
            format!("{} ({})", format_instant(r.at), r.outcome),
            r.outcome != "ok",
        ),
        None => ("not yet".to_string(), true),
    };
    s.push_str("<section aria-labelledby=\"st\"><h2 id=\"st\">Status</h2><dl class=\"figures\">");
    s.push_str(&figure("Clock (UTC)", &format_instant(now), false));
    s.push_str(&figure(
        "Managed accesses",
        &st.brake.managed.to_string(),
        false,
    ));
    s.push_str(&figure("Revokes held", &held.to_string(), held > 0));
    s.push_str(&figure(
        "Brake budget used this hour",
        &format!("{} of {}", st.brake.used, st.brake.limit),
        st.brake.used >= st.brake.limit && st.brake.limit > 0,
    ));
    s.push_str(&figure(
        "Events held",
        &st.held_events.len().to_string(),
        !st.held_events.is_empty(),
    ));
    s.push_str(&figure("Dead letters", &dead.to_string(), dead > 0));
    s.push_str(&figure("Last reconcile", &reconcile.0, reconcile.1));
    s.push_str(&figure("Kisi", &kisi.0, kisi.1));
    s.push_str(&figure(
        "Excluded people",
        &st.exclusions.len().to_string(),
        false,
    ));
    for p in &st.platforms {
        s.push_str(&figure(
            &format!("{} last full sync", p.platform),
            &p.last_full
                .map(format_instant)
                .unwrap_or_else(|| "never".into()),
            p.held.is_some(),
        ));
    }
    s.push_str("</dl></section>");
    s.push_str("<section aria-labelledby=\"ch\"><h2 id=\"ch\">Grants and revokes per hour, last 24 hours</h2>");
    match chart {
        Ok(h) => {
            s.push_str(&crate::svg::hourly_chart("hourly", &h));
            let rows: Vec<Vec<String>> = h
                .iter()
                .filter(|c| c.grants + c.revokes > 0)
                .map(|c| {
                    vec![
                        esc(&c.hour.format("%a %H:00").to_string()),
                        c.grants.to_string(),
                        c.revokes.to_string(),
                    ]
                })
                .collect();
            let _ = write!(
                s,
                "<details><summary>The figures</summary>{}</details>",
                table(
                    "Hours with activity (UTC)",
                    &["Hour", "Grants", "Revokes"],
                    &rows
                )
            );
        }
        Err(e) => s.push_str(&notice("bad", &esc(&e))),
    }
    s.push_str("</section>");
    html(
        StatusCode::OK,
        page("Overview", Nav::Overview, c.csrf.expose(), &s),
    )
}

// ------------------------------------------------------------------ people

/// The search box's query.
#[derive(Deserialize, Default)]
pub struct SearchQuery {
    q: Option<String>,
}

/// `GET /people?q=`
pub async fn people(State(c): C, Query(q): Query<SearchQuery>) -> Response {
    let q = q.q.unwrap_or_default();
    let q = q.trim();
    let q: String = q.chars().take(200).collect();
    let mut s = format!(
        "<form method=\"get\" action=\"/people\" role=\"search\" class=\"inline\">\
<label for=\"q\">E-mail or name</label> <input type=\"search\" id=\"q\" name=\"q\" value=\"{}\" autofocus> \
<button type=\"submit\">Search</button></form>",
        esc(&q)
    );
    if !q.is_empty() {
        let (idx, age) = match crate::people::current(&c).await {
            Ok(i) => i,
            Err(e) => return fail(&c, "People", Nav::People, "reading the members", e),
        };
        let (found, n) = idx.search(&q, SEARCH_LIMIT);
        let rows: Vec<Vec<String>> = found
            .iter()
            .map(|p| {
                vec![
                    format!(
                        "<a href=\"/people/{}\">{}</a>",
                        url_enc(p.email.as_str()),
                        esc(p.email.as_str())
                    ),
                    esc(&p.names.join(", ")),
                ]
            })
            .collect();
        let caption = if n > found.len() {
            format!("{n} people match; the first {} are shown", found.len())
        } else {
            format!("{n} people match")
        };
        s.push_str(&table(&caption, &["E-mail", "Name"], &rows));
        let _ = write!(
            s,
            "<p class=\"hint\">The member list was brought up to date {} s ago (every {} s).</p>",
            age.as_secs(),
            PEOPLE_INDEX_TTL.as_secs()
        );
        if idx.partial {
            s.push_str(&notice(
                "warn",
                "there are more members than the console holds: some are not found",
            ));
        }
        if let Some(e) = Email::parse(&q)
            && !found.iter().any(|p| p.email == e)
        {
            let _ = write!(
                s,
                "<p>No member has this address; <a href=\"/people/{}\">look it up anyway</a> (a guest, or someone held by hand).</p>",
                url_enc(e.as_str())
            );
        }
    }
    html(
        StatusCode::OK,
        page("People", Nav::People, c.csrf.expose(), &s),
    )
}

/// `GET /people/{email}`
pub async fn person(State(c): C, Path(email): Path<String>, Query(d): Query<Done>) -> Response {
    let Some(email) = Email::parse(&email) else {
        return html(
            StatusCode::NOT_FOUND,
            page(
                "Not an e-mail address",
                Nav::People,
                c.csrf.expose(),
                &notice("bad", "that is not an e-mail address"),
            ),
        );
    };
    let title = email.as_str().to_string();
    let now = match now(&c).await {
        Ok(t) => t,
        Err(e) => return fail(&c, &title, Nav::People, "reading the clock", e),
    };
    let (explained, names) = tokio::join!(
        c.ops.explain_until(&email, None, now, horizon(now)),
        c.group_names()
    );
    let explained = match explained {
        Ok(x) => x,
        Err(e) => return fail(&c, &title, Nav::People, "explaining", e),
    };
    let body = PersonPage {
        explained: &explained,
        group_names: &names,
        csrf: c.csrf.expose(),
    }
    .render();
    html(
        StatusCode::OK,
        page(
            &title,
            Nav::People,
            c.csrf.expose(),
            &(done_notice(&d) + &body),
        ),
    )
}

/// A form naming a person.
#[derive(Deserialize)]
pub struct PersonForm {
    csrf: String,
    email: String,
}

fn person_url(e: &Email, done: &str) -> String {
    format!("/people/{}?done={done}", url_enc(e.as_str()))
}

/// `POST /people/converge`: the one converge path, for every mapped group.
pub async fn converge(State(c): C, Form(f): Form<PersonForm>) -> Response {
    person_action(&c, f, "converge").await
}

/// `POST /people/include`: lift an exclusion.
pub async fn include(State(c): C, Form(f): Form<PersonForm>) -> Response {
    person_action(&c, f, "include").await
}

/// `POST /people/exclude`: access-sync stops granting and takes back what it granted.
pub async fn exclude(State(c): C, Form(f): Form<PersonForm>) -> Response {
    person_action(&c, f, "exclude").await
}

async fn person_action(c: &Console, f: PersonForm, what: &str) -> Response {
    if !csrf_ok(c, &f.csrf) {
        return forbidden();
    }
    let Some(email) = Email::parse(&f.email) else {
        return (StatusCode::BAD_REQUEST, "not an e-mail address").into_response();
    };
    let t = match now(c).await {
        Ok(t) => t,
        Err(e) => return fail(c, what, Nav::People, "reading the clock", e),
    };
    let done = match what {
        "converge" => c.ops.converge_now(&email, t).await.map(|_| "converged"),
        "include" => c.ops.include(&email, t).await.map(|r| {
            if r.is_some() {
                "included"
            } else {
                "not-excluded"
            }
        }),
        _ => c.ops.exclude(&email, t).await.map(|r| match r {
            Excluded::AlreadyExcluded => "already-excluded",
            Excluded::Excluded(_) => "excluded",
        }),
    };
    match done {
        Ok(d) => Redirect::to(&person_url(&email, d)).into_response(),
        Err(e) => fail(c, what, Nav::People, what, e),
    }
}

// ------------------------------------------------------------------ mappings

/// `GET /mappings`
pub async fn mappings(State(c): C) -> Response {
    let stored = match c.ops.engine().store().mapping().await {
        Ok(m) => m,
        Err(e) => return fail(&c, "Mappings", Nav::Mappings, "reading the mapping", e),
    };
    let names = c.group_names().await;
    let text = stored.as_ref().map(|v| v.value.as_str());
    let mut s = String::from("<section aria-labelledby=\"cur\"><h2 id=\"cur\">Now</h2>");
    s.push_str(&crate::mappings::render_current(text, &names));
    s.push_str("</section><section aria-labelledby=\"new\"><h2 id=\"new\">Change it</h2>");
    s.push_str(&crate::mappings::render_form(
        c.csrf.expose(),
        text.unwrap_or(""),
        None,
    ));
    s.push_str("</section>");
    html(
        StatusCode::OK,
        page("Mappings", Nav::Mappings, c.csrf.expose(), &s),
    )
}

/// The preview form.
#[derive(Deserialize)]
pub struct PreviewForm {
    csrf: String,
    text: String,
}

/// `POST /mappings/preview`
pub async fn mappings_preview(State(c): C, Form(f): Form<PreviewForm>) -> Response {
    if !csrf_ok(&c, &f.csrf) {
        return forbidden();
    }
    let title = "Preview of the new mapping";
    let new = match Mappings::parse(&f.text) {
        Ok(m) => m,
        Err(e) => {
            let body =
                crate::mappings::render_form(c.csrf.expose(), &f.text, Some((e.line, &e.message)));
            return html(
                StatusCode::UNPROCESSABLE_ENTITY,
                page("Mappings", Nav::Mappings, c.csrf.expose(), &body),
            );
        }
    };
    let t = match now(&c).await {
        Ok(t) => t,
        Err(e) => return fail(&c, title, Nav::Mappings, "reading the clock", e),
    };
    let engine = &c.ops.engine();
    let opts = ApplyOptions {
        dry_run: true,
        brake_share: c.ops.brake_share(),
        allow_mass_revoke: false,
    };
    let (stored, records, change, names) = tokio::join!(
        engine.store().mapping(),
        engine.store().all_records(),
        engine.apply_mapping(&f.text, t, &opts),
        c.group_names()
    );
    let (stored, records, change) = match (stored, records, change) {
        (Ok(s), Ok(r), Ok(ch)) => (s, r, ch),
        (Err(e), ..) | (_, Err(e), _) => {
            return fail(&c, title, Nav::Mappings, "reading the store", e);
        }
        (_, _, Err(e)) => return fail(&c, title, Nav::Mappings, "previewing", e),
    };
    let old_text = stored.as_ref().map(|v| v.value.as_str());
    let old = old_text
        .and_then(|t| Mappings::parse(t).ok())
        .unwrap_or_default();
    let facts = Facts::from_records(records);
    let week = crate::mappings::week_changes(&facts, &old, &new, t);
    let body = crate::mappings::render_preview(
        c.csrf.expose(),
        &f.text,
        &crate::mappings::digest(old_text),
        &change,
        &week,
        &names,
        t,
    );
    html(
        StatusCode::OK,
        page(title, Nav::Mappings, c.csrf.expose(), &body),
    )
}

/// The apply form.
#[derive(Deserialize)]
pub struct ApplyForm {
    csrf: String,
    text: String,
    base: String,
    confirm: Option<String>,
    allow_mass_revoke: Option<String>,
}

/// `POST /mappings/apply`
pub async fn mappings_apply(State(c): C, Form(f): Form<ApplyForm>) -> Response {
    if !csrf_ok(&c, &f.csrf) {
        return forbidden();
    }
    let title = "Mapping applied";
    if f.confirm.as_deref() != Some("1") {
        return (
            StatusCode::BAD_REQUEST,
            "tick the confirmation to apply the new mapping",
        )
            .into_response();
    }
    let engine = &c.ops.engine();
    let stored = match engine.store().mapping().await {
        Ok(s) => s,
        Err(e) => return fail(&c, title, Nav::Mappings, "reading the mapping", e),
    };
    if crate::mappings::digest(stored.as_ref().map(|v| v.value.as_str())) != f.base {
        let body = notice(
            "bad",
            "the stored mapping changed since this preview: <a href=\"/mappings\">start again</a>",
        );
        return html(
            StatusCode::CONFLICT,
            page("Mappings", Nav::Mappings, c.csrf.expose(), &body),
        );
    }
    let t = match now(&c).await {
        Ok(t) => t,
        Err(e) => return fail(&c, title, Nav::Mappings, "reading the clock", e),
    };
    let opts = ApplyOptions {
        dry_run: false,
        brake_share: c.ops.brake_share(),
        allow_mass_revoke: f.allow_mass_revoke.as_deref() == Some("1"),
    };
    match engine.apply_mapping(&f.text, t, &opts).await {
        Ok(ch) => {
            let body = if let Some(why) = ch.refused {
                notice("bad", &format!("not applied: {}", esc(&why)))
            } else {
                notice(
                    "ok",
                    &format!(
                        "applied: stored and converged; {} gained and {} lost a group now, {} pairs converged. <a href=\"/mappings\">See the mapping</a>",
                        ch.gains.len(),
                        ch.losses.len(),
                        ch.affected
                    ),
                )
            };
            html(
                StatusCode::OK,
                page(title, Nav::Mappings, c.csrf.expose(), &body),
            )
        }
        Err(e) => fail(&c, title, Nav::Mappings, "applying", e),
    }
}

// ------------------------------------------------------------------ activity

/// Entries the Activity page shows at most.
pub const ACTIVITY_LIMIT: usize = 200;

/// The Activity page's filters.
#[derive(Deserialize, Default)]
pub struct ActivityQuery {
    email: Option<String>,
    group: Option<String>,
    action: Option<String>,
    hours: Option<String>,
}

const ACTIONS: [(&str, AuditAction); 9] = [
    ("grant", AuditAction::Grant),
    ("revoke", AuditAction::Revoke),
    ("adopt", AuditAction::Adopt),
    ("skip", AuditAction::Skip),
    ("hold", AuditAction::Hold),
    ("brake", AuditAction::Brake),
    ("by-hand", AuditAction::ByHand),
    ("exclude", AuditAction::Exclude),
    ("include", AuditAction::Include),
];

/// `GET /activity?email=&group=&action=&hours=`
pub async fn activity(State(c): C, Query(q): Query<ActivityQuery>) -> Response {
    let t = match now(&c).await {
        Ok(t) => t,
        Err(e) => return fail(&c, "Activity", Nav::Activity, "reading the clock", e),
    };
    let email_raw = q
        .email
        .unwrap_or_default()
        .trim()
        .chars()
        .take(320)
        .collect::<String>();
    let group_raw = q
        .group
        .unwrap_or_default()
        .trim()
        .chars()
        .take(20)
        .collect::<String>();
    let action_raw = q.action.unwrap_or_default();
    let hours: i64 = q
        .hours
        .as_deref()
        .and_then(|h| h.parse().ok())
        .filter(|h| [1, 6, 24, 168, 720].contains(h))
        .unwrap_or(24);
    let mut s = String::new();
    let email = if email_raw.is_empty() {
        None
    } else {
        match Email::parse(&email_raw) {
            Some(e) => Some(e),
            None => {
                s.push_str(&notice("bad", "the e-mail filter is not an e-mail address"));
                None
            }
        }
    };
    let group = if group_raw.is_empty() {
        None
    } else {
        match group_raw.parse::<i64>().ok().and_then(GroupId::new) {
            Some(g) => Some(g),
            None => {
                s.push_str(&notice("bad", "the group filter is not a Kisi group id"));
                None
            }
        }
    };
    let action = ACTIONS
        .iter()
        .find(|(k, _)| *k == action_raw)
        .map(|(_, a)| *a);
    let since = t - chrono::Duration::hours(hours);
    let mut opts = String::from("<option value=\"\">any</option>");
    for (k, _) in ACTIONS {
        let sel = if k == action_raw { " selected" } else { "" };
        let _ = write!(opts, "<option value=\"{k}\"{sel}>{k}</option>");
    }
    let mut hopts = String::new();
    for (h, label) in [
        (1, "1 hour"),
        (6, "6 hours"),
        (24, "24 hours"),
        (168, "7 days"),
        (720, "30 days"),
    ] {
        let sel = if h == hours { " selected" } else { "" };
        let _ = write!(hopts, "<option value=\"{h}\"{sel}>{label}</option>");
    }
    let _ = write!(
        s,
        "<form method=\"get\" action=\"/activity\" class=\"filters\" aria-label=\"Filters\">\
<label>E-mail <input type=\"email\" name=\"email\" value=\"{}\"></label>\
<label>Group id <input type=\"number\" name=\"group\" min=\"1\" value=\"{}\"></label>\
<label>What <select name=\"action\">{opts}</select></label>\
<label>Over the last <select name=\"hours\">{hopts}</select></label>\
<button type=\"submit\">Filter</button></form>",
        esc(&email_raw),
        esc(&group_raw)
    );
    let (entries, partial) = match &email {
        Some(e) => {
            let q = AuditQuery {
                email: Some(e.clone()),
                since: Some(since),
                group,
                limit: 1000,
            };
            match c.ops.audit(&q).await {
                Ok(v) => (v, false),
                Err(e) => return fail(&c, "Activity", Nav::Activity, "reading the audit log", e),
            }
        }
        None => match crate::feed::recent(&c, since, t, group).await {
            Ok(r) => (r.entries, r.partial),
            Err(e) => return fail(&c, "Activity", Nav::Activity, "reading the audit log", e),
        },
    };
    let names = c.group_names().await;
    let matching: Vec<_> = entries
        .iter()
        .filter(|e| group.is_none_or(|g| e.pair.as_ref().is_some_and(|p| p.group == g)))
        .filter(|e| action.is_none_or(|a| e.action == a))
        .collect();
    let rows: Vec<Vec<String>> = matching
        .iter()
        .take(ACTIVITY_LIMIT)
        .map(|e| {
            vec![
                esc(&format_instant(e.at)),
                crate::person::action_word(e.action).into(),
                e.pair
                    .as_ref()
                    .map(|p| {
                        format!(
                            "<a href=\"/people/{}\">{}</a>",
                            url_enc(p.email.as_str()),
                            esc(p.email.as_str())
                        )
                    })
                    .unwrap_or_else(|| "(system)".into()),
                e.pair
                    .as_ref()
                    .map(|p| esc(&group_label(&names, p.group.get())))
                    .unwrap_or_default(),
                esc(&e.cause),
            ]
        })
        .collect();
    let caption = if matching.len() > ACTIVITY_LIMIT {
        format!(
            "{} entries match; the newest {ACTIVITY_LIMIT} are shown",
            matching.len()
        )
    } else {
        format!("{} entries, newest first", matching.len())
    };
    if partial {
        s.push_str(&notice(
            "warn",
            "only the newest 1000 entries of the period were read; name a person or a shorter period to see all",
        ));
    }
    s.push_str(&table(
        &caption,
        &["When", "What", "Person", "Group", "Why"],
        &rows,
    ));
    html(
        StatusCode::OK,
        page("Activity", Nav::Activity, c.csrf.expose(), &s),
    )
}

// ------------------------------------------------------------------ problems

fn reduction(r: &Reduction) -> String {
    match r {
        Reduction::Revoke => "revoke".into(),
        Reduction::Shorten { to, .. } => format!(
            "shorten to {}",
            to.map(format_instant)
                .unwrap_or_else(|| "open-ended".into())
        ),
    }
}

/// `GET /problems`
pub async fn problems(State(c): C, Query(d): Query<Done>) -> Response {
    let t = match now(&c).await {
        Ok(t) => t,
        Err(e) => return fail(&c, "Problems", Nav::Problems, "reading the clock", e),
    };
    let st = match c.ops.status(t).await {
        Ok(s) => s,
        Err(e) => return fail(&c, "Problems", Nav::Problems, "reading the status", e),
    };
    let brake = &st.brake;
    let names = c.group_names().await;
    let token = csrf_field(c.csrf.expose());
    let mut s = done_notice(&d);
    let held: Vec<_> = brake
        .holds
        .iter()
        .filter(|h| h.discarded.is_none())
        .collect();
    let rows: Vec<Vec<String>> = held
        .iter()
        .map(|h| {
            let e = esc(h.pair.email.as_str());
            let g = h.pair.group.get();
            let fields = format!(
                "{token}<input type=\"hidden\" name=\"email\" value=\"{e}\"><input type=\"hidden\" name=\"group\" value=\"{g}\">"
            );
            vec![
                format!(
                    "<a href=\"/people/{}\">{e}</a>",
                    url_enc(h.pair.email.as_str())
                ),
                esc(&group_label(&names, g)),
                esc(&reduction(&h.reduction)),
                esc(&format_instant(h.at)),
                esc(&h.trigger),
                format!(
                    "<form method=\"post\" action=\"/problems/release\" class=\"inline\">{fields}\
<button type=\"submit\" aria-label=\"Release the held revoke of {e} in group {g}\">Release</button></form> \
<form method=\"post\" action=\"/problems/discard\" class=\"inline\">{fields}\
<button type=\"submit\" class=\"secondary\" aria-label=\"Discard the held revoke of {e} in group {g}\">Discard</button></form>"
                ),
            ]
        })
        .collect();
    let _ = write!(
        s,
        "<section aria-labelledby=\"hr\"><h2 id=\"hr\">Held revokes</h2>\
<p>The brake allows {} reductions per hour ({} used now, {} managed accesses). Releasing carries a held revoke out; \
discarding keeps the access as it is until the person's facts or the mapping change.</p>{}",
        brake.limit,
        brake.used,
        brake.managed,
        table(
            &format!("{} held revokes", held.len()),
            &[
                "Person",
                "Group",
                "What",
                "Held since",
                "Asked by",
                "Actions"
            ],
            &rows
        )
    );
    if held.len() > 1 {
        let _ = write!(
            s,
            "<form method=\"post\" action=\"/problems/release\" class=\"inline\">{token}<input type=\"hidden\" name=\"all\" value=\"1\">\
<button type=\"submit\">Release all {}</button></form>",
            held.len()
        );
    }
    let discarded: Vec<Vec<String>> = brake
        .holds
        .iter()
        .filter_map(|h| {
            let d = h.discarded.as_ref()?;
            Some(vec![
                esc(h.pair.email.as_str()),
                esc(&group_label(&names, h.pair.group.get())),
                esc(&format_instant(d.at)),
            ])
        })
        .collect();
    s.push_str(&table(
        "Discarded holds (kept until the facts or the mapping change)",
        &["Person", "Group", "Discarded"],
        &discarded,
    ));
    s.push_str("</section>");
    html(
        StatusCode::OK,
        page("Problems", Nav::Problems, c.csrf.expose(), &s),
    )
}

/// Which held revokes a form names.
#[derive(Deserialize)]
pub struct HoldForm {
    csrf: String,
    email: Option<String>,
    group: Option<i64>,
    all: Option<String>,
}

fn held_pair(f: &HoldForm) -> Result<Option<Pair>, &'static str> {
    if f.all.as_deref() == Some("1") {
        return Ok(None);
    }
    let email = f
        .email
        .as_deref()
        .and_then(Email::parse)
        .ok_or("not an e-mail address")?;
    let group = f.group.and_then(GroupId::new).ok_or("not a group id")?;
    Ok(Some(Pair { email, group }))
}

async fn release_or_discard(c: &Console, f: HoldForm, release: bool) -> Response {
    if !csrf_ok(c, &f.csrf) {
        return forbidden();
    }
    let pair = match held_pair(&f) {
        Ok(p) => p,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let t = match now(c).await {
        Ok(t) => t,
        Err(e) => return fail(c, "Problems", Nav::Problems, "reading the clock", e),
    };
    let engine = &c.ops.engine();
    let r = if release {
        engine.release_held(pair.as_ref(), t).await
    } else {
        engine.discard_held(pair.as_ref(), t).await
    };
    match r {
        Ok(list) if list.is_empty() => Redirect::to("/problems?done=nothing-held").into_response(),
        Ok(_) if release => Redirect::to("/problems?done=released").into_response(),
        Ok(_) => Redirect::to("/problems?done=discarded").into_response(),
        Err(e) => fail(c, "Problems", Nav::Problems, "changing the holds", e),
    }
}

/// `POST /problems/release`
pub async fn release(State(c): C, Form(f): Form<HoldForm>) -> Response {
    release_or_discard(&c, f, true).await
}

/// `POST /problems/discard`
pub async fn discard(State(c): C, Form(f): Form<HoldForm>) -> Response {
    release_or_discard(&c, f, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_messages_cross_a_redirect() {
        assert!(
            done_notice(&Done {
                done: Some("released".into())
            })
            .contains("released")
        );
        assert_eq!(
            done_notice(&Done {
                done: Some("<b>hi</b>".into())
            }),
            ""
        );
    }
}
