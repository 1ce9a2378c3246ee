//! Mailing a finished report: one multipart/alternative message (a plain
//! text part and the HTML page), handed to an SMTP server or piped to the
//! host's `sendmail -t`, for the nightly cron job or systemd timer.
//!
//! Charts in a mail: Gmail and Outlook drop inline SVG, so the page made
//! for a mail draws its bar charts with table cells (text that reads
//! everywhere, even with images blocked) and its charts over time as PNG
//! images that floe renders and puts in the message, referred to as
//! `cid:` (multipart/related beside the HTML): nothing is fetched from
//! anywhere when it is read.
//!
//! The sender is `floe@` the host's fully qualified name (what the
//! resolver gives as its canonical name) unless `--mail-from` says
//! otherwise; a host with only a short name gets a warning, since many
//! mail servers refuse senders such as `floe@vm`.
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
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use crate::pipe::{pipe_into, PipeError};

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
    #[arg(long = "mail-to", value_name = "ADDR", conflicts_with = "output")]
    pub mail_to: Vec<String>,
    /// Sender address [default: floe@ the host's fully qualified name].
    #[arg(long = "mail-from", value_name = "ADDR", requires = "mail_to")]
    pub mail_from: Option<String>,
    /// Subject; strftime fields (%Y-%m-%d ...) are the start of the report's
    /// window (or now) in --zone, and {host} or the word HOST is this host's
    /// name. Example: "%Y-%m-%d daily flow stats on HOST".
    #[arg(long, value_name = "TEXT", requires = "mail_to")]
    pub subject: Option<String>,
    /// SMTP server [default: localhost:25]; [v6::addr]:port for IPv6.
    #[arg(
        long,
        value_name = "HOST[:PORT]",
        requires = "mail_to",
        conflicts_with = "sendmail"
    )]
    pub smtp: Option<String>,
    /// Require STARTTLS (certificate checked against the system CA store
    /// and --smtp-ca) before the message is sent.
    #[arg(long, requires = "mail_to", conflicts_with = "sendmail")]
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
        requires = "mail_to"
    )]
    pub sendmail: Option<PathBuf>,
}

/// What can go wrong mailing a report: options that cannot be used
/// (found before anything is read), or a server or sendmail that fails.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address option that is not an address.
    #[error("{flag} {addr:?} is not a mail address: {reason}")]
    Address {
        /// The option.
        flag: &'static str,
        /// The address as given.
        addr: String,
        /// Why.
        reason: String,
    },
    /// A subject whose strftime fields are not valid.
    #[error("--subject {0}")]
    Subject(String),
    /// A server that is not HOST[:PORT].
    #[error("--smtp {0:?}: expected HOST[:PORT] or [IPv6]:PORT")]
    Server(String),
    /// A CA certificate that cannot be read.
    #[error("--smtp-ca {}: {message}", path.display())]
    Ca {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// No password for the login.
    #[error("--smtp-user {0}: set the password in {PASSWORD_ENV}")]
    Password(String),
    /// TLS could not be set up.
    #[error("TLS setup: {0}")]
    Tls(String),
    /// The message could not be built.
    #[error("building the message: {0}")]
    Build(String),
    /// The SMTP server did not take the message.
    #[error("mailing via SMTP {server}: {message}")]
    Smtp {
        /// The server.
        server: String,
        /// What it said, or what failed.
        message: String,
    },
    /// sendmail did not take the message.
    #[error("{0}; the message was not sent")]
    Sendmail(PipeError),
}

impl MailError {
    /// True for options that cannot be used (a usage error); false for a
    /// delivery that failed.
    pub fn is_usage(&self) -> bool {
        !matches!(self, MailError::Smtp { .. } | MailError::Sendmail(_))
    }
}

impl MailArgs {
    /// Whether the output is to be mailed.
    pub fn wanted(&self) -> bool {
        !self.mail_to.is_empty()
    }
}

/// The subject with its strftime fields (at `at_ms` in `zone`) and host
/// name filled in.
pub fn subject(
    template: &str,
    zone: &floe_store::Zone,
    at_ms: i64,
    host: &str,
) -> Result<String, MailError> {
    // The host name goes in after formatting: a '%' in it is not a field.
    let formatted = zone.strftime(at_ms, template).map_err(MailError::Subject)?;
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

/// A mail ready to go but for its content: every option checked, so that a
/// mistake is found before the report is computed.
pub struct Mailer {
    from: Mailbox,
    to: Vec<Mailbox>,
    subject: String,
    via: Via,
}

enum Via {
    Sendmail(PathBuf),
    Smtp {
        server: String,
        transport: SmtpTransport,
    },
}

impl Mailer {
    /// Checks the options: addresses, the subject's fields (at `at_ms` in
    /// `zone`; `default_subject` without --subject), the server, TLS and
    /// the login.
    pub fn new(
        args: &MailArgs,
        default_subject: &str,
        zone: &floe_store::Zone,
        at_ms: i64,
    ) -> Result<Mailer, MailError> {
        let host = floe_store::host_name();
        let mailbox = |a: &str, flag: &'static str| -> Result<Mailbox, MailError> {
            a.parse::<Mailbox>().map_err(|e| MailError::Address {
                flag,
                addr: a.to_string(),
                reason: e.to_string(),
            })
        };
        let from = match &args.mail_from {
            Some(f) => f.clone(),
            None => {
                let name = fully_qualified(&host);
                if !name.contains('.') {
                    crate::error::warn(format!(
                        "sender floe@{name}: {name} is not a fully qualified host name, and many \
                         mail servers refuse such senders; give one with --mail-from"
                    ));
                }
                format!("floe@{name}")
            }
        };
        let from = mailbox(&from, "--mail-from")?;
        let to = args
            .mail_to
            .iter()
            .map(|a| mailbox(a, "--mail-to"))
            .collect::<Result<Vec<_>, _>>()?;
        let subject = subject(
            args.subject.as_deref().unwrap_or(default_subject),
            zone,
            at_ms,
            &host,
        )?;
        let via = match &args.sendmail {
            Some(path) => Via::Sendmail(path.clone()),
            None => {
                let server = args.smtp.clone().unwrap_or_else(|| "localhost:25".into());
                let transport = smtp_transport(args, &server)?;
                Via::Smtp { server, transport }
            }
        };
        Ok(Mailer {
            from,
            to,
            subject,
            via,
        })
    }

    /// Sends one message: the plain part and the HTML page, with the
    /// images the page shows as `cid:` parts beside it.
    pub fn send(&self, plain: String, page: floe_report::Page) -> Result<(), MailError> {
        self.send_as(&self.subject, plain, page)
    }

    /// Sends one message under this subject, taken as it is (no fields
    /// filled in): an alert's own.
    pub fn send_as(
        &self,
        subject: &str,
        plain: String,
        page: floe_report::Page,
    ) -> Result<(), MailError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .message_id(None)
            .user_agent(format!("floe {}", env!("CARGO_PKG_VERSION")));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let body = if page.images.is_empty() {
            MultiPart::alternative_plain_html(plain, page.html)
        } else {
            let mut related = MultiPart::related().singlepart(SinglePart::html(page.html));
            for image in page.images {
                related = related.singlepart(Attachment::new_inline(image.cid).body(
                    image.png,
                    ContentType::parse("image/png").map_err(|e| MailError::Build(e.to_string()))?,
                ));
            }
            MultiPart::alternative()
                .singlepart(SinglePart::plain(plain))
                .multipart(related)
        };
        let message = builder
            .multipart(body)
            .map_err(|e| MailError::Build(e.to_string()))?;
        match &self.via {
            Via::Sendmail(path) => {
                let what = format!("{} -t -i", path.display());
                let mut cmd = Command::new(path);
                cmd.args(["-t", "-i"]);
                pipe_into(cmd, &what, &message.formatted()).map_err(MailError::Sendmail)
            }
            Via::Smtp { server, transport } => {
                transport
                    .send(&message)
                    .map(|_| ())
                    .map_err(|e| MailError::Smtp {
                        server: server.clone(),
                        message: e.to_string(),
                    })
            }
        }
    }
}

/// The host's fully qualified name: the resolver's canonical name for
/// `host` when it has one with a dot, else `host` itself.
pub fn fully_qualified(host: &str) -> String {
    canonical_name(host)
        .filter(|c| c.contains('.') && !c.ends_with(".localdomain") && c != "localhost")
        .unwrap_or_else(|| host.to_string())
}

/// getaddrinfo's canonical name (AI_CANONNAME) for `host`.
fn canonical_name(host: &str) -> Option<String> {
    let c_host = std::ffi::CString::new(host).ok()?;
    // SAFETY: getaddrinfo gets a valid C string and zeroed hints; the
    // list it returns is read before freeaddrinfo frees it, once.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_flags = libc::AI_CANONNAME;
        hints.ai_socktype = libc::SOCK_DGRAM;
        let mut res: *mut libc::addrinfo = std::ptr::null_mut();
        if libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut res) != 0
            || res.is_null()
        {
            return None;
        }
        let name = (*res).ai_canonname;
        let out = (!name.is_null()).then(|| {
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned()
        });
        libc::freeaddrinfo(res);
        out
    }
}

/// `host[:port]` or `[v6]:port`, port 25 when absent.
fn split_host_port(s: &str) -> Result<(String, u16), MailError> {
    let bad = || MailError::Server(s.to_string());
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

/// The SMTP transport the options describe (nothing is connected yet).
fn smtp_transport(args: &MailArgs, server: &str) -> Result<SmtpTransport, MailError> {
    let (host, port) = split_host_port(server)?;
    let mut transport = SmtpTransport::builder_dangerous(host.as_str())
        .port(port)
        .timeout(Some(SMTP_TIMEOUT));
    if args.starttls {
        let mut tls = TlsParameters::builder(host.clone());
        if let Some(ca) = &args.ca {
            let fail = |message: String| MailError::Ca {
                path: ca.clone(),
                message,
            };
            let pem = std::fs::read(ca).map_err(|e| fail(e.to_string()))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| fail(e.to_string()))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls
            .build_rustls()
            .map_err(|e| MailError::Tls(e.to_string()))?;
        transport = transport.tls(Tls::Required(tls));
    }
    if let Some(user) = &args.user {
        let password =
            std::env::var(PASSWORD_ENV).map_err(|_| MailError::Password(user.clone()))?;
        transport = transport.credentials(Credentials::new(user.clone(), password));
    }
    Ok(transport.build())
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
    fn the_sender_is_the_fully_qualified_name_when_there_is_one() {
        // localhost has no dotted canonical name: the name itself.
        assert_eq!(fully_qualified("localhost"), "localhost");
        assert_eq!(
            fully_qualified("no-such-host.invalid"),
            "no-such-host.invalid"
        );
        assert_eq!(fully_qualified("no such host"), "no such host");
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
        let err = subject("%Y %Q", &utc, at, "gw1").unwrap_err().to_string();
        assert!(err.contains("--subject") && err.contains("%Q"), "{err}");
    }
}
