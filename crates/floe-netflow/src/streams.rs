//! What the decoder remembers per exporter stream, and the bounds on it.
//!
//! A stream is one exporter address, NetFlow version and source id /
//! observation domain: RFC 3954 and RFC 7011 scope templates to the
//! exporter and its domain, never to the UDP port, so an exporter that
//! restarts on a new port keeps its templates. Streams are kept up to a
//! count, templates up to a count per stream and in all; beyond them the
//! least recently heard stream (or, within a stream, the least recently
//! used template) is forgotten and counted, so a flood of made-up source
//! or template ids costs bounded memory.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use floe_flow::ExporterKey;

use crate::events::TemplateFault;
use crate::pending::Held;
use crate::sequence::SequenceTracker;
use crate::templates::TemplateDef;
use crate::walker::Plan;

/// The decoder's per-stream maps, looked up several times per datagram:
/// foldhash (randomly seeded, so exporters cannot aim at collisions)
/// instead of std's SipHash, which showed in perf profiles of floed under
/// v9 load.
pub(crate) type StreamMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A full stream forgets this fraction of its templates at once (the
/// least recently used).
pub(crate) const EVICT_FRACTION: usize = 8;

/// Sampler ids a stream keeps sampling intervals for: routers have a few
/// samplers; options records with ever new ids must not grow the stream.
pub(crate) const MAX_SAMPLERS: usize = 256;

/// Identifies an exporter stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Scope {
    pub address: IpAddr,
    pub version: u16,
    pub domain: u32,
}

impl Scope {
    /// The name templates are stored under.
    pub fn name(&self) -> String {
        format!("{}/v{}/{}", self.address, self.version, self.domain)
    }

    pub fn key(&self) -> ExporterKey {
        ExporterKey {
            address: self.address,
            source_id: self.domain,
        }
    }
}

/// A template as the stream keeps it.
#[derive(Debug)]
pub(crate) enum Slot {
    Usable {
        def: TemplateDef,
        /// `None` when no record can be read with it.
        plan: Option<Plan>,
        last_used: u64,
    },
    /// Announced and refused: data under it is counted with the reason.
    Refused {
        fault: TemplateFault,
        last_used: u64,
    },
}

impl Slot {
    fn last_used(&self) -> u64 {
        match self {
            Slot::Usable { last_used, .. } | Slot::Refused { last_used, .. } => *last_used,
        }
    }
}

/// One exporter stream's state.
#[derive(Debug)]
pub(crate) struct Stream {
    pub scope: Scope,
    /// The name its templates are stored under.
    pub store_name: String,
    pub sequence: SequenceTracker,
    /// Sampling interval announced without a sampler id.
    pub sampling: Option<u32>,
    /// Sampling interval per sampler id.
    pub samplers: HashMap<u64, u32>,
    /// IPFIX systemInitTimeMilliseconds.
    pub sys_init_ms: Option<i64>,
    pub templates: StreamMap<u16, Slot>,
    /// Data that came before its template.
    pub held: Held,
    pub datagrams: u64,
    pub flows: u64,
    /// Template use clock, for least-recently-used eviction.
    clock: u64,
    /// When the stream was last heard from (the streams' clock).
    heard: u64,
}

impl Stream {
    fn new(scope: Scope) -> Stream {
        Stream {
            scope,
            store_name: scope.name(),
            sequence: if scope.version == 9 {
                SequenceTracker::datagrams()
            } else {
                SequenceTracker::records()
            },
            sampling: None,
            samplers: HashMap::new(),
            sys_init_ms: None,
            templates: StreamMap::default(),
            held: Held::default(),
            datagrams: 0,
            flows: 0,
            clock: 0,
            heard: 0,
        }
    }

    pub fn key(&self) -> ExporterKey {
        self.scope.key()
    }

    /// Keeps the sampling interval of sampler `id`. Beyond
    /// [`MAX_SAMPLERS`] a new id takes the place of another: a real
    /// exporter announces its samplers again with its options.
    pub fn set_sampler(&mut self, id: u64, interval: u32) {
        if self.samplers.len() >= MAX_SAMPLERS && !self.samplers.contains_key(&id) {
            if let Some(other) = self.samplers.keys().next().copied() {
                self.samplers.remove(&other);
            }
        }
        self.samplers.insert(id, interval);
    }

    /// The slot of template `id`, marked as just used.
    pub fn use_template(&mut self, id: u16) -> Option<&Slot> {
        self.clock += 1;
        let now = self.clock;
        let slot = self.templates.get_mut(&id)?;
        match slot {
            Slot::Usable { last_used, .. } | Slot::Refused { last_used, .. } => *last_used = now,
        }
        Some(slot)
    }

    /// Puts a template slot; when the stream holds `max` already, the least
    /// recently used [`EVICT_FRACTION`] of them are forgotten first.
    /// Returns whether the id is new and the ids forgotten (for the
    /// template file to forget them too).
    pub fn put_template(&mut self, id: u16, mut slot: Slot, max: usize) -> (bool, Vec<u16>) {
        self.clock += 1;
        match &mut slot {
            Slot::Usable { last_used, .. } | Slot::Refused { last_used, .. } => {
                *last_used = self.clock
            }
        }
        let new = !self.templates.contains_key(&id);
        let max = max.max(1);
        let mut evicted = Vec::new();
        if new && self.templates.len() >= max {
            // Room for this one and the next few: finding the least
            // recently used means looking at every template, so a stream
            // churning through ids (a new one in every template record)
            // pays for that once per batch, not once per template (which
            // made a datagram of such records cost as much to decode as
            // a thousand datagrams of flows).
            let keep = max - (max / EVICT_FRACTION).max(1);
            let mut by_use: Vec<(u64, u16)> = self
                .templates
                .iter()
                .map(|(k, s)| (s.last_used(), *k))
                .collect();
            let n = by_use.len() - keep;
            by_use.select_nth_unstable(n - 1);
            for &(_, old) in &by_use[..n] {
                self.templates.remove(&old);
                evicted.push(old);
            }
        }
        self.templates.insert(id, slot);
        (new, evicted)
    }
}

/// Every stream, by scope, with the order they were last heard in.
#[derive(Debug, Default)]
pub(crate) struct Streams {
    map: StreamMap<Scope, Stream>,
    by_heard: BTreeMap<u64, Scope>,
    clock: u64,
}

impl Streams {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn get_mut(&mut self, scope: &Scope) -> Option<&mut Stream> {
        self.map.get_mut(scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Stream> {
        self.map.values()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Stream> {
        self.map.values_mut()
    }

    /// Marks the stream as just heard from, creating it if new (the caller
    /// makes room first); returns whether it is new.
    pub fn touch(&mut self, scope: Scope) -> bool {
        let newest = self.by_heard.last_key_value().map(|(_, s)| *s);
        if newest == Some(scope) {
            // One busy exporter, datagram after datagram: nothing to
            // reorder.
            return false;
        }
        self.clock += 1;
        let now = self.clock;
        let mut new = false;
        let stream = self.map.entry(scope).or_insert_with(|| {
            new = true;
            Stream::new(scope)
        });
        if !new {
            self.by_heard.remove(&stream.heard);
        }
        stream.heard = now;
        self.by_heard.insert(now, scope);
        new
    }

    /// Whether a stream is known.
    pub fn contains(&self, scope: &Scope) -> bool {
        self.map.contains_key(scope)
    }

    /// Removes and returns the stream heard from least recently among
    /// those `keep` does not hold on to.
    pub fn forget_oldest(&mut self, keep: impl Fn(&Scope) -> bool) -> Option<Stream> {
        let (&heard, &scope) = self.by_heard.iter().find(|(_, s)| !keep(s))?;
        self.by_heard.remove(&heard);
        self.map.remove(&scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::TemplateDef;

    fn usable(id: u16) -> Slot {
        Slot::Usable {
            def: TemplateDef {
                id,
                options: false,
                scope_fields: 0,
                fields: Vec::new(),
            },
            plan: None,
            last_used: 0,
        }
    }

    #[test]
    fn a_full_stream_forgets_its_least_recently_used_templates_in_a_batch() {
        let mut s = Stream::new(Scope {
            address: IpAddr::from([192, 0, 2, 1]),
            version: 9,
            domain: 0,
        });
        for id in 256..256 + 1024 {
            assert!(s.put_template(id, usable(id), 1024).1.is_empty());
        }
        // Templates 256..300 are used, so the least recently used are the
        // ones from 300 on.
        for id in 256..300 {
            s.use_template(id);
        }
        // Template churn (a new id with every record) must not scan every
        // template of the stream for each new one: a full stream makes
        // room for many at once.
        let (new, evicted) = s.put_template(5000, usable(5000), 1024);
        assert!(new);
        assert_eq!(evicted.len(), 1024 / EVICT_FRACTION);
        let mut evicted = evicted;
        evicted.sort_unstable();
        assert_eq!(evicted, (300..300 + 128).collect::<Vec<u16>>());
        assert_eq!(s.templates.len(), 1024 - 128 + 1);
        for id in 5001..5001 + 127 {
            assert!(s.put_template(id, usable(id), 1024).1.is_empty());
        }
        // A small limit still keeps exactly that many.
        let (_, evicted) = s.put_template(9000, usable(9000), 4);
        assert_eq!(s.templates.len(), 4);
        assert_eq!(evicted.len(), 1024 - 4 + 1);
    }

    #[test]
    fn sampler_ids_kept_are_bounded() {
        let mut s = Stream::new(Scope {
            address: IpAddr::from([192, 0, 2, 1]),
            version: 10,
            domain: 0,
        });
        for id in 0..100_000u64 {
            s.set_sampler(id, 100);
        }
        assert_eq!(s.samplers.len(), MAX_SAMPLERS);
        assert_eq!(s.samplers.get(&99_999), Some(&100));
        s.set_sampler(99_999, 10);
        assert_eq!(s.samplers.len(), MAX_SAMPLERS);
    }
}
