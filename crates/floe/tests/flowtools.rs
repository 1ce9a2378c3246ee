//! flow-tools archives: `floe print`/`cat` read ft-v* files directly and
//! `floe import` converts them into a floe tree. The archive is written by
//! tests/flowtools_writer.py from flow-tools' struct layouts (v1, v5, v6,
//! v7, v8.1, v8.3, v8.8, v8.14; both byte orders; zlib and plain; one file
//! cut short), with the flows floe must read beside it.

use std::path::Path;
use std::process::Command;

const FLOE: &str = env!("CARGO_BIN_EXE_floe");

fn archive(dir: &Path) -> Vec<serde_json::Value> {
    let writer = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/flowtools_writer.py");
    let s = Command::new(floe_test_support::python3())
        .arg(writer)
        .arg(dir)
        .status()
        .expect("python3 is a test prerequisite (scripts/test checks it)");
    assert!(s.success());
    std::fs::read_to_string(dir.join("expected.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn print_json(path: &Path) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let out = Command::new(FLOE)
        .args([
            "print", "--format", "json", "--fields", "all", "--zone", "UTC",
        ])
        .arg(path)
        .output()
        .unwrap();
    let flows = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.code(),
        flows,
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn assert_same(got: &[serde_json::Value], want: &[serde_json::Value]) {
    assert_eq!(got.len(), want.len(), "flow count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "flow {i}");
    }
}

#[test]
fn flow_tools_files_are_read_and_imported_with_their_tree() {
    let dir = tempfile::tempdir().unwrap();
    let want = archive(dir.path());
    let archive = dir.path().join("archive");

    // Read directly: every layout, byte order and compression; the cut file
    // gives its whole records, is named on stderr, and the status says so.
    let (code, got, err) = print_json(&archive);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("ft-v05.2026-11-22.110000+0000: flow-tools file cut short"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_same(&got, &want);

    // cat | filter | print over the archive keeps the matching flows.
    let piped = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{FLOE} cat {} 2>/dev/null | {FLOE} filter 'dst port 443 and proto tcp' | {FLOE} print -f csv | tail -n +2 | wc -l",
            archive.display()
        ))
        .output()
        .unwrap();
    let n443 = want
        .iter()
        .filter(|f| f["ip-destination-port"] == 443 && f["ip-protocol"] == 6)
        .count();
    assert!(n443 > 0);
    assert_eq!(
        String::from_utf8_lossy(&piped.stdout).trim(),
        n443.to_string()
    );

    // Import: the same tree of floe files, the same flows, the capture's
    // counters kept; a second run adds nothing.
    let floe_tree = dir.path().join("floe");
    let imp = Command::new(FLOE)
        .arg("import")
        .arg(&archive)
        .arg("--to")
        .arg(&floe_tree)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&imp.stderr);
    assert_eq!(imp.status.code(), Some(1), "{err}");
    assert!(err.contains("10 files, 82 flows written"), "{err}");
    let day = floe_tree.join("2026/2026-11/2026-11-22");
    assert!(day.join("floe.2026-11-22.090000+0000").is_file());
    assert!(day.join("floe.2026-11-22.110000+0000").is_file());
    let (code, got, err) = print_json(&floe_tree);
    assert_eq!(code, Some(0), "{err}");
    assert_same(&got, &want);
    let info = Command::new(FLOE)
        .args(["info", "--json"])
        .arg(&floe_tree)
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    let day = &info["entries"][0];
    assert_eq!(day["files"], 10, "{info}");
    assert_eq!(day["flows"], 82, "{info}");
    assert_eq!(day["exporters"][0]["address"], "192.0.2.1", "{info}");
    // flow-capture counted 7 lost flows in each file's header.
    assert_eq!(day["exporters"][0]["lost_flows"], 70, "{info}");
    let again = Command::new(FLOE)
        .arg("import")
        .arg(&archive)
        .arg("-d")
        .arg(&floe_tree)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("0 files, 0 flows written") && err.contains("10 already there"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_flow_tools_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("ft-v05.2026-11-22.100000+0000");
    // The magic, then a byte order that does not exist.
    std::fs::write(&bad, [0xCF, 0x10, 7, 3, 0, 0, 0, 0]).unwrap();
    let (code, got, err) = print_json(dir.path());
    assert_eq!(code, Some(1));
    assert!(got.is_empty());
    assert!(
        err.contains("ft-v05.2026-11-22.100000+0000: byte order 7"),
        "{err}"
    );
}
