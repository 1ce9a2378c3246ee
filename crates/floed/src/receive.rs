//! The receiving side: one thread per listening socket, doing nothing but
//! reading datagrams into batches and handing them on. It never waits on
//! the decoder or the disk: when the queue is full, the batch is dropped and
//! counted.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::pipeline::Shared;

/// Datagrams received together, with the time they were received.
pub struct Batch {
    /// Receive time (UTC ms) of the first datagram.
    pub received_ms: i64,
    pub data: Vec<u8>,
    /// (source address, start in `data`, length)
    pub items: Vec<(IpAddr, u32, u32)>,
}

/// Most datagrams in one batch.
const BATCH_DATAGRAMS: usize = 256;
/// Longest a datagram waits in a batch before the batch goes.
const BATCH_WAIT: Duration = Duration::from_millis(2);

/// Counters the receivers share with the rest of the daemon.
#[derive(Default)]
pub struct ReceiveStats {
    pub datagrams: AtomicU64,
    pub bytes: AtomicU64,
    /// Datagrams dropped because the decoder's queue was full.
    pub queue_drops: AtomicU64,
}

/// Binds a UDP socket with the receive buffer asked for; returns it and the
/// buffer size the kernel granted.
pub fn bind(addr: SocketAddr, rcvbuf: usize) -> std::io::Result<(UdpSocket, usize)> {
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // [::]:2055 and 0.0.0.0:2055 may both be configured.
        s.set_only_v6(true)?;
    }
    // Ask for the buffer; Linux caps it at net.core.rmem_max (and reports
    // double the usable size).
    let _ = s.set_recv_buffer_size(rcvbuf);
    s.bind(&addr.into())?;
    let granted = s.recv_buffer_size().unwrap_or(0);
    let sock: UdpSocket = s.into();
    sock.set_read_timeout(Some(Duration::from_millis(100)))?;
    Ok((sock, granted))
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Reads datagrams from `sock` until `stop` is set, sending batches on `tx`.
pub fn run(
    sock: UdpSocket,
    tx: SyncSender<Batch>,
    stop: Arc<AtomicBool>,
    stats: Arc<ReceiveStats>,
    shared: Arc<Shared>,
) {
    let mut buf = vec![0u8; 65_536];
    let new_batch = || Batch {
        received_ms: 0,
        data: Vec::with_capacity(64 * 1024),
        items: Vec::with_capacity(BATCH_DATAGRAMS),
    };
    let mut batch = new_batch();
    let mut first_at = Instant::now();
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        let due = !batch.items.is_empty()
            && (batch.items.len() >= BATCH_DATAGRAMS
                || first_at.elapsed() >= BATCH_WAIT
                || stopping);
        if due {
            let n = batch.items.len() as u64;
            match tx.try_send(std::mem::replace(&mut batch, new_batch())) {
                Ok(()) => {}
                Err(TrySendError::Full(dropped)) => {
                    stats.queue_drops.fetch_add(n, Ordering::Relaxed);
                    // Counted per source, so the files' trailers say whose
                    // datagrams were lost here.
                    if let Ok(mut m) = shared.queue_drops.lock() {
                        for (from, _, _) in &dropped.items {
                            *m.entry(*from).or_default() += 1;
                        }
                    }
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
        if stopping {
            return;
        }
        match sock.recv_from(&mut buf) {
            Ok((len, from)) => {
                let from = canonical(from.ip());
                let allowed = shared.allow.read().map_or(true, |a| a.allows(from));
                if !allowed {
                    // Counted per source; never parsed.
                    if let Ok(mut m) = shared.denied.lock() {
                        *m.entry(from).or_default() += 1;
                    }
                    continue;
                }
                if batch.items.is_empty() {
                    batch.received_ms = now_ms();
                    first_at = Instant::now();
                }
                let at = batch.data.len() as u32;
                batch.data.extend_from_slice(&buf[..len]);
                batch.items.push((from, at, len as u32));
                stats.datagrams.fetch_add(1, Ordering::Relaxed);
                stats.bytes.fetch_add(len as u64, Ordering::Relaxed);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::warn!(error = %e, "receive error");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// IPv4 exporters reaching a dual-stack socket show up as ::ffff:a.b.c.d;
/// key them by their IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}
