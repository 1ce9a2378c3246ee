//! Names for what `floe top` shows: protocols and services from the
//! symbol tables floe's reports use, and host names by reverse DNS when
//! asked, looked up on a thread of their own so that the screen never
//! waits for a resolver.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use floe_report::sym::Symbols;

/// Lookups waiting at most; more are asked again at the next refresh.
const QUEUE: usize = 256;
/// Names kept.
const CACHE: usize = 65_536;

/// Reverse DNS on a background thread, cached.
pub struct Dns {
    cache: Arc<Mutex<HashMap<IpAddr, Option<String>>>>,
    asked: SyncSender<IpAddr>,
}

impl Dns {
    pub fn start() -> Dns {
        let cache: Arc<Mutex<HashMap<IpAddr, Option<String>>>> = Arc::default();
        let (asked, rx) = sync_channel::<IpAddr>(QUEUE);
        let c = cache.clone();
        let _ = std::thread::Builder::new()
            .name("reverse dns".into())
            .spawn(move || {
                for addr in rx {
                    let name = reverse(addr);
                    if let Ok(mut m) = c.lock() {
                        if m.len() >= CACHE {
                            m.clear();
                        }
                        m.insert(addr, name);
                    }
                }
            });
        Dns { cache, asked }
    }

    /// The name if it is known; otherwise asks for it and says nothing.
    pub fn name(&self, addr: IpAddr) -> Option<String> {
        if let Ok(m) = self.cache.lock() {
            if let Some(n) = m.get(&addr) {
                return n.clone();
            }
        }
        match self.asked.try_send(addr) {
            Ok(()) => {
                // Asked once: a miss is remembered as none until answered.
                if let Ok(mut m) = self.cache.lock() {
                    m.entry(addr).or_insert(None);
                }
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {}
        }
        None
    }
}

/// The host name of `addr`, or none (getnameinfo with NI_NAMEREQD).
fn reverse(addr: IpAddr) -> Option<String> {
    let sa = std::net::SocketAddr::new(addr, 0);
    let mut host = [0 as libc::c_char; 256];
    let (storage, len) = socket_addr(&sa);
    // SAFETY: storage holds a sockaddr of `len` bytes for the call's
    // duration; host is a writable buffer of the length given.
    let rc = unsafe {
        libc::getnameinfo(
            (&storage as *const libc::sockaddr_storage).cast(),
            len,
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: getnameinfo wrote a NUL-terminated string into host.
    let s = unsafe { std::ffi::CStr::from_ptr(host.as_ptr()) };
    Some(s.to_string_lossy().into_owned())
}

fn socket_addr(sa: &std::net::SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; all zeros is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match sa {
        std::net::SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            (
                storage,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        }
        std::net::SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            (
                storage,
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            )
        }
    }
}

/// How keys are shown.
pub struct Names {
    /// Names of protocols, ports and ASes.
    pub symbols: Symbols,
    /// Show names (protocols, services, AS names) rather than numbers.
    pub names: bool,
    /// Reverse DNS, when asked for.
    pub dns: Option<Dns>,
}

impl Names {
    /// Names on, the built-in symbols, no reverse DNS.
    pub fn new() -> Names {
        Names {
            symbols: Symbols::builtin(),
            names: true,
            dns: None,
        }
    }

    /// A protocol's name (upper case) when names are on and it has one, else its
    /// number.
    pub fn protocol(&self, p: u8) -> String {
        match self.names.then(|| self.symbols.protocol(p)).flatten() {
            Some(n) => n.to_uppercase(),
            None => p.to_string(),
        }
    }

    /// A port with its service name when names are on and it has one (`443
    /// (https)`), else its number.
    pub fn port(&self, p: u16) -> String {
        match self.names.then(|| self.symbols.port(p)).flatten() {
            Some(n) => format!("{p} ({n})"),
            None => p.to_string(),
        }
    }

    /// An address, with its host name when reverse DNS is on and knows it.
    pub fn address(&self, text: &str) -> String {
        let (Some(dns), Ok(addr)) = (&self.dns, text.parse::<IpAddr>()) else {
            return text.to_string();
        };
        match dns.name(addr) {
            Some(n) => n,
            None => text.to_string(),
        }
    }

    /// An AS number given as text, as `AS64500`, followed by its name when names
    /// are on and it has one.
    pub fn asn(&self, text: &str) -> String {
        let name = text
            .parse::<u32>()
            .ok()
            .filter(|_| self.names)
            .and_then(|n| self.symbols.asn(n));
        match name {
            Some(n) => format!("AS{text} {n}"),
            None => format!("AS{text}"),
        }
    }
}

impl Default for Names {
    fn default() -> Self {
        Names::new()
    }
}
