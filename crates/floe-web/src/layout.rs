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

/// A time in the server's zone, to the minute.
pub fn when(ms: i64, zone: &floe_store::Zone) -> String {
    zone.at(ms).format("%Y-%m-%d %H:%M").to_string()
}
