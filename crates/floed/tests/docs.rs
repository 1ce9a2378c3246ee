//! floed's man page (section 8) and completions come from its argument
//! definitions.

use std::process::Command;

use floe_test_support::run_ok;

const FLOED: &str = env!("CARGO_BIN_EXE_floed");

#[test]
fn man_page_and_completions() {
    let page = run_ok(Command::new(FLOED).arg("--man-page"));
    assert!(page.contains(".TH floed 8"), "{page}");
    for opt in [
        "\\-\\-listen",
        "\\-\\-dir",
        "\\-\\-period",
        "\\-\\-check\\-config",
    ] {
        assert!(page.contains(opt), "man page lacks {opt}");
    }
    assert!(
        !page.contains("man\\-page"),
        "hidden flags stay out of the page"
    );
    let script = run_ok(Command::new(FLOED).args(["--completions", "bash"]));
    assert!(script.contains("--receive-buffer"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("floed.bash");
    std::fs::write(&path, &script).unwrap();
    run_ok(Command::new("bash").arg("-n").arg(&path));
}
