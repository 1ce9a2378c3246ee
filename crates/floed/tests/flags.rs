//! floed's flags: clap's own checks (they run when a debug build parses
//! its command line) and one meaning per spelling, as `floe`'s are held.

use std::collections::BTreeMap;
use std::process::Command;

#[test]
fn every_flag_is_spelled_once() {
    let out = Command::new(env!("CARGO_BIN_EXE_floed"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let help = String::from_utf8(out.stdout).unwrap();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for line in help
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
    {
        let spec = line.split("  ").next().unwrap_or("");
        for word in spec.split([',', ' ']).filter(|w| w.starts_with('-')) {
            *seen.entry(word.to_string()).or_default() += 1;
        }
    }
    assert!(
        seen.contains_key("--listen") && seen.contains_key("-l"),
        "{help}"
    );
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "flags listed twice: {twice:?}\n{help}");
}
