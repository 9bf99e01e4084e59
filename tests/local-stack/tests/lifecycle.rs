//! `local-stack up` twice, after a crash, and `down`: one clean stack at a time, nothing left
//! behind. (The handlers run in process here; CI's demo run covers `cargo lambda watch`'s
//! process group.)

use access_sync_aws::testing::free_port;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Ports {
    moto: u16,
    sim: u16,
}

fn up(dir: &Path, p: &Ports) -> Child {
    Command::new(env!("CARGO_BIN_EXE_local-stack"))
        .args(["up", "--in-process", "--dir"])
        .arg(dir)
        .args(["--moto-port", &p.moto.to_string()])
        .args(["--sim-port", &p.sim.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn state_pid(dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(dir.join("state.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["pid"].as_u64().map(|p| p as u32)
}

fn exited(c: &mut Child) -> bool {
    matches!(c.try_wait(), Ok(Some(_)))
}

#[test]
fn starting_twice_after_a_crash_and_stopping_leave_one_clean_stack_then_nothing() {
    let dir = std::env::temp_dir().join(format!("local-stack-lifecycle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let p = Ports {
        moto: free_port(),
        sim: free_port(),
    };

    let mut first = up(&dir, &p);
    wait_for("the first stack", || state_pid(&dir) == Some(first.id()));
    assert!(listening(p.moto) && listening(p.sim));

    // Started again: the running one is stopped, the new one takes its place on the same ports.
    let mut second = up(&dir, &p);
    wait_for("the first stack to stop", || exited(&mut first));
    wait_for("the second stack", || state_pid(&dir) == Some(second.id()));
    assert!(listening(p.moto) && listening(p.sim));

    // A crash: killed outright, it cleans nothing up; moto still dies with it.
    second.kill().unwrap();
    second.wait().unwrap();
    wait_for("moto to die with its parent", || !listening(p.moto));
    assert!(
        dir.join("state.json").exists(),
        "a crash leaves its state file"
    );

    // Started after the crash: it cleans up and starts.
    let mut third = up(&dir, &p);
    wait_for("the third stack", || state_pid(&dir) == Some(third.id()));
    assert!(listening(p.moto) && listening(p.sim));

    // down: stops it; nothing is left.
    let status = Command::new(env!("CARGO_BIN_EXE_local-stack"))
        .args(["down", "--dir"])
        .arg(&dir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    wait_for("the third stack to stop", || exited(&mut third));
    wait_for("its ports to close", || {
        !listening(p.moto) && !listening(p.sim)
    });
    assert!(!dir.join("state.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
