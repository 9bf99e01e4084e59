//! access-sync's own records about a person's Kisi access, for the operator:
//!
//! - `kisi exclusions` — every e-mail whose Kisi user a person deleted, which access-sync
//!   therefore neither re-creates nor grants anything;
//! - `kisi include EMAIL` — lifts one: the exclusion and the deleted user id are forgotten and
//!   the person is converged (the Kisi user is found or created again where the rules grant
//!   access), audited;
//! - the `ACCESS-SYNC` column and summary of `kisi whois`: each assignment is *ours* (access-sync
//!   created it and will change or remove it), *held by hand* (someone made it by hand;
//!   access-sync leaves it exactly as it is) or not access-sync's business at all.
//!
//! These read and write the store, so they need the settings of the deployed functions
//! (`TABLE_NAME`, `SCHEDULE_GROUP`, `KISI_TOKEN_SECRET`, … as for `mappings apply`).

use access_sync_engine::Included;
use access_sync_ports::{ExclusionList, OwnerView, OwnershipStore};
use access_sync_rules::Email;
use access_sync_rules::time::format_instant;
use access_sync_runtime::App;
use std::io::Write;
use std::process::ExitCode;

/// The most exclusions listed.
const LIST_LIMIT: u32 = 1000;

/// What access-sync makes of one Kisi assignment of the person.
pub(crate) fn marker(view: &OwnerView, assignment: u64) -> &'static str {
    if view
        .owned
        .iter()
        .any(|o| o.value.assignment_id == assignment)
    {
        "ours"
    } else if view.by_hand.iter().any(|h| h.assignment_id == assignment) {
        "held by hand"
    } else {
        "-"
    }
}

/// The access-sync part of `kisi whois`.
pub(crate) fn describe(view: &OwnerView, email: &str, out: &mut impl Write) {
    let _ = writeln!(out, "access-sync:");
    match &view.excluded {
        Some(x) => {
            let _ = writeln!(
                out,
                "  excluded since {}: Kisi user {} was deleted in Kisi by a person; access-sync \
                 neither re-creates nor grants it (lift: access-sync kisi include {email})",
                format_instant(x.since),
                x.user_id
            );
        }
        None => {
            let _ = writeln!(out, "  excluded: no");
        }
    }
    for o in &view.owned {
        let until = o
            .value
            .valid_until
            .map_or("open-ended".into(), format_instant);
        let _ = writeln!(
            out,
            "  group {}: ours (assignment {}, valid until {until})",
            o.value.pair.group, o.value.assignment_id
        );
    }
    for h in &view.by_hand {
        let _ = writeln!(
            out,
            "  group {}: held by hand (assignment {}, found {}): left exactly as it is",
            h.pair.group,
            h.assignment_id,
            format_instant(h.since)
        );
    }
}

/// Writes every exclusion, oldest first.
pub(crate) async fn list_exclusions(
    store: &impl ExclusionList,
    out: &mut impl Write,
) -> Result<(), String> {
    let list = store
        .exclusions(LIST_LIMIT)
        .await
        .map_err(|e| e.to_string())?;
    for x in &list {
        let _ = writeln!(
            out,
            "{}  since {}  (Kisi user {} deleted by a person)",
            x.email,
            format_instant(x.since),
            x.user_id
        );
    }
    let _ = writeln!(out, "{} exclusion(s)", list.len());
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// The store's view of one person, if the store is configured (`TABLE_NAME` set).
pub(crate) async fn records(email: &str) -> Option<Result<OwnerView, String>> {
    std::env::var("TABLE_NAME")
        .ok()
        .filter(|t| !t.trim().is_empty())?;
    let email = Email::parse(email)?;
    Some(match App::from_env().await {
        Ok(app) => app
            .engine
            .store()
            .owner_view(email.as_str())
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    })
}

/// `access-sync kisi exclusions`.
pub fn exclusions() -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let app = match App::from_env().await {
            Ok(a) => a,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let mut out = std::io::stdout().lock();
        match list_exclusions(app.engine.store(), &mut out).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// `access-sync kisi include EMAIL`.
pub fn include(email: &str) -> ExitCode {
    let Some(email) = Email::parse(email) else {
        eprintln!("error: {email:?} is not an e-mail address");
        return ExitCode::from(2);
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let app = match App::from_env().await {
            Ok(a) => a,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let now = match app.clock.now().await {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        match app.engine.include(&email, now).await {
            Ok(Included::NotExcluded) => {
                println!("{email} is not excluded: nothing changed");
                ExitCode::SUCCESS
            }
            Ok(Included::Lifted(steps)) => {
                println!(
                    "{email}: exclusion lifted and converged ({} group(s) looked at)",
                    steps.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_ports::memory::MemoryStore;
    use access_sync_ports::{Exclusion, HeldByHand, Ownership, OwnershipChange, Pair, Versioned};
    use access_sync_rules::GroupId;
    use access_sync_rules::time::parse_instant;

    fn pair(group: i64) -> Pair {
        Pair {
            email: Email::parse("joe@example.com").unwrap(),
            group: GroupId::new(group).unwrap(),
        }
    }

    fn view() -> OwnerView {
        OwnerView {
            owned: vec![Versioned {
                value: Ownership {
                    pair: pair(102),
                    assignment_id: 50_002,
                    user_id: 7,
                    valid_until: Some(parse_instant("2027-01-06T08:00:00Z").unwrap()),
                },
                version: 1,
            }],
            kisi_user: Some(7),
            intents: vec![],
            by_hand: vec![HeldByHand {
                pair: pair(101),
                assignment_id: 50_001,
                user_id: 7,
                since: parse_instant("2026-12-07T08:40:00Z").unwrap(),
            }],
            excluded: None,
        }
    }

    #[test]
    fn each_assignment_is_ours_held_by_hand_or_none_of_our_business() {
        let v = view();
        assert_eq!(marker(&v, 50_002), "ours");
        assert_eq!(marker(&v, 50_001), "held by hand");
        assert_eq!(marker(&v, 50_003), "-");
        let mut out = Vec::new();
        describe(&v, "joe@example.com", &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("excluded: no"), "{text}");
        assert!(
            text.contains("group 102: ours (assignment 50002, valid until 2027-01-06T08:00:00Z)"),
            "{text}"
        );
        assert!(
            text.contains("group 101: held by hand (assignment 50001"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn an_exclusion_is_listed_and_shown_with_how_to_lift_it() {
        let store = MemoryStore::default();
        let x = Exclusion {
            email: Email::parse("joe@example.com").unwrap(),
            user_id: 1001,
            since: parse_instant("2026-12-07T09:00:00Z").unwrap(),
        };
        store
            .apply_ownership(&[OwnershipChange::Exclude(x.clone())], &[])
            .await
            .unwrap();
        let mut out = Vec::new();
        list_exclusions(&store, &mut out).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("joe@example.com  since 2026-12-07T09:00:00Z  (Kisi user 1001"),
            "{text}"
        );
        assert!(text.ends_with("1 exclusion(s)\n"), "{text}");

        let v = store.owner_view("joe@example.com").await.unwrap();
        let mut out = Vec::new();
        describe(&v, "joe@example.com", &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("excluded since 2026-12-07T09:00:00Z: Kisi user 1001")
                && text.contains("access-sync kisi include joe@example.com"),
            "{text}"
        );
    }
}
