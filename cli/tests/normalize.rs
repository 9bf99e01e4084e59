//! `access-sync normalize PLATFORM FILE | access-sync preview`: the built binary, on the fixtures
//! in `events/<platform>/`, gives the expected timelines; bad input exits 2 naming FILE:LINE.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_access-sync"))
}

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("access-sync-normalize-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn normalize_output_feeds_preview_for_every_platform() {
    for p in access_sync_platforms::Platform::ALL {
        let (platform, file) = (p.as_str(), p.spec().fixture().file);
        let dir = events_dir().join(platform);
        let out = bin()
            .args(["normalize", platform])
            .arg(dir.join(file))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{platform}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stderr.is_empty(), "{platform}: no warnings expected");
        let events = scratch(&format!("{platform}.jsonl"));
        std::fs::write(&events, &out.stdout).unwrap();
        let preview = bin()
            .arg("preview")
            .arg("--mappings")
            .arg(dir.join("mappings.toml"))
            .arg("--events")
            .arg(&events)
            .output()
            .unwrap();
        assert!(
            preview.status.success(),
            "{platform}: {}",
            String::from_utf8_lossy(&preview.stderr)
        );
        let want = std::fs::read_to_string(dir.join("expected.jsonl")).unwrap();
        assert_eq!(String::from_utf8_lossy(&preview.stdout), want, "{platform}");
    }
}

#[test]
fn a_bad_line_exits_2_naming_file_and_line_with_nothing_on_stdout() {
    let file = scratch("bad.jsonl");
    std::fs::write(
        &file,
        "\n{\"feed_items\":[]}\n{\"feed_items\":[{\"id\":1,\"type\":\"customer.created\"}]}\n",
    )
    .unwrap();
    let out = bin()
        .args(["normalize", "teamup"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:3: feed_items[0].timestamp: missing",
            file.display()
        )),
        "{err}"
    );
}

#[test]
fn an_unknown_platform_exits_2() {
    let out = bin()
        .args(["normalize", "cobot", "nowhere.jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("officernd, optix, nexudus, teamup"));
}
