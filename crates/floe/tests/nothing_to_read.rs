//! When there is nothing to read, every subcommand says so and writes
//! nothing: a path that is not there (status 1), a directory with no floe
//! files under it ("no floe files under X", status 3), files with no flow
//! in the window ("no flows between A and B", status 3). A report is not
//! printed, written or mailed on an input error.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{tree, FLOE};

fn floe(args: &[&str]) -> Output {
    Command::new(FLOE).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A sendmail stand-in that records that it ran.
fn fake_sendmail(dir: &Path) -> (String, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("sendmail");
    let ran = dir.join("sendmail.ran");
    std::fs::write(&bin, format!("#!/bin/sh\ncat > {}\n", ran.display())).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin.display().to_string(), ran)
}

#[test]
fn a_directory_with_no_floe_files_is_said_by_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(empty.join("2026/2026-11")).unwrap();
    std::fs::write(empty.join("README"), "not a flow file").unwrap();
    let e = empty.to_str().unwrap();
    let out_file = dir.path().join("out");
    let o = out_file.to_str().unwrap();
    for args in [
        vec!["cat", e],
        vec!["cat", "-o", o, e],
        vec!["filter", "proto tcp", e],
        vec!["print", e],
        vec!["print", "-o", o, e],
        vec!["report", "-r", "ip-protocol", e],
        vec!["report", "--daily", e],
        vec!["report", "--daily", "-o", o, e],
        vec!["info", e],
        vec!["info", "--json", e],
    ] {
        let out = floe(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(
            err.contains(&format!("no floe files under {e}")),
            "{args:?}: {err}"
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed {:?}",
            text(&out.stdout)
        );
        assert!(!out_file.exists(), "{args:?} wrote -o");
    }
    let out = floe(&["import", e, "--to", o]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains(&format!("no flow-tools files under {e}")));
}

#[test]
fn no_flows_in_the_window_is_said_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let t = dir.path().to_str().unwrap();
    let out_file = dir.path().join("out");
    let o = out_file.to_str().unwrap();
    let day = ["--zone", "UTC", "--day", "2026-11-23"];
    for sub in [
        vec!["cat", t],
        vec!["cat", "-o", o, t],
        vec!["filter", "proto tcp", t],
        vec!["print", t],
        vec!["print", "--format", "csv", "-o", o, t],
        vec!["report", "-r", "ip-protocol", t],
        vec!["report", "--daily", t],
    ] {
        let args: Vec<&str> = sub.iter().chain(&day).copied().collect();
        let out = floe(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(
            err.contains(
                "no flows between 2026-11-23 00:00:00 +0000 and 2026-11-24 00:00:00 +0000"
            ),
            "{args:?}: {err}"
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed {:?}",
            text(&out.stdout)
        );
        assert!(!out_file.exists(), "{args:?} wrote -o");
    }
    // A filter that matches nothing is not an empty window: an empty
    // stream, status 0, and print shows its header.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{FLOE} filter 'proto udp' {t} | {FLOE} print --format csv --fields octets; echo ${{PIPESTATUS[*]}}"
        ))
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "octets\n0 0\n");
    assert_eq!(text(&out.stderr), "");
    // The tool after one that wrote nothing reads an empty pipe quietly:
    // the first tool's message and status say it all.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{FLOE} cat --zone UTC --day 2026-11-23 {t} | {FLOE} print; echo ${{PIPESTATUS[*]}}"
        ))
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).ends_with("3 0\n"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        text(&out.stderr).lines().count(),
        1,
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_path_that_is_not_there_stops_before_anything_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let missing = dir.path().join("nonexistent");
    let m = missing.to_str().unwrap();
    let t = dir.path().to_str().unwrap();
    for args in [
        vec!["print", m],
        vec!["print", t, m],
        vec!["print", "--format", "flow-tools-5", m],
        vec!["cat", m],
        vec!["report", "-r", "ip-protocol", m],
        vec!["report", "--daily", m],
        vec!["info", m],
        vec!["import", m, "--to", t],
    ] {
        let out = floe(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!("{m}: no such file or directory")),
            "{args:?}: {err}"
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed {:?}",
            text(&out.stdout)
        );
    }
    // A day where a path was meant: the message says how to give it.
    let out = floe(&["report", "--daily", "yesterday", t]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .contains("yesterday: no such file or directory (a time or day is given with --day"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_report_on_unreadable_inputs_is_neither_printed_nor_mailed() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nonexistent");
    let (sendmail, ran) = fake_sendmail(dir.path());
    let out = floe(&[
        "report",
        "--daily",
        missing.to_str().unwrap(),
        "--mail-to",
        "noc@example.net",
        "--sendmail",
        &sendmail,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert!(!ran.exists(), "a report of nothing was mailed");
    // The same with an empty tree: status 3, no mail.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = floe(&[
        "report",
        "-r",
        "ip-protocol",
        empty.to_str().unwrap(),
        "--mail-to",
        "noc@example.net",
        "--sendmail",
        &sendmail,
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(!ran.exists(), "a report of nothing was mailed");
    // Mail options that cannot work are found before anything is read.
    let out = floe(&[
        "report",
        "-r",
        "ip-protocol",
        missing.to_str().unwrap(),
        "--mail-to",
        "not an address",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--mail-to \"not an address\""));
    // And with a tree, the mail goes.
    let data = dir.path().join("data");
    tree(&data);
    let out = floe(&[
        "report",
        "-r",
        "ip-protocol",
        data.to_str().unwrap(),
        "--mail-to",
        "noc@example.net",
        "--sendmail",
        &sendmail,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(ran.exists());
}

/// -o FILE appears whole when the command succeeds, and no half file is
/// left when it fails (a damaged input half-way is not a failure: the
/// file appears with what could be read, and the status says the rest).
#[test]
fn output_files_appear_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let t = dir.path().to_str().unwrap();
    let page = dir.path().join("report.html");
    let out = floe(&[
        "report",
        "-r",
        "ip-source-address",
        "--format",
        "html",
        "-o",
        page.to_str().unwrap(),
        t,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("10.0.0.179"));
    // No partial file stays behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("partial")), "{names:?}");
    // A device is written to directly.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{FLOE} print --format csv --fields octets -n 2 -o /dev/stdout {t} | wc -l"
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3");
    // A usage error found late (a bad --fields for print) leaves nothing.
    let table = dir.path().join("table.txt");
    let out = floe(&[
        "print",
        "--fields",
        "nonsense",
        "-o",
        table.to_str().unwrap(),
        t,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!table.exists());
}
