//! The receiving side: one thread per listening socket, doing nothing but
//! reading datagrams into batches and handing them on. When the decoder's
//! queue is full it stops reading for at most [`QUEUE_FULL_WAIT`], the
//! socket's buffer holding what arrives meanwhile, and then drops the batch
//! and counts it.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::batch::{Batch, BATCH_BYTES, BATCH_DATAGRAMS};
use crate::mmsg::RecvMany;
use crate::shared::Shared;

/// Longest a datagram waits in a batch before the batch goes.
const BATCH_WAIT: Duration = Duration::from_millis(2);
/// Datagrams asked of the kernel per call.
const PER_CALL: usize = 64;
/// Longest the receive thread waits for room in the decoder's queue
/// before it drops a batch. Why wait: the queue's bound is in batches, and
/// at low rates a batch goes every [`BATCH_WAIT`] with a few datagrams, so
/// the queue held a quarter of a second of traffic at 50 k flows/s, and a
/// writer held up longer than that (a slow fsync at a rotation) lost
/// datagrams the socket's buffer had room for (the soak in CI lost 1168).
/// While the thread waits it reads nothing and that buffer holds what
/// arrives (up to the size the kernel granted); what it cannot hold the
/// kernel drops, counted per socket (`floed_socket_drops_total`), not per
/// exporter, and seen per exporter only as gaps in their sequence numbers.
/// Datagrams read after a wait are stamped with the time they are read, up
/// to that long after they arrived. Bounded, so that a decoder that stays
/// stuck still shows in the drops counted here, a batch per wait.
pub const QUEUE_FULL_WAIT: Duration = Duration::from_secs(2);
/// How often the waiting thread looks for room.
const QUEUE_FULL_POLL: Duration = Duration::from_millis(1);
/// Empty polls in a row after which the thread stops napping and blocks
/// until the next datagram (an idle collector should not wake up a
/// thousand times a second).
const IDLE_POLLS: u32 = 200;

/// How long the receive thread naps when the socket is empty, for a
/// receive buffer of `granted` bytes; `None`: block instead.
///
/// Napping instead of blocking turns one wake-up per datagram into at most
/// one per nap. It is safe while the buffer holds many naps' worth of
/// traffic: at 10 M flows/s (333 000 datagrams of 30 flows, about 2.3 KiB
/// of kernel memory each, some 770 MB/s) the buffer must last 8 naps, and a
/// nap is at most 1 ms. Under 100 µs (Linux's default 208 KiB buffer) the
/// thread blocks as before.
pub fn nap_for(granted: usize) -> Option<Duration> {
    let fill = Duration::from_secs_f64(granted as f64 / 770e6);
    let nap = (fill / 8).min(Duration::from_millis(1));
    (nap >= Duration::from_micros(100)).then_some(nap)
}

/// Counters the receivers share with the rest of the daemon.
#[derive(Default)]
pub struct ReceiveStats {
    pub datagrams: AtomicU64,
    pub bytes: AtomicU64,
    /// Datagrams dropped because the decoder's queue stayed full for
    /// [`QUEUE_FULL_WAIT`].
    pub queue_drops: AtomicU64,
    /// Batches that found the decoder's queue full and waited for room.
    pub queue_waits: AtomicU64,
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

/// The socket's inode, as `/proc/net/udp` names it (0 if unknown).
pub fn inode(sock: &UdpSocket) -> u64 {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/self/fd/{}", sock.as_raw_fd()))
        .map(|m| m.ino())
        .unwrap_or(0)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Hands a batch to the decoder, waiting up to `wait` for room in its
/// queue, or counts the batch's datagrams as dropped. False when the
/// decoder is gone.
fn hand_on(
    batch: Batch,
    tx: &SyncSender<Batch>,
    stats: &ReceiveStats,
    shared: &Shared,
    wait: Duration,
) -> bool {
    let n = batch.items.len() as u64;
    let mut batch = batch;
    let mut waiting_since = None;
    loop {
        match tx.try_send(batch) {
            Ok(()) => return true,
            Err(TrySendError::Full(back)) => {
                let since = *waiting_since.get_or_insert_with(|| {
                    stats.queue_waits.fetch_add(1, Ordering::Relaxed);
                    Instant::now()
                });
                if since.elapsed() < wait {
                    batch = back;
                    std::thread::sleep(QUEUE_FULL_POLL);
                    continue;
                }
                stats.queue_drops.fetch_add(n, Ordering::Relaxed);
                // Counted per source, so the files' trailers say whose
                // datagrams were lost here.
                if let Ok(mut m) = shared.queue_drops.lock() {
                    for (from, _, _) in &back.items {
                        *m.entry(*from).or_default() += 1;
                    }
                }
                shared.batches.give(back);
                return true;
            }
            Err(TrySendError::Disconnected(_)) => return false,
        }
    }
}

/// Reads datagrams from `sock` until `stop` is set, sending batches on `tx`.
/// `nap`: see [`nap_for`].
pub fn run(
    sock: UdpSocket,
    nap: Option<Duration>,
    tx: SyncSender<Batch>,
    stop: Arc<AtomicBool>,
    stats: Arc<ReceiveStats>,
    shared: Arc<Shared>,
) {
    let mut many = RecvMany::new(PER_CALL);
    let mut batch = shared.batches.take();
    let mut first_at = Instant::now();
    let mut empty_polls = 0u32;
    // Batches filled by one receive call (at most PER_CALL).
    let mut full = Vec::new();
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        let block = nap.is_none() || empty_polls >= IDLE_POLLS;
        let due = !batch.items.is_empty()
            && (first_at.elapsed() >= BATCH_WAIT
                || stopping
                // Nothing is coming: hand on what there is before waiting.
                || block);
        if due
            && !hand_on(
                std::mem::replace(&mut batch, shared.batches.take()),
                &tx,
                &stats,
                &shared,
                QUEUE_FULL_WAIT,
            )
        {
            return;
        }
        if stopping {
            return;
        }
        let n = match many.recv(&sock, block) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "receive error");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if n == 0 {
            empty_polls = empty_polls.saturating_add(1);
            if let (Some(nap), false) = (nap, block) {
                std::thread::sleep(nap);
            }
            continue;
        }
        empty_polls = 0;
        let allow = shared.allow.read();
        let mut bytes = 0u64;
        let mut taken = 0u64;
        for i in 0..n {
            let (data, from) = many.get(i);
            let Some(from) = from else { continue };
            let from = canonical(from.ip());
            if !allow.as_ref().map_or(true, |a| a.allows(from)) {
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
            batch.data.extend_from_slice(data);
            batch.items.push((from, at, data.len() as u32));
            bytes += data.len() as u64;
            taken += 1;
            if batch.items.len() >= BATCH_DATAGRAMS || batch.data.len() >= BATCH_BYTES {
                full.push(std::mem::replace(&mut batch, shared.batches.take()));
            }
        }
        // Handed on once the allow list is let go: a hand-on may wait for
        // room, and a reload (SIGHUP) waiting for the list would hold up
        // every other socket's thread meanwhile.
        drop(allow);
        stats.datagrams.fetch_add(taken, Ordering::Relaxed);
        stats.bytes.fetch_add(bytes, Ordering::Relaxed);
        for b in full.drain(..) {
            if !hand_on(b, &tx, &stats, &shared, QUEUE_FULL_WAIT) {
                return;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naps_only_with_a_buffer_that_outlasts_them() {
        // Linux's default buffer (212 992 asked, reported doubled): block.
        assert_eq!(nap_for(425_984), None);
        assert_eq!(nap_for(0), None);
        // 2 MiB asked: under a millisecond, and 8 naps fit in the buffer
        // at 770 MB/s.
        let n = nap_for(4 << 20).expect("naps");
        assert!(
            n < Duration::from_millis(1)
                && n * 8 <= Duration::from_secs_f64((4 << 20) as f64 / 770e6)
        );
        // 16 MiB and more: the 1 ms cap.
        assert_eq!(nap_for(32 << 20), Some(Duration::from_millis(1)));
    }

    /// A batch of `n` datagrams from 192.0.2.9.
    fn batch_of(n: usize) -> Batch {
        use crate::pool::Reuse;
        let mut b = Batch::fresh();
        for i in 0..n {
            let at = b.data.len() as u32;
            b.data.extend_from_slice(&[i as u8; 24]);
            b.items.push(([192, 0, 2, 9].into(), at, 24));
        }
        b
    }

    #[test]
    fn a_full_queue_is_waited_for_while_the_decoder_makes_room() {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let (stats, shared) = (ReceiveStats::default(), Shared::default());
        tx.send(batch_of(1)).unwrap();
        let t0 = Instant::now();
        let decoder = std::thread::spawn(move || {
            // Held up (a slow fsync), then takes the first batch and the next.
            std::thread::sleep(Duration::from_millis(300));
            let next = || {
                rx.recv_timeout(Duration::from_secs(60))
                    .map(|b| b.items.len())
            };
            (next(), next())
        });
        assert!(hand_on(
            batch_of(3),
            &tx,
            &stats,
            &shared,
            Duration::from_secs(30)
        ));
        assert!(
            t0.elapsed() >= Duration::from_millis(300),
            "{:?}",
            t0.elapsed()
        );
        assert_eq!(decoder.join().unwrap(), (Ok(1), Ok(3)));
        assert_eq!(stats.queue_drops.load(Ordering::Relaxed), 0);
        assert_eq!(stats.queue_waits.load(Ordering::Relaxed), 1);
        assert!(shared.queue_drops.lock().unwrap().is_empty());
    }

    #[test]
    fn a_queue_that_stays_full_drops_the_batch_counted_per_exporter() {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let (stats, shared) = (ReceiveStats::default(), Shared::default());
        tx.send(batch_of(1)).unwrap();
        let t0 = Instant::now();
        assert!(hand_on(
            batch_of(3),
            &tx,
            &stats,
            &shared,
            Duration::from_millis(100)
        ));
        assert!(t0.elapsed() >= Duration::from_millis(100));
        assert_eq!(stats.queue_drops.load(Ordering::Relaxed), 3);
        assert_eq!(stats.queue_waits.load(Ordering::Relaxed), 1);
        let drops = shared.queue_drops.lock().unwrap().clone();
        assert_eq!(drops.get(&IpAddr::from([192, 0, 2, 9])), Some(&3));
        // Only the batch that was there is queued.
        assert_eq!(rx.try_recv().unwrap().items.len(), 1);
        assert!(rx.try_recv().is_err());
        // A decoder that is gone ends the receive thread.
        drop(rx);
        assert!(!hand_on(
            batch_of(1),
            &tx,
            &stats,
            &shared,
            Duration::from_secs(30)
        ));
    }
}
