//! An alert that fires or clears, as actions, logs and the web page get
//! it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::agg::Sums;
use crate::value::{human, Key};

/// Firing or resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventState {
    /// The condition holds: the alert fires.
    Firing,
    /// The condition no longer holds: the alert clears.
    Resolved,
}

impl EventState {
    /// Its name in text and JSON: `firing` or `resolved`.
    pub fn name(&self) -> &'static str {
        match self {
            EventState::Firing => "firing",
            EventState::Resolved => "resolved",
        }
    }
}

/// One key of the window's traffic, listed with an alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopRow {
    /// The key (its values; the column names are the event's).
    pub key: Key,
    /// The rule's metric for the key (for a rule without a key: what the
    /// key contributes to it, by octets, packets or flows).
    pub value: f64,
    /// Its flows, packets and octets (none for a distinct count by key,
    /// whose table keeps the counts alone).
    pub sums: Option<Sums>,
}

/// An alert event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Firing or resolved.
    pub state: EventState,
    /// The rule's name.
    pub rule: String,
    /// The check within the rule (a quota level, `ports`); empty for a
    /// plain rule.
    pub check: String,
    /// The preset the rule was made from, if any.
    pub preset: Option<String>,
    /// The key that fired (the empty key for a rule without one).
    pub key: Key,
    /// The key's column names.
    pub key_columns: Vec<String>,
    /// The rule's metric, by name (`octets`, `bits/s`, ...).
    pub metric: String,
    /// The metric's value for the key: over the window, or so far when the
    /// window is not complete.
    pub value: f64,
    /// The condition in words.
    pub condition: String,
    /// The value it had to pass (with an average: the larger of the
    /// absolute value and K times the average).
    pub threshold: Option<f64>,
    /// The key's average per window over the rule's past period.
    pub average: Option<f64>,
    /// The window's kind and bounds (UTC ms).
    pub window: String,
    /// The window's start (UTC ms).
    pub window_start: i64,
    /// The window's end (UTC ms, exclusive).
    pub window_end: i64,
    /// False when the alert fired on a running total before the window
    /// ended.
    pub window_complete: bool,
    /// The end of the file whose evaluation gave the event (UTC ms).
    pub at_ms: i64,
    /// That file's name.
    pub file: String,
    /// Windows in a row the condition has held.
    pub consecutive: u32,
    /// The top keys of the window's traffic for this rule, and their
    /// column names (the rule's key, or its `top_by`).
    pub top: Vec<TopRow>,
    /// The column names of the keys in `top`.
    pub top_columns: Vec<String>,
}

impl Event {
    /// The key as `column=value ...`, or `all traffic`.
    pub fn key_text(&self) -> String {
        if self.key.is_empty() {
            return "all traffic".into();
        }
        self.key_columns
            .iter()
            .zip(self.key.parts())
            .map(|(c, v)| format!("{c}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Rule and check: `quota[90%]`, `scan`.
    pub fn title(&self) -> String {
        if self.check.is_empty() {
            self.rule.clone()
        } else {
            format!("{}[{}]", self.rule, self.check)
        }
    }

    /// One line for people.
    pub fn line(&self, zone: &floe_store::Zone) -> String {
        let t = |ms: i64| zone.at(ms).format("%Y-%m-%d %H:%M").to_string();
        let mut s = format!(
            "{} {} {}: {} {} = {}",
            t(self.at_ms),
            self.state.name(),
            self.title(),
            self.key_text(),
            self.metric,
            human(self.value),
        );
        if self.state == EventState::Firing {
            s.push_str(&format!(" ({})", self.condition));
        }
        s.push_str(&format!(
            ", {} {} to {}{}",
            self.window,
            t(self.window_start),
            t(self.window_end),
            if self.window_complete {
                ""
            } else {
                " (so far)"
            }
        ));
        s
    }

    /// The event as JSON, times in `zone` (RFC 3339) and in ms.
    pub fn to_json(&self, zone: &floe_store::Zone, host: &str) -> Value {
        let t = |ms: i64| zone.at(ms).to_rfc3339();
        let key_obj = |k: &Key| -> Value {
            let mut m = serde_json::Map::new();
            for (c, v) in self.key_columns.iter().zip(k.parts()) {
                m.insert(c.clone(), Value::String(v.to_string()));
            }
            Value::Object(m)
        };
        let top: Vec<Value> = self
            .top
            .iter()
            .map(|r| {
                let mut row = json!({
                    "key": r.key.parts().iter().map(|v| v.to_string()).collect::<Vec<_>>(),
                    "value": r.value,
                });
                if let Some(s) = &r.sums {
                    row["flows"] = json!(s.flows);
                    row["packets"] = json!(s.packets);
                    row["octets"] = json!(s.octets);
                }
                row
            })
            .collect();
        json!({
            "state": self.state.name(),
            "rule": self.rule,
            "check": self.check,
            "preset": self.preset,
            "key": key_obj(&self.key),
            "metric": self.metric,
            "value": self.value,
            "condition": self.condition,
            "threshold": self.threshold,
            "average": self.average,
            "window": {
                "kind": self.window,
                "start": t(self.window_start),
                "end": t(self.window_end),
                "start_ms": self.window_start,
                "end_ms": self.window_end,
                "complete": self.window_complete,
            },
            "at": t(self.at_ms),
            "at_ms": self.at_ms,
            "file": self.file,
            "consecutive": self.consecutive,
            "top_columns": self.top_columns,
            "top": top,
            "host": host,
        })
    }
}
