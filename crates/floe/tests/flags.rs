//! One meaning per flag, as the real binary takes them: -t is the window's
//! start everywhere (a report type given to it says where it went), --last
//! with --end is the window ending at --end, --fields takes the same two
//! grammars in print and report (whose flow-report layout shows exactly the
//! columns asked, and whose text and CSV add the rate columns asked to
//! their fixed ones), and the spellings that meant something else before
//! are refused with a usage error rather than misread.

use std::process::{Command, Output};

use floe_flow::time::utc_ms;

mod common;
use common::{tree, FLOE};

fn floe(args: &[&str]) -> Output {
    Command::new(FLOE).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn t_is_the_window_start_everywhere_and_a_report_type_there_says_so() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let t = dir.path().to_str().unwrap();
    let window = [
        "--zone",
        "UTC",
        "-t",
        "2026-11-22 12:00",
        "-T",
        "2026-11-22 12:10",
    ];
    let csv = stdout(&floe(
        &[
            &["print", "--format", "csv", "--fields", "octets", t][..],
            &window,
        ]
        .concat(),
    ));
    assert_eq!(csv.lines().count(), 1 + 10, "{csv}");
    let report = stdout(&floe(
        &[
            &["report", "-r", "ip-protocol", "--format", "csv", t][..],
            &window,
        ]
        .concat(),
    ));
    assert!(report.contains("\n6,10,"), "{report}");
    let old = floe(&["report", "-t", "ip-source-address", t]);
    assert_eq!(old.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&old.stderr).contains("the report type is -r (--type)"),
        "{}",
        String::from_utf8_lossy(&old.stderr)
    );
}

#[test]
fn last_with_end_is_the_window_ending_at_end() {
    let dir = tempfile::tempdir().unwrap();
    let all = tree(dir.path());
    let csv = stdout(&floe(&[
        "print",
        "--format",
        "csv",
        "--fields",
        "start-time",
        "--zone",
        "UTC",
        "--end",
        "2026-11-22 11:00",
        "--last",
        "30m",
        dir.path().to_str().unwrap(),
    ]));
    let (from, to) = (
        utc_ms(2026, 11, 22, 10, 30, 0),
        utc_ms(2026, 11, 22, 11, 0, 0),
    );
    let want = all.iter().filter(|f| f.overlaps(from, to)).count();
    assert_eq!(csv.lines().count() - 1, want);
    // --last goes with neither --start nor --day.
    for other in [["--start", "2026-11-22"], ["--day", "2026-11-22"]] {
        let o = floe(
            &[
                &["print", "--last", "1h"][..],
                &other,
                &[dir.path().to_str().unwrap()],
            ]
            .concat(),
        );
        assert_eq!(o.status.code(), Some(2));
    }
}

#[test]
fn fields_lists_mean_the_same_in_print_and_report() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let t = dir.path().to_str().unwrap();
    let head = |args: &[&str]| -> String {
        stdout(&floe(&[args, &["--format", "csv", "-n", "1", t]].concat()))
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    let recn = |args: &[&str]| -> String {
        stdout(&floe(&[args, &["--format", "flow-tools", t]].concat()))
            .lines()
            .find_map(|l| l.strip_prefix("# recn: "))
            .unwrap()
            .to_string()
    };
    // Exactly these.
    assert_eq!(
        head(&["print", "--fields", "octets,srcip"]),
        "octets,ip-source-address"
    );
    assert_eq!(
        recn(&["report", "-r", "ip-protocol", "--fields", "key,octets"]),
        "ip-protocol*,octets"
    );
    // Changes to the default ones.
    assert_eq!(
        head(&["print", "--fields", "-start-time,-end-time,+tcp-flags"]),
        "ip-protocol,ip-source-address,ip-source-port,ip-destination-address,ip-destination-port,packets,octets,ip-tcp-flags"
    );
    assert_eq!(
        recn(&[
            "report",
            "-r",
            "ip-protocol",
            "--fields",
            "-duration,-packets"
        ]),
        "ip-protocol*,flows,octets"
    );
    // The rates asked, then (last, so that columns keep their places) the
    // protocol's name.
    assert!(
        head(&["report", "-r", "ip-protocol", "--fields", "+avg-bps"])
            .ends_with(",flows_pct,avg-bps,ip-protocol-name")
    );
    // Not both at once.
    for sub in [&["print"][..], &["report", "-r", "ip-protocol"][..]] {
        let o = floe(&[sub, &["--fields", "octets,-flows", t]].concat());
        assert_eq!(o.status.code(), Some(2), "{sub:?}");
    }
}

#[test]
fn spellings_with_another_meaning_now_are_refused_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let t = dir.path().to_str().unwrap();
    let cfg = dir.path().join("f.cfg");
    std::fs::write(&cfg, "filter-primitive p\n  type ip-protocol\n  permit tcp\nfilter-definition d\n  match ip-protocol p\n").unwrap();
    let c = cfg.to_str().unwrap();
    for args in [
        // -f is the format; a filter file is --file.
        vec!["filter", "-f", c, "-F", "d", t],
        // -V and -n were send's version and count.
        vec!["send", "-V", "9", "--count", "1"],
        vec!["send", "-n", "5"],
        // --threads is for the tools that read flows.
        vec!["info", "--threads", "2", t],
    ] {
        let o = floe(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
    let ok = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{FLOE} filter --file {c} -F d {t} | {FLOE} print --format csv --fields octets | wc -l"
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "181");
}

#[test]
fn generate_writes_one_page_or_every_page() {
    let page = stdout(&floe(&["generate", "man"]));
    assert!(page.contains(".TH floe 1"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    for flag in ["--dir", "--out"] {
        let d = dir.path().join(flag.trim_start_matches('-'));
        let o = floe(&["generate", "man", flag, d.to_str().unwrap()]);
        assert!(o.status.success());
        assert!(d.join("floe-report.1").exists());
    }
    let f = dir.path().join("floe.bash");
    let o = floe(&["generate", "completions", "bash", "-o", f.to_str().unwrap()]);
    assert!(o.status.success() && o.stdout.is_empty());
    assert!(std::fs::read_to_string(f).unwrap().contains("_floe"));
}
