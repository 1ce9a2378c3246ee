//! Reports mailed for real: to an SMTP server on 127.0.0.1 (aiosmtpd,
//! tests/smtp_sink.py), plain and under STARTTLS with a login, and piped to
//! a sendmail stand-in; the received message is parsed and checked.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::smtp::{part, Sink};
use common::{day_tree, tree, DAY, FLOE};

fn floe_report(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(FLOE)
        .arg("report")
        .args(args)
        .arg(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn host_name() -> String {
    floe_store::host_name()
}

#[test]
fn the_daily_summary_is_mailed_with_a_text_and_an_html_part() {
    let data = tempfile::tempdir().unwrap();
    tree(data.path());
    let spool = tempfile::tempdir().unwrap();
    let sink = Sink::start(spool.path(), &[]);
    let smtp = format!("127.0.0.1:{}", sink.port);
    let out = floe_report(
        &[
            "--daily",
            "--day",
            "2026-11-22",
            "--zone",
            "UTC",
            "--mail-to",
            "ops@example.net",
            "--mail-to",
            "Network Operations <noc@example.net>",
            "--mail-from",
            "floe@collector.example.net",
            "--subject",
            "%Y-%m-%d daily flow stats on HOST",
            "--smtp",
            &smtp,
        ],
        data.path(),
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "a mailed report is not printed too");
    let msgs = sink.wait_for(1);
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m["mail_from"], "floe@collector.example.net");
    assert_eq!(
        m["rcpt_tos"],
        serde_json::json!(["ops@example.net", "noc@example.net"])
    );
    assert_eq!(m["tls"], false);
    let h = &m["message"]["headers"];
    assert_eq!(
        h["subject"],
        format!("2026-11-22 daily flow stats on {}", host_name())
    );
    assert_eq!(h["from"], "floe@collector.example.net");
    let to = h["to"].as_str().unwrap();
    assert!(
        to.contains("ops@example.net") && to.contains("Network Operations <noc@example.net>"),
        "{to}"
    );
    assert!(h["date"].as_str().is_some_and(|d| !d.is_empty()), "{h}");
    assert!(h["message-id"].as_str().is_some(), "{h}");
    assert_eq!(m["message"]["content_type"], "multipart/alternative");
    let text = part(m, "text/plain");
    assert!(text.contains("2026-11-22 daily flow summary on "), "{text}");
    assert!(text.contains("# 180 flows"), "{text}");
    assert!(text.contains("# Exporter health"), "{text}");
    // The same summary the terminal shows.
    let printed = floe_report(
        &["--daily", "--day", "2026-11-22", "--zone", "UTC"],
        data.path(),
        &[],
    );
    assert_eq!(
        text.replace("\r\n", "\n").trim_end(),
        String::from_utf8_lossy(&printed.stdout).trim_end()
    );
    let html = part(m, "text/html");
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..80]);
    assert!(html.contains("Traffic per hour") && html.contains("10.0.0.179"));
    assert_eq!(html.matches("<svg").count(), 0, "no SVG in a mail");
    assert_eq!(html.matches("src=\"cid:").count(), 1, "the hours' chart");
}

/// Every `cid:` reference of an HTML part.
fn cids(html: &str) -> Vec<String> {
    html.split("cid:")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

/// The daily mail as Gmail and Outlook show it: no inline SVG (they drop
/// it), no URL to fetch; its chart a PNG image in the message, as a
/// `cid:` part of a multipart/related beside the HTML; its bars table
/// cells; the exporters that need attention first.
#[test]
fn the_daily_mail_carries_its_charts_as_images_and_fetches_nothing() {
    let data = tempfile::tempdir().unwrap();
    day_tree(data.path(), 8000);
    let spool = tempfile::tempdir().unwrap();
    let sink = Sink::start(spool.path(), &[]);
    let smtp = format!("127.0.0.1:{}", sink.port);
    let out = floe_report(
        &[
            "--daily",
            "--day",
            DAY,
            "--zone",
            "UTC",
            "--mail-to",
            "ops@example.net",
            "--smtp",
            &smtp,
        ],
        data.path(),
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let msgs = sink.wait_for(1);
    let m = &msgs[0];
    assert_eq!(
        m["message"]["structure"],
        "multipart/alternative(text/plain, multipart/related(text/html, image/png))"
    );
    // The sender: floe@ the host's fully qualified name when it has one;
    // a short one is used with a warning that says how to set another.
    let from = m["mail_from"].as_str().unwrap();
    assert!(from.starts_with(&format!("floe@{}", host_name())), "{from}");
    if !from.contains('.') {
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--mail-from"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let html = part(m, "text/html");
    assert!(
        !html.contains("<svg"),
        "inline SVG: Gmail and Outlook drop it"
    );
    for external in ["http://", "https://", "//", "url("] {
        for attr in ["src=\"", "href=\"", ""] {
            let needle = format!("{attr}{external}");
            if attr.is_empty() && external != "url(" {
                continue;
            }
            assert!(!html.contains(&needle), "{needle} in the mail's HTML");
        }
    }
    assert!(!html.contains("<script") && !html.contains("<link"));
    let refs = cids(html);
    assert_eq!(refs.len(), 1, "the traffic chart: {refs:?}");
    let parts = m["message"]["parts"].as_array().unwrap();
    for cid in &refs {
        let p = parts
            .iter()
            .find(|p| p["content_id"] == format!("<{cid}>"))
            .unwrap_or_else(|| panic!("no part for cid:{cid}"));
        assert_eq!(p["content_type"], "image/png");
        assert_eq!(p["disposition"], "inline");
        let png = base64_decode(p["base64"].as_str().unwrap());
        let dec = png::Decoder::new(&png[..]).read_info().unwrap();
        let info = dec.info();
        assert_eq!((info.width, info.height), (1280, 400), "{cid}");
        assert!(png.len() > 2000, "a drawn chart, not a blank");
    }
    // Bars are table cells with their colour: 15 x 4 tops and the
    // protocols.
    assert!(html.matches("<td class=\"f\"").count() >= 63);
    // The exporters that need attention first, with why.
    let health = &html[html.find("Exporter health").unwrap()..];
    let at = |a: &str| health.find(&format!(">{a}")).unwrap_or(usize::MAX);
    assert!(at("192.0.2.2") < at("192.0.2.3"), "noisy first");
    assert!(at("192.0.2.3") < at("192.0.2.1"), "silent before healthy");
    assert!(at("192.0.2.1") < usize::MAX);
    assert!(html.contains("bad datagrams") && html.contains("silent from"));
    // Before the traffic: what needs attention comes first.
    assert!(html.find("Exporter health") < html.find("Traffic per hour"));
}

/// Standard base64, as the sink writes it.
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let bytes: Vec<u8> = s.bytes().filter(|c| *c != b'=').map(val).collect();
    bytes
        .chunks(4)
        .flat_map(|c| {
            let n = c.iter().fold(0u32, |a, v| a << 6 | u32::from(*v)) << (6 * (4 - c.len()));
            let b = n.to_be_bytes();
            b[1..c.len()].to_vec()
        })
        .collect()
}

#[test]
fn a_stat_config_report_goes_over_starttls_with_a_login() {
    let data = tempfile::tempdir().unwrap();
    tree(data.path());
    let pki = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_pki(pki.path());
    let spool = tempfile::tempdir().unwrap();
    let sink = Sink::start(
        spool.path(),
        &[
            "--tls",
            cert.to_str().unwrap(),
            key.to_str().unwrap(),
            "--auth",
            "reports:s3cret",
        ],
    );
    let cfg = data.path().join("stat.cfg");
    std::fs::write(
        &cfg,
        "stat-report src\n  type ip-source-address\n  output\n    sort +octets\n    records 3\n\nstat-definition nightly\n  report src\n",
    )
    .unwrap();
    let smtp = format!("127.0.0.1:{}", sink.port);
    let base = [
        "-s",
        cfg.to_str().unwrap(),
        "-S",
        "nightly",
        "--mail-to",
        "ops@example.net",
        "--smtp",
        &smtp,
        "--starttls",
    ];
    let with = |extra: &[&str], env: &[(&str, &str)]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        floe_report(&args, data.path(), env)
    };
    let ca_arg = ["--smtp-ca", ca.to_str().unwrap(), "--smtp-user", "reports"];

    // The server's certificate is from a private CA: refused without it.
    let out = with(
        &["--smtp-user", "reports"],
        &[("FLOE_SMTP_PASSWORD", "s3cret")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("mailing via SMTP 127.0.0.1:"), "{err}");
    // No password: said before any connection.
    let out = with(&ca_arg, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("FLOE_SMTP_PASSWORD"),
        "{err}"
    );
    // A wrong password: the server refuses, floe says so.
    let out = with(&ca_arg, &[("FLOE_SMTP_PASSWORD", "wrong")]);
    assert!(!out.status.success());
    assert!(sink.messages().is_empty());

    let out = with(&ca_arg, &[("FLOE_SMTP_PASSWORD", "s3cret")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let msgs = sink.wait_for(1);
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m["tls"], true);
    assert_eq!(m["login"], "reports");
    let from = m["mail_from"].as_str().unwrap();
    assert!(from.starts_with(&format!("floe@{}", host_name())), "{from}");
    assert_eq!(
        m["message"]["headers"]["subject"],
        "Top 3 source addresses by bytes — stat-report src (ip-source-address), stat-definition nightly"
    );
    let text = part(m, "text/plain");
    assert!(
        text.contains("stat-report src (ip-source-address)"),
        "{text}"
    );
    // Top 3 sources by octets: the last three minutes' flows.
    for a in ["10.0.0.179", "10.0.0.178", "10.0.0.177"] {
        assert!(text.contains(a), "{a} missing from {text}");
    }
    assert!(!text.contains("10.0.0.176 "), "records 3: {text}");
    assert!(part(m, "text/html").contains("10.0.0.179"));
}

#[test]
fn sendmail_gets_the_message_on_stdin_with_dash_t() {
    let data = tempfile::tempdir().unwrap();
    tree(data.path());
    let bin = tempfile::tempdir().unwrap();
    let sendmail = bin.path().join("sendmail");
    let got = bin.path().join("got");
    std::fs::write(
        &sendmail,
        format!(
            "#!/bin/sh\necho \"$@\" > {0}.args\ncat > {0}.eml\nexit ${{FAKE_SENDMAIL_STATUS:-0}}\n",
            got.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&sendmail, std::fs::Permissions::from_mode(0o755)).unwrap();
    let args = [
        "-r",
        "ip-destination-port",
        "--format",
        "csv",
        "--mail-to",
        "ops@example.net",
        "--subject",
        "ports {host}",
        "--sendmail",
        sendmail.to_str().unwrap(),
    ];
    let out = floe_report(&args, data.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(bin.path().join("got.args")).unwrap(),
        "-t -i\n"
    );
    let eml = std::fs::read_to_string(bin.path().join("got.eml")).unwrap();
    assert!(eml.contains("To: ops@example.net\r\n"), "{eml}");
    assert!(
        eml.contains(&format!("Subject: ports {}\r\n", host_name())),
        "{eml}"
    );
    assert!(eml.contains("multipart/alternative"), "{eml}");
    // --format csv: the plain part is the CSV.
    assert!(
        eml.contains("\r\nip-destination-port,flows,octets,"),
        "{eml}"
    );
    assert!(eml.contains("\r\n443,180,34110,"), "{eml}");
    assert!(eml.contains("Content-Type: text/html"), "{eml}");

    // A sendmail that fails fails the run, and says the mail was not sent.
    let out = Command::new(FLOE)
        .arg("report")
        .args(args)
        .arg(data.path())
        .env("FAKE_SENDMAIL_STATUS", "75")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("-t -i") && err.contains("not sent"), "{err}");
}

#[test]
fn mail_errors_name_what_is_wrong() {
    let data = tempfile::tempdir().unwrap();
    tree(data.path());
    // Nothing listens on this port (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let smtp = format!("127.0.0.1:{port}");
    let cases: [(&[&str], &str); 5] = [
        (
            &["--mail-to", "ops@example.net", "--smtp", &smtp],
            "mailing via SMTP",
        ),
        (
            &["--mail-to", "not an address"],
            "--mail-to \"not an address\"",
        ),
        (
            &["--mail-to", "ops@example.net", "--mail-from", "x@"],
            "--mail-from",
        ),
        (
            &[
                "--mail-to",
                "ops@example.net",
                "--subject",
                "%Y %Q",
                "--smtp",
                &smtp,
            ],
            "--subject",
        ),
        (
            &["--mail-to", "ops@example.net", "--smtp", "mail:port"],
            "--smtp",
        ),
    ];
    for (extra, says) in cases {
        let args: Vec<&str> = ["-r", "ip-protocol"].iter().chain(extra).copied().collect();
        let out = floe_report(&args, data.path(), &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?}");
        assert!(err.contains(says), "{extra:?}: {err}");
    }
    // Mail options without --mail-to are a usage error, not ignored.
    let out = floe_report(&["-r", "ip-protocol", "--smtp", &smtp], data.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
}

/// A private CA and a server certificate for 127.0.0.1 signed by it
/// (openssl); returns (CA cert, server cert, server key).
fn test_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let p = |n: &str| dir.join(n);
    let openssl = |args: &[&str]| {
        floe_test_support::run_ok(Command::new("openssl").args(args).current_dir(dir));
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca: Vec<&str> = vec!["req", "-x509", "-days", "2", "-subj", "/CN=floe test CA"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(&ca);
    let mut csr: Vec<&str> = vec!["req", "-subj", "/CN=localhost"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(&csr);
    std::fs::write(
        p("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
    (p("ca.pem"), p("server.pem"), p("server.key"))
}
