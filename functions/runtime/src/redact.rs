//! No personal data and no secret in a log line.
//!
//! Two layers:
//!
//! 1. **At the call site** a person is logged as a [`Pseudonym`]: `p:` and the first 10 hex
//!    digits of HMAC-SHA256(log key, normalised e-mail). It is stable, so an operator can
//!    follow one person through the logs (`access-sync log-id EMAIL` prints it), and it does
//!    not reveal the address. Names are never logged.
//! 2. **In the writer**, every line passes through [`scrub`] before it is written: anything that
//!    looks like an e-mail address (also with `@` written `%40`) is replaced by its pseudonym,
//!    and every registered secret value ([`register_secret`]: the Kisi API key, the platforms'
//!    webhook secrets, including the TeamUp secret that can travel in a URL path) by
//!    `[redacted]`. This catches what the first layer cannot: error texts that quote an
//!    address, and whatever a library logs.
//!
//! Secrets are registered where they are read: the functions wrap their Secrets Manager source
//! in [`ScrubbedSecrets`] (the Kisi key, the webhook secrets), and `ingest` reads every
//! configured webhook secret at cold start, before any request is logged.
//!
//! # The log key
//! `LOG_HASH_KEY` if set; otherwise `access-sync-log/` + `TABLE_NAME`, so every function of an
//! installation and the CLI run against it hash alike without any setting, and two
//! installations do not. The table name is not secret: anyone who can read the logs *and*
//! guess an address could confirm the guess. Set `LOG_HASH_KEY` to a random value (the same
//! for every function and for the CLI) where that matters.

use access_sync_ports::{SecretError, SecretSource, SecretValue};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::{OnceLock, RwLock};

/// What a secret value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not registered: scrubbing a short string would mangle
/// ordinary text, and no real secret is that short.
pub const MIN_SECRET_LEN: usize = 8;

/// The key the pseudonyms are computed with (see the module docs), read once.
pub fn log_key() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        let (key, source) = key_from(|k| std::env::var(k).ok());
        if source == "LOG_HASH_KEY" {
            // Not logged anywhere; scrubbed like any secret should a library ever print it.
            register_secret(&key);
        }
        key.into_bytes()
    })
}

/// The log key from `get` (the environment) and where it came from, for `log-id` to say.
pub fn key_from(get: impl Fn(&str) -> Option<String>) -> (String, &'static str) {
    let set = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    if let Some(k) = set("LOG_HASH_KEY") {
        return (k, "LOG_HASH_KEY");
    }
    match set("TABLE_NAME") {
        Some(t) => (format!("access-sync-log/{}", t.trim()), "TABLE_NAME"),
        None => (
            "access-sync-log/".to_string(),
            "neither LOG_HASH_KEY nor TABLE_NAME is set",
        ),
    }
}

/// The pseudonym of an address under `key`: `p:` + 10 hex of HMAC-SHA256(key, address trimmed
/// and lower-cased).
pub fn pseudonym_with(key: &[u8], email: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key");
    mac.update(email.trim().to_lowercase().as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(12);
    out.push_str("p:");
    for b in &digest[..5] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The pseudonym of an address under [`log_key`].
pub fn pseudonym(email: &str) -> String {
    pseudonym_with(log_key(), email)
}

/// A person in a log line: `tracing::info!(person = %Pseudonym::of(&email), ...)`.
#[derive(Clone, Copy)]
pub struct Pseudonym<'a>(&'a str);

impl<'a> Pseudonym<'a> {
    /// The pseudonym of `email`.
    pub fn of(email: &'a access_sync_rules::Email) -> Self {
        Pseudonym(email.as_str())
    }

    /// The pseudonym of an address as text (trimmed and lower-cased before hashing).
    pub fn text(email: &'a str) -> Self {
        Pseudonym(email)
    }
}

impl std::fmt::Display for Pseudonym<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&pseudonym(self.0))
    }
}

impl std::fmt::Debug for Pseudonym<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

fn secrets() -> &'static RwLock<Vec<String>> {
    static SECRETS: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| RwLock::new(Vec::new()))
}

/// Adds a secret value to what [`scrub`] removes from every log line of this process, as it
/// is written and in its JSON-escaped and URL-encoded forms. Called wherever a secret is read
/// (the Kisi key, each platform's webhook secret); values shorter than [`MIN_SECRET_LEN`] are
/// ignored.
pub fn register_secret(value: &str) {
    let value = value.trim();
    if value.len() < MIN_SECRET_LEN {
        return;
    }
    // Read on every request from a cache: usually known already.
    if secrets()
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .any(|s| s == value)
    {
        return;
    }
    let mut forms = vec![value.to_string()];
    if let Ok(json) = serde_json::to_string(value) {
        forms.push(json[1..json.len() - 1].to_string());
    }
    forms.push(form_urlencoded::byte_serialize(value.as_bytes()).collect());
    let mut list = secrets().write().unwrap_or_else(|p| p.into_inner());
    for f in forms {
        if !list.contains(&f) {
            list.push(f);
        }
    }
    // Longest first, so a secret containing another is removed whole.
    list.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// The registered secret values (every form), for tests that check a log.
pub fn registered_secrets() -> Vec<String> {
    secrets().read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// A [`SecretSource`] that registers every value it reads with the scrubber
/// ([`register_secret`]), so a secret is scrubbed from every log line from the moment the
/// process knows it.
#[derive(Debug, Clone)]
pub struct ScrubbedSecrets<S>(pub S);

impl<S: SecretSource> SecretSource for ScrubbedSecrets<S> {
    async fn secret(&self, name: &str) -> Result<SecretValue, SecretError> {
        let v = self.0.secret(name).await?;
        register_secret(v.expose());
        Ok(v)
    }

    async fn refresh(&self, name: &str) -> Result<SecretValue, SecretError> {
        let v = self.0.refresh(name).await?;
        register_secret(v.expose());
        Ok(v)
    }
}

/// A log line with every registered secret replaced by [`REDACTED`] and every e-mail address
/// by its pseudonym.
pub fn scrub(line: &str) -> String {
    let mut text = line.to_string();
    for s in secrets().read().unwrap_or_else(|p| p.into_inner()).iter() {
        if text.contains(s.as_str()) {
            text = text.replace(s.as_str(), REDACTED);
        }
    }
    replace_emails(&text, pseudonym)
}

fn local_char(c: u8) -> bool {
    // The usual characters of real addresses (RFC 5322 allows more, which would swallow
    // neighbouring `=`, `/` or `%2F` of URLs and query strings).
    c.is_ascii_alphanumeric() || b"._+'-".contains(&c)
}

fn domain_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.' || c == b'-'
}

/// Every span of `text` that looks like an e-mail address: a local part, `@` (or `%40`), and
/// a domain with a dot and a final label of at least two letters. Found spans are `(start,
/// end, address with "@")`.
pub fn find_emails(text: &str) -> Vec<(usize, usize, String)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let at_len = if b[i] == b'@' {
            1
        } else if b[i] == b'%' && b.len() >= i + 3 && b[i + 1] == b'4' && b[i + 2] == b'0' {
            3
        } else {
            i += 1;
            continue;
        };
        // The local part, back from the '@' (after an earlier match's end).
        let floor = out.last().map_or(0, |m: &(usize, usize, String)| m.1);
        let mut start = i;
        while start > floor && local_char(b[start - 1]) {
            start -= 1;
        }
        let mut end = i + at_len;
        while end < b.len() && domain_char(b[end]) {
            end += 1;
        }
        // A domain ends on a letter or digit.
        while end > i + at_len && matches!(b[end - 1], b'.' | b'-') {
            end -= 1;
        }
        let domain = &text[i + at_len..end];
        let tld_ok = domain.rsplit_once('.').is_some_and(|(head, tld)| {
            !head.is_empty() && tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic())
        });
        if start < i && tld_ok {
            let address = format!("{}@{}", &text[start..i], domain);
            out.push((start, end, address));
            i = end;
        } else {
            i += at_len;
        }
    }
    out
}

/// `text` with every e-mail address (see [`find_emails`]) replaced by `with(address)`.
pub fn replace_emails(text: &str, with: impl Fn(&str) -> String) -> String {
    let found = find_emails(text);
    if found.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end, address) in found {
        out.push_str(&text[last..start]);
        out.push_str(&with(&address));
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pseudonym_is_stable_keyed_and_case_blind() {
        let a = pseudonym_with(b"k1", "Ann@Acme.io ");
        assert_eq!(a, pseudonym_with(b"k1", "ann@acme.io"));
        assert_ne!(a, pseudonym_with(b"k2", "ann@acme.io"));
        assert_ne!(a, pseudonym_with(b"k1", "bob@acme.io"));
        assert!(a.starts_with("p:") && a.len() == 12, "{a}");
        assert!(a[2..].bytes().all(|c| c.is_ascii_hexdigit()));
        // HMAC-SHA256("k1", "ann@acme.io"), computed independently with Python's hmac module.
        assert_eq!(pseudonym_with(b"k1", "ann@acme.io"), KNOWN_K1_ANN);
    }

    const KNOWN_K1_ANN: &str = "p:34481af468";

    #[test]
    fn the_key_comes_from_log_hash_key_then_the_table_name() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            key_from(env(&[("LOG_HASH_KEY", "s3cret"), ("TABLE_NAME", "t")])),
            ("s3cret".to_string(), "LOG_HASH_KEY")
        );
        assert_eq!(
            key_from(env(&[("TABLE_NAME", "prod-table")])),
            ("access-sync-log/prod-table".to_string(), "TABLE_NAME")
        );
        assert_eq!(
            key_from(env(&[("LOG_HASH_KEY", " ")])).0,
            "access-sync-log/"
        );
    }

    #[test]
    fn addresses_are_found_in_json_urls_and_prose() {
        let found = |t: &str| {
            find_emails(t)
                .into_iter()
                .map(|(_, _, a)| a)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            found(r#"{"member":"ann@acme.io","x":"Bob.Smith+desk@mail.example.co.uk."}"#),
            ["ann@acme.io", "Bob.Smith+desk@mail.example.co.uk"]
        );
        assert_eq!(
            found("GET /users?email=cat%40studio.dev&limit=100"),
            ["cat@studio.dev"]
        );
        assert_eq!(found("converge ann@acme.io: lost"), ["ann@acme.io"]);
        // Not addresses.
        assert!(found("@ann, a@b, x@localhost, 50%40off, p:3f9a1c0d2b, user@host.1").is_empty());
    }

    #[test]
    fn scrub_replaces_addresses_by_pseudonyms_and_secrets_by_redacted() {
        register_secret("teamup-path-secret-Xy9");
        register_secret("short"); // ignored: too short to scrub safely
        let line =
            r#"{"message":"POST /teamup/teamup-path-secret-Xy9 for Ann@acme.io","k":"short"}"#;
        let out = scrub(line);
        assert!(!out.contains("teamup-path-secret-Xy9"), "{out}");
        assert!(!out.to_lowercase().contains("ann@acme.io"), "{out}");
        assert!(out.contains(&format!(
            "/teamup/{REDACTED} for {}",
            pseudonym("ann@acme.io")
        )));
        assert!(out.contains(r#""k":"short""#));
        // URL-encoded form too.
        let encoded = scrub("path=%2Fteamup%2Fa%20b&s=secret%20with%20space");
        assert_eq!(encoded, "path=%2Fteamup%2Fa%20b&s=secret%20with%20space");
        register_secret("secret with space");
        assert!(scrub("s=secret+with+space").contains(REDACTED));
    }
}
