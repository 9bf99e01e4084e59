//! Charts as inline SVG, drawn on the server: grants and revokes per hour, and a person's
//! timeline per group. Each chart has a title and description for screen readers, and every
//! figure it shows is also in a table beside it, so nothing is only in the picture.

use crate::html::esc;
use access_sync_rules::Instant;
use chrono::{Duration, Timelike};
use std::fmt::Write;

/// One hour of activity (the operator crate's count; the chart draws grants and revokes).
pub use access_sync_operator::HourCount;

/// Grants and revokes per hour as paired bars (grants dark blue, revokes dark orange with a
/// hatch, so the two differ without colour).
pub fn hourly_chart(id: &str, hours: &[HourCount]) -> String {
    let (w, h, left, bottom, top) = (960.0, 220.0, 44.0, 28.0, 12.0);
    let max = hours
        .iter()
        .map(|c| c.grants.max(c.revokes))
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_h = h - bottom - top;
    let slot = (w - left - 8.0) / hours.len().max(1) as f64;
    let bar = (slot / 2.0 - 1.0).max(1.0);
    let total_g: u32 = hours.iter().map(|c| c.grants).sum();
    let total_r: u32 = hours.iter().map(|c| c.revokes).sum();
    let mut s = format!(
        "<svg class=\"chart\" id=\"{id}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" preserveAspectRatio=\"xMinYMin meet\">\
<title id=\"{id}-t\">Grants and revokes per hour</title>\
<desc id=\"{id}-d\">{total_g} grants and {total_r} revokes over {n} hours; the table below has every hour.</desc>\
<defs><pattern id=\"{id}-hatch\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
<rect width=\"4\" height=\"4\" class=\"rev\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"4\" class=\"hatch\"/></pattern></defs>",
        n = hours.len()
    );
    // Axis and gridlines at 0, half and max.
    for (k, frac) in [0.0, 0.5, 1.0].iter().enumerate() {
        let y = top + plot_h * (1.0 - frac);
        let label = (f64::from(max) * frac).round() as u32;
        if k > 0 && label == 0 {
            continue;
        }
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{w}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\"/>\
<text x=\"{lx}\" y=\"{ty:.1}\" class=\"axis\" text-anchor=\"end\">{label}</text>",
            lx = left - 6.0,
            ty = y + 4.0
        );
    }
    for (i, c) in hours.iter().enumerate() {
        let x = left + slot * i as f64;
        for (k, (n, class)) in [(c.grants, "grant"), (c.revokes, "revbar")]
            .iter()
            .enumerate()
        {
            if *n == 0 {
                continue;
            }
            let bh = plot_h * f64::from(*n) / f64::from(max);
            let fill = if *class == "revbar" {
                format!(" fill=\"url(#{id}-hatch)\"")
            } else {
                String::new()
            };
            let what = if *class == "revbar" {
                "revokes"
            } else {
                "grants"
            };
            let _ = write!(
                s,
                "<rect x=\"{bx:.1}\" y=\"{by:.1}\" width=\"{bar:.1}\" height=\"{bh:.1}\" class=\"{class}\"{fill}><title>{hh} UTC: {n} {what}</title></rect>",
                bx = x + 1.0 + k as f64 * bar,
                by = top + plot_h - bh,
                hh = c.hour.format("%a %H:00"),
            );
        }
        if c.hour.hour() % 3 == 0 {
            let _ = write!(
                s,
                "<text x=\"{tx:.1}\" y=\"{ty}\" class=\"axis\" text-anchor=\"middle\">{}</text>",
                c.hour.format("%H:00"),
                tx = x + slot / 2.0,
                ty = h - 8.0
            );
        }
    }
    s.push_str("</svg>");
    s.push_str(
        "<p class=\"legend\"><span class=\"key grant\"></span> grants \
<span class=\"key rev\"></span> revokes (hatched) · hours in UTC</p>",
    );
    s
}

/// One bar of a timeline row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bar {
    /// Opens.
    pub from: Instant,
    /// Closes (`None`: open-ended).
    pub until: Option<Instant>,
    /// What opens it (entitlement ids), shown in the tooltip and the table.
    pub label: String,
}

/// One row: a group and its open intervals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The group, as shown (`101 · Members`).
    pub label: String,
    /// Its open intervals.
    pub bars: Vec<Bar>,
}

/// A timeline from `from` over `days` days, one row per group.
pub fn timeline(id: &str, from: Instant, days: i64, rows: &[Row]) -> String {
    let (w, left, row_h, head) = (960.0, 150.0, 30.0, 26.0);
    let h = head + row_h * rows.len().max(1) as f64 + 6.0;
    let until = from + Duration::days(days);
    let span = (until - from).num_seconds().max(1) as f64;
    let x_of = |t: Instant| {
        let t = t.clamp(from, until);
        left + (w - left - 4.0) * (t - from).num_seconds() as f64 / span
    };
    let mut s = format!(
        "<svg class=\"chart timeline\" id=\"{id}\" viewBox=\"0 0 {w} {h:.0}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" preserveAspectRatio=\"xMinYMin meet\">\
<title id=\"{id}-t\">Door access over the next {days} days</title>\
<desc id=\"{id}-d\">{n} groups; each bar is a time the doors open; the table below lists every interval.</desc>",
        n = rows.len()
    );
    // Day lines, labelled at midnight UTC.
    let first_midnight = from
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(from);
    for d in 0..=days {
        let t = first_midnight + Duration::days(d);
        if t < from || t > until {
            continue;
        }
        let x = x_of(t);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{y1}\" y2=\"{h:.0}\" class=\"grid\"/>",
            y1 = head - 6.0,
        );
        // A label needs about 40 units; the last midnight may sit too close to the edge.
        if x + 40.0 < w {
            let _ = write!(
                s,
                "<text x=\"{tx:.1}\" y=\"16\" class=\"axis\">{}</text>",
                t.format("%a %e"),
                tx = x + 3.0
            );
        }
    }
    let nx = x_of(from);
    let _ = write!(
        s,
        "<line x1=\"{nx:.1}\" x2=\"{nx:.1}\" y1=\"{y1}\" y2=\"{h:.0}\" class=\"now\"/>",
        y1 = head - 6.0
    );
    for (i, r) in rows.iter().enumerate() {
        let y = head + row_h * i as f64;
        let _ = write!(
            s,
            "<text x=\"4\" y=\"{ty:.1}\" class=\"rowlabel\">{}</text>",
            esc(&r.label),
            ty = y + row_h / 2.0 + 4.0
        );
        for b in &r.bars {
            let x0 = x_of(b.from);
            let x1 = x_of(b.until.unwrap_or(until));
            let bw = (x1 - x0).max(2.0);
            let when = format!(
                "{} → {}",
                b.from.format("%a %e %b %H:%M"),
                b.until
                    .map(|u| u.format("%a %e %b %H:%M").to_string())
                    .unwrap_or_else(|| "no end".into())
            );
            let _ = write!(
                s,
                "<rect x=\"{x0:.1}\" y=\"{by:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" rx=\"3\" class=\"open\"><title>{} UTC: {}</title></rect>",
                esc(&when),
                esc(&b.label),
                by = y + 5.0,
                bh = row_h - 10.0
            );
            if bw > 90.0 {
                let mut text = b.label.clone();
                let fits = ((bw - 8.0) / 6.5) as usize;
                if text.chars().count() > fits {
                    text = text
                        .chars()
                        .take(fits.saturating_sub(1))
                        .collect::<String>()
                        + "…";
                }
                let _ = write!(
                    s,
                    "<text x=\"{tx:.1}\" y=\"{ty:.1}\" class=\"barlabel\">{}</text>",
                    esc(&text),
                    tx = x0 + 4.0,
                    ty = y + row_h / 2.0 + 4.0
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_rules::time::parse_instant;

    fn t(s: &str) -> Instant {
        parse_instant(s).unwrap()
    }

    #[test]
    fn hourly_bars_scale_to_the_busiest_hour_and_name_each_hour() {
        let hours = vec![
            HourCount {
                hour: t("2026-12-07T09:00:00Z"),
                grants: 4,
                revokes: 0,
                other: 3,
            },
            HourCount {
                hour: t("2026-12-07T10:00:00Z"),
                grants: 2,
                revokes: 1,
                other: 0,
            },
        ];
        let s = hourly_chart("c", &hours);
        assert!(s.contains("6 grants and 1 revokes over 2 hours"));
        assert!(s.contains("<title>Mon 09:00 UTC: 4 grants</title>"));
        assert!(s.contains("<title>Mon 10:00 UTC: 1 revokes</title>"));
        // The busiest bar fills the plot (220 - 28 - 12 = 180 high).
        assert!(s.contains("height=\"180.0\" class=\"grant\""));
    }

    #[test]
    fn timeline_bars_are_clipped_to_the_window_and_escape_their_labels() {
        let from = t("2026-12-07T00:00:00Z");
        let rows = vec![Row {
            label: "101 · <Members>".into(),
            bars: vec![
                Bar {
                    from: t("2026-12-06T00:00:00Z"),
                    until: None,
                    label: "plan:<p1>".into(),
                },
                Bar {
                    from: t("2026-12-08T09:00:00Z"),
                    until: Some(t("2026-12-08T10:00:00Z")),
                    label: "booking:b1".into(),
                },
            ],
        }];
        let s = timeline("tl", from, 14, &rows);
        assert!(s.contains("101 · &lt;Members&gt;"));
        assert!(s.contains("Sun  6 Dec 00:00 → no end UTC: plan:&lt;p1&gt;"));
        assert!(!s.contains("<p1>"));
        // An interval that began before the window starts at the left edge.
        assert!(s.contains("<rect x=\"150.0\""));
        assert!(s.contains("Tue  8 Dec 09:00 → Tue  8 Dec 10:00 UTC: booking:b1"));
    }
}
