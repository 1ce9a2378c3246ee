//! Data that arrived before its template, held for a while.
//!
//! Exporters send templates every few minutes or datagrams; a collector
//! that starts (or restarts without its template file) sees data first.
//! Such data sets are copied here with the header fields of their message
//! and decoded, in arrival order, when their template comes. What waits
//! longer than the configured time, or is pushed out by newer early data
//! beyond the limits, is given back to be counted, per template id.

use std::collections::{HashMap, VecDeque};

use crate::events::Expiry;

/// What a data set needs from its message to be decoded later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MessageTimes {
    pub export_secs: u32,
    pub sys_uptime_ms: Option<u32>,
}

/// One held data set.
#[derive(Debug)]
pub(crate) struct HeldSet {
    pub template_id: u16,
    pub since_ms: i64,
    pub times: MessageTimes,
    pub body: Vec<u8>,
}

/// Limits of one stream's held data.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HoldLimits {
    /// Distinct template ids data is held for.
    pub templates: usize,
    /// Bytes of data held.
    pub bytes: usize,
    /// How long data waits, ms.
    pub ttl_ms: i64,
}

/// The early data of one exporter stream.
#[derive(Debug, Default)]
pub(crate) struct Held {
    sets: VecDeque<HeldSet>,
    bytes: usize,
    /// Sets held per template id.
    per_id: HashMap<u16, usize>,
}

/// Sets dropped, by template id and why.
pub(crate) type Dropped = Vec<(u16, u64, Expiry)>;

fn note(dropped: &mut Dropped, id: u16, why: Expiry) {
    match dropped.iter_mut().find(|d| d.0 == id && d.2 == why) {
        Some(d) => d.1 += 1,
        None => dropped.push((id, 1, why)),
    }
}

impl Held {
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Bytes of data held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Drops the oldest held set, to make room over all streams.
    pub fn drop_oldest(&mut self, dropped: &mut Dropped) {
        if let Some(old) = self.pop_front() {
            note(dropped, old.template_id, Expiry::NoRoom);
        }
    }

    fn pop_front(&mut self) -> Option<HeldSet> {
        let s = self.sets.pop_front()?;
        self.bytes -= s.body.len();
        if let Some(n) = self.per_id.get_mut(&s.template_id) {
            *n -= 1;
            if *n == 0 {
                self.per_id.remove(&s.template_id);
            }
        }
        Some(s)
    }

    /// Holds a data set (unless it alone exceeds the byte limit), making
    /// room by dropping the oldest held sets; returns what was dropped.
    pub fn hold(&mut self, set: HeldSet, limits: HoldLimits, dropped: &mut Dropped) {
        if set.body.len() > limits.bytes || limits.templates == 0 {
            note(dropped, set.template_id, Expiry::NoRoom);
            return;
        }
        let new_id = !self.per_id.contains_key(&set.template_id);
        while self.bytes + set.body.len() > limits.bytes
            || (new_id
                && self.per_id.len() >= limits.templates
                && !self.per_id.contains_key(&set.template_id))
        {
            match self.pop_front() {
                Some(old) => note(dropped, old.template_id, Expiry::NoRoom),
                None => break,
            }
        }
        self.bytes += set.body.len();
        *self.per_id.entry(set.template_id).or_default() += 1;
        self.sets.push_back(set);
    }

    /// Takes the sets held for `template_id`, oldest first.
    pub fn take(&mut self, template_id: u16) -> Vec<HeldSet> {
        if !self.per_id.contains_key(&template_id) {
            return Vec::new();
        }
        let (mine, rest): (VecDeque<HeldSet>, VecDeque<HeldSet>) = std::mem::take(&mut self.sets)
            .into_iter()
            .partition(|s| s.template_id == template_id);
        self.sets = rest;
        self.per_id.remove(&template_id);
        self.bytes -= mine.iter().map(|s| s.body.len()).sum::<usize>();
        mine.into()
    }

    /// Drops what has waited longer than `ttl_ms` at `now_ms`.
    pub fn expire(&mut self, now_ms: i64, ttl_ms: i64, dropped: &mut Dropped) {
        while self
            .sets
            .front()
            .is_some_and(|s| now_ms.saturating_sub(s.since_ms) > ttl_ms)
        {
            if let Some(old) = self.pop_front() {
                note(dropped, old.template_id, Expiry::Waited);
            }
        }
    }

    /// Drops everything (the stream is forgotten).
    pub fn clear(&mut self, dropped: &mut Dropped) {
        while let Some(old) = self.pop_front() {
            note(dropped, old.template_id, Expiry::StreamForgotten);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(id: u16, at: i64, len: usize) -> HeldSet {
        HeldSet {
            template_id: id,
            since_ms: at,
            times: MessageTimes {
                export_secs: 0,
                sys_uptime_ms: None,
            },
            body: vec![0; len],
        }
    }

    const LIMITS: HoldLimits = HoldLimits {
        templates: 2,
        bytes: 100,
        ttl_ms: 1000,
    };

    #[test]
    fn bounded_by_bytes_ids_and_time() {
        let mut h = Held::default();
        let mut d = Vec::new();
        h.hold(set(256, 0, 40), LIMITS, &mut d);
        h.hold(set(256, 10, 40), LIMITS, &mut d);
        h.hold(set(257, 20, 40), LIMITS, &mut d);
        assert_eq!(d, [(256, 1, Expiry::NoRoom)]);
        d.clear();
        h.hold(set(258, 30, 10), LIMITS, &mut d);
        assert_eq!(d, [(256, 1, Expiry::NoRoom)]);
        d.clear();
        h.hold(set(259, 40, 200), LIMITS, &mut d);
        assert_eq!(d, [(259, 1, Expiry::NoRoom)]);
        d.clear();
        assert_eq!(h.take(258).len(), 1);
        h.expire(1021, 1000, &mut d);
        assert_eq!(d, [(257, 1, Expiry::Waited)]);
        assert!(h.is_empty());
        assert_eq!(h.bytes, 0);
    }
}
