//! Mailing a finished report: one multipart/alternative message (a plain
//! text part and the HTML page), handed to an SMTP server or piped to the
//! host's `sendmail -t`, for the nightly cron job or systemd timer.
//!
//! Message building and SMTP are lettre's; TLS is rustls with the system's
//! CA store (plus `--smtp-ca` for a private CA). The sendmail path pipes
//! lettre's formatted message to `sendmail -t -i` itself because lettre's
//! sendmail transport passes recipients as arguments, and hosts with an MTA
//! alias set up expect `-t` (recipients read from the headers).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use clap::Args;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

/// The environment variable that holds the password for `--smtp-user`
/// (never a flag: flags show in `ps` and shell history).
pub const PASSWORD_ENV: &str = "FLOE_SMTP_PASSWORD";

/// How long one SMTP conversation may take before the report run fails.
const SMTP_TIMEOUT: Duration = Duration::from_secs(60);

/// Options that mail the output instead of printing it.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Mail")]
pub struct MailArgs {
    /// Mail the report (a plain text part and the HTML page) to this
    /// address instead of printing it; repeat for more recipients.
    #[arg(long = "mail-to", value_name = "ADDR")]
    pub to: Vec<String>,
    /// Sender address [default: floe@HOST].
    #[arg(long = "mail-from", value_name = "ADDR", requires = "to")]
    pub from: Option<String>,
    /// Subject; strftime fields (%Y-%m-%d ...) are the start of the report's
    /// window (or now) in --zone, and {host} or the word HOST is this host's
    /// name. Example: "%Y-%m-%d daily flow stats on HOST".
    #[arg(long, value_name = "TEXT", requires = "to")]
    pub subject: Option<String>,
    /// SMTP server [default: localhost:25]; [v6::addr]:port for IPv6.
    #[arg(
        long,
        value_name = "HOST[:PORT]",
        requires = "to",
        conflicts_with = "sendmail"
    )]
    pub smtp: Option<String>,
    /// Require STARTTLS (certificate checked against the system CA store
    /// and --smtp-ca) before the message is sent.
    #[arg(long, requires = "to", conflicts_with = "sendmail")]
    pub starttls: bool,
    /// PEM file of a CA certificate the SMTP server's certificate may chain to.
    #[arg(long = "smtp-ca", value_name = "FILE", requires = "starttls")]
    pub ca: Option<PathBuf>,
    /// Log in as this user (after STARTTLS); the password is read from the
    /// FLOE_SMTP_PASSWORD environment variable.
    #[arg(long = "smtp-user", value_name = "USER", requires = "starttls")]
    pub user: Option<String>,
    /// Pipe the message to `sendmail -t -i` (this path, default
    /// /usr/sbin/sendmail) instead of speaking SMTP.
    #[arg(
        long,
        value_name = "PATH",
        num_args = 0..=1,
        default_missing_value = "/usr/sbin/sendmail",
        requires = "to"
    )]
    pub sendmail: Option<PathBuf>,
}

impl MailArgs {
    pub fn wanted(&self) -> bool {
        !self.to.is_empty()
    }
}

/// The subject with its strftime fields (at `at_ms` in `zone`) and host
/// name filled in.
pub fn subject(
    template: &str,
    zone: &floe_store::Zone,
    at_ms: i64,
    host: &str,
) -> Result<String, String> {
    // The host name goes in after formatting: a '%' in it is not a field.
    let formatted = zone
        .strftime(at_ms, template)
        .map_err(|e| format!("--subject {e}"))?;
    Ok(replace_word(
        &formatted.replace("{host}", host),
        "HOST",
        host,
    ))
}

/// `text` with every whole word `word` replaced.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != '_');
        out.push_str(&rest[..i]);
        out.push_str(if boundary(before) && boundary(after) {
            with
        } else {
            word
        });
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

/// Builds the message and sends it the way the options say.
pub fn send(args: &MailArgs, subject: &str, plain: String, html: String) -> Result<(), String> {
    let host = floe_store::host_name();
    let from = args.from.clone().unwrap_or_else(|| format!("floe@{host}"));
    let mailbox = |a: &str, what: &str| -> Result<Mailbox, String> {
        a.parse::<Mailbox>()
            .map_err(|e| format!("{what} {a:?} is not a mail address: {e}"))
    };
    let mut builder = Message::builder()
        .from(mailbox(&from, "--mail-from")?)
        .subject(subject)
        .message_id(None)
        .user_agent(format!("floe {}", env!("CARGO_PKG_VERSION")));
    for to in &args.to {
        builder = builder.to(mailbox(to, "--mail-to")?);
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(plain, html))
        .map_err(|e| format!("building the message: {e}"))?;
    match &args.sendmail {
        Some(path) => pipe_to_sendmail(path, &message),
        None => send_smtp(args, &message),
    }
}

fn pipe_to_sendmail(path: &PathBuf, message: &Message) -> Result<(), String> {
    let what = format!("{} -t -i", path.display());
    let mut cmd = Command::new(path);
    cmd.args(["-t", "-i"]);
    crate::pipe::pipe_into(cmd, &what, &message.formatted())
        .map_err(|e| format!("{e}; the message was not sent"))
}

/// `host[:port]` or `[v6]:port`, port 25 when absent.
fn split_host_port(s: &str) -> Result<(String, u16), String> {
    let bad = || format!("--smtp {s:?}: expected HOST[:PORT] or [IPv6]:PORT");
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(bad)?;
        match after {
            "" => (h, None),
            p => (h, Some(p.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) if !p.contains(':') => (h, Some(p)),
            Some(_) => return Err(bad()),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    let port = match port {
        Some(p) => p.parse().map_err(|_| bad())?,
        None => 25,
    };
    Ok((host.to_string(), port))
}

fn send_smtp(args: &MailArgs, message: &Message) -> Result<(), String> {
    let server = args.smtp.as_deref().unwrap_or("localhost:25");
    let (host, port) = split_host_port(server)?;
    let mut transport = SmtpTransport::builder_dangerous(host.as_str())
        .port(port)
        .timeout(Some(SMTP_TIMEOUT));
    if args.starttls {
        let mut tls = TlsParameters::builder(host.clone());
        if let Some(ca) = &args.ca {
            let pem = std::fs::read(ca).map_err(|e| format!("--smtp-ca {}: {e}", ca.display()))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| format!("--smtp-ca {}: {e}", ca.display()))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls.build_rustls().map_err(|e| format!("TLS setup: {e}"))?;
        transport = transport.tls(Tls::Required(tls));
    }
    if let Some(user) = &args.user {
        let password = std::env::var(PASSWORD_ENV)
            .map_err(|_| format!("--smtp-user {user}: set the password in {PASSWORD_ENV}"))?;
        transport = transport.credentials(Credentials::new(user.clone(), password));
    }
    transport
        .build()
        .send(message)
        .map(|_| ())
        .map_err(|e| format!("mailing via SMTP {server}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port() {
        assert_eq!(split_host_port("mail").unwrap(), ("mail".into(), 25));
        assert_eq!(split_host_port("mail:587").unwrap(), ("mail".into(), 587));
        assert_eq!(split_host_port("[::1]:2525").unwrap(), ("::1".into(), 2525));
        assert_eq!(split_host_port("[::1]").unwrap(), ("::1".into(), 25));
        for bad in ["", ":25", "mail:x", "::1", "[::1", "[::1]x", "mail:99999"] {
            assert!(split_host_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn subject_fields_and_host() {
        let utc = floe_store::Zone::Utc;
        let at = floe_flow::time::utc_ms(2026, 11, 28, 0, 0, 0);
        assert_eq!(
            subject("%Y-%m-%d daily flow stats on HOST", &utc, at, "gw1").unwrap(),
            "2026-11-28 daily flow stats on gw1"
        );
        assert_eq!(
            subject(
                "{host}: HOSTS and HOST_X stay, (HOST) does not",
                &utc,
                at,
                "gw1"
            )
            .unwrap(),
            "gw1: HOSTS and HOST_X stay, (gw1) does not"
        );
        // A '%' in the host name is not a field.
        assert_eq!(subject("HOST", &utc, at, "a%Yb").unwrap(), "a%Yb");
        let err = subject("%Y %Q", &utc, at, "gw1").unwrap_err();
        assert!(err.contains("--subject") && err.contains("%Q"), "{err}");
    }
}
