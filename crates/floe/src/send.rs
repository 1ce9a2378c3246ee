//! `floe send`: NetFlow v5, v9 or IPFIX to a collector, from generated
//! realistic flows or replayed from a capture, at a given rate. For tests,
//! demos and benchmarks; it sends only where it is told (loopback in every
//! test).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use floe_netflow::{IpfixEncoder, V5Encoder, V9Encoder};
use floe_synth::{realistic_flows, Mix};

use crate::error::{warn, CliError, Result};
use crate::time::now_ms;

/// The export protocols `floe send` speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// NetFlow v5: IPv4 only, 30 flows a datagram.
    V5,
    /// NetFlow v9, IPv4 and IPv6 templates.
    V9,
    /// IPFIX (NetFlow "v10").
    Ipfix,
}

/// `--netflow-version`: 5, 9 or 10 (IPFIX); the versions floe does not
/// send are refused by name rather than sent as another.
fn version(s: &str) -> Result<Version, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "5" => Ok(Version::V5),
        "9" => Ok(Version::V9),
        "10" | "ipfix" => Ok(Version::Ipfix),
        v @ ("1" | "6" | "7" | "8") => Err(format!(
            "floe send does not send NetFlow v{v} (floed receives it); send 5, 9 or 10 (IPFIX)"
        )),
        v => Err(format!(
            "{v:?} is not a NetFlow version floe sends: 5, 9 or 10 (IPFIX)"
        )),
    }
}

/// Send NetFlow to a collector.
///
/// Example: floe send --to 127.0.0.1:2055 --count 10000 --rate 5000
#[derive(Args, Debug)]
pub struct SendArgs {
    #[arg(long, default_value = "127.0.0.1:2055", value_name = "ADDR:PORT", help = crate::args::TO_HELP)]
    to: SocketAddr,
    /// Export protocol: 5 (NetFlow v5), 9 (NetFlow v9) or 10 (IPFIX).
    #[arg(long = "netflow-version", value_name = "VERSION", default_value = "5", value_parser = version)]
    version: Version,
    /// Send IPFIX (the same as --netflow-version 10).
    #[arg(long, conflicts_with = "version")]
    ipfix: bool,
    /// Number of generated flows.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Flows per second (0: as fast as possible).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Flows per datagram (at most 30 for v5, 200 for v9 and IPFIX).
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
    /// v9 source id, IPFIX observation domain (v5: engine type and id,
    /// type << 8 | id).
    #[arg(long, default_value_t = 0)]
    source_id: u32,
    /// Replay the UDP payloads of this capture instead of generating flows.
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// Spread the generated flows' times over this much of the past (e.g.
    /// 24h for a day of traffic; at most 20d, what NetFlow uptimes carry).
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = crate::args::duration_ms)]
    span: i64,
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

pub fn run(a: SendArgs) -> Result<()> {
    let bind = match (a.from, a.to) {
        (Some(ip), _) => SocketAddr::new(ip, 0),
        (None, SocketAddr::V4(_)) => SocketAddr::from(([0, 0, 0, 0], 0)),
        (None, SocketAddr::V6(_)) => SocketAddr::from(([0u16; 8], 0)),
    };
    let sock =
        UdpSocket::bind(bind).map_err(|e| CliError::Send(format!("cannot bind {bind}: {e}")))?;
    let datagrams: Vec<(Vec<u8>, usize)> = match &a.pcap {
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|source| CliError::Read {
                path: p.clone(),
                source,
            })?;
            floe_netflow::pcap::udp_datagrams(&bytes)
                .map_err(|source| CliError::Pcap {
                    path: p.clone(),
                    source,
                })?
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
        sent += send_many(&sock, &to, &batch)
            .map_err(|e| CliError::Send(format!("send to {}: {e}", a.to)))?;
    }
    let flows: usize = datagrams.iter().map(|(_, n)| n).sum();
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    warn(format!(
        "{} {} in {sent} datagrams to {} in {secs:.2} s ({:.0}/s)",
        flows,
        if a.pcap.is_some() {
            "payloads"
        } else {
            "flows"
        },
        a.to,
        flows as f64 / secs
    ));
    Ok(())
}

/// Generated flows, ending within `--span` before the export time,
/// encoded into datagrams.
fn generate(a: &SendArgs) -> Result<Vec<(Vec<u8>, usize)>> {
    let version = if a.ipfix { Version::Ipfix } else { a.version };
    // The export time on a whole second: v9 and IPFIX headers carry whole
    // seconds (v9 beside a millisecond uptime), so a collector places flows
    // off by the export time's fraction (up to a second, the same for every
    // flow of a datagram). On a whole second it places them exactly, and
    // two sends of the same flows (--until) store the same times.
    let now = now_ms();
    let export = now - now.rem_euclid(1000);
    let span = a.span;
    if !(1..=20 * 86_400_000).contains(&span) {
        return Err(CliError::Usage("--span: use 1s to 20d".into()));
    }
    let end = match a.until {
        None => export,
        Some(secs) => {
            let ms = secs.saturating_mul(1000);
            // NetFlow uptimes are 32-bit milliseconds (49 days) from boot,
            // a day before the oldest flow.
            if ms > export || export - ms > 20 * 86_400_000 {
                return Err(CliError::Usage(format!(
                    "--until {secs}: use a time within the last 20 days"
                )));
            }
            ms
        }
    };
    let mix = Mix {
        day_start_ms: end - span,
        span_ms: span,
        // v5 carries IPv4 only.
        ipv6_share: if version == Version::V5 { 0.0 } else { 0.2 },
    };
    // Every flow ends by `end`, no later than the export time, and starts
    // no later than it ends (floe_synth's promise): no collector sees a
    // flow from the exporter's future or one that ends before it starts.
    let flows = realistic_flows(a.count, a.seed, &mix);
    // Booted a day before the oldest flow (whose start is at most the
    // 30-minute active timeout before its end): every uptime is positive
    // and below the export's.
    let boot = end - span - 86_400_000;
    let per = a.per_datagram.clamp(
        1,
        if version == Version::V5 {
            floe_netflow::V5_MAX_FLOWS
        } else {
            200
        },
    );
    let out = match version {
        Version::V5 => {
            let mut enc = V5Encoder::new(boot);
            enc.engine_id = a.source_id as u8;
            enc.engine_type = (a.source_id >> 8) as u8;
            flows
                .chunks(per)
                .map(|c| (enc.encode(c, export), c.len()))
                .collect()
        }
        Version::V9 => {
            let mut enc = V9Encoder::new(boot, a.source_id);
            flows
                .chunks(per)
                .map(|c| (enc.encode(c, export), c.len()))
                .collect()
        }
        Version::Ipfix => {
            let mut enc = IpfixEncoder::new(a.source_id);
            flows
                .chunks(per)
                .map(|c| (enc.encode(c, export), c.len()))
                .collect()
        }
    };
    Ok(out)
}
