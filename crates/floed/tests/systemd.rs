//! The shipped systemd unit passes `systemd-analyze verify` (with
//! ExecStart pointed at the binary under test), and keeps the properties
//! the daemon relies on.

use std::path::Path;
use std::process::Command;

#[test]
fn floed_service_passes_systemd_analyze_verify() {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../systemd/floed.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    for needed in [
        "Type=notify",
        "DynamicUser=yes",
        "StateDirectory=floe",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
    ] {
        assert!(text.contains(needed), "floed.service lacks {needed}");
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("floed.service");
    std::fs::write(
        &copy,
        text.replace("/usr/local/bin/floed", env!("CARGO_BIN_EXE_floed")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect(
            "systemd-analyze is needed for this test (Debian package systemd; scripts/test installs it)",
        );
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
