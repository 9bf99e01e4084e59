//! `access-sync kisi …`: read-only look-ups an operator needs while writing the mapping file or
//! answering "why can't this member open the door?".
//!
//! - `kisi groups` — id, name and place of every Kisi group (the ids the mapping file needs).
//! - `kisi whois EMAIL` — the Kisi user with exactly that e-mail and its group assignments;
//!   with the store configured (`TABLE_NAME`, …), also which assignments are ours, which are
//!   held by hand, and whether the person is excluded (see `claims_cmd`).
//! - `kisi exclusions`, `kisi include EMAIL` — see `claims_cmd`.
//!
//! Configured by `KISI_API_KEY` and `KISI_BASE_URL` (default `https://api.kisi.io`). Goes
//! through the same `KisiClient` as the sync (rate budget, retries, exact e-mail matching).
//! Exit codes: 0 ok, 2 configuration to fix, 1 Kisi failure or no such user.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use access_sync_kisi::{KisiClient, KisiConfig, KisiError, PlaceId};

/// `access-sync kisi …`
#[derive(clap::Args, Debug)]
pub struct KisiArgs {
    #[command(subcommand)]
    cmd: KisiCmd,
}

#[derive(clap::Subcommand, Debug)]
enum KisiCmd {
    /// List every Kisi group with its id and place (for the mapping file).
    Groups,
    /// Show the Kisi user with exactly this e-mail and its group assignments.
    Whois {
        /// The member's e-mail (matched exactly, case-insensitively).
        email: String,
    },
    /// List the e-mails whose Kisi user a person deleted: access-sync leaves them alone
    /// (needs the settings of `mappings apply`).
    Exclusions,
    /// Lift an exclusion: the Kisi user is found or created again where the rules grant
    /// access (needs the settings of `mappings apply`).
    Include {
        /// The member's e-mail.
        email: String,
    },
}

/// Why a command did not print its answer.
#[derive(Debug)]
enum Failure {
    Kisi(KisiError),
    NoSuchUser(String),
}

impl From<KisiError> for Failure {
    fn from(e: KisiError) -> Self {
        Failure::Kisi(e)
    }
}

/// Runs `access-sync kisi …` on its own single-threaded runtime.
pub fn run(args: KisiArgs) -> ExitCode {
    match &args.cmd {
        KisiCmd::Exclusions => return crate::claims_cmd::exclusions(),
        KisiCmd::Include { email } => return crate::claims_cmd::include(email),
        KisiCmd::Groups | KisiCmd::Whois { .. } => {}
    }
    let config = match KisiConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    match runtime.block_on(execute(&args.cmd, config, &mut out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Kisi(e @ KisiError::Config(_))) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Kisi(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
        Err(Failure::NoSuchUser(email)) => {
            eprintln!("no Kisi user has the e-mail {email} (exact, case-insensitive match)");
            ExitCode::FAILURE
        }
    }
}

async fn execute(cmd: &KisiCmd, config: KisiConfig, out: &mut impl Write) -> Result<(), Failure> {
    let kisi = KisiClient::new(config)?;
    match cmd {
        KisiCmd::Groups => groups(&kisi, out).await,
        KisiCmd::Whois { email } => {
            let records = match crate::claims_cmd::records(email).await {
                Some(Ok(v)) => Some(v),
                Some(Err(e)) => {
                    eprintln!("warning: access-sync's records not read: {e}");
                    None
                }
                None => None,
            };
            whois(&kisi, email, records.as_ref(), out).await
        }
        KisiCmd::Exclusions | KisiCmd::Include { .. } => Ok(()),
    }
}

/// Writes rows as aligned columns; output errors (a closed pipe) are not worth failing over.
fn table(out: &mut impl Write, rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..rows.first().map_or(0, Vec::len))
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
}

async fn groups(kisi: &KisiClient, out: &mut impl Write) -> Result<(), Failure> {
    let groups = kisi.list_groups().await?;
    // Kisi embeds the place's name in each group; fetch the places only if it did not.
    let needs_places = groups
        .iter()
        .any(|g| g.place_id.is_some() && g.place.is_none());
    let places: BTreeMap<PlaceId, String> = if needs_places {
        kisi.list_places()
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect()
    } else {
        BTreeMap::new()
    };
    let mut rows = vec![vec!["ID".to_owned(), "NAME".to_owned(), "PLACE".to_owned()]];
    for g in &groups {
        let place = match (&g.place, g.place_id) {
            (Some(p), _) => format!("{} ({})", p.name, p.id),
            (None, Some(id)) => format!("{} ({id})", places.get(&id).map_or("?", String::as_str)),
            (None, None) => "(organisation-wide)".to_owned(),
        };
        rows.push(vec![g.id.to_string(), g.name.clone(), place]);
    }
    table(out, &rows);
    let _ = writeln!(out, "{} group(s)", groups.len());
    Ok(())
}

async fn whois(
    kisi: &KisiClient,
    email: &str,
    records: Option<&access_sync_ports::OwnerView>,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let Some(user) = kisi.find_user_by_email(email).await? else {
        return Err(Failure::NoSuchUser(email.trim().to_owned()));
    };
    let assignments = kisi.list_user_assignments(user.id).await?;
    let names: BTreeMap<_, _> = if assignments.is_empty() {
        BTreeMap::new()
    } else {
        kisi.list_groups()
            .await?
            .into_iter()
            .map(|g| (g.id, g.name))
            .collect()
    };
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let _ = writeln!(out, "user {}: {} <{}>", user.id, user.name, user.email);
    let _ = writeln!(
        out,
        "  access enabled:        {}",
        yes_no(user.access_enabled)
    );
    let _ = writeln!(
        out,
        "  created by access-sync: {}",
        yes_no(user.is_managed_by_access_sync())
    );
    let _ = writeln!(out, "group assignments: {}", assignments.len());
    if !assignments.is_empty() {
        let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map_or("-".to_owned(), |t| {
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            })
        };
        let mut rows = vec![
            [
                "GROUP",
                "NAME",
                "ROLE",
                "VALID FROM",
                "VALID UNTIL",
                "ASSIGNMENT",
                "ACCESS-SYNC",
            ]
            .map(str::to_owned)
            .to_vec(),
        ];
        for a in &assignments {
            rows.push(vec![
                a.group.to_string(),
                names.get(&a.group).cloned().unwrap_or_else(|| "?".into()),
                a.role_id.clone(),
                fmt(a.valid_from),
                fmt(a.valid_until),
                a.id.to_string(),
                records
                    .map_or("?", |v| crate::claims_cmd::marker(v, a.id.0))
                    .to_owned(),
            ]);
        }
        let mut indented = Vec::new();
        table(&mut indented, &rows);
        for line in String::from_utf8_lossy(&indented).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    match records {
        Some(v) => crate::claims_cmd::describe(v, email.trim(), out),
        None => {
            let _ = writeln!(
                out,
                "access-sync: records not read (set the settings of `mappings apply` to see \
                 ours / held by hand / excluded)"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_sync_kisi::ApiKey;

    async fn sim() -> kisi_sim::SimHandle {
        kisi_sim::spawn(kisi_sim::SimConfig::with_key("cli-key"))
            .await
            .unwrap()
    }

    async fn output(
        cmd: KisiCmd,
        sim: &kisi_sim::SimHandle,
        key: &str,
    ) -> (Result<(), Failure>, String) {
        let config = KisiConfig::new(sim.base_url.clone(), ApiKey::new(key));
        let mut buf = Vec::new();
        let r = execute(&cmd, config, &mut buf).await;
        (r, String::from_utf8(buf).unwrap())
    }

    #[tokio::test]
    async fn groups_lists_id_name_and_place_of_every_group() {
        let sim = sim().await;
        let hq = sim.seed_place("HQ Berlin", "Unter den Linden 1");
        let members = sim.seed_group("Members", Some(hq));
        let all = sim.seed_group("Everyone", None);

        let (r, text) = output(KisiCmd::Groups, &sim, "cli-key").await;

        assert!(r.is_ok());
        let line = |id: u64| {
            text.lines()
                .find(|l| l.starts_with(&id.to_string()))
                .unwrap()
                .to_owned()
        };
        assert!(
            line(members).contains("Members")
                && line(members).contains(&format!("HQ Berlin ({hq})")),
            "{text}"
        );
        assert!(line(all).contains("(organisation-wide)"), "{text}");
        assert!(text.ends_with("2 group(s)\n"), "{text}");
    }

    #[tokio::test]
    async fn whois_shows_the_exact_user_and_its_assignments() {
        let sim = sim().await;
        let group = sim.seed_group("Members", None);
        sim.seed_user("joann@example.com", "Jo Ann", None);
        let ann = sim.seed_user("Ann@example.com", "Ann", Some("managed-by: access-sync"));
        let kisi = KisiClient::new(KisiConfig::new(
            sim.base_url.clone(),
            ApiKey::new("cli-key"),
        ))
        .unwrap();
        kisi.grant(&access_sync_kisi::Grant {
            user: access_sync_kisi::UserId(ann),
            group: access_sync_kisi::GroupId(group),
            valid_from: None,
            valid_until: None,
            invite: access_sync_kisi::InvitePolicy::Never,
        })
        .await
        .unwrap();

        let (r, text) = output(
            KisiCmd::Whois {
                email: "ann@EXAMPLE.com".into(),
            },
            &sim,
            "cli-key",
        )
        .await;

        assert!(r.is_ok());
        assert!(
            text.starts_with(&format!("user {ann}: Ann <Ann@example.com>")),
            "{text}"
        );
        assert!(text.contains("created by access-sync: yes"), "{text}");
        assert!(text.contains("group assignments: 1"), "{text}");
        assert!(
            text.contains("Members") && text.contains("group_basic"),
            "{text}"
        );
        assert!(!text.contains("joann"), "{text}");
    }

    #[tokio::test]
    async fn whois_marks_each_assignment_ours_or_held_by_hand_from_access_syncs_records() {
        use access_sync_ports::{HeldByHand, OwnerView, Ownership, Pair, Versioned};
        let sim = sim().await;
        let door = sim.seed_group("Front door", None);
        let desk = sim.seed_group("Desks", None);
        let joe = sim.seed_user("joe@example.com", "Joe", None);
        let by_hand = sim.assign_by_hand(joe, door, "group_basic", None).unwrap();
        let kisi = KisiClient::new(KisiConfig::new(
            sim.base_url.clone(),
            ApiKey::new("cli-key"),
        ))
        .unwrap();
        let ours = kisi
            .grant(&access_sync_kisi::Grant {
                user: access_sync_kisi::UserId(joe),
                group: access_sync_kisi::GroupId(desk),
                valid_from: None,
                valid_until: None,
                invite: access_sync_kisi::InvitePolicy::Never,
            })
            .await
            .unwrap();
        let pair = |g: u64| Pair {
            email: access_sync_rules::Email::parse("joe@example.com").unwrap(),
            group: access_sync_rules::GroupId::new(g as i64).unwrap(),
        };
        let view = OwnerView {
            owned: vec![Versioned {
                value: Ownership {
                    pair: pair(desk),
                    assignment_id: ours.assignment().id.0,
                    user_id: joe,
                    valid_until: None,
                },
                version: 1,
            }],
            by_hand: vec![HeldByHand {
                pair: pair(door),
                assignment_id: by_hand,
                user_id: joe,
                since: chrono::Utc::now(),
            }],
            ..OwnerView::default()
        };
        let mut buf = Vec::new();
        whois(&kisi, "joe@example.com", Some(&view), &mut buf)
            .await
            .unwrap();
        let text = String::from_utf8(buf).unwrap();
        let row = |name: &str| {
            text.lines()
                .find(|l| l.contains(name) && l.contains("group_basic"))
                .unwrap_or_else(|| panic!("no row for {name}: {text}"))
                .to_owned()
        };
        assert!(row("Desks").trim_end().ends_with("ours"), "{text}");
        assert!(
            row("Front door").trim_end().ends_with("held by hand"),
            "{text}"
        );
        assert!(text.contains("excluded: no"), "{text}");
    }

    #[tokio::test]
    async fn whois_of_an_unknown_email_is_no_such_user_not_a_fuzzy_hit() {
        let sim = sim().await;
        sim.seed_user("joann@example.com", "Jo Ann", None);
        let (r, _) = output(
            KisiCmd::Whois {
                email: "ann@example.com".into(),
            },
            &sim,
            "cli-key",
        )
        .await;
        assert!(matches!(r, Err(Failure::NoSuchUser(_))));
    }

    #[tokio::test]
    async fn a_wrong_key_says_kisi_rejected_it() {
        let sim = sim().await;
        let (r, _) = output(KisiCmd::Groups, &sim, "not-the-key").await;
        match r {
            Err(Failure::Kisi(e)) => {
                assert!(e.to_string().contains("Kisi rejected the API key"), "{e}")
            }
            other => panic!("expected a rejected key, got {other:?}"),
        }
    }
}
