//! Where a finished report goes: stdout or `-o FILE` in the asked format,
//! or a mail with a plain part (text, or the asked CSV/JSON/flow-tools
//! layout) and the HTML page made for mail clients (its charts PNG
//! images in the message); and a stat-report output's own `path` (a
//! file, or `|command`). Nothing here runs before the report is whole.

use crate::args::OutputFileArg;
use crate::error::Result;
use crate::mail::Mailer;
use crate::out::Out;
use crate::pipe::pipe_into;
use crate::report::args::{Format, ReportArgs};
use crate::time::now_ms;

/// The mail, its options checked, when the report is to be mailed; its
/// subject's date is the window's start (a report run after midnight on
/// yesterday's flows is dated yesterday).
pub fn mailer(a: &ReportArgs, subject: &str, window_from: i64) -> Result<Option<Mailer>> {
    if !a.mail.wanted() {
        return Ok(None);
    }
    let at = match window_from {
        i64::MIN => now_ms(),
        from => from,
    };
    Ok(Some(Mailer::new(&a.mail, subject, &a.window.zone()?, at)?))
}

/// Where the report goes.
pub struct Delivery<'a> {
    /// The format asked.
    pub format: Format,
    /// `-o FILE`, or stdout.
    pub output: &'a OutputFileArg,
    /// The mail, when the report is mailed instead (checked before the
    /// report was computed).
    pub mailer: Option<Mailer>,
}

impl Delivery<'_> {
    /// Renders and delivers the report: `render` gives it in a format,
    /// `mail_page` as the HTML page of a mail.
    pub fn deliver(
        &self,
        render: impl Fn(Format) -> String,
        mail_page: impl FnOnce() -> floe_report::Page,
    ) -> Result<()> {
        match &self.mailer {
            None => {
                let mut out = Out::open(self.output.output.as_deref())?;
                out.text(&render(self.format))?;
                out.finish()
            }
            Some(m) => {
                let plain = render(match self.format {
                    Format::Text | Format::Html => Format::Text,
                    other => other,
                });
                Ok(m.send(plain, mail_page())?)
            }
        }
    }
}

/// A stat-report output's `path` (its strftime fields filled in):
/// a file (its directories made), or with a leading `|` a command run by
/// sh with the output on its standard input. `template` names it in
/// errors.
pub fn write_path(template: &str, path: &str, text: &str) -> Result<()> {
    if let Some(cmd) = path.strip_prefix('|') {
        let mut sh = std::process::Command::new("sh");
        sh.args(["-c", cmd]);
        return Ok(pipe_into(
            sh,
            &format!("path {template}: {cmd}"),
            text.as_bytes(),
        )?);
    }
    let p = std::path::Path::new(path);
    let fail = |what: &std::path::Path, e: std::io::Error| {
        crate::error::CliError::Output(std::io::Error::new(
            e.kind(),
            format!("path {template}: {}: {e}", what.display()),
        ))
    };
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    }
    std::fs::write(p, text).map_err(|e| fail(p, e))
}
