//! The name of the host floe runs on: written in file headers, and shown
//! by the tools (report titles, mail subjects and senders).

/// The host name (from the kernel; `$HOSTNAME`, then `localhost`, when it
/// cannot be read).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}
