//! Many datagrams per system call: `recvmmsg(2)` into a fixed set of
//! buffers.
//!
//! Why not `recv_from` in a loop: at high datagram rates one call per
//! datagram, and one wake-up per datagram whenever the reader is faster
//! than the sender, cost floed a large share of its CPU (context switches
//! in the receive thread led its profile). std and socket2 have no `recvmmsg`; nix has
//! one, but its API allocates per call, so this is a thin wrapper over libc.

use std::io;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

/// The largest UDP payload (65 535 minus the IPv4 and UDP headers); every
/// slot holds one whole, so no datagram is ever cut.
const SLOT: usize = 65_536;

/// Buffers for up to `n` datagrams received in one call.
pub struct RecvMany {
    /// One allocation, `n` slots of [`SLOT`] bytes. Only the pages the
    /// kernel writes are ever resident (NetFlow datagrams fill the first
    /// kilobytes of each slot).
    buf: Vec<u8>,
    addrs: Vec<libc::sockaddr_storage>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl RecvMany {
    pub fn new(n: usize) -> RecvMany {
        let n = n.max(1);
        let mut buf = vec![0u8; n * SLOT];
        // SAFETY: sockaddr_storage is plain old data; all zeroes is valid.
        let mut addrs: Vec<libc::sockaddr_storage> = (0..n)
            .map(|_| unsafe { MaybeUninit::zeroed().assume_init() })
            .collect();
        let mut iovs: Vec<libc::iovec> = (0..n)
            .map(|i| libc::iovec {
                iov_base: buf[i * SLOT..].as_mut_ptr().cast(),
                iov_len: SLOT,
            })
            .collect();
        let hdrs = (0..n)
            .map(|i| {
                // SAFETY: msghdr/mmsghdr are plain old data; zeroed is the
                // documented way to start one.
                let mut h: libc::mmsghdr = unsafe { MaybeUninit::zeroed().assume_init() };
                h.msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
                h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
                h.msg_hdr.msg_iov = &mut iovs[i];
                h.msg_hdr.msg_iovlen = 1;
                h
            })
            .collect();
        RecvMany {
            buf,
            addrs,
            iovs,
            hdrs,
        }
    }

    /// Receives what is waiting, up to the number of slots. With `wait`
    /// false it never blocks (`Ok(0)` when nothing is there); with `wait`
    /// true it blocks until at least one datagram arrives or the socket's
    /// read timeout passes (then `Ok(0)` too).
    pub fn recv(&mut self, sock: &impl AsRawFd, wait: bool) -> io::Result<usize> {
        for (h, a) in self.hdrs.iter_mut().zip(&self.addrs) {
            h.msg_hdr.msg_namelen = std::mem::size_of_val(a) as u32;
            h.msg_len = 0;
        }
        let flags = if wait {
            libc::MSG_WAITFORONE
        } else {
            libc::MSG_DONTWAIT
        };
        // SAFETY: every header points at a live slot of `buf` and a live
        // entry of `addrs`, with their true lengths; the count is the
        // number of headers.
        let n = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                self.hdrs.as_mut_ptr(),
                self.hdrs.len() as libc::c_uint,
                flags,
                std::ptr::null_mut(),
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted => {
                Ok(0)
            }
            _ => Err(e),
        }
    }

    /// Datagram `i` of the last call: its bytes and its source (`None` for
    /// an address family other than IPv4/IPv6, which a UDP socket never
    /// reports).
    pub fn get(&self, i: usize) -> (&[u8], Option<SocketAddr>) {
        let len = (self.hdrs[i].msg_len as usize).min(self.iovs[i].iov_len);
        let data = &self.buf[i * SLOT..i * SLOT + len];
        (data, sockaddr(&self.addrs[i]))
    }
}

fn sockaddr(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in,
            // which is smaller than sockaddr_storage and less aligned.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}
