//! The functions' logs, captured and checked for personal data and secrets.
//!
//! - [`capture`] installs, for the whole test process, the functions' own JSON subscriber
//!   ([`access_sync_runtime::logging::subscriber`]: the same filter and the same scrubbing
//!   writer as in Lambda) writing to a file, at the level a `RUST_LOG` value asks for. The
//!   in-process handlers log there; under `cargo lambda watch` the functions log to the
//!   stack's `watch.log` instead.
//! - [`leaks`] / [`assert_logs_clean`] check a log: no line may contain anything that looks
//!   like an e-mail address, any of the given addresses or names (case-insensitive), or any
//!   given secret. The address pattern here is deliberately looser than the scrubber's (any
//!   `word@word.word` or `word%40word.word`), so a gap in the scrubber's pattern shows up as
//!   a failure instead of hiding in both.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The file the process's logs go to, once [`capture`] has installed the subscriber.
static CAPTURED: OnceLock<PathBuf> = OnceLock::new();

/// Appends every line to one file.
struct FileLog(Mutex<std::fs::File>);

impl std::io::Write for &FileLog {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut f = self.0.lock().unwrap_or_else(|p| p.into_inner());
        std::io::Write::write_all(&mut *f, data)?;
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends this process's logs (the in-process functions', the pumps') to `file` through the
/// functions' subscriber at `rust_log` (e.g. `"trace"`), and answers the file. The subscriber
/// is global: a second call (another test of the same binary) answers the first file.
///
/// # Errors
/// The file cannot be created, or another subscriber is already installed.
pub fn capture(file: &Path, rust_log: &str) -> Result<PathBuf> {
    if let Some(p) = CAPTURED.get() {
        return Ok(p.clone());
    }
    let f = std::fs::File::create(file).with_context(|| format!("creating {}", file.display()))?;
    let writer: &'static FileLog = Box::leak(Box::new(FileLog(Mutex::new(f))));
    let sub = access_sync_runtime::logging::subscriber(move || writer, Some(rust_log));
    tracing::subscriber::set_global_default(sub).context("a log subscriber is already set")?;
    let _ = CAPTURED.set(file.to_path_buf());
    Ok(CAPTURED
        .get()
        .cloned()
        .unwrap_or_else(|| file.to_path_buf()))
}

/// Every secret of a local stack: the Kisi key and each platform's webhook secret (what
/// [`assert_logs_clean`] is given as `secrets`).
pub fn stack_secrets(names: &crate::names::Names) -> Vec<String> {
    access_sync_platforms::Platform::ALL
        .iter()
        .map(|p| crate::names::local_webhook_secret(*p))
        .chain(std::iter::once(names.kisi_key.clone()))
        .collect()
}

fn word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"._+-".contains(&c)
}

/// Whether `line` has something shaped like an e-mail address: a word, `@` or `%40`, a word,
/// a dot, a letter.
pub fn has_address(line: &str) -> bool {
    let b = line.as_bytes();
    for i in 0..b.len() {
        let at = match b[i] {
            b'@' => 1,
            b'%' if b.get(i + 1) == Some(&b'4') && b.get(i + 2) == Some(&b'0') => 3,
            _ => continue,
        };
        if i == 0 || !word(b[i - 1]) {
            continue;
        }
        let rest = &b[i + at..];
        let domain = rest.iter().take_while(|c| word(**c)).count();
        let d = &rest[..domain];
        if d.iter()
            .enumerate()
            .any(|(j, c)| *c == b'.' && j > 0 && d.get(j + 1).is_some_and(u8::is_ascii_alphabetic))
        {
            return true;
        }
    }
    false
}

/// The lines of `log` that leak: an address-shaped string, one of `words` (addresses, names;
/// case-insensitive) or one of `secrets` (exact).
pub fn leaks(log: &str, words: &[&str], secrets: &[&str]) -> Vec<String> {
    let words: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    log.lines()
        .filter(|line| {
            let lower = line.to_lowercase();
            has_address(line)
                || words.iter().any(|w| !w.is_empty() && lower.contains(w))
                || secrets.iter().any(|s| !s.is_empty() && line.contains(s))
        })
        .map(str::to_string)
        .collect()
}

/// Panics, quoting the offending lines (at most 20), if the log file has any line that
/// [`leaks`]. The attack suite calls this after its requests (e.g. the TeamUp secret in the
/// path with `RUST_LOG=trace`).
pub fn assert_logs_clean(log_file: &Path, words: &[&str], secrets: &[&str]) {
    let text = std::fs::read_to_string(log_file)
        .unwrap_or_else(|e| panic!("cannot read the log {}: {e}", log_file.display()));
    let bad = leaks(&text, words, secrets);
    assert!(
        bad.is_empty(),
        "{} log lines of {} leak personal data or a secret, e.g.:\n{}",
        bad.len(),
        log_file.display(),
        bad.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_finds_addresses_words_and_secrets() {
        assert!(has_address(r#"{"member":"ann@acme.io"}"#));
        assert!(has_address("GET /users?email=cat%40studio.dev"));
        assert!(has_address("x@y.co"));
        assert!(!has_address(r#"{"person":"p:3f9a1c0d2b","at":"@ 10:00"}"#));
        let log = "ok line\nAnn Archer booked\nkey=local-stack-key\nbob@acme.io\n";
        assert_eq!(
            leaks(log, &["ann archer"], &["local-stack-key"]),
            ["Ann Archer booked", "key=local-stack-key", "bob@acme.io"]
        );
        assert!(leaks("ok line\n", &["ann archer"], &["local-stack-key"]).is_empty());
    }
}
