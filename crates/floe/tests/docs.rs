//! Help, man pages and completions come from the same argument definitions
//! as the command line: every subcommand's help shows an example, every
//! subcommand gets a man page listing its options, and the bash completion
//! script is valid bash that knows the subcommands.

use std::process::Command;

use floe_test_support::run_ok;

const FLOE: &str = env!("CARGO_BIN_EXE_floe");
const SUBCOMMANDS: &[&str] = &[
    "cat",
    "filter",
    "print",
    "report",
    "info",
    "import",
    "send",
    "ship",
    "export",
    "clickhouse",
    "alert",
    "usage",
];

#[test]
fn every_help_shows_an_example() {
    for sub in std::iter::once(None).chain(SUBCOMMANDS.iter().map(Some)) {
        let text = run_ok(Command::new(FLOE).args(sub).arg("--help"));
        assert!(
            text.contains("Example: floe "),
            "floe {sub:?} --help:\n{text}"
        );
    }
}

#[test]
fn man_pages_for_floe_and_each_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    run_ok(
        Command::new(FLOE)
            .args(["generate", "man", "--dir"])
            .arg(dir.path()),
    );
    let top = std::fs::read_to_string(dir.path().join("floe.1")).unwrap();
    assert!(top.contains(".TH floe 1"), "{top}");
    assert!(
        !dir.path().join("floe-generate.1").exists(),
        "hidden subcommand documented"
    );
    for sub in SUBCOMMANDS {
        let page = std::fs::read_to_string(dir.path().join(format!("floe-{sub}.1")))
            .unwrap_or_else(|e| panic!("floe-{sub}.1: {e}"));
        assert!(page.contains(&format!(".TH floe-{sub} 1")), "floe-{sub}.1");
        assert!(
            page.contains("Example: floe"),
            "floe-{sub}.1 has no example"
        );
    }
    let print = std::fs::read_to_string(dir.path().join("floe-print.1")).unwrap();
    assert!(print.contains("\\-\\-records"));
}

#[test]
fn bash_completion_is_valid_bash_and_knows_the_subcommands() {
    let script = run_ok(Command::new(FLOE).args(["generate", "completions", "bash"]));
    for sub in SUBCOMMANDS {
        assert!(script.contains(sub), "completion lacks {sub}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("floe.bash");
    std::fs::write(&path, &script).unwrap();
    run_ok(Command::new("bash").arg("-n").arg(&path));
}

/// The units of the floe tools pass `systemd-analyze verify` (floe-web's
/// with ExecStart pointed at the binary under test): the nightly report's
/// service and timer, the service running the daily summary for
/// yesterday, and floe web's, hardened like floed's.
#[test]
fn floe_units_pass_systemd_analyze_verify() {
    let units = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../systemd");
    let dir = tempfile::tempdir().unwrap();
    for name in ["floe-daily-report.service", "floe-daily-report.timer"] {
        std::fs::copy(units.join(name), dir.path().join(name)).unwrap();
    }
    let service = std::fs::read_to_string(units.join("floe-daily-report.service")).unwrap();
    assert!(service.contains("floe report --daily --day yesterday --format html -o "));
    // After the 00:10 rotation closes the file of the day's last flows.
    let timer = std::fs::read_to_string(units.join("floe-daily-report.timer")).unwrap();
    assert!(timer.contains("OnCalendar=*-*-* 00:15:00") && timer.contains("Persistent=true"));
    // floe web: loopback by default, the collector's user (to read the
    // store), a cache of its own, and floed's hardening.
    let web = std::fs::read_to_string(units.join("floe-web.service")).unwrap();
    for needed in [
        "ExecStart=/usr/local/bin/floe web --listen 127.0.0.1:8080 --cache /var/cache/floe-web /var/lib/floe",
        "DynamicUser=yes",
        "User=floed",
        "StateDirectory=floe",
        "CacheDirectory=floe-web",
        "CapabilityBoundingSet=\n",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "MemoryDenyWriteExecute=yes",
        "SystemCallFilter=@system-service",
    ] {
        assert!(web.contains(needed), "floe-web.service lacks {needed:?}");
    }
    std::fs::write(
        dir.path().join("floe-web.service"),
        web.replace(
            "/usr/local/bin/floe ",
            &format!("{} ", env!("CARGO_BIN_EXE_floe")),
        ),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.path().join("floe-daily-report.timer"))
        .arg(dir.path().join("floe-daily-report.service"))
        .arg(dir.path().join("floe-web.service"))
        .output()
        .expect("systemd-analyze is a test prerequisite (Debian package systemd)");
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A misspelt setting is only a warning to systemd (and then ignored).
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!said.contains("floe-web.service:"), "{said}");
}
