//! Hostile floe input through the real binaries: a clear error that names
//! the stream or file and the byte offset, exit status 1, never an abort.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::FLOE;
use floe_store::format::{encode_file_header, encode_frame, BlockHeader, KIND_BLOCK};
use floe_store::FileHeader;

/// The stream of issue 16, 613 bytes: a header, then one block whose
/// header claims 2^32-1 flows, with its 31 columns constant (one byte
/// each) and claiming as many values, and valid checksums.
fn hostile_stream() -> (Vec<u8>, usize) {
    let mut body = BlockHeader {
        records: u32::MAX,
        columns: 31,
        ..BlockHeader::default()
    }
    .encode()
    .to_vec();
    for id in 0..31u8 {
        // Address fields: family, IPv4 values (one a flow), IPv6 values (none).
        let count = if id >= 19 && (id - 19) % 3 == 2 {
            0
        } else {
            u32::MAX
        };
        body.extend_from_slice(&[id, 0, 1, 0]); // constant, 1 byte wide
        body.extend_from_slice(&count.to_le_bytes());
        body.extend_from_slice(&1u32.to_le_bytes()); // one stored byte
        body.push(0);
    }
    let frame = encode_frame(KIND_BLOCK, 0, &body);
    let mut header = FileHeader {
        created_ms: 0,
        period: None,
        host: String::new(),
        zone: "UTC".into(),
        writer: "crafted".into(),
    };
    let bare = encode_file_header(&header).len() + frame.len();
    header.host = "h".repeat(613 - bare);
    let mut s = encode_file_header(&header);
    let frame_at = s.len();
    s.extend(frame);
    assert_eq!(s.len(), 613);
    (s, frame_at)
}

fn floe_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(FLOE)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader may stop before reading it all: a broken pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

/// Exit status 1 (not a signal, not 101 for a panic or 134 for an abort),
/// and the error on stderr naming `name` and the frame's offset.
fn assert_refused(what: &str, out: &Output, name: &str, frame_at: usize) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: {:?}\n{err}",
        out.status
    );
    let expect = format!("{name}: corrupt block at byte offset {frame_at}: block claims 4294967295 flows; a block holds at most 1048576");
    assert!(err.contains(&expect), "{what}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
}

#[test]
fn a_block_claiming_u32_max_flows_is_a_clear_error_in_every_reading_tool() {
    let (stream, frame_at) = hostile_stream();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.floe");
    std::fs::write(&file, &stream).unwrap();
    let path = file.to_str().unwrap();

    let out = floe_with_stdin(&["print"], &stream);
    assert_refused("print < FILE", &out, "<stdin>", frame_at);
    let out = floe_with_stdin(&["print", "-"], &stream);
    assert_refused("print -", &out, "<stdin>", frame_at);
    let out = floe_with_stdin(&["print", path], &[]);
    assert_refused("print FILE", &out, path, frame_at);
    let out = floe_with_stdin(&["cat", "-"], &stream);
    assert_refused("cat -", &out, "<stdin>", frame_at);
    let out = floe_with_stdin(&["cat", path], &[]);
    assert_refused("cat FILE", &out, path, frame_at);
    let out = floe_with_stdin(&["report", "-r", "summary-detail", path], &[]);
    assert_refused("report FILE", &out, path, frame_at);
    let out = floe_with_stdin(&["report", "-r", "summary-detail", "-"], &stream);
    assert_refused("report -", &out, "<stdin>", frame_at);
    let out = floe_with_stdin(&["filter", "any", "-"], &stream);
    assert_refused("filter -", &out, "<stdin>", frame_at);
    // info finds it scanning the file (it has no trailer), and says so
    // in its damage lines.
    let out = floe_with_stdin(&["info", "--check", path], &[]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "info: {text}");
    assert!(
        text.contains("block claims 4294967295 flows"),
        "info: {text}"
    );
    assert!(
        text.contains(&format!("byte offset {frame_at}")),
        "info: {text}"
    );
}

/// `floe filter` with expressions nested 30 000 and 200 000 deep (which
/// overflowed the stack: rc 134): exit status 2 and the limit, with where.
#[test]
fn deeply_nested_filters_are_a_usage_error_not_a_stack_overflow() {
    let parens = format!("{}any{}", "(".repeat(30_000), ")".repeat(30_000));
    let out = floe_with_stdin(&["filter", "--explain", &parens], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("filter line 1, column 257: nesting deeper than 256"),
        "{err}"
    );
    // 200 000 nots are longer than one argument may be: from a file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deep.flt");
    std::fs::write(&file, format!("{}any", "not ".repeat(200_000))).unwrap();
    let out = floe_with_stdin(
        &["filter", "--explain", "--file", file.to_str().unwrap()],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("deep.flt:1:1025: nesting deeper than 256"),
        "{err}"
    );
    // A flat chain of 200 000 terms is fine.
    std::fs::write(
        &file,
        (0..200_000)
            .map(|i| format!("dst port {}", i % 60_000))
            .collect::<Vec<_>>()
            .join(" or "),
    )
    .unwrap();
    let out = floe_with_stdin(
        &["filter", "--explain", "--file", file.to_str().unwrap()],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Numbers out of their field's range are refused as `port 70000` is.
#[test]
fn out_of_range_filter_numbers_are_a_usage_error() {
    for (expr, says) in [
        (
            "tos 300",
            "filter line 1, column 5: \"300\" is not a ToS (0-255)",
        ),
        (
            "as 4294967296",
            "filter line 1, column 4: \"4294967296\" is not an AS number (0-4294967295)",
        ),
        (
            "bytes > 18446744073709551616",
            "column 9: \"18446744073709551616\" is not a byte count (0-18446744073709551615)",
        ),
    ] {
        let out = floe_with_stdin(&["filter", "--explain", expr], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{expr}: {err}");
        assert!(err.contains(says), "{expr}: {err}");
    }
}
