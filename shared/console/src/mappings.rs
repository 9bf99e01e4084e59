//! The Mappings page: the stored mapping file with Kisi's group names beside the ids; a new
//! file pasted or uploaded is validated (errors with their line), previewed — who gains or
//! loses which group now (the engine's own `apply_mapping` in dry-run, as `access-sync
//! mappings apply --dry-run` prints it) and how each person's windows change over the next 7
//! days — and applied after a confirmation, through the same `apply_mapping`.

use crate::html::{csrf_field, esc, table};
use crate::person::group_label;
use access_sync_engine::MappingChange;
use access_sync_rules::access::merge;
use access_sync_rules::facts::Facts;
use access_sync_rules::mapping::Mappings;
use access_sync_rules::time::format_instant;
use access_sync_rules::{Instant, Pair};
use chrono::Duration;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Days the preview looks ahead.
pub const PREVIEW_DAYS: i64 = 7;
/// Rows of the 7-day preview shown (the count is always given).
pub const PREVIEW_ROWS: usize = 500;
/// The largest mapping file accepted (bytes).
pub const MAX_MAPPING_BYTES: usize = 256 * 1024;

/// An open interval, as the preview compares them.
pub type Span = (Instant, Option<Instant>);

/// One pair whose windows over the next days differ between the two files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeekChange {
    /// Who and which group.
    pub pair: Pair,
    /// The open intervals under the stored file.
    pub before: Vec<Span>,
    /// ... and under the new one.
    pub after: Vec<Span>,
}

/// The digest of a mapping text (empty when none is stored): the apply form carries the
/// stored file's, so a file changed by someone else since the preview is not overwritten.
pub fn digest(text: Option<&str>) -> String {
    hex::encode(Sha256::digest(text.unwrap_or("").as_bytes()))
}

fn spans(facts: &Facts, m: &Mappings, pair: &Pair, lo: Instant, hi: Instant) -> Vec<Span> {
    if !m.managed_groups().contains(&pair.group) {
        return Vec::new();
    }
    let (parts, _) = facts.contributions(m, pair, lo, hi);
    merge(parts)
        .into_iter()
        .filter(|w| w.window.until.is_none_or(|u| u > lo) && w.window.from < hi)
        .map(|w| (w.window.from.max(lo), w.window.until.filter(|&u| u < hi)))
        .collect()
}

/// Every pair whose open intervals over `[now, now + PREVIEW_DAYS)` differ between `old` and
/// `new`, in pair order.
pub fn week_changes(
    facts: &Facts,
    old: &Mappings,
    new: &Mappings,
    now: Instant,
) -> Vec<WeekChange> {
    let hi = now + Duration::days(PREVIEW_DAYS);
    let mut pairs: BTreeSet<Pair> = facts.all_pairs(old);
    pairs.extend(facts.all_pairs(new));
    pairs
        .into_iter()
        .filter_map(|pair| {
            let before = spans(facts, old, &pair, now, hi);
            let after = spans(facts, new, &pair, now, hi);
            (before != after).then_some(WeekChange {
                pair,
                before,
                after,
            })
        })
        .collect()
}

fn show_spans(s: &[Span]) -> String {
    if s.is_empty() {
        return "closed".into();
    }
    s.iter()
        .map(|(a, b)| {
            format!(
                "{} → {}",
                a.format("%a %e %b %H:%M"),
                b.map(|b| b.format("%a %e %b %H:%M").to_string())
                    .unwrap_or_else(|| "beyond 7 days".into())
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The stored file: its entries with group names, and the text.
pub fn render_current(text: Option<&str>, names: &BTreeMap<u64, String>) -> String {
    let Some(text) = text else {
        return "<p>No mapping file is stored yet: nothing is managed.</p>".into();
    };
    let mut s = String::new();
    match Mappings::parse(text) {
        Ok(m) => {
            let rows: Vec<Vec<String>> = m
                .entries
                .iter()
                .map(|e| {
                    vec![
                        e.line.to_string(),
                        esc(e.source.as_str()),
                        esc(&e.id),
                        e.groups
                            .iter()
                            .map(|g| esc(&group_label(names, g.get())))
                            .collect::<Vec<_>>()
                            .join("<br>"),
                        format!("{} / {} min", e.lead_minutes, e.lag_minutes),
                    ]
                })
                .collect();
            s.push_str(&table(
                "Mappings in the stored file",
                &["Line", "Source", "Platform id", "Kisi groups", "Lead / lag"],
                &rows,
            ));
            let unknown: Vec<String> = m
                .managed_groups()
                .iter()
                .filter(|g| !names.contains_key(&g.get()))
                .map(|g| g.to_string())
                .collect();
            if !unknown.is_empty() && !names.is_empty() {
                let _ = write!(
                    s,
                    "<div class=\"notice bad\" role=\"status\"><strong>Problem:</strong> Kisi has no group {}.</div>",
                    esc(&unknown.join(", "))
                );
            }
        }
        Err(e) => {
            let _ = write!(
                s,
                "<p class=\"bad\">The stored file does not validate: line {}: {}</p>",
                e.line,
                esc(&e.message)
            );
        }
    }
    let _ = write!(
        s,
        "<details><summary>The stored file</summary><pre class=\"file\">{}</pre></details>",
        esc(text)
    );
    s
}

/// The form to paste or upload a new file.
pub fn render_form(csrf: &str, text: &str, error: Option<(usize, &str)>) -> String {
    let mut s = String::new();
    let described = if let Some((line, msg)) = error {
        let _ = write!(
            s,
            "<div class=\"notice bad\" role=\"alert\" id=\"map-err\"><strong>Problem:</strong> line {line}: {}</div>",
            esc(msg)
        );
        " aria-describedby=\"map-err\" aria-invalid=\"true\""
    } else {
        ""
    };
    let _ = write!(
        s,
        "<form method=\"post\" action=\"/mappings/preview\" class=\"stack\">{}\
<label for=\"file\">Upload a mapping file (TOML)</label>\
<input type=\"file\" id=\"file\" accept=\".toml,text/plain\" data-fills=\"text\">\
<label for=\"text\">… or paste it here</label>\
<textarea id=\"text\" name=\"text\" rows=\"16\" spellcheck=\"false\" required{described}>{}</textarea>\
<p><button type=\"submit\">Preview the change</button></p></form>",
        csrf_field(csrf),
        esc(text)
    );
    s
}

/// The preview of a valid file: what changes now, over the week, and the apply form.
pub fn render_preview(
    csrf: &str,
    text: &str,
    base: &str,
    now_change: &MappingChange,
    week: &[WeekChange],
    names: &BTreeMap<u64, String>,
    now: Instant,
) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<p class=\"lead\">From {} (UTC): <strong>{} gain</strong> and <strong>{} lose</strong> a group now; \
{} people × groups change over the next {PREVIEW_DAYS} days; {} accesses are managed now.</p>",
        format_instant(now),
        now_change.gains.len(),
        now_change.losses.len(),
        week.len(),
        now_change.managed
    );
    if let Some(why) = &now_change.refused {
        let _ = write!(
            s,
            "<div class=\"notice bad\" role=\"alert\"><strong>Problem:</strong> {}</div>",
            esc(why)
        );
    }
    let mut rows = Vec::new();
    for p in &now_change.gains {
        rows.push(vec![
            "<span class=\"badge open\">gains</span>".into(),
            format!(
                "<a href=\"/people/{}\">{}</a>",
                crate::html::url_enc(p.email.as_str()),
                esc(p.email.as_str())
            ),
            esc(&group_label(names, p.group.get())),
        ]);
    }
    for p in &now_change.losses {
        rows.push(vec![
            "<span class=\"badge closed\">loses</span>".into(),
            format!(
                "<a href=\"/people/{}\">{}</a>",
                crate::html::url_enc(p.email.as_str()),
                esc(p.email.as_str())
            ),
            esc(&group_label(names, p.group.get())),
        ]);
    }
    s.push_str(&table("Now", &["Change", "Person", "Group"], &rows));
    let rows: Vec<Vec<String>> = week
        .iter()
        .take(PREVIEW_ROWS)
        .map(|c| {
            vec![
                esc(c.pair.email.as_str()),
                esc(&group_label(names, c.pair.group.get())),
                esc(&show_spans(&c.before)),
                esc(&show_spans(&c.after)),
            ]
        })
        .collect();
    let caption = if week.len() > PREVIEW_ROWS {
        format!(
            "Over the next {PREVIEW_DAYS} days (the first {PREVIEW_ROWS} of {})",
            week.len()
        )
    } else {
        format!("Over the next {PREVIEW_DAYS} days")
    };
    s.push_str(&table(
        &caption,
        &[
            "Person",
            "Group",
            "Open with the stored file",
            "Open with the new file",
        ],
        &rows,
    ));
    let mass = if now_change.refused.is_some() {
        "<p><input type=\"checkbox\" id=\"mass\" name=\"allow_mass_revoke\" value=\"1\"> \
<label for=\"mass\">Apply even though it takes this much access away (the brake still holds revokes past the hour's budget)</label></p>"
    } else {
        ""
    };
    let _ = write!(
        s,
        "<form method=\"post\" action=\"/mappings/apply\" class=\"stack confirm\">{}\
<input type=\"hidden\" name=\"text\" value=\"{}\"><input type=\"hidden\" name=\"base\" value=\"{}\">\
<p><input type=\"checkbox\" id=\"confirm\" name=\"confirm\" value=\"1\" required> \
<label for=\"confirm\">I have checked these changes: store this file and converge everyone it affects</label></p>{mass}\
<p><button type=\"submit\">Apply the new mapping</button> <a href=\"/mappings\">Cancel</a></p></form>",
        csrf_field(csrf),
        esc(text),
        esc(base)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_rules::event::parse_jsonl;
    use access_sync_rules::time::parse_instant;

    fn facts(events: &str, m: &Mappings) -> Facts {
        let mut f = Facts::new();
        for (_, ev) in parse_jsonl(events).unwrap() {
            f.apply(&ev, m);
        }
        f
    }

    #[test]
    fn the_week_preview_lists_each_pair_whose_windows_change() {
        let old = Mappings::parse(
            "[[mapping]]\nsource = \"plan\"\nid = \"hot\"\ngroups = [101]\n[[mapping]]\nsource = \"resource\"\nid = \"room\"\ngroups = [201]\n",
        )
        .unwrap();
        // The room now also opens 202 with a longer lead; the plan is unchanged.
        let new = Mappings::parse(
            "[[mapping]]\nsource = \"plan\"\nid = \"hot\"\ngroups = [101]\n[[mapping]]\nsource = \"resource\"\nid = \"room\"\ngroups = [201, 202]\nlead_minutes = 30\n",
        )
        .unwrap();
        let events = r#"{"id":"1","at":"2026-12-07T08:00:00Z","member":{"id":"m1","email":"joe@example.com"}}
{"id":"2","at":"2026-12-07T08:00:00Z","entitlement":{"id":"plan:p1","kind":"plan","refs":["plan:hot"],"holder":{"member":"m1"}}}
{"id":"3","at":"2026-12-07T08:00:00Z","entitlement":{"id":"booking:b1","kind":"booking","refs":["resource:room"],"holder":{"member":"m1"},"start":"2026-12-09T10:00:00Z","end":"2026-12-09T11:00:00Z"}}
{"id":"4","at":"2026-12-07T08:00:00Z","entitlement":{"id":"booking:b2","kind":"booking","refs":["resource:room"],"holder":{"member":"m1"},"start":"2026-12-20T10:00:00Z","end":"2026-12-20T11:00:00Z"}}
"#;
        let f = facts(events, &old);
        let now = parse_instant("2026-12-07T09:00:00Z").unwrap();
        let ch = week_changes(&f, &old, &new, now);
        let t = |s| parse_instant(s).unwrap();
        assert_eq!(ch.len(), 2, "{ch:?}");
        assert_eq!(ch[0].pair.group.get(), 201);
        assert_eq!(
            ch[0].before,
            vec![(t("2026-12-09T09:55:00Z"), Some(t("2026-12-09T11:05:00Z")))]
        );
        assert_eq!(
            ch[0].after,
            vec![(t("2026-12-09T09:30:00Z"), Some(t("2026-12-09T11:05:00Z")))]
        );
        assert_eq!(ch[1].pair.group.get(), 202);
        assert!(ch[1].before.is_empty());
        assert_eq!(ch[1].after, ch[0].after);
        // Nothing changes for the same file.
        assert!(week_changes(&f, &old, &old, now).is_empty());
    }

    #[test]
    fn a_bad_file_is_shown_with_its_line_and_kept_in_the_form() {
        let s = render_form("tok", "x = <", Some((3, "unknown key `x`")));
        assert!(s.contains("line 3: unknown key `x`"));
        assert!(s.contains("x = &lt;"));
        assert!(s.contains("aria-invalid=\"true\""));
    }

    #[test]
    fn the_digest_of_no_file_is_that_of_an_empty_one() {
        assert_eq!(digest(None), digest(Some("")));
        assert_ne!(digest(None), digest(Some("[defaults]\n")));
    }
}
