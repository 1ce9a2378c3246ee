//! Shipping a store's flows to ClickHouse: the written blocks of its
//! files, oldest first, each flow exactly once (see the crate docs for the
//! design), with a state file saying how far each file went.
//!
//! A [`Shipper`] is driven by its owner: floed's shipping thread calls
//! [`Shipper::step`] in a loop (and backs off when it fails), `floe ship`
//! calls it until [`Shipper::finished`]. It never prints: what a person
//! should hear of (a file removed before it was shipped, a batch repaired
//! after an unknown outcome) comes back from [`Shipper::take_events`].

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use floe_flow::Flow;
use floe_store::{BlockDecoder, FileHeader, FlowFile, StoreError, Tail, TailEvent, TreeFile};

use crate::client::{Client, Target, Timeouts};
use crate::error::{ClickHouseError, Result};
use crate::rowbinary::{column_list, time_secs, RowEncoder, RowIdentity};
use crate::schema::ident;
use crate::sql::string_literal;
use crate::state::{default_path, InFlight, Position, SentBlock, State};

/// Flows per insert by default (Akvorado's batch size).
pub const DEFAULT_BATCH_FLOWS: usize = 50_000;
/// Longest a written flow waits before it is sent, by default.
pub const DEFAULT_BATCH_INTERVAL: Duration = Duration::from_secs(5);
/// Flows per chunk of a flow-tools file (which has no blocks).
pub const FLOW_TOOLS_CHUNK: usize = 16_384;
/// Largest batch: an insert must stay one block on the server (its
/// `max_insert_block_size` is 1 048 576 rows by default).
pub const MAX_BATCH_FLOWS: usize = 1_000_000;

/// How a shipper ships.
#[derive(Clone, Debug)]
pub struct ShipOptions {
    /// The server and table shipped to.
    pub target: Target,
    /// The client's timeouts.
    pub timeouts: Timeouts,
    /// The collector's name in every row (the host name, usually).
    pub collector: String,
    /// Flows per insert (at most [`MAX_BATCH_FLOWS`]).
    pub batch_flows: usize,
    /// Longest a flow waits for its batch to fill.
    pub batch_interval: Duration,
    /// The state file (default: [`default_path`] in the store's root).
    pub state_path: Option<PathBuf>,
    /// Follow the files still being written (`tmp-`): floed does; a
    /// backfill of a tree does not.
    pub follow_open: bool,
    /// The tables were made with `--cluster NAME`: inserts wait for the
    /// shards (`insert_distributed_sync`) and repairs go `ON CLUSTER`.
    pub cluster: Option<String>,
    /// Longest to wait for an insert whose outcome is unknown to end on the
    /// server before checking what landed.
    pub settle: Duration,
}

impl ShipOptions {
    /// The defaults for shipping to `target` as the collector named
    /// `collector`: batches of [`DEFAULT_BATCH_FLOWS`] or
    /// [`DEFAULT_BATCH_INTERVAL`], closed files only, no cluster.
    pub fn new(target: Target, collector: &str) -> ShipOptions {
        ShipOptions {
            target,
            timeouts: Timeouts::default(),
            collector: collector.to_string(),
            batch_flows: DEFAULT_BATCH_FLOWS,
            batch_interval: DEFAULT_BATCH_INTERVAL,
            state_path: None,
            follow_open: false,
            cluster: None,
            settle: Duration::from_secs(120),
        }
    }
}

/// A file's identity in ClickHouse: FNV-1a of its header (creation time to
/// the millisecond, period, host, zone and writer), the same whatever the
/// file is named and whether it is open, closed or recovered.
pub fn file_id(h: &FileHeader) -> u64 {
    let mut x = Fnv::new();
    x.write(b"floe\0");
    x.write(&h.created_ms.to_le_bytes());
    match h.period {
        Some(p) => {
            x.write(&[1]);
            x.write(&p.start_ms.to_le_bytes());
            x.write(&p.end_ms.to_le_bytes());
        }
        None => x.write(&[0]),
    }
    for s in [&h.host, &h.zone, &h.writer] {
        x.write(s.as_bytes());
        x.write(&[0]);
    }
    x.0
}

/// A flow-tools file's identity: FNV-1a of its path under the root and
/// its size (flow-tools archives are not rewritten).
pub fn flow_tools_id(key: &str, size: u64) -> u64 {
    let mut x = Fnv::new();
    x.write(b"flow-tools\0");
    x.write(key.as_bytes());
    x.write(&size.to_le_bytes());
    x.0
}

struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, b: &[u8]) {
        for &c in b {
            self.0 ^= u64::from(c);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Something a person should hear of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShipEvent {
    /// A file was removed (expiry) before all of it was shipped.
    Lost {
        /// The file.
        path: PathBuf,
        /// Its flows that were not shipped.
        flows: u64,
    },
    /// A file could not be read; what could be shipped of it was.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        error: String,
    },
    /// An insert's outcome was unknown (a crash, a timeout, a restart) and
    /// the check found it whole in the table: nothing is sent again.
    Landed {
        /// The insert's `query_id`.
        query_id: String,
        /// The flows in the batch.
        flows: u64,
    },
    /// ... or found nothing of it: it is sent again.
    NotLanded {
        /// The insert's `query_id`.
        query_id: String,
        /// The flows in the batch.
        flows: u64,
    },
    /// ... or found part of it (or more): those rows were deleted and the
    /// batch is sent again.
    Repaired {
        /// The insert's `query_id`.
        query_id: String,
        /// The flows in the batch.
        expected: u64,
        /// The rows of the batch found in the table (and deleted).
        found: u64,
    },
}

/// What one [`Shipper::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// A batch of this many flows went in.
    Sent(u64),
    /// Flows are waiting for their batch to fill or its interval to pass.
    Waiting,
    /// Nothing to ship now.
    Idle,
}

/// The shipper's counters, for logs, `floe info` and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// Flows shipped to the table, ever (from the state file).
    pub shipped_flows: u64,
    /// Batches that went in, ever (from the state file).
    pub shipped_batches: u64,
    /// Flows written to the store and not yet in ClickHouse.
    pub backlog_flows: u64,
    /// Files not wholly shipped.
    pub backlog_files: u64,
    /// Flows removed from the store before they were shipped, ever.
    pub lost_flows: u64,
    /// Inserts whose outcome had to be checked.
    pub checks: u64,
    /// Checks that found part of a batch and deleted it.
    pub repairs: u64,
    /// Period start of the oldest file not wholly shipped (expiry spares
    /// it and what follows).
    pub oldest_unshipped_ms: Option<i64>,
}

enum Reader {
    Closed(FlowFile),
    Open(Tail),
    FlowTools(Vec<Flow>),
}

struct QueueFile {
    path: PathBuf,
    pos: Position,
    tmp: bool,
    flow_tools: bool,
    size: u64,
    file_id: Option<u64>,
    /// Flows in the file (closed files, from the trailer).
    total_flows: Option<u64>,
    /// Where the next block to gather starts (past what is acknowledged
    /// when a batch holds some of this file).
    read_offset: u64,
    reader: Option<Reader>,
    /// Every block has been gathered (the trailer was seen).
    end_seen: bool,
    /// The file cannot be read (any more): given up.
    failed: bool,
    /// Blocks seen beyond what is shipped, for the backlog of open files:
    /// (offset, records).
    peek: Option<Tail>,
    peeked: Vec<(u64, u32)>,
}

/// The batch being filled.
struct Batch {
    rows: Vec<u8>,
    blocks: Vec<SentBlock>,
    flows: u64,
    time_from: u32,
    time_to: u32,
    started: Option<Instant>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            rows: Vec::new(),
            blocks: Vec::new(),
            flows: 0,
            time_from: u32::MAX,
            time_to: 0,
            started: None,
        }
    }

    fn clear(&mut self) {
        self.rows.clear();
        self.blocks.clear();
        self.flows = 0;
        self.time_from = u32::MAX;
        self.time_to = 0;
        self.started = None;
    }
}

/// Ships one store to one table.
pub struct Shipper {
    opts: ShipOptions,
    root: PathBuf,
    state_path: PathBuf,
    _lock: File,
    client: Client,
    state: State,
    queue: VecDeque<QueueFile>,
    encoder: RowEncoder,
    decoder: BlockDecoder,
    flows: Vec<Flow>,
    batch: Batch,
    /// The batch's rows compressed, reused from batch to batch.
    body: Vec<u8>,
    events: Vec<ShipEvent>,
    checks: u64,
    repairs: u64,
    last_rescan: Option<Instant>,
    insert_sql: String,
}

impl Shipper {
    /// Takes the state file's lock, reads it, and lists the store's files
    /// not yet wholly shipped.
    pub fn open(root: &Path, mut opts: ShipOptions) -> Result<Shipper> {
        opts.batch_flows = opts.batch_flows.clamp(1, MAX_BATCH_FLOWS);
        let state_path = opts
            .state_path
            .clone()
            .unwrap_or_else(|| default_path(root, &opts.target));
        let lock_path = state_path.with_extension("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| ClickHouseError::local(&lock_path, e))?;
        if lock.try_lock().is_err() {
            return Err(ClickHouseError::Locked { path: lock_path });
        }
        let state = State::load(&state_path, &opts.target.describe(), &opts.collector)?;
        let client = Client::new(opts.target.clone(), opts.timeouts);
        let insert_sql = format!(
            "INSERT INTO {}.{} ({}) FORMAT RowBinary",
            ident(&opts.target.database),
            ident(&opts.target.table),
            column_list()
        );
        let mut s = Shipper {
            encoder: RowEncoder::new(&opts.collector),
            decoder: BlockDecoder::new()
                .map_err(|e| ClickHouseError::local("<zstd>", e.to_string()))?,
            root: root.to_path_buf(),
            state_path,
            _lock: lock,
            client,
            state,
            queue: VecDeque::new(),
            flows: Vec::new(),
            batch: Batch::new(),
            body: Vec::new(),
            events: Vec::new(),
            checks: 0,
            repairs: 0,
            last_rescan: None,
            insert_sql,
            opts,
        };
        s.rescan()?;
        Ok(s)
    }

    /// The state file in use.
    pub fn state_path(&self) -> &Path {
        &self.state_path
    }

    /// The client the shipper sends with.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// What happened that a person should hear of, since the last call.
    pub fn take_events(&mut self) -> Vec<ShipEvent> {
        std::mem::take(&mut self.events)
    }

    /// Nothing left to ship or check (for a backfill).
    pub fn finished(&self) -> bool {
        self.queue.is_empty() && self.batch.flows == 0 && self.state.in_flight.is_none()
    }

    fn key_of(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = name.strip_prefix("tmp-").unwrap_or(&name).to_string();
        rel.with_file_name(name).to_string_lossy().into_owned()
    }

    /// Lists the store again for files not known yet (a new file opened by
    /// the writer, files added by a backfill).
    pub fn rescan(&mut self) -> Result<()> {
        self.last_rescan = Some(Instant::now());
        let files = if self.opts.follow_open {
            floe_store::walk(&self.root)?
        } else {
            floe_store::walk_readable(&self.root)?
        };
        for f in files {
            self.consider(&f);
        }
        self.queue
            .make_contiguous()
            .sort_by(|a, b| a.pos.cmp(&b.pos));
        self.compact();
        Ok(())
    }

    fn consider(&mut self, f: &TreeFile) {
        if f.tmp && !self.opts.follow_open {
            return;
        }
        let key = self.key_of(&f.path);
        let pos = Position {
            start_ms: f.start_ms,
            serial: f.serial,
            key: key.clone(),
        };
        if self.state.is_done(&pos) {
            return;
        }
        if let Some(q) = self.queue.iter_mut().find(|q| q.pos.key == key) {
            // The same file, perhaps renamed from tmp- since.
            if q.tmp && !f.tmp && q.reader.is_none() {
                q.path = f.path.clone();
                q.tmp = false;
            }
            return;
        }
        let progress = self.state.files.get(&key);
        self.queue.push_back(QueueFile {
            path: f.path.clone(),
            pos,
            tmp: f.tmp,
            flow_tools: f.flow_tools,
            size: f.size,
            file_id: progress.map(|p| p.file_id),
            total_flows: None,
            read_offset: progress.map_or(0, |p| p.next_offset),
            reader: None,
            end_seen: false,
            failed: false,
            peek: None,
            peeked: Vec::new(),
        });
    }

    /// One round: checks an insert whose outcome is unknown, gathers
    /// written blocks into the batch, and sends it when it is full, when
    /// its oldest flow has waited the batch interval, or when `flush`.
    /// An error leaves nothing half done: call again (after a pause).
    pub fn step(&mut self, flush: bool) -> Result<Step> {
        if self.state.in_flight.is_some() {
            self.resolve()?;
        }
        self.gather()?;
        if self.batch.flows == 0 {
            let open_followed = self
                .queue
                .iter()
                .any(|q| matches!(q.reader, Some(Reader::Open(_))) && !q.end_seen);
            if self.opts.follow_open
                && !open_followed
                && self
                    .last_rescan
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
            {
                self.rescan()?;
                self.gather()?;
            }
            if self.batch.flows == 0 {
                return Ok(Step::Idle);
            }
        }
        let waited = self
            .batch
            .started
            .is_some_and(|t| t.elapsed() >= self.opts.batch_interval);
        if flush || waited || self.batch.flows >= self.opts.batch_flows as u64 {
            return self.send().map(Step::Sent);
        }
        Ok(Step::Waiting)
    }

    /// Reads blocks from the queue into the batch until it is full or
    /// nothing whole is left.
    fn gather(&mut self) -> Result<()> {
        let mut i = 0;
        while i < self.queue.len() && self.batch.flows < self.opts.batch_flows as u64 {
            match self.gather_from(i) {
                Ok(true) => i += 1,
                Ok(false) => return Ok(()),
                Err(GatherError::Vanished) => {
                    self.vanished(i);
                }
                Err(GatherError::Unreadable(e)) => {
                    let q = &self.queue[i];
                    self.events.push(ShipEvent::Unreadable {
                        path: q.path.clone(),
                        error: e.to_string(),
                    });
                    // What was gathered of it still goes; the rest cannot.
                    let q = &mut self.queue[i];
                    q.failed = true;
                    q.reader = None;
                    i += 1;
                }
                Err(GatherError::Fatal(e)) => return Err(e),
            }
        }
        self.mark_done();
        Ok(())
    }

    /// A queued file is gone: what of it was not shipped is lost.
    fn vanished(&mut self, i: usize) {
        let Some(q) = self.queue.remove(i) else {
            return;
        };
        let shipped = self.state.files.get(&q.pos.key).map_or(0, |p| p.flows);
        let in_batch: u64 = self
            .batch
            .blocks
            .iter()
            .filter(|b| b.key == q.pos.key)
            .map(|b| u64::from(b.records))
            .sum();
        let lost = q
            .total_flows
            .map_or(0, |t| t.saturating_sub(shipped + in_batch));
        self.state.lost_flows += lost;
        let p = self.state.files.entry(q.pos.key.clone()).or_default();
        p.start_ms = q.pos.start_ms;
        p.serial = q.pos.serial;
        // Blocks of it in the batch are still recorded when it goes in.
        p.done = true;
        self.events.push(ShipEvent::Lost {
            path: q.path,
            flows: lost,
        });
    }

    /// Opens the file if needed. `Ok(false)`: the file is being written
    /// and holds nothing more for now.
    fn gather_from(&mut self, i: usize) -> Result<bool, GatherError> {
        let limit = self.opts.batch_flows as u64;
        if self.queue[i].end_seen || self.queue[i].failed {
            return Ok(true);
        }
        if self.queue[i].reader.is_none() {
            self.open_reader(i)?;
        }
        let key = self.queue[i].pos.key.clone();
        loop {
            if self.batch.flows >= limit {
                return Ok(true);
            }
            let q = &mut self.queue[i];
            let file_id = q.file_id.unwrap_or(0);
            self.flows.clear();
            let (entry_offset, end_offset, records, min_ms, max_ms) = match q.reader.as_mut() {
                None => return Ok(true),
                Some(Reader::Closed(f)) => {
                    let b = f.blocks().partition_point(|b| b.offset < q.read_offset);
                    if b >= f.blocks().len() {
                        q.end_seen = true;
                        return Ok(true);
                    }
                    let e = f.blocks()[b];
                    if let Err(err) = f.read_block(b, &mut self.decoder, &mut self.flows) {
                        // A damaged block: the others still go.
                        self.events.push(ShipEvent::Unreadable {
                            path: q.path.clone(),
                            error: err.to_string(),
                        });
                        q.read_offset = e.offset + u64::from(e.len);
                        continue;
                    }
                    (
                        e.offset,
                        e.offset + u64::from(e.len),
                        e.records,
                        e.min_start_ms,
                        e.max_end_ms,
                    )
                }
                Some(Reader::Open(t)) => {
                    if t.offset() != q.read_offset {
                        t.seek(q.read_offset);
                    }
                    match t.next_event().map_err(GatherError::from_store)? {
                        TailEvent::Pending => return Ok(false),
                        TailEvent::End => {
                            q.end_seen = true;
                            return Ok(true);
                        }
                        TailEvent::Block(e) => {
                            if let Err(err) = self.decoder.decode(t.body(), &mut self.flows) {
                                self.events.push(ShipEvent::Unreadable {
                                    path: q.path.clone(),
                                    error: format!(
                                        "{}: block at offset {}: {err}",
                                        t.path().display(),
                                        e.offset
                                    ),
                                });
                                q.read_offset = e.offset + u64::from(e.len);
                                continue;
                            }
                            (
                                e.offset,
                                e.offset + u64::from(e.len),
                                e.records,
                                e.min_start_ms,
                                e.max_end_ms,
                            )
                        }
                    }
                }
                Some(Reader::FlowTools(all)) => {
                    let chunk = q.read_offset as usize;
                    let from = chunk.saturating_mul(FLOW_TOOLS_CHUNK);
                    if from >= all.len() {
                        q.end_seen = true;
                        return Ok(true);
                    }
                    let part = &all[from..(from + FLOW_TOOLS_CHUNK).min(all.len())];
                    self.flows.extend_from_slice(part);
                    let min = part.iter().map(|f| f.start_ms).min().unwrap_or(0);
                    let max = part
                        .iter()
                        .map(|f| f.start_ms.max(f.end_ms))
                        .max()
                        .unwrap_or(0);
                    (chunk as u64, chunk as u64 + 1, part.len() as u32, min, max)
                }
            };
            q.read_offset = end_offset;
            self.encoder.encode(
                RowIdentity {
                    file_id,
                    block: entry_offset,
                },
                &self.flows,
                &mut self.batch.rows,
            );
            let b = &mut self.batch;
            b.blocks.push(SentBlock {
                key: key.clone(),
                file_id,
                block: entry_offset,
                end_offset,
                records,
            });
            b.flows += u64::from(records);
            b.time_from = b.time_from.min(time_secs(min_ms));
            b.time_to = b.time_to.max(time_secs(max_ms));
            b.started.get_or_insert_with(Instant::now);
        }
    }

    fn open_reader(&mut self, i: usize) -> Result<(), GatherError> {
        let q = &mut self.queue[i];
        if q.flow_tools {
            let bytes = match std::fs::read(&q.path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(GatherError::Vanished)
                }
                Err(e) => return Err(GatherError::Unreadable(ClickHouseError::local(&q.path, e))),
            };
            let ft = floe_netflow::flowtools::read(&bytes)
                .map_err(|e| GatherError::Unreadable(ClickHouseError::local(&q.path, e)))?;
            if let Some(t) = &ft.truncated {
                self.events.push(ShipEvent::Unreadable {
                    path: q.path.clone(),
                    error: format!(
                        "flow-tools file cut short ({t}); its whole records are shipped"
                    ),
                });
            }
            q.file_id = Some(flow_tools_id(&q.pos.key, q.size));
            q.total_flows = Some(ft.flows.len() as u64);
            q.reader = Some(Reader::FlowTools(ft.flows));
        } else if q.tmp {
            let t = match Tail::open(&q.path) {
                Ok(t) => t,
                Err(StoreError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    // Closed and renamed since it was listed.
                    let closed = q
                        .path
                        .with_file_name(q.pos.key.rsplit('/').next().unwrap_or(""));
                    q.path = closed;
                    q.tmp = false;
                    return self.open_reader(i);
                }
                Err(e) => return Err(GatherError::from_store(e)),
            };
            q.file_id = Some(file_id(t.header()));
            q.reader = Some(Reader::Open(t));
        } else {
            let f = FlowFile::open(&q.path).map_err(GatherError::from_store)?;
            q.file_id = Some(file_id(f.header()));
            q.total_flows = Some(f.flows());
            q.reader = Some(Reader::Closed(f));
        }
        // A file known by another name (renamed since: same identity).
        let id = q.file_id.unwrap_or(0);
        let key = q.pos.key.clone();
        if !self.state.files.contains_key(&key) {
            if let Some((old, p)) = self.state.by_id(id).map(|(k, p)| (k.clone(), p.clone())) {
                self.state.files.remove(&old);
                let q = &mut self.queue[i];
                q.read_offset = p.next_offset;
                self.state.files.insert(key, p);
            }
        }
        let q = &mut self.queue[i];
        if self.state.files.get(&q.pos.key).is_some_and(|p| p.done) {
            q.end_seen = true;
        }
        Ok(())
    }

    /// Files whose every block is gathered and acknowledged are done.
    fn mark_done(&mut self) {
        let mut changed = false;
        for q in &self.queue {
            if !q.end_seen && !q.failed {
                continue;
            }
            if self.batch.blocks.iter().any(|b| b.key == q.pos.key) {
                continue;
            }
            let p = self.state.files.entry(q.pos.key.clone()).or_default();
            p.start_ms = q.pos.start_ms;
            p.serial = q.pos.serial;
            p.file_id = q.file_id.unwrap_or(p.file_id);
            if !p.done {
                p.done = true;
                changed = true;
            }
        }
        if changed {
            let state = &self.state;
            self.queue
                .retain(|q| !state.files.get(&q.pos.key).is_some_and(|p| p.done));
            self.compact();
        }
    }

    fn compact(&mut self) {
        let oldest = self.queue.front().map(|q| q.pos.clone());
        self.state.compact(oldest.as_ref());
    }

    fn query_id(&self) -> String {
        let c: String = self
            .opts
            .collector
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        let first = self.batch.blocks.first();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        format!(
            "floe-{c}-{:016x}-{}-{now}",
            first.map_or(0, |b| b.file_id),
            first.map_or(0, |b| b.block)
        )
    }

    /// Sends the batch: the intent first (durably), then the insert; on
    /// success the progress. On failure the batch is dropped (its blocks
    /// are read again) and the next step checks what landed.
    fn send(&mut self) -> Result<u64> {
        let query_id = self.query_id();
        self.state.in_flight = Some(InFlight {
            query_id: query_id.clone(),
            blocks: self.batch.blocks.clone(),
            time_from: self.batch.time_from,
            time_to: self.batch.time_to,
        });
        self.state.save(&self.state_path)?;
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        crate::compressed::compress_into(&self.batch.rows, &mut body);
        let block_size = (self.opts.batch_flows.max(1_048_576)).to_string();
        let mut settings = vec![("max_insert_block_size", block_size.as_str())];
        if self.opts.cluster.is_some() {
            settings.push(("insert_distributed_sync", "1"));
        }
        let sent = self
            .client
            .insert(&self.insert_sql, &body, &query_id, &settings);
        // The buffer is kept for the next batch.
        self.body = body;
        match sent {
            Ok(()) => {
                let n = self.batch.flows;
                let blocks = std::mem::take(&mut self.batch.blocks);
                self.apply(&blocks);
                self.state.in_flight = None;
                self.batch.clear();
                self.mark_done();
                self.state.save(&self.state_path)?;
                Ok(n)
            }
            Err(e) => {
                self.drop_batch();
                Err(e)
            }
        }
    }

    /// Forgets the batch: its blocks will be read again from the files.
    fn drop_batch(&mut self) {
        self.batch.clear();
        for q in self.queue.iter_mut() {
            let acked = self
                .state
                .files
                .get(&q.pos.key)
                .map_or(0, |p| p.next_offset);
            q.read_offset = acked;
            // Blocks before the end must be read again.
            q.end_seen = false;
        }
    }

    /// Records blocks as shipped.
    fn apply(&mut self, blocks: &[SentBlock]) {
        for b in blocks {
            let q = self.queue.iter().find(|q| q.pos.key == b.key);
            let p = self.state.files.entry(b.key.clone()).or_default();
            if let Some(q) = q {
                p.start_ms = q.pos.start_ms;
                p.serial = q.pos.serial;
            }
            p.file_id = b.file_id;
            if b.end_offset > p.next_offset {
                p.next_offset = b.end_offset;
            }
            p.blocks += 1;
            p.flows += u64::from(b.records);
            self.state.shipped_flows += u64::from(b.records);
        }
        self.state.shipped_batches += 1;
    }

    fn table(&self) -> String {
        format!(
            "{}.{}",
            ident(&self.opts.target.database),
            ident(&self.opts.target.table)
        )
    }

    fn count(&self, sql: &str) -> Result<u64> {
        let a = self.client.query(sql)?;
        a.trim().parse().map_err(|_| ClickHouseError::Answer {
            url: self.opts.target.url.clone(),
            what: format!(
                "expected a count, got {:?}",
                a.chars().take(80).collect::<String>()
            ),
        })
    }

    /// Settles the batch whose outcome is unknown: waits until its query
    /// is no longer running on the server, counts its rows by identity,
    /// and records it as shipped (all there), as not shipped (none there),
    /// or deletes what is there and records it as not shipped.
    pub fn resolve(&mut self) -> Result<()> {
        let Some(f) = self.state.in_flight.clone() else {
            return Ok(());
        };
        let started = Instant::now();
        loop {
            let running = self.count(&format!(
                "SELECT count() FROM system.processes WHERE query_id = {}",
                string_literal(&f.query_id)
            ))?;
            if running == 0 {
                break;
            }
            if started.elapsed() > self.opts.settle {
                return Err(ClickHouseError::Refused(format!(
                    "insert {} is still running on the server after {:?}; checking again later",
                    f.query_id, self.opts.settle
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        self.checks += 1;
        let ids: Vec<String> = f
            .blocks
            .iter()
            .map(|b| format!("({}, {})", b.file_id, b.block))
            .collect();
        let identity = format!(
            "collector = {} AND (file_id, block) IN ({})",
            string_literal(&self.opts.collector),
            ids.join(", ")
        );
        let answer = self.client.query(&format!(
            "SELECT file_id, block, count() FROM {} WHERE time >= toDateTime({}) AND time <= toDateTime({}) AND {identity} GROUP BY file_id, block FORMAT TabSeparated",
            self.table(),
            f.time_from,
            f.time_to
        ))?;
        let mut found = std::collections::HashMap::new();
        for line in answer.lines().filter(|l| !l.is_empty()) {
            let v: Vec<u64> = line.split('\t').filter_map(|x| x.parse().ok()).collect();
            if v.len() != 3 {
                return Err(ClickHouseError::Answer {
                    url: self.opts.target.url.clone(),
                    what: format!("expected file_id, block, count: {line:?}"),
                });
            }
            found.insert((v[0], v[1]), v[2]);
        }
        let expected: u64 = f.blocks.iter().map(|b| u64::from(b.records)).sum();
        let total: u64 = found.values().sum();
        let whole = f
            .blocks
            .iter()
            .all(|b| found.get(&(b.file_id, b.block)) == Some(&u64::from(b.records)));
        if whole && total == expected {
            self.apply(&f.blocks);
            self.events.push(ShipEvent::Landed {
                query_id: f.query_id.clone(),
                flows: expected,
            });
        } else if total == 0 {
            self.events.push(ShipEvent::NotLanded {
                query_id: f.query_id.clone(),
                flows: expected,
            });
        } else {
            let (table, on_cluster) = match &self.opts.cluster {
                Some(c) => (
                    format!(
                        "{}.{}",
                        ident(&self.opts.target.database),
                        ident(&format!("{}_local", self.opts.target.table))
                    ),
                    format!(" ON CLUSTER {}", ident(c)),
                ),
                None => (self.table(), String::new()),
            };
            self.client.execute(&format!(
                "ALTER TABLE {table}{on_cluster} DELETE WHERE {identity}"
            ))?;
            let local = match &self.opts.cluster {
                Some(_) => format!("{}_local", self.opts.target.table),
                None => self.opts.target.table.clone(),
            };
            let started = Instant::now();
            while self.count(&format!(
                "SELECT count() FROM system.mutations WHERE database = {} AND table = {} AND is_done = 0",
                string_literal(&self.opts.target.database),
                string_literal(&local)
            ))? > 0
            {
                if started.elapsed() > self.opts.settle {
                    return Err(ClickHouseError::Refused(format!(
                        "the deletion of a partly inserted batch ({}) has not finished after {:?}; checking again later",
                        f.query_id, self.opts.settle
                    )));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            self.repairs += 1;
            self.events.push(ShipEvent::Repaired {
                query_id: f.query_id.clone(),
                expected,
                found: total,
            });
        }
        self.state.in_flight = None;
        self.drop_batch();
        self.mark_done();
        self.state.save(&self.state_path)
    }

    /// Writes the state now (when stopping).
    pub fn save(&self) -> Result<()> {
        self.state.save(&self.state_path)
    }

    /// The counters; counts the blocks written to open files beyond what
    /// is shipped (reading their frame headers only).
    pub fn status(&mut self) -> Status {
        // Files removed (expiry) before their turn came: lost.
        for i in (0..self.queue.len()).rev() {
            let q = &self.queue[i];
            if q.reader.is_none() && !q.tmp && !q.path.exists() {
                self.vanished(i);
            }
        }
        let mut backlog = 0u64;
        for q in self.queue.iter_mut() {
            let shipped = self.state.files.get(&q.pos.key);
            let acked_flows = shipped.map_or(0, |p| p.flows);
            let acked_offset = shipped.map_or(0, |p| p.next_offset);
            if let Some(t) = q.total_flows {
                backlog += t.saturating_sub(acked_flows);
                continue;
            }
            if !q.tmp && !q.flow_tools {
                if let Ok(f) = FlowFile::open(&q.path) {
                    q.total_flows = Some(f.flows());
                    backlog += f.flows().saturating_sub(acked_flows);
                }
                continue;
            }
            if q.flow_tools {
                // Read whole when its turn comes; its size says it has flows.
                backlog += q.size / 20;
                continue;
            }
            if q.peek.is_none() {
                q.peek = Tail::open(&q.path).ok();
            }
            if let Some(p) = q.peek.as_mut() {
                if p.offset() < acked_offset {
                    p.seek(acked_offset);
                }
                while let Ok(TailEvent::Block(e)) = p.next_event() {
                    q.peeked.push((e.offset, e.records));
                }
            }
            q.peeked.retain(|(o, _)| *o >= acked_offset);
            backlog += q.peeked.iter().map(|(_, r)| u64::from(*r)).sum::<u64>();
        }
        Status {
            shipped_flows: self.state.shipped_flows,
            shipped_batches: self.state.shipped_batches,
            backlog_flows: backlog,
            backlog_files: self.queue.len() as u64,
            lost_flows: self.state.lost_flows,
            checks: self.checks,
            repairs: self.repairs,
            oldest_unshipped_ms: self.queue.front().map(|q| q.pos.start_ms),
        }
    }

    /// Opens every queued closed file's trailer, so that the backlog of a
    /// backfill is known before it starts (what `floe ship`'s progress
    /// bar counts down).
    pub fn measure(&mut self) -> u64 {
        let mut total = 0;
        for q in self.queue.iter_mut() {
            if q.total_flows.is_none() && !q.tmp && !q.flow_tools {
                if let Ok(f) = FlowFile::open(&q.path) {
                    q.total_flows = Some(f.flows());
                }
            }
            let shipped = self.state.files.get(&q.pos.key).map_or(0, |p| p.flows);
            total += q.total_flows.unwrap_or(q.size / 20).saturating_sub(shipped);
        }
        total
    }
}

enum GatherError {
    Vanished,
    Unreadable(ClickHouseError),
    Fatal(ClickHouseError),
}

impl GatherError {
    fn from_store(e: StoreError) -> GatherError {
        match &e {
            StoreError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                GatherError::Vanished
            }
            StoreError::Io { .. } => GatherError::Fatal(e.into()),
            _ => GatherError::Unreadable(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_differ_by_header() {
        let h = FileHeader {
            created_ms: 1,
            period: None,
            host: "a".into(),
            zone: "UTC".into(),
            writer: "w".into(),
        };
        let mut h2 = h.clone();
        h2.created_ms = 2;
        assert_ne!(file_id(&h), file_id(&h2));
        assert_eq!(file_id(&h), file_id(&h.clone()));
        assert_ne!(flow_tools_id("a", 1), flow_tools_id("a", 2));
    }
}
