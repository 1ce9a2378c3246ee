//! `floe alert`: rules over the store's closed files (floe-alert), and
//! their actions: a mail through the report mailer, a command given the
//! alert as JSON on stdin, a JSON line in a log file. Every event is also
//! printed (a line, or JSON with -f json), so a run from floed's
//! on_rotate or a timer leaves it in the journal.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use floe_alert::rules::{self, Rule, RuleSet};
use floe_alert::{Engine, Event, EventState, State, StateLock};
use floe_store::{TreeFile, Zone};

use crate::args::{FormatArg, WindowArgs};
use crate::error::{warn, CliError, Result};
use crate::mail::{MailArgs, Mailer};
use crate::out::Out;
use crate::sources::no_such_path;
use crate::time::now_ms;

/// How events are printed.
#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// One line per event, for people and logs.
    #[default]
    Text,
    /// One JSON document per line per event (what commands and logs get).
    Json,
}

/// Evaluate alert rules on the closed files of a store, and act.
///
/// Every closed file not yet counted is read once for all the rules; the
/// state file records the files counted, the open windows, streaks,
/// holds, averages and open alerts (DIR/.floe-alert.state unless --state
/// names another), so that the next run (floed's on_rotate, a timer,
/// cron) neither repeats nor misses one.
///
/// Example: floe alert --rules /etc/floe/alerts.toml /var/lib/floe
///
/// Check a rules file: floe alert --check /etc/floe/alerts.toml; what
/// yesterday would have fired: floe alert --rules alerts.toml --day
/// yesterday /var/lib/floe.
///
/// With a window (-t/-T, --last, --day) the range is evaluated afresh,
/// apart from the state, and nothing is done unless --act: it shows what
/// would have fired.
#[derive(Args, Debug)]
pub struct AlertArgs {
    /// Check rather than only run: info also reads every block (checksums,
    /// decoding) to find damage the index cannot show; alert checks the
    /// rules file (errors name the file, line, column and rule) and
    /// evaluates nothing.
    #[arg(long)]
    pub check: bool,
    /// The rules file (TOML; crates/floe-alert/alerts.toml is a commented
    /// example).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    #[command(flatten)]
    pub state: crate::args::StateArg,
    /// Show what would fire; run no action and leave the state file as it
    /// was.
    #[arg(long)]
    pub dry_run: bool,
    /// With a window (-t/-T, --last, --day): run the actions too, not only
    /// show what would have fired.
    #[arg(long, conflicts_with = "dry_run")]
    pub act: bool,
    #[command(flatten)]
    pub format: FormatArg<Format>,
    #[command(flatten)]
    pub threads: crate::args::ThreadsArg,
    #[command(flatten)]
    pub window: WindowArgs,
    /// The store's directory, then optionally the file floed just closed
    /// (on_rotate appends it; every closed file not counted yet is read
    /// anyway). With --check: the rules file.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

fn rules_error(e: floe_alert::RulesError) -> CliError {
    if e.line == 0 && e.rule.is_none() {
        // The file itself could not be read.
        return CliError::Read {
            path: PathBuf::from(&e.file),
            source: std::io::Error::other(e.message),
        };
    }
    CliError::Usage(e.to_string())
}

/// The mailers of the rules that mail, every option checked before a
/// file is read.
fn mailers(set: &RuleSet, zone: &Zone) -> Result<BTreeMap<String, Mailer>> {
    let mut out = BTreeMap::new();
    for r in set.rules.iter().filter(|r| !r.actions.mail_to.is_empty()) {
        let m = &set.mail;
        let args = MailArgs {
            mail_to: r.actions.mail_to.clone(),
            mail_from: m.from.clone(),
            subject: None,
            smtp: m.smtp.clone(),
            starttls: m.starttls,
            ca: m.ca.clone(),
            user: m.user.clone(),
            sendmail: m.sendmail.clone(),
        };
        let mailer = Mailer::new(&args, "floe alert", zone, 0).map_err(|e| {
            CliError::Usage(format!("{}: rule {:?}: {e}", set.path.display(), r.name))
        })?;
        out.insert(r.name.clone(), mailer);
    }
    Ok(out)
}

pub fn run(a: AlertArgs) -> Result<()> {
    let cli_zone = a.window.zone()?;
    if a.check {
        let path = match (&a.rules, a.paths.as_slice()) {
            (Some(p), []) => p.clone(),
            (None, [p]) => p.clone(),
            _ => {
                return Err(CliError::Usage(
                    "--check takes one rules file: floe alert --check RULES".into(),
                ))
            }
        };
        let set = rules::load(&path, &cli_zone).map_err(rules_error)?;
        mailers(&set, &set.zone_or(&cli_zone))?;
        let checks: usize = set.rules.iter().map(|r| r.checks.len()).sum();
        let mut out = Out::open(None)?;
        out.text(&set.describe())?;
        out.text(&format!(
            "{}: {} rules, {} checks, {} tables: OK\n",
            path.display(),
            set.rules.len(),
            checks,
            set.aggs.len()
        ))?;
        return out.finish();
    }
    let rules_path = a.rules.clone().ok_or_else(|| {
        CliError::Usage("--rules FILE is needed (or --check RULES to check a rules file)".into())
    })?;
    let dir = a.paths.first().ok_or_else(|| {
        CliError::Usage("give the store's directory: floe alert --rules FILE DIR".into())
    })?;
    if !dir.is_dir() {
        return Err(if dir.exists() {
            CliError::Usage(format!(
                "{}: not a directory; floe alert reads a store's directory",
                dir.display()
            ))
        } else {
            no_such_path(dir)
        });
    }
    // What follows the directory is the file floed just closed (on_rotate
    // appends it): a file of this store, or a mistake worth saying.
    let root = dir.canonicalize().map_err(|e| CliError::Read {
        path: dir.clone(),
        source: e,
    })?;
    for p in &a.paths[1..] {
        let parent = p
            .parent()
            .and_then(|d| d.canonicalize().ok())
            .unwrap_or_default();
        if p.is_dir() || !parent.starts_with(&root) {
            return Err(CliError::Usage(format!(
                "{}: not a file of the store {}; floe alert reads one store, and after it only the file floed's on_rotate gives",
                p.display(),
                dir.display()
            )));
        }
    }
    let set = rules::load(&rules_path, &cli_zone).map_err(rules_error)?;
    let zone = set.zone_or(&cli_zone);
    let mailers = mailers(&set, &zone)?;
    let past = a.window.start.is_some()
        || a.window.end.is_some()
        || a.window.last.is_some()
        || a.window.day.is_some();
    let all: Vec<TreeFile> = floe_store::walk(dir)?;
    let closed: Vec<TreeFile> = all.iter().filter(|f| !f.tmp).cloned().collect();
    if closed.is_empty() {
        return Err(CliError::NoFiles {
            what: "floe",
            under: vec![dir.clone()],
        });
    }
    let state_path = a
        .state
        .state
        .clone()
        .unwrap_or_else(|| dir.join(floe_alert::STATE_FILE));
    let mut out = Out::open(None)?;
    let host = floe_store::host_name();
    let mut run = Run {
        format: a.format.get(),
        zone: zone.clone(),
        host,
        mailers,
        failures: 0,
    };
    if past {
        let w = a.window.window_now()?;
        let files: Vec<TreeFile> = closed
            .into_iter()
            .filter(|f| f.start_ms >= w.from && f.start_ms < w.to)
            .collect();
        let Some(first) = files.first() else {
            return Err(CliError::NoFlows(w.describe(&zone)));
        };
        let mut engine = Engine::new(set, zone.clone(), None);
        if let Some(t) = a.threads.threads {
            engine.threads = t.max(1);
        }
        engine.start_at(first);
        let mut damaged = 0;
        for f in &files {
            if !engine.wants(f) {
                continue;
            }
            match engine.process(f) {
                Ok(o) => {
                    for w in &o.warnings {
                        warn(w);
                    }
                    for e in &o.events {
                        run.show(&mut out, e)?;
                        if a.act {
                            run.act(&engine.rules, e);
                        }
                    }
                }
                Err(e) => {
                    warn(e);
                    damaged += 1;
                }
            }
        }
        out.finish()?;
        return run.status(damaged);
    }
    let _lock = StateLock::acquire(&state_path)?;
    let state = State::load(&state_path)?;
    let mut engine = Engine::new(set, zone.clone(), state.as_ref());
    if let Some(t) = a.threads.threads {
        engine.threads = t.max(1);
    }
    let newest = closed.last().cloned().unwrap_or_else(|| closed[0].clone());
    engine.begin(&closed, &newest);
    let act = !a.dry_run;
    let mut damaged = 0;
    for f in &closed {
        if !engine.wants(f) {
            continue;
        }
        match engine.process(f) {
            Ok(o) => {
                for w in &o.warnings {
                    warn(w);
                }
                if !o.late.is_empty() {
                    warn(format!(
                        "{}: came after its window was evaluated (rules {}); not counted. `floe alert -t ... -T ...` shows what it would have fired",
                        f.path.display(),
                        o.late.join(", ")
                    ));
                }
                for e in &o.events {
                    run.show(&mut out, e)?;
                    if act {
                        run.act(&engine.rules, e);
                    }
                }
                // After actions, before the next file: a crash repeats
                // this file's actions at most, and never loses them.
                if act && !o.events.is_empty() {
                    engine.state(&rules_path, now_ms()).save(&state_path)?;
                }
            }
            Err(e) => {
                warn(e);
                damaged += 1;
            }
        }
    }
    if act {
        engine.state(&rules_path, now_ms()).save(&state_path)?;
    }
    out.finish()?;
    run.status(damaged)
}

/// What a run does with events.
struct Run {
    format: Format,
    zone: Zone,
    host: String,
    mailers: BTreeMap<String, Mailer>,
    failures: usize,
}

impl Run {
    fn show(&self, out: &mut Out, e: &Event) -> Result<()> {
        let line = match self.format {
            Format::Text => e.line(&self.zone),
            Format::Json => e.to_json(&self.zone, &self.host).to_string(),
        };
        writeln!(out, "{line}").map_err(CliError::Output)?;
        // Events are seen as they happen (a long catch-up, the journal).
        out.flush().map_err(CliError::Output)
    }

    /// Runs the rule's actions; a failure is said and counted, and the
    /// other actions still run.
    fn act(&mut self, rules: &RuleSet, e: &Event) {
        let Some(rule) = rules.rule(&e.rule) else {
            return;
        };
        if e.state == EventState::Resolved && !rule.resolved {
            return;
        }
        let json = e.to_json(&self.zone, &self.host).to_string();
        if let Some(path) = &rule.actions.log {
            if let Err(m) = floe_alert::actions::append_line(path, &json) {
                self.fail(rule, m);
            }
        }
        if let Some(argv) = &rule.actions.command {
            let mut input = json.clone().into_bytes();
            input.push(b'\n');
            if let Err(m) =
                floe_alert::actions::run_command(argv, &input, floe_alert::actions::COMMAND_TIMEOUT)
            {
                self.fail(rule, m);
            }
        }
        if let Some(m) = self.mailers.get(&rule.name) {
            let subject = subject(rule, e, &self.host);
            let (plain, html) = bodies(e, &self.zone, &self.host);
            let page = floe_report::Page {
                html,
                images: Vec::new(),
            };
            if let Err(err) = m.send_as(&subject, plain, page) {
                self.fail(rule, err.to_string());
            }
        }
    }

    fn fail(&mut self, rule: &Rule, message: String) {
        warn(format!("rule {:?}: {message}", rule.name));
        self.failures += 1;
    }

    fn status(&self, damaged: usize) -> Result<()> {
        if self.failures > 0 {
            return Err(CliError::Actions(self.failures));
        }
        if damaged > 0 {
            return Err(CliError::Damaged(damaged));
        }
        Ok(())
    }
}

/// The default subject.
const SUBJECT: &str = "floe {state}: {rule} {check} {key} {metric} {value} on {host}";

/// The subject, fields filled in, on one line.
fn subject(rule: &Rule, e: &Event, host: &str) -> String {
    let t = rule.actions.subject.as_deref().unwrap_or(SUBJECT);
    let text = floe_alert::template::render(t, |f| {
        Some(match f {
            "rule" => e.rule.clone(),
            "check" => e.check.clone(),
            "state" => e.state.name().to_string(),
            "key" => e.key_text(),
            "metric" => e.metric.clone(),
            "value" => floe_alert::human(e.value),
            "condition" => e.condition.clone(),
            "threshold" => e.threshold.map(floe_alert::human).unwrap_or_default(),
            "window" => e.window.clone(),
            "host" => host.to_string(),
            "preset" => e.preset.clone().unwrap_or_default(),
            _ => String::new(),
        })
    })
    .unwrap_or_else(|_| format!("floe {}: {}", e.state.name(), e.title()));
    // One line: no control character reaches a header.
    text.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The mail's plain and HTML parts.
fn bodies(e: &Event, zone: &Zone, host: &str) -> (String, String) {
    let t = |ms: i64| zone.at(ms).format("%Y-%m-%d %H:%M %z").to_string();
    let mut facts: Vec<(&str, String)> = vec![
        ("state", e.state.name().to_string()),
        ("rule", e.title()),
        ("key", e.key_text()),
        (
            "value",
            format!("{} {}", floe_alert::human(e.value), e.metric),
        ),
        ("condition", e.condition.clone()),
    ];
    if let Some(th) = e.threshold {
        facts.push(("threshold", floe_alert::human(th)));
    }
    if let Some(avg) = e.average {
        facts.push(("average", floe_alert::human(avg)));
    }
    facts.push((
        "window",
        format!(
            "{} {} to {}{}",
            e.window,
            t(e.window_start),
            t(e.window_end),
            if e.window_complete { "" } else { " (so far)" }
        ),
    ));
    if e.consecutive > 1 {
        facts.push(("windows in a row", e.consecutive.to_string()));
    }
    facts.push(("file", e.file.clone()));
    facts.push(("host", host.to_string()));
    let mut plain = String::new();
    for (k, v) in &facts {
        plain.push_str(&format!("{k:>16}: {v}\n"));
    }
    let cols = if e.top_columns.is_empty() {
        "key".to_string()
    } else {
        e.top_columns.join(" ")
    };
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>floe alert</title></head>\
         <body style=\"font-family:sans-serif\"><table>",
    );
    for (k, v) in &facts {
        html.push_str(&format!(
            "<tr><th style=\"text-align:right\">{}</th><td>{}</td></tr>",
            esc(k),
            esc(v)
        ));
    }
    html.push_str("</table>");
    if !e.top.is_empty() {
        // Rules counting distinct values by key list the counts alone.
        let with_sums = e.top.iter().any(|r| r.sums.is_some());
        let extra = if with_sums {
            ", flows, packets, octets"
        } else {
            ""
        };
        plain.push_str(&format!(
            "\nTop {} of the window ({}{extra}):\n",
            cols, e.metric
        ));
        html.push_str(&format!(
            "<h3>Top {} of the window</h3><table><tr><th>{}</th><th>{}</th>{}</tr>",
            esc(&cols),
            esc(&cols),
            esc(&e.metric),
            if with_sums {
                "<th>flows</th><th>packets</th><th>octets</th>"
            } else {
                ""
            }
        ));
        for r in &e.top {
            let key = r.key.to_text();
            let mark = if r.key == e.key { " <" } else { "" };
            let value = floe_alert::human(r.value);
            match &r.sums {
                Some(s) => {
                    plain.push_str(&format!(
                        "  {key:<40} {value:>10} {:>10} {:>10} {:>12}{mark}\n",
                        s.flows, s.packets, s.octets
                    ));
                    html.push_str(&format!(
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(&key),
                        esc(&value),
                        s.flows,
                        s.packets,
                        s.octets
                    ));
                }
                None => {
                    plain.push_str(&format!("  {key:<40} {value:>10}{mark}\n"));
                    html.push_str(&format!(
                        "<tr><td>{}</td><td>{}</td></tr>",
                        esc(&key),
                        esc(&value)
                    ));
                }
            }
        }
        html.push_str("</table>");
    }
    html.push_str("</body></html>\n");
    (plain, html)
}
