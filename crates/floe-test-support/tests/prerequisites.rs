//! The one list of what the tests need, `tests/prerequisites.md`, read by
//! `scripts/test`: README.md shows the same rows, every row is one that
//! script can act on, and every program a test runs is in it (or on every
//! Debian machine).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Programs of Debian's essential and required packages (coreutils,
/// util-linux, bsdutils, mount, bash...): on every Debian machine, so not
/// listed as prerequisites.
const ON_EVERY_DEBIAN: &[&str] = &[
    "bash", "sh", "chmod", "id", "mount", "umount", "script", "setpriv", "cat", "head", "sleep",
    "true", "false", "env",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The table's data rows, as written.
fn rows(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("| kind |") && !l.starts_with("|---"))
        .collect()
}

fn cells(row: &str) -> Vec<&str> {
    row.trim_matches('|').split('|').map(str::trim).collect()
}

fn prerequisites() -> String {
    std::fs::read_to_string(root().join("tests/prerequisites.md")).unwrap()
}

#[test]
fn every_row_is_one_scripts_test_can_act_on() {
    let text = prerequisites();
    let rows = rows(&text);
    assert!(rows.len() >= 10, "{rows:?}");
    for row in rows {
        let c = cells(row);
        assert_eq!(c.len(), 4, "kind | package | check | why: {row}");
        let how = c[2].split_whitespace().next().unwrap_or("");
        let ok = matches!(
            (c[0], how),
            ("apt", "command" | "module" | "run")
                | ("pip", "module")
                | ("rustup", "command" | "run")
        );
        assert!(ok, "scripts/test cannot act on: {row}");
        assert!(
            !c[1].is_empty() && !c[1].contains(' '),
            "one package a row: {row}"
        );
        assert!(!c[3].is_empty(), "say why the tests need it: {row}");
    }
}

#[test]
fn readme_shows_the_same_prerequisites() {
    let text = prerequisites();
    let want = rows(&text);
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    let at = lines.iter().position(|l| *l == want[0]).unwrap_or_else(|| {
        panic!(
            "README.md lacks the table of tests/prerequisites.md (its first row: {})",
            want[0]
        )
    });
    let got: Vec<&str> = lines[at..]
        .iter()
        .take_while(|l| l.starts_with('|'))
        .copied()
        .collect();
    assert_eq!(
        got, want,
        "README.md's table of test prerequisites differs from tests/prerequisites.md: copy the rows over"
    );
}

/// The programs the tests of every crate run: `Command::new` with a
/// literal name.
fn programs_run_by_tests() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path().join("tests"))
        .filter(|p| p.is_dir())
        .collect();
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for part in text.split("Command::new(\"").skip(1) {
                    let name = part.split('"').next().unwrap();
                    let file = p.strip_prefix(root()).unwrap_or(&p).display().to_string();
                    out.insert((name.to_string(), file));
                }
            }
        }
    }
    out
}

#[test]
fn every_program_the_tests_run_is_a_prerequisite_or_on_every_debian() {
    let text = prerequisites();
    let listed: BTreeSet<&str> = rows(&text)
        .into_iter()
        .filter_map(|r| cells(r)[2].strip_prefix("command "))
        .collect();
    let programs = programs_run_by_tests();
    assert!(
        programs.iter().any(|(p, _)| p == "softflowd"),
        "the scan found no program: {programs:?}"
    );
    let unlisted: Vec<String> = programs
        .iter()
        .filter(|(p, _)| !listed.contains(p.as_str()) && !ON_EVERY_DEBIAN.contains(&p.as_str()))
        .map(|(p, file)| format!("{p} (run by {file})"))
        .collect();
    assert!(
        unlisted.is_empty(),
        "add a row to tests/prerequisites.md (and README.md) for: {}",
        unlisted.join(", ")
    );
}
