//! `floe send`: NetFlow v5 or v9 to a collector, from generated realistic
//! flows or replayed from a capture, at a given rate. For tests, demos and
//! benchmarks; it sends only where it is told (loopback in every test).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use floe_netflow::{V5Encoder, V9Encoder};
use floe_synth::{realistic_flows, Mix};

/// Send NetFlow to a collector.
///
/// Example: floe send --to 127.0.0.1:2055 --count 10000 --rate 5000
#[derive(Args, Debug)]
pub struct SendArgs {
    /// Collector address.
    #[arg(long, default_value = "127.0.0.1:2055", value_name = "ADDR:PORT")]
    to: SocketAddr,
    /// NetFlow version to send: 5 or 9.
    #[arg(long = "netflow-version", short = 'V', default_value_t = 5, value_parser = clap::value_parser!(u16).range(5..=9))]
    version: u16,
    /// Number of generated flows.
    #[arg(long, short = 'n', default_value_t = 1000)]
    count: usize,
    /// Flows per second (0: as fast as possible).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Flows per datagram (at most 30 for v5).
    #[arg(long, default_value_t = 30)]
    per_datagram: usize,
    /// Datagrams per system call: 1 sends each datagram on its own, as an
    /// exporter does; N sends up to N of those already due in one
    /// sendmmsg call (a cheaper sender, and the bursts a receiving NIC
    /// delivers). Benchmarks run both.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    per_call: u16,
    /// Local address to send from (e.g. 127.0.0.2, to look like another exporter).
    #[arg(long, value_name = "IP")]
    from: Option<IpAddr>,
    /// Seed of the generated flows.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// v9 source id (v5: engine id).
    #[arg(long, default_value_t = 0)]
    source_id: u32,
    /// Replay the UDP payloads of this capture instead of generating flows.
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// Spread the generated flows' times over this much of the past (e.g.
    /// 24h for a day of traffic; at most 20d, what NetFlow uptimes carry).
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    span: String,
    /// End of the span, in seconds since the epoch (default: now), so that
    /// two runs send the very same flows (benchmarks); within 20 days.
    #[arg(long, value_name = "UNIX_SECS")]
    until: Option<i64>,
}

/// Sends `datagrams` to `to` with one `sendmmsg(2)` call; returns how many
/// went (at least one, or an error).
///
/// Why: on loopback the sender pays for the kernel's delivery to the
/// receiving socket too; at 5 M flows/s `floe send` used 0.86 of a core
/// of the 2-core benchmark machine one datagram per call, 0.65 with up to
/// 32 per call (same pacing). std and socket2 have no `sendmmsg`.
fn send_many(
    sock: &UdpSocket,
    to: &socket2::SockAddr,
    datagrams: &[&[u8]],
) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut iovs: Vec<libc::iovec> = datagrams
        .iter()
        .map(|d| libc::iovec {
            iov_base: d.as_ptr() as *mut libc::c_void,
            iov_len: d.len(),
        })
        .collect();
    let mut hdrs: Vec<libc::mmsghdr> = iovs
        .iter_mut()
        .map(|iov| {
            // SAFETY: mmsghdr is plain old data; zeroed is a valid start.
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_name = to.as_ptr() as *mut libc::c_void;
            h.msg_hdr.msg_namelen = to.len();
            h.msg_hdr.msg_iov = iov;
            h.msg_hdr.msg_iovlen = 1;
            h
        })
        .collect();
    loop {
        // SAFETY: every header points at a live iovec over a live datagram
        // and at the live destination address, with their true lengths.
        let n = unsafe {
            libc::sendmmsg(
                sock.as_raw_fd(),
                hdrs.as_mut_ptr(),
                hdrs.len() as libc::c_uint,
                0,
            )
        };
        if n > 0 {
            return Ok(n as usize);
        }
        if n == 0 {
            return Err(std::io::Error::other("sendmmsg sent nothing"));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn run(a: SendArgs) -> Result<(), String> {
    let bind: SocketAddr = match (a.from, a.to) {
        (Some(ip), _) => SocketAddr::new(ip, 0),
        (None, SocketAddr::V4(_)) => "0.0.0.0:0".parse().map_err(|_| "bad bind address")?,
        (None, SocketAddr::V6(_)) => "[::]:0".parse().map_err(|_| "bad bind address")?,
    };
    let sock = UdpSocket::bind(bind).map_err(|e| format!("cannot bind {bind}: {e}"))?;
    let datagrams: Vec<(Vec<u8>, usize)> = match &a.pcap {
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            floe_netflow::pcap::udp_datagrams(&bytes)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .into_iter()
                .map(|d| (d.payload, 1))
                .collect()
        }
        None => generate(&a)?,
    };
    // Flows sent before each datagram: datagram k is due at before[k] / rate.
    let before: Vec<usize> = datagrams
        .iter()
        .scan(0usize, |acc, (_, n)| {
            let b = *acc;
            *acc += n;
            Some(b)
        })
        .collect();
    let due = |k: usize| {
        if a.rate > 0 {
            Duration::from_secs_f64(before[k] as f64 / a.rate as f64)
        } else {
            Duration::ZERO
        }
    };
    let to = socket2::SockAddr::from(a.to);
    let start = Instant::now();
    let mut sent = 0usize;
    while sent < datagrams.len() {
        let now = start.elapsed();
        // What is due by now goes in one call (at most --per-call).
        let mut end = sent;
        while end < datagrams.len() && end - sent < usize::from(a.per_call) && due(end) <= now {
            end += 1;
        }
        if end == sent {
            std::thread::sleep(due(sent) - now);
            continue;
        }
        let batch: Vec<&[u8]> = datagrams[sent..end]
            .iter()
            .map(|(d, _)| d.as_slice())
            .collect();
        sent += send_many(&sock, &to, &batch).map_err(|e| format!("send to {}: {e}", a.to))?;
    }
    let flows: usize = datagrams.iter().map(|(_, n)| n).sum();
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "floe send: {} {} in {sent} datagrams to {} in {secs:.2} s ({:.0}/s)",
        flows,
        if a.pcap.is_some() {
            "payloads"
        } else {
            "flows"
        },
        a.to,
        flows as f64 / secs
    );
    Ok(())
}

/// Generated flows, ending within `--span` before now, encoded into
/// datagrams.
fn generate(a: &SendArgs) -> Result<Vec<(Vec<u8>, usize)>, String> {
    let now = now_ms();
    let span = crate::input::parse_duration_ms(&a.span)?;
    if !(1..=20 * 86_400_000).contains(&span) {
        return Err(format!("--span {}: use 1s to 20d", a.span));
    }
    let end = match a.until {
        None => now,
        Some(secs) => {
            let ms = secs.saturating_mul(1000);
            // NetFlow uptimes are 32-bit milliseconds (49 days) from boot,
            // a day before the oldest flow.
            if ms > now || now - ms > 20 * 86_400_000 {
                return Err(format!(
                    "--until {secs}: use a time within the last 20 days"
                ));
            }
            ms
        }
    };
    let mix = Mix {
        day_start_ms: end - span,
        span_ms: span,
        // v5 carries IPv4 only.
        ipv6_share: if a.version == 5 { 0.0 } else { 0.2 },
    };
    let mut flows = realistic_flows(a.count, a.seed, &mix);
    // Booted a day before the oldest flow: every uptime is positive.
    let boot = end - span - 86_400_000;
    let per = a
        .per_datagram
        .clamp(1, if a.version == 5 { 30 } else { 200 });
    // The export time on a whole second: v9 headers carry whole seconds
    // beside a millisecond uptime, so a collector places flows off by the
    // export time's fraction (up to a second, the same for every flow of a
    // datagram). On a whole second it places them exactly, and two sends of
    // the same flows (--until) store the same times.
    let now = now - now.rem_euclid(1000);
    let mut out = Vec::new();
    if a.version == 5 {
        let mut enc = V5Encoder::new(boot);
        enc.engine_id = a.source_id as u8;
        enc.engine_type = (a.source_id >> 8) as u8;
        for f in &mut flows {
            f.end_ms = f.end_ms.min(end);
        }
        for chunk in flows.chunks(per) {
            out.push((enc.encode(chunk, now), chunk.len()));
        }
    } else {
        let mut enc = V9Encoder::new(boot, a.source_id);
        for chunk in flows.chunks(per) {
            out.push((enc.encode(chunk, now), chunk.len()));
        }
    }
    Ok(out)
}
