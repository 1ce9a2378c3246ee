//! The command line's definition: clap's own checks, and one meaning per
//! flag across every subcommand (hidden ones included).

use std::collections::BTreeMap;

use clap::CommandFactory;

use crate::Cli;

#[test]
fn clap_finds_nothing_wrong() {
    Cli::command().debug_assert();
}

/// What a flag is: its argument id and its help (its first paragraph).
type Meaning = (String, String);

/// Every flag of `cmd` and its subcommands, by spelling (`-t`, `--start`,
/// aliases too), with the command path where each use is.
fn spellings(cmd: &clap::Command, path: &str, out: &mut BTreeMap<String, Vec<(String, Meaning)>>) {
    for a in cmd.get_arguments() {
        if a.is_positional() {
            continue;
        }
        let id = a.get_id().to_string();
        // clap words its own help flag by what the subcommand's help holds.
        let help = match id.as_str() {
            "help" | "version" => String::new(),
            _ => a
                .get_help()
                .or(a.get_long_help())
                .map(|h| h.to_string())
                .unwrap_or_default(),
        };
        let meaning = (id, help);
        let mut names: Vec<String> = Vec::new();
        names.extend(
            a.get_short_and_visible_aliases()
                .into_iter()
                .flatten()
                .map(|c| format!("-{c}")),
        );
        names.extend(
            a.get_all_short_aliases()
                .into_iter()
                .flatten()
                .map(|c| format!("-{c}")),
        );
        names.extend(
            a.get_long_and_visible_aliases()
                .into_iter()
                .flatten()
                .map(|l| format!("--{l}")),
        );
        names.extend(
            a.get_all_aliases()
                .into_iter()
                .flatten()
                .map(|l| format!("--{l}")),
        );
        names.sort();
        names.dedup();
        for n in names {
            out.entry(n)
                .or_default()
                .push((path.to_string(), meaning.clone()));
        }
    }
    for sub in cmd.get_subcommands() {
        spellings(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

#[test]
fn one_meaning_per_flag_in_every_subcommand() {
    let mut cmd = Cli::command();
    cmd.build();
    let mut all = BTreeMap::new();
    spellings(&cmd, "floe", &mut all);
    let mut clashes = Vec::new();
    for (name, uses) in &all {
        let first = &uses[0];
        for u in &uses[1..] {
            if u.1 != first.1 {
                clashes.push(format!(
                    "{name}: {} means {:?} ({:?}), {} means {:?} ({:?})",
                    first.0, first.1 .0, first.1 .1, u.0, u.1 .0, u.1 .1
                ));
            }
        }
    }
    assert!(
        clashes.is_empty(),
        "flags with two meanings:\n{}",
        clashes.join("\n")
    );
    // The shared flags are where they should be.
    for (flag, subcommands) in [
        ("-t", &["cat", "filter", "print", "report"][..]),
        ("-o", &["cat", "filter", "print", "report", "info"][..]),
        ("-f", &["print", "report", "info"][..]),
        ("-n", &["print", "report"][..]),
        ("-v", &["filter", "report"][..]),
    ] {
        let uses: Vec<&str> = all[flag].iter().map(|u| u.0.as_str()).collect();
        for s in subcommands {
            assert!(
                uses.contains(&format!("floe {s}").as_str()),
                "{flag} not in {s}: {uses:?}"
            );
        }
    }
}

/// The check itself catches a letter with two meanings.
#[test]
fn a_letter_with_two_meanings_is_caught() {
    let cmd = clap::Command::new("x")
        .subcommand(
            clap::Command::new("a").arg(clap::Arg::new("start").short('t').help("Window start.")),
        )
        .subcommand(
            clap::Command::new("b").arg(clap::Arg::new("type").short('t').help("Report type.")),
        );
    let mut all = BTreeMap::new();
    spellings(&cmd, "x", &mut all);
    let uses = &all["-t"];
    assert_eq!(uses.len(), 2);
    assert_ne!(uses[0].1, uses[1].1);
}
