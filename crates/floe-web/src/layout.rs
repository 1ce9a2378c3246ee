//! The chrome every page shares: head (the embedded stylesheet and
//! scripts, nothing from elsewhere), the navigation, and the number
//! formats.

use axum::response::Html;
use maud::{html, Markup, DOCTYPE};

/// The sections in the navigation: (path, name).
const NAV: &[(&str, &str)] = &[
    ("/graph", "Graph"),
    ("/hosts", "Hosts by month"),
    ("/days", "Days"),
    ("/exporters", "Exporters"),
    ("/live", "Live"),
    ("/alerts", "Alerts"),
];

/// A whole page.
pub fn page(title: &str, here: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " — floe" }
                    // No icon: browsers would ask for /favicon.ico.
                    link rel="icon" href="data:,";
                    link rel="stylesheet" href="/static/uplot.css";
                    link rel="stylesheet" href="/static/floe.css";
                    script src="/static/uplot.js" defer {}
                    script src="/static/floe.js" defer {}
                }
                body {
                    header {
                        span.brand { "floe" }
                        nav {
                            @for (path, name) in NAV {
                                a href=(path) class=[(*path == here).then_some("here")] { (name) }
                            }
                        }
                    }
                    main { (body) }
                }
            }
        }
        .into_string(),
    )
}

/// 1234567 as 1.23 M (powers of 1000), the way rates are read.
pub fn human(v: f64) -> String {
    let units = ["", "k", "M", "G", "T", "P"];
    let (mut v, mut i) = (v, 0);
    while v.abs() >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    match (i, v < 10.0) {
        (0, _) => format!("{v:.0}"),
        (_, true) => format!("{v:.2} {}", units[i]),
        _ => format!("{v:.1} {}", units[i]),
    }
}

/// A byte count: `512 B`, `2.18 MB`.
pub fn bytes(v: u64) -> String {
    let h = human(v as f64);
    if h.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{h} B")
    } else {
        format!("{h}B")
    }
}

/// An interval's length in words: `1-minute`, `10-minute`, `1-hour`, `1-day`.
pub fn interval_words(ms: i64) -> String {
    match ms {
        m if m % 86_400_000 == 0 => format!("{}-day", m / 86_400_000),
        m if m % 3_600_000 == 0 => format!("{}-hour", m / 3_600_000),
        m if m % 60_000 == 0 => format!("{}-minute", m / 60_000),
        m => format!("{}-second", m / 1000),
    }
}

/// A time in the server's zone, to the minute.
pub fn when(ms: i64, zone: &floe_store::Zone) -> String {
    zone.at(ms).format("%Y-%m-%d %H:%M").to_string()
}

/// `n` and the noun, plural unless one: "1 host", "3 hosts", "0 files".
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Who answered, when not the store's files (`clickhouse`...).
pub fn backend_words(backend: &str) -> String {
    match backend {
        "clickhouse" => "Answered by ClickHouse.".to_string(),
        other => format!("Answered by the {other} backend."),
    }
}
