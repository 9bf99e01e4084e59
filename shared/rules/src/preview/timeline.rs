//! What a preview prints: the [`Interval`]s of the access timeline, one JSON line each, written
//! byte by byte exactly as serde_json would write them (the output of a large preview is most of
//! its work), and the [`Preview`] that holds them with its warnings and horizon.

use crate::ids::{Email, EntitlementId, GroupId};
use crate::time::{Instant, InstantText, push_instant_bytes};

/// One interval of the printed timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interval {
    /// Who.
    pub email: Email,
    /// Which Kisi group (or place: see [`GroupId::place`]).
    pub group: GroupId,
    /// Opened at.
    pub from: Instant,
    /// Closed at; `None` still open at the horizon.
    pub until: Option<Instant>,
    /// Every entitlement that contributed to it, each once, in order.
    pub reasons: Vec<EntitlementId>,
}

impl Interval {
    /// The `preview` output line (JSON): `email`, `group`, `from`, `until` (or `null`) and
    /// `reasons`, in that order, as serde_json writes them. A place's interval (a `[[place]]`
    /// of the mapping file) says `"place":<Kisi place id>` where a group's says `"group"`.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(self.json_len());
        self.write_json(&mut out, None);
        utf8(out)
    }

    /// Appends [`Interval::to_json`] to `out`.
    fn write_json(&self, out: &mut Vec<u8>, mut instants: Option<&mut InstantText>) {
        let mut instant = |out: &mut Vec<u8>, t: Instant| match instants.as_deref_mut() {
            Some(recent) => recent.push(out, t),
            None => push_instant_bytes(out, t),
        };
        out.extend_from_slice(b"{\"email\":");
        push_json_str(out, self.email.as_str());
        match self.group.as_place() {
            Some(place) => {
                out.extend_from_slice(b",\"place\":");
                push_u64(out, place);
            }
            None => {
                out.extend_from_slice(b",\"group\":");
                push_u64(out, self.group.get());
            }
        }
        out.extend_from_slice(b",\"from\":\"");
        instant(out, self.from);
        out.extend_from_slice(b"\",\"until\":");
        match self.until {
            Some(u) => {
                out.push(b'"');
                instant(out, u);
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"reasons\":[");
        for (i, r) in self.reasons.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_json_str(out, r.as_str());
        }
        out.extend_from_slice(b"]}");
    }

    /// The length of [`Interval::to_json`] when no string needs escaping (else a little more).
    fn json_len(&self) -> usize {
        // {"email":"","group":,"from":"","until":"","reasons":[]}, two instants and the group.
        let reasons: usize = self.reasons.iter().map(|r| r.as_str().len() + 3).sum();
        58 + 40 + 20 + self.email.as_str().len() + reasons
    }
}

/// The text of bytes written from strings and ASCII (so always UTF-8).
fn utf8(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Appends `v` in decimal.
fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut b = [0u8; 20];
    let mut at = b.len();
    loop {
        at -= 1;
        b[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&b[at..]);
}

/// Bytes a JSON string cannot hold as they are (the control characters, `"` and `\\`) and DEL,
/// which serde_json writes as it is but is left to it anyway.
const ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[0x7f] = true;
    t
};

/// Appends `s` as a JSON string, escaped exactly as serde_json escapes it.
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| ESCAPED[usize::from(b)]) {
        out.extend_from_slice(serde_json::to_string(s).unwrap_or_default().as_bytes());
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// The result of a preview.
#[derive(Clone, Debug)]
pub struct Preview {
    /// The timeline.
    pub intervals: Vec<Interval>,
    /// Warnings for stderr.
    pub warnings: Vec<String>,
    /// The horizon used.
    pub horizon: Instant,
}

impl Preview {
    /// The printed timeline: one [`Interval::to_json`] line per interval, each ending in `\n`.
    pub fn to_jsonl(&self) -> String {
        let len = self.intervals.iter().map(|i| i.json_len() + 1).sum();
        let mut out = Vec::with_capacity(len);
        let mut instants = InstantText::new();
        for i in &self.intervals {
            i.write_json(&mut out, Some(&mut instants));
            out.push(b'\n');
        }
        utf8(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{format_instant, parse_instant};
    use serde::Serialize;

    #[derive(Serialize)]
    struct IntervalLine<'a> {
        email: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        group: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        place: Option<u64>,
        from: String,
        until: Option<String>,
        reasons: Vec<&'a str>,
    }

    #[test]
    fn an_interval_line_is_what_serde_json_writes() {
        let at = |s| parse_instant(s).unwrap();
        let mut all = Vec::new();
        for (email, group, until, reasons) in [
            (
                "a@x.io",
                42,
                Some("2026-12-07T11:05:00Z"),
                vec!["booking:2", "plan:1"],
            ),
            ("q\"uote\\d@x.io", 1, None, vec![]),
            (
                "\u{7f}tab\t@x.io",
                (1 << 62) - 1,
                None,
                vec!["ünï\u{1}code"],
            ),
            // A place (`[[place]]`) prints its Kisi place id as `place`.
            (
                "p@x.io",
                GroupId::place(7).unwrap().get() as i64,
                None,
                vec!["x"],
            ),
            ("p@x.io", i64::MAX, None, vec!["x"]),
        ] {
            let i = Interval {
                email: Email::parse(email).unwrap(),
                group: GroupId::new(group).unwrap(),
                from: at("2026-12-07T08:55:00Z"),
                until: until.map(at),
                reasons: reasons.iter().map(|&r| EntitlementId::from(r)).collect(),
            };
            let want = serde_json::to_string(&IntervalLine {
                email: i.email.as_str(),
                group: i.group.as_group(),
                place: i.group.as_place(),
                from: format_instant(i.from),
                until: i.until.map(format_instant),
                reasons: i.reasons.iter().map(EntitlementId::as_str).collect(),
            })
            .unwrap();
            assert_eq!(i.to_json(), want);
            all.push(i);
        }
        let p = Preview {
            intervals: all,
            warnings: vec![],
            horizon: Instant::default(),
        };
        let lines: String = p.intervals.iter().map(|i| i.to_json() + "\n").collect();
        assert_eq!(p.to_jsonl(), lines);
    }
}
