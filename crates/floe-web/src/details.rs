//! What one key did in the range: its top peers, ports, protocols,
//! exporters and interfaces, and a button that adds it to the graph's
//! filter (drill down). Only what floe has: no look-ups elsewhere.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use floe_query::{Measure, Query};
use maud::html;

use crate::app::{App, WebError};
use crate::graph::decode;
use crate::layout::{bytes, human, page as chrome, when};
use crate::params::time_ms;

/// The filter clause that selects flows with `value` for the key part
/// `part`, in floe's language; `None` for parts with no such test.
pub fn clause(part: &str, value: &str) -> Option<String> {
    let v = value.trim();
    // Values come from our own answers; anything else is refused rather
    // than spliced: a value is one word of address, prefix or number
    // characters.
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '/'));
    if !ok {
        return None;
    }
    let net_or_host = |dir: &str| {
        if v.contains('/') {
            format!("{dir} net {v}")
        } else {
            format!("{dir} host {v}")
        }
    };
    Some(match part {
        "ip-source-address" => net_or_host("src"),
        "ip-destination-address" => net_or_host("dst"),
        "ip-source-port" => format!("src port {v}"),
        "ip-destination-port" => format!("dst port {v}"),
        "ip-protocol" => format!("proto {v}"),
        "source-as" => format!("src as {v}"),
        "destination-as" => format!("dst as {v}"),
        "input-interface" => format!("in if {v}"),
        "output-interface" => format!("out if {v}"),
        "ip-exporter-address" => format!("exporter {v}"),
        _ => return None,
    })
}

/// The tables of the details page: (title, key).
const VIEWS: &[(&str, &str)] = &[
    ("Peers it sent to", "ip-destination-address"),
    ("Peers it received from", "ip-source-address"),
    ("Destination ports", "ip-destination-port"),
    ("Protocols", "ip-protocol"),
    ("Exporters", "ip-exporter-address"),
    ("Input interfaces", "input-interface"),
    ("Output interfaces", "output-interface"),
];

pub async fn page(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> Result<axum::response::Response, WebError> {
    use axum::response::IntoResponse;
    let mut key = None;
    let mut value = None;
    let mut from = None;
    let mut to = None;
    let mut filter = None;
    for pair in raw
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = decode(v)
            .ok_or_else(|| WebError::Bad(format!("{k}: not valid percent-encoded UTF-8")))?;
        match k {
            "key" => key = Some(v),
            "value" => value = Some(v),
            "from" => from = Some(v),
            "to" => to = Some(v),
            "filter" => filter = Some(v).filter(|f| !f.trim().is_empty()),
            other => return Err(WebError::Bad(format!("unknown parameter {other:?}"))),
        }
    }
    let (Some(key), Some(value)) = (key, value) else {
        return Err(WebError::Bad("details need a key and a value".into()));
    };
    let zone = &app.zone;
    let now = crate::now_ms();
    let from_ms = match &from {
        Some(f) => time_ms(f, zone).ok_or_else(|| {
            WebError::Bad(format!("from {f:?}: YYYY-MM-DD[ HH:MM], from 1970 to 9999"))
        })?,
        None => now - 86_400_000,
    };
    let to_ms = match &to {
        Some(t) => time_ms(t, zone).ok_or_else(|| {
            WebError::Bad(format!("to {t:?}: YYYY-MM-DD[ HH:MM], from 1970 to 9999"))
        })?,
        None => now,
    };
    let parts: Vec<&str> = key.split('/').collect();
    let values: Vec<&str> = value.split(' ').collect();
    if parts.len() != values.len() {
        return Err(WebError::Bad(format!(
            "the key {key:?} has {}, the value {value:?} {} (one value per part, separated by a space)",
            crate::layout::count(parts.len() as u64, "part"),
            values.len()
        )));
    }
    let mut clauses = Vec::new();
    for (p, v) in parts.iter().zip(&values) {
        clauses.push(
            clause(p, v)
                .ok_or_else(|| WebError::Bad(format!("{p}: no details for the value {v:?}")))?,
        );
    }
    let this = clauses.join(" and ");
    let full = match &filter {
        Some(f) => format!("({f}) and {this}"),
        None => this.clone(),
    };
    let span = (to_ms - from_ms).max(60_000);
    let interval_ms = (span + 59_999) / 60_000 * 60_000;
    let mut sections = Vec::new();
    for (title, k) in VIEWS {
        if parts.contains(k) {
            continue;
        }
        let q = Query {
            from_ms,
            to_ms,
            interval_ms,
            key: (*k).to_string(),
            src_format: None,
            dst_format: None,
            filter: Some(full.clone()),
            exporters: Vec::new(),
            measure: Measure::Octets,
            top: 10,
            only: Vec::new(),
            values: true,
        };
        let a = app.answer(q).await?;
        sections.push((*title, *k, a));
    }
    let drill = {
        let mut p = vec![
            ("filter", full.clone()),
            ("from", when(from_ms, zone)),
            ("to", when(to_ms, zone)),
        ];
        p.push(("key", "ip-destination-port".to_string()));
        format!("/graph?{}", crate::params::encode(&p))
    };
    // "Source address 10.0.0.1 and destination port 443, ...".
    let named: Vec<String> = parts
        .iter()
        .zip(&values)
        .map(|(p, v)| format!("{} {v}", crate::params::key_name(p, 1)))
        .collect();
    let title = capital(&format!(
        "{}, {} to {} ({})",
        named.join(" and "),
        when(from_ms, zone),
        when(to_ms, zone),
        zone.name()
    ));
    Ok(chrome(
        &title,
        "/graph",
        html! {
            h1 { (title) }
            p.sub { "Flows matching " code { (full) } }
            p { a.button href=(drill) { "Add to the filter and graph it" } }
            div.cols {
                @for (t, k, a) in &sections {
                    section {
                        h2 { (t) }
                        @if a.series.is_empty() {
                            p.muted { "none" }
                        } @else {
                            table {
                                thead { tr { th title=(k) { (capital(&crate::params::key_name(k, 1))) } th { "bytes" } th { "packets" } th { "flows" } th { "share" } } }
                                tbody {
                                    @for s in &a.series {
                                        @let href = format!("/details?{}", crate::params::encode(&[
                                            ("key", (*k).to_string()),
                                            ("value", s.key.join(" ")),
                                            ("from", when(from_ms, zone)),
                                            ("to", when(to_ms, zone)),
                                        ]));
                                        tr {
                                            td { a href=(href) { (s.shown()) } }
                                            td { (bytes(s.totals.octets)) }
                                            td { (human(s.totals.packets as f64)) }
                                            td { (human(s.totals.flows as f64)) }
                                            td { (format!("{:.1}%", 100.0 * s.totals.octets as f64 / a.total.totals.octets.max(1) as f64)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response())
}

/// The first letter in capitals.
fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_are_built_from_values_never_spliced() {
        assert_eq!(
            clause("ip-source-address", "10.0.0.1").unwrap(),
            "src host 10.0.0.1"
        );
        assert_eq!(
            clause("ip-destination-address", "10.0.0.0/24").unwrap(),
            "dst net 10.0.0.0/24"
        );
        assert_eq!(
            clause("ip-destination-port", "443").unwrap(),
            "dst port 443"
        );
        assert_eq!(
            clause("ip-source-address", "2001:db8::1").unwrap(),
            "src host 2001:db8::1"
        );
        assert!(clause("ip-source-address", "1.2.3.4 or proto tcp").is_none());
        assert!(clause("ip-source-address", "1.2.3.4)").is_none());
        assert!(clause("time-series", "1").is_none());
    }
}
