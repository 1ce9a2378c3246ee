//! `floe report -r time-series/KEY --series N`: the top N keys over time,
//! the rest summed as "other", asked of the query layer exactly as
//! `floe web`'s graph asks it (the same code, so the page, its downloads
//! and this report agree to the byte on the same store).

use floe_query::{Answer, Backend, LocalStore, Measure, Query};
use floe_report::{KeyPart, ReportType};
use floe_store::Zone;

use crate::error::{CliError, Result};
use crate::report::args::{Format, ReportArgs};
use crate::report::deliver::{mailer, Delivery};
use crate::time::Window;

/// The key of a `time-series/KEY` type (its other parts, in order).
fn key_of(types: &[String]) -> Result<String> {
    let [t] = types else {
        return Err(CliError::Usage(
            "--series answers one type: -r time-series/KEY (e.g. -r time-series/ip-source-address)"
                .into(),
        ));
    };
    let kind = ReportType::parse(t)?;
    if !kind.parts.contains(&KeyPart::Interval) {
        return Err(CliError::Usage(format!(
            "--series needs a time series of a key: -r time-series/{t}"
        )));
    }
    let key: Vec<&str> = t.split('/').filter(|p| *p != "time-series").collect();
    if key.is_empty() {
        return Err(CliError::Usage(
            "--series needs a key beside time-series: -r time-series/ip-source-address".into(),
        ));
    }
    Ok(key.join("/"))
}

/// What ranks the series: `--sort +octets|+packets|+flows`.
fn measure_of(sort: Option<&str>) -> Result<Measure> {
    match sort {
        None => Ok(Measure::Octets),
        Some(s) => match s.strip_prefix('+').and_then(|f| Measure::parse(f).ok()) {
            Some(m) => Ok(m),
            None => Err(CliError::Usage(format!(
                "--series ranks keys by +octets, +packets or +flows, not --sort {s}"
            ))),
        },
    }
}

/// The window, closed on the store's own extent where the flags left it
/// open.
fn range(w: Window, store: &std::path::Path) -> Result<(i64, i64)> {
    if w.from != i64::MIN && w.to != i64::MAX {
        return Ok((w.from, w.to));
    }
    let files = floe_store::walk(store)?;
    let first = files.iter().map(|f| f.start_ms).min();
    let last = files.iter().map(|f| f.end_estimate_ms()).max();
    match (first, last) {
        (Some(a), Some(b)) => Ok((
            if w.from == i64::MIN { a } else { w.from },
            if w.to == i64::MAX { b } else { w.to },
        )),
        _ => Err(CliError::NoFiles {
            what: "floe",
            under: vec![store.to_path_buf()],
        }),
    }
}

pub fn run(a: &ReportArgs, top: usize) -> Result<()> {
    if a.stat_config.is_some() {
        return Err(CliError::Usage(
            "--series is a one-liner (-r time-series/KEY); stat-report files have `time-series N`"
                .into(),
        ));
    }
    let key = key_of(&a.kinds)?;
    let measure = measure_of(a.sort.as_deref())?;
    let store =
        match a.input.paths.as_slice() {
            [p] if p.is_dir() => p.clone(),
            _ => return Err(CliError::Usage(
                "--series reads a store: give one directory (floe web's graph asks the same of it)"
                    .into(),
            )),
        };
    if a.interval == 0 {
        return Err(CliError::Usage(
            "--interval must be at least 1 second".into(),
        ));
    }
    let zone = a.window.zone()?;
    let (from_ms, to_ms) = range(a.window.window_now()?, &store)?;
    let q = Query {
        from_ms,
        to_ms,
        interval_ms: a.interval.saturating_mul(1000).min(i64::MAX as u64) as i64,
        key,
        src_format: a.src_format.clone(),
        dst_format: a.dst_format.clone(),
        filter: a.filter.clone(),
        exporters: Vec::new(),
        measure,
        top,
        only: Vec::new(),
        values: true,
    };
    let format = a.format.get();
    if format == Format::FlowTools {
        return Err(CliError::Usage(
            "--series gives text, csv, json or html; flow-report's layout has no top N over time"
                .into(),
        ));
    }
    let title = format!("{} over time", a.kinds[0]);
    let mailer = mailer(a, &title, from_ms)?;
    let mut backend = LocalStore::new(&store)
        .with_max_keys(a.max_keys)
        .with_filter_options(
            floe_filter::Options::default().with_zone(floe_query::ZoneClock(zone.clone())),
        );
    if let Some(t) = a.threads.threads {
        backend = backend.with_threads(t);
    }
    let mut answer = backend.answer(&q)?;
    if a.numeric.numeric {
        for s in &mut answer.series {
            s.name = None;
        }
    }
    if answer.total.stats.total == 0 && answer.total.totals.flows == 0 {
        return Err(CliError::NoFlows(format!(
            "in {} under {}",
            Window {
                from: from_ms,
                to: to_ms
            }
            .describe(&zone),
            store.display()
        )));
    }
    let damaged = answer.stats.errors.len();
    for e in &answer.stats.errors {
        crate::error::warn(e);
    }
    let delivery = Delivery {
        format,
        output: &a.output,
        mailer,
    };
    delivery.deliver(
        |f| render(f, &q, &answer, &zone, &title),
        // A table of numbers: nothing a mail client drops.
        || floe_report::Page {
            html: render(Format::Html, &q, &answer, &zone, &title),
            images: Vec::new(),
        },
    )?;
    if damaged > 0 {
        return Err(CliError::Damaged(damaged));
    }
    Ok(())
}

fn render(f: Format, q: &Query, a: &Answer, zone: &Zone, title: &str) -> String {
    let time = |ms: i64| zone.strftime(ms, "%Y-%m-%d %H:%M").unwrap_or_default();
    match f {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&serde_json::json!({
                "query": q,
                "answer": a,
            }))
            .unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Csv => floe_query::render::csv(a),
        Format::Html => floe_query::render::html(a, &time, title),
        Format::Text | Format::FlowTools => {
            format!("# {title}\n{}", floe_query::render::table(a, &time))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_measures() {
        assert_eq!(
            key_of(&["time-series/ip-source-address".into()]).unwrap(),
            "ip-source-address"
        );
        assert_eq!(
            key_of(&["ip-source-address/time-series/ip-destination-port".into()]).unwrap(),
            "ip-source-address/ip-destination-port"
        );
        assert!(key_of(&["time-series".into()]).is_err());
        assert!(key_of(&["ip-source-address".into()]).is_err());
        assert!(key_of(&[]).is_err());
        assert_eq!(measure_of(Some("+flows")).unwrap(), Measure::Flows);
        assert_eq!(measure_of(None).unwrap(), Measure::Octets);
        assert!(measure_of(Some("-octets")).is_err());
        assert!(measure_of(Some("+duration")).is_err());
    }
}
