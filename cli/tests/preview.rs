//! `access-sync preview` and `preview --live` (the live operations edge by edge) print the same
//! timeline and warnings for the same files, and reject a bad line the same way.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn preview(mappings: &Path, events: &Path, live: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_access-sync"));
    cmd.arg("preview")
        .arg("--mappings")
        .arg(mappings)
        .arg("--events")
        .arg(events);
    if live {
        cmd.arg("--live");
    }
    cmd.output().unwrap()
}

#[test]
fn live_and_default_preview_print_the_same_timeline() {
    let day = events_dir().join("demo-day");
    let (m, e) = (day.join("mappings.toml"), day.join("events.jsonl"));
    let fast = preview(&m, &e, false);
    let live = preview(&m, &e, true);
    assert!(fast.status.success() && live.status.success());
    assert!(!fast.stdout.is_empty(), "the demo day has intervals");
    assert_eq!(
        String::from_utf8_lossy(&fast.stdout),
        String::from_utf8_lossy(&live.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&fast.stderr),
        String::from_utf8_lossy(&live.stderr)
    );
}

#[test]
fn live_preview_rejects_a_bad_line_like_the_default() {
    let day = events_dir().join("demo-day");
    let dir = std::env::temp_dir().join(format!("access-sync-preview-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.jsonl");
    let good = std::fs::read_to_string(day.join("events.jsonl")).unwrap();
    std::fs::write(
        &bad,
        format!("{good}{{\"id\":\"x\",\"at\":\"not a time\"}}\n"),
    )
    .unwrap();
    let fast = preview(&day.join("mappings.toml"), &bad, false);
    let live = preview(&day.join("mappings.toml"), &bad, true);
    for out in [&fast, &live] {
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
    }
    assert_eq!(fast.stderr, live.stderr);
    assert!(String::from_utf8_lossy(&live.stderr).contains("bad.jsonl:"));
}
