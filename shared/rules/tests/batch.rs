//! `preview` reads the timeline from the whole history at once (the batch reading) unless weekly
//! blocks need the engine; `preview_live` runs the live engine on its virtual clock. These tests
//! generate event files — teams, guests, cancels, check-ins across a DST change, e-mail changes
//! and case variants, removals, statuses, duplicate deliveries, events out of order, ties, later
//! events past `--until` — and require the two to print the same bytes and the same warnings.

use access_sync_rules::event::{Event, parse_jsonl};
use access_sync_rules::mapping::Mappings;
use access_sync_rules::preview::{PreviewInput, preview, preview_batch, preview_live};
use access_sync_rules::time::{Instant, format_instant, format_instant_exact, parse_instant};
use chrono::Duration;
use proptest::prelude::*;

/// A small deterministic generator (xorshift), so one seed names one whole input.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

fn mappings(r: &mut Rng) -> Mappings {
    let tz = r.pick(&[
        "Europe/London",
        "America/New_York",
        "UTC",
        "Australia/Sydney",
    ]);
    let blocked = r.pick(&["deny", "allow"]);
    // A per-mapping override (README "Mapping file": an extension of the contract) on one
    // line, or none.
    let q_blocked = match r.pick(&["", "deny", "allow"]) {
        "" => String::new(),
        b => format!("blocked = \"{b}\"\n"),
    };
    Mappings::parse(&format!(
        r#"
[defaults]
timezone = "{tz}"
lead_minutes = {}
lag_minutes = {}
blocked = "{blocked}"

[[mapping]]
source = "plan"
id = "p"
groups = [1, 2]

[[mapping]]
source = "plan"
id = "q"
groups = [4]
{q_blocked}
[[mapping]]
source = "resource"
id = "r"
groups = [2]
lead_minutes = 30
lag_minutes = 15

[[mapping]]
source = "resource"
id = "s"
groups = [2, 4]
lead_minutes = 0
lag_minutes = 90

[[mapping]]
source = "desk"
id = "d"
groups = [3]
lead_minutes = 0
lag_minutes = 60

[[mapping]]
source = "checkin"
id = "c"
groups = [3, 1]

[[mapping]]
source = "registration"
id = "g"
groups = [1]

[[mapping]]
source = "pass"
id = "day"
groups = [5]

[[mapping]]
source = "office"
id = "o"
groups = [5, 2]
"#,
        r.below(20),
        r.below(20)
    ))
    .unwrap()
}

/// London goes to summer time on 2026-03-29, New York on 2026-03-08 (before), Sydney to
/// winter time on 2026-04-05.
const BASE: &str = "2026-03-26T00:00:00Z";

/// An instant near the base: mostly on a 30-minute grid (so ends meet starts), sometimes on any
/// second, with a fraction, or written with an offset.
fn instant(r: &mut Rng, span_steps: usize) -> String {
    let base = parse_instant(BASE).unwrap();
    let t = base + Duration::minutes(30 * r.below(span_steps) as i64);
    match r.below(20) {
        0 => format_instant(t + Duration::seconds(r.below(1800) as i64)),
        1 => format!("{}.{}Z", &format_instant(t)[..19], r.below(1000)),
        2 => (t + Duration::hours(2))
            .format("%Y-%m-%dT%H:%M:%S+02:00")
            .to_string(),
        _ => format_instant(t),
    }
}

const EMAILS: [&str; 7] = [
    "ann@x.io",
    "bob@x.io",
    "cat@x.io",
    " ANN@x.io ",
    "Bob@X.io",
    "dan@y.org",
    "émile@x.io",
];

fn member_body(r: &mut Rng, members: usize) -> String {
    let id = r.below(members);
    let email = if r.chance(80) {
        format!(r#","email":"{}""#, r.pick(&EMAILS))
    } else {
        String::new()
    };
    let name = if r.chance(30) { r#","name":"N""# } else { "" };
    let removed = if r.chance(12) {
        r#","removed":true"#
    } else if r.chance(5) {
        r#","removed":false"#
    } else {
        ""
    };
    format!(r#""member":{{"id":"m{id}"{email}{name}{removed}}}"#)
}

fn team_body(r: &mut Rng, members: usize, teams: usize) -> String {
    let n = r.below(5);
    let list: Vec<String> = (0..n)
        .map(|_| format!("\"m{}\"", r.below(members + 1)))
        .collect();
    format!(
        r#""team":{{"id":"t{}","members":[{}]}}"#,
        r.below(teams),
        list.join(",")
    )
}

fn entitlement_body(r: &mut Rng, members: usize, teams: usize, ents: usize, span: usize) -> String {
    let kind = r.pick(&[
        "plan",
        "allowance",
        "pass",
        "booking",
        "assignment",
        "occupancy",
        "checkin",
        "registration",
    ]);
    let refs: Vec<String> = (0..1 + r.below(3))
        .map(|_| {
            format!(
                "\"{}\"",
                r.pick(&[
                    "plan:p",
                    "plan:q",
                    "resource:r",
                    "resource:s",
                    "desk:d",
                    "checkin:c",
                    "registration:g",
                    "pass:day",
                    "office:o",
                    "resource:unmapped",
                ])
            )
        })
        .collect();
    // Holders: members and teams, some never described.
    let holder = if r.chance(65) {
        format!(r#"{{"member":"m{}"}}"#, r.below(members + 1))
    } else {
        format!(r#"{{"team":"t{}"}}"#, r.below(teams + 1))
    };
    let mut s = format!(
        r#""entitlement":{{"id":"e{}","kind":"{kind}","refs":[{}],"holder":{holder}"#,
        r.below(ents),
        refs.join(",")
    );
    if r.chance(25) {
        let guests: Vec<String> = (0..1 + r.below(2))
            .map(|_| format!("\"{}\"", r.pick(&EMAILS)))
            .collect();
        s += &format!(r#","guests":[{}]"#, guests.join(","));
    }
    if r.chance(75) {
        let start = instant(r, span);
        s += &format!(r#","start":"{start}""#);
        if r.chance(70) {
            let t = parse_instant(&start).unwrap();
            let end = t + Duration::minutes(30 * r.below(24) as i64 + r.below(2) as i64 * 7);
            s += &format!(r#","end":"{}""#, format_instant_exact(end));
        } else if r.chance(20) {
            s += r#","end":null"#;
        }
    }
    if r.chance(35) {
        s += &format!(
            r#","status":"{}""#,
            r.pick(&["active", "pending", "blocked", "exhausted", "blocked"])
        );
    }
    if r.chance(30) {
        s += &format!(
            r#","tz":"{}""#,
            r.pick(&["America/New_York", "UTC", "Europe/London", "Asia/Kolkata"])
        );
    }
    s + "}"
}

/// A whole event file: `n` lines, some of them re-deliveries (the same delivery id with another
/// body, which must be ignored), in no particular order; and optionally weekly blocks.
fn event_file(seed: u64, n: usize, with_blocks: bool) -> String {
    let r = &mut Rng::new(seed);
    let members = 1 + r.below(8);
    let teams = 1 + r.below(3);
    let ents = 1 + r.below(12);
    let span = 24 + r.below(240);
    let escaped = r.chance(10);
    let mut out = String::new();
    for i in 0..n {
        let id = if i > 0 && r.chance(8) { r.below(i) } else { i };
        let at = instant(r, span);
        let body = match r.below(10) {
            0..=2 => member_body(r, members),
            3 => team_body(r, members, teams),
            4 => format!(r#""cancel":{{"entitlement":"e{}"}}"#, r.below(ents + 1)),
            _ => entitlement_body(r, members, teams, ents, span),
        };
        let body = if with_blocks && body.contains(r#""kind":"assignment""#) && r.chance(60) {
            let days = r.pick(&[r#"["mon"]"#, r#"["sun","sat"]"#, r#"["tue","wed","thu"]"#]);
            let (from, to) = *[("09:00", "17:00"), ("00:00", "24:00"), ("01:30", "03:00")]
                .get(r.below(3))
                .unwrap();
            format!(
                r#"{},"blocks":[{{"days":{days},"from":"{from}","to":"{to}"}}]}}"#,
                &body[..body.len() - 1]
            )
        } else {
            body
        };
        // In some files an escaped id (the file is then read into events, not records); now
        // and then whitespace between tokens.
        let body = match r.below(200) {
            0 if escaped => body.replacen("\"id\":\"", "\"id\":\"\\u00e9\\\"", 1),
            1 => body.replace(',', ", "),
            _ => body,
        };
        out += &format!("{{\"id\":\"d{id}\",\"at\":\"{at}\",{body}}}\n");
        if r.chance(3) {
            out += "\n";
        }
    }
    out
}

fn until(r: &mut Rng) -> Option<Instant> {
    match r.below(4) {
        0 => Some(parse_instant(BASE).unwrap() + Duration::hours(r.below(24 * 8) as i64)),
        1 => Some(parse_instant(BASE).unwrap() + Duration::days(40)),
        _ => None,
    }
}

fn events(text: &str) -> Vec<Event> {
    parse_jsonl(text)
        .unwrap_or_else(|e| panic!("generated a bad file: {e}\n{text}"))
        .into_iter()
        .map(|(_, e)| e)
        .collect()
}

/// Both readings of one generated input: the printed lines and the warnings must be the same.
fn check(seed: u64, n: usize, with_blocks: bool) -> Result<(), TestCaseError> {
    let text = event_file(seed, n, with_blocks);
    let r = &mut Rng::new(seed ^ 0x5555);
    let m = mappings(r);
    let until = until(r);
    let evs = events(&text);
    let live = preview_live(&m, evs.clone(), until);
    let weekly = text.contains("\"blocks\"");
    if !weekly {
        let batch = preview_batch(&m, evs.clone(), until);
        prop_assert!(batch.is_some(), "no weekly blocks, yet no batch reading");
    }
    let read = PreviewInput::parse(&text).expect("parse_jsonl read it");
    prop_assert_eq!(read.len(), evs.len());
    let read = read.preview(&m, until);
    prop_assert_eq!(
        read.to_jsonl(),
        live.to_jsonl(),
        "seed {} read from the text",
        seed
    );
    prop_assert_eq!(&read.warnings, &live.warnings, "seed {}", seed);
    let got = preview(&m, evs, until);
    prop_assert_eq!(
        got.to_jsonl(),
        live.to_jsonl(),
        "seed {} ({} lines, until {:?}):\n{}",
        seed,
        n,
        until,
        text
    );
    prop_assert_eq!(got.warnings, live.warnings, "seed {}", seed);
    prop_assert_eq!(got.horizon, live.horizon);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    /// Small files: every combination of few members, teams and entitlements comes round.
    #[test]
    fn the_batch_reading_prints_what_the_engine_prints(seed in any::<u64>(), n in 1usize..40) {
        check(seed, n, false)?;
    }

    /// Larger files, where many versions, teams and addresses interleave.
    #[test]
    fn the_batch_reading_prints_what_the_engine_prints_on_long_files(seed in any::<u64>(), n in 40usize..400) {
        check(seed, n, false)?;
    }

    /// With weekly blocks in the file, `preview` is the engine.
    #[test]
    fn weekly_blocks_run_the_engine(seed in any::<u64>(), n in 1usize..60) {
        check(seed, n, true)?;
    }
}

/// The generators produce what they should (else the properties above would be vacuous):
/// intervals, warnings of each kind, weekly blocks, duplicate deliveries.
#[test]
fn the_generated_files_exercise_the_rules() {
    let (mut intervals, mut reasons, mut warnings, mut blocks) = (0, 0, Vec::new(), 0);
    for seed in 0..200 {
        let text = event_file(seed, 60, true);
        blocks += text.matches("\"blocks\"").count();
        let r = &mut Rng::new(seed ^ 0x5555);
        let m = mappings(r);
        let p = preview(&m, events(&text), until(r));
        intervals += p.intervals.len();
        reasons += p.intervals.iter().filter(|i| i.reasons.len() > 1).count();
        warnings.extend(p.warnings);
    }
    assert!(intervals > 1000, "{intervals} intervals");
    assert!(reasons > 100, "{reasons} intervals with several reasons");
    assert!(blocks > 50, "{blocks} weekly blocks");
    for w in ["has no e-mail", "no team event", "cancel of unknown"] {
        assert!(warnings.iter().any(|x| x.contains(w)), "no warning {w:?}");
    }
}

/// Lines `parse_jsonl` rejects (each with the check that rejects it), and unusual lines it
/// accepts.
const ODD_LINES: [&str; 30] = [
    r#"{"id":"","at":"2026-03-26T00:00:00Z","member":{"id":"m1"}}"#,
    r#"{"id":"x","at":"2026-13-26T00:00:00Z","member":{"id":"m1"}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00","member":{"id":"m1"}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","member":{"id":"m1"},"cancel":{"entitlement":"e"}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z"}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","member":{"id":""}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","team":{"id":"","members":[]}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","cancel":{"entitlement":""}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"","kind":"plan","refs":[],"holder":{"member":"m"}}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e","kind":"lease","refs":[],"holder":{"member":"m"}}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e","kind":"plan","refs":["plan"],"holder":{"member":"m"}}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e","kind":"plan","refs":["room:1"],"holder":{"member":"m"}}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e","kind":"plan","refs":["plan:"],"holder":{"member":"m"}}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e","kind":"plan","refs":[],"holder":{"member":"m","team":"t"}}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e","kind":"plan","refs":[],"holder":{}}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e","kind":"plan","refs":[],"holder":{"team":""}}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e","kind":"plan","refs":[],"holder":{"member":"m"},"guests":["  "]}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e","kind":"plan","refs":[],"holder":{"member":"m"},"start":"tomorrow"}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e","kind":"plan","refs":[],"holder":{"member":"m"},"start":"2026-03-27T00:00:00Z","end":"2026-03-26T00:00:00Z"}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e","kind":"plan","refs":[],"holder":{"member":"m"},"tz":"Mars/Olympus"}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e","kind":"plan","refs":[],"holder":{"member":"m"},"status":"gone"}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e","kind":"plan","refs":[],"holder":{"member":"m"},"blocks":[]}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e","kind":"assignment","refs":[],"holder":{"member":"m"},"blocks":[{"days":["someday"],"from":"09:00","to":"10:00"}]}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","member":{"id":"m1","colour":"red"}}"#,
    r#"{"id":7,"at":"2026-03-26T00:00:00Z","member":{"id":"m1"}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","member":{"id":"m1"}"#,
    // Accepted.
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e0","kind":"assignment","refs":["plan:p"],"holder":{"member":"m0"},"blocks":[]}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","entitlement":{"id":"e0","kind":"plan","refs":["plan:p"],"holder":{"member":"m0"},"blocks":null,"guests":null,"tz":null,"status":null,"start":null}}"#,
    r#"{"id":"x","at":"2026-03-26T00:00:00Z","member":{"id":"m0","email":"  ","removed":null,"name":null}}"#,
    r#" { "id" : "x" , "at" : "2026-03-26T00:00:00+01:00" , "team" : { "id" : "t0" , "members" : [ "m0" , "m0" ] } } "#,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    /// A file read for preview is accepted or rejected as `parse_jsonl` accepts or rejects it,
    /// with the same error, and previews the same.
    #[test]
    fn reading_for_preview_accepts_and_rejects_what_parse_jsonl_does(
        seed in any::<u64>(),
        n in 1usize..60,
        odd in 0..ODD_LINES.len(),
        at in any::<prop::sample::Index>(),
    ) {
        let text = event_file(seed, n, false);
        let mut lines: Vec<&str> = text.lines().collect();
        lines.insert(at.index(lines.len() + 1), ODD_LINES[odd]);
        let text = lines.join("\n");
        let m = mappings(&mut Rng::new(seed));
        match (parse_jsonl(&text), PreviewInput::parse(&text)) {
            (Err(want), got) => prop_assert_eq!(got.err(), Some(want)),
            (Ok(evs), Ok(got)) => {
                let evs: Vec<Event> = evs.into_iter().map(|(_, e)| e).collect();
                let want = preview_live(&m, evs, None);
                let got = got.preview(&m, None);
                prop_assert_eq!(got.to_jsonl(), want.to_jsonl());
                prop_assert_eq!(got.warnings, want.warnings);
            }
            (Ok(_), Err(e)) => prop_assert!(false, "rejected what parse_jsonl reads: {}", e),
        }
    }
}
