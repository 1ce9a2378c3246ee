//! The HTML pages as their readers see them: headless Chromium at a
//! desktop's 1280 px, a phone's 390 px and an A4 page's printable width,
//! through tests/page_check.py (device emulation over the DevTools
//! protocol). Nothing scrolls sideways, the charts are there and large
//! enough, no text is smaller than 11 px. The screenshots stay in
//! target/tmp/pages/ to be looked at.

use std::path::Path;
use std::process::Command;

mod common;
use common::{day_tree, html5_valid, look, reads_well, DAY, FLOE};

fn floe_report(args: &[&str], dir: &Path) -> String {
    floe_test_support::run_ok(Command::new(FLOE).arg("report").args(args).arg(dir))
}

#[test]
fn the_daily_page_reads_well_on_a_desktop_a_phone_and_paper() {
    let dir = tempfile::tempdir().unwrap();
    day_tree(dir.path(), 40_000);
    let page = floe_report(
        &["--daily", "--day", DAY, "--zone", "UTC", "--format", "html"],
        dir.path(),
    );
    let html = dir.path().join("daily.html");
    std::fs::write(&html, &page).unwrap();
    // Kept beside the screenshots, with the text, to be read.
    std::fs::create_dir_all(common::shots()).unwrap();
    std::fs::write(common::shots().join("daily.html"), &page).unwrap();
    let text = floe_report(&["--daily", "--day", DAY, "--zone", "UTC"], dir.path());
    std::fs::write(common::shots().join("daily.txt"), &text).unwrap();
    if let Err(e) = html5_valid(&html) {
        panic!("not valid HTML5: {e}");
    }
    let views = look(&html, "daily", &["1280", "390", "print:688"]);
    for v in &views {
        reads_well(v, 300);
        assert_eq!(v["charts"].as_array().unwrap().len(), 1, "{v}");
        // Five reports of bars: 15 + 15 + 15 + 15 + the protocols.
        assert!(v["bars"]["count"].as_u64().unwrap() >= 63, "{v}");
    }
    // The desktop's bars are wide enough to read, the phone's too.
    assert!(
        views[0]["bars"]["widest"].as_u64().unwrap() >= 300,
        "{}",
        views[0]
    );
    assert!(
        views[1]["bars"]["widest"].as_u64().unwrap() >= 120,
        "{}",
        views[1]
    );
}

#[test]
fn report_pages_read_well_on_a_desktop_a_phone_and_paper() {
    let dir = tempfile::tempdir().unwrap();
    day_tree(dir.path(), 20_000);
    let cases: [(&str, &[&str]); 4] = [
        (
            "top",
            &[
                "-r",
                "ip-source-address",
                "-r",
                "ip-source/destination-address",
                "-r",
                "ip-protocol/ip-destination-port",
                "-n",
                "15",
            ],
        ),
        (
            "series",
            &["-r", "time-series/ip-protocol", "--interval", "3600"],
        ),
        (
            "series-ports",
            &[
                "-r",
                "time-series/ip-destination-port",
                "--interval",
                "1800",
            ],
        ),
        ("summary", &["-r", "summary-detail", "-r", "packet-size"]),
    ];
    for (name, args) in cases {
        let mut all = args.to_vec();
        all.extend(["--day", DAY, "--zone", "UTC", "--format", "html"]);
        let page = floe_report(&all, dir.path());
        let html = dir.path().join(format!("{name}.html"));
        std::fs::write(&html, &page).unwrap();
        std::fs::create_dir_all(common::shots()).unwrap();
        std::fs::write(common::shots().join(format!("{name}.html")), &page).unwrap();
        if let Err(e) = html5_valid(&html) {
            panic!("{name}: not valid HTML5: {e}");
        }
        for v in look(&html, name, &["1280", "390", "print:688"]) {
            reads_well(&v, 300);
            if name.starts_with("series") {
                assert_eq!(v["charts"].as_array().unwrap().len(), 1, "{name}: {v}");
            } else {
                assert!(v["bars"]["count"].as_u64().unwrap() >= 10, "{name}: {v}");
            }
        }
    }
}
