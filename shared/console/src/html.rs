//! Server-rendered HTML: escaping and the page frame (navigation, skip link, headings).
//!
//! Pages are built as strings with every outside value passed through [`esc`]; there is no
//! template engine and no front-end build. The frame carries the CSRF token in a `<meta>` for
//! the little JavaScript there is, and every form gets it as a hidden field from [`csrf_field`].

use std::fmt::Write;

/// Escapes text for HTML element content and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query or path component.
pub fn url_enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'@' => {
                out.push(b as char)
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// The navigation's pages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// `/`
    Overview,
    /// `/people`
    People,
    /// `/mappings`
    Mappings,
    /// `/activity`
    Activity,
    /// `/problems`
    Problems,
}

const NAV: [(Nav, &str, &str); 5] = [
    (Nav::Overview, "/", "Overview"),
    (Nav::People, "/people", "People"),
    (Nav::Mappings, "/mappings", "Mappings"),
    (Nav::Activity, "/activity", "Activity"),
    (Nav::Problems, "/problems", "Problems"),
];

/// A whole page: `title` (text), the current section, and `body` (HTML).
pub fn page(title: &str, current: Nav, csrf: &str, body: &str) -> String {
    let mut nav = String::new();
    for (n, href, label) in NAV {
        let cur = if n == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(nav, "<li><a href=\"{href}\"{cur}>{label}</a></li>");
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"csrf\" content=\"{csrf}\">\
<title>{t} · access-sync console</title>\
<link rel=\"stylesheet\" href=\"/static/console.css\">\
<script src=\"/static/console.js\" defer></script></head>\
<body><a class=\"skip\" href=\"#main\">Skip to content</a>\
<header><span class=\"brand\">access-sync</span><nav aria-label=\"Sections\"><ul>{nav}</ul></nav></header>\
<main id=\"main\" tabindex=\"-1\"><h1>{t}</h1>{body}</main></body></html>",
        t = esc(title),
        csrf = esc(csrf),
    )
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(csrf)
    )
}

/// A notice box; `kind` is `ok`, `warn` or `bad` (colour and an icon word for non-colour
/// readers).
pub fn notice(kind: &str, html: &str) -> String {
    let word = match kind {
        "ok" => "Done",
        "warn" => "Note",
        _ => "Problem",
    };
    format!("<div class=\"notice {kind}\" role=\"status\"><strong>{word}:</strong> {html}</div>")
}

/// A table with a caption, header cells and rows of HTML cells.
pub fn table(caption: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!("<table><caption>{}</caption><thead><tr>", esc(caption));
    for h in head {
        let _ = write!(s, "<th scope=\"col\">{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        let _ = write!(
            s,
            "<tr><td colspan=\"{}\" class=\"empty\">None.</td></tr>",
            head.len()
        );
    }
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{c}</td>");
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markup_and_quotes() {
        assert_eq!(
            esc("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn url_encoding_keeps_emails_readable_and_escapes_the_rest() {
        assert_eq!(url_enc("ann+x@acme.io"), "ann%2Bx@acme.io");
        assert_eq!(url_enc("a b&c"), "a%20b%26c");
    }

    #[test]
    fn the_current_page_is_marked_for_assistive_technology() {
        let p = page("People", Nav::People, "tok", "<p>x</p>");
        assert!(p.contains("<a href=\"/people\" aria-current=\"page\">People</a>"));
        assert!(!p.contains("<a href=\"/\" aria-current"));
        assert!(p.contains("<html lang=\"en\">"));
    }
}
