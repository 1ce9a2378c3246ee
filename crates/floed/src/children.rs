//! What floed starts when a file closes: the on-rotate command (as
//! flow-capture -R), its export as Parquet, and the expiry of old files
//! (which spares files not yet shipped to ClickHouse unless the size
//! limit forces it), none of which the write thread waits for.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use floe_store::ClosedFile;

use crate::receive::now_ms;
use crate::shared::{Live, Shared};

/// How long floed, stopping, waits for on-rotate commands still running
/// before it leaves them and stops: a command stuck (a copy to a host
/// that does not answer) must not hold the stop until a supervisor's
/// timeout kills floed, cutting what comes after (the ClickHouse
/// shipper's last round, the pidfile's removal). The commands are
/// processes of their own. (Under systemd, whose stop signals the whole
/// unit at once, this matters for commands that outlive their SIGTERM.)
pub const ON_ROTATE_WAIT_AT_STOP: std::time::Duration = std::time::Duration::from_secs(3);

/// The on-rotate commands still running, the expiry thread, and the
/// Parquet exporter (one thread, files in the order they closed).
#[derive(Default)]
pub struct Children {
    commands: Vec<Child>,
    expiring: Option<std::thread::JoinHandle<()>>,
    exporter: Option<Exporter>,
}

/// The Parquet exporter's queue (closed file, output root) and thread.
type Exporter = (
    std::sync::mpsc::Sender<(PathBuf, PathBuf)>,
    std::thread::JoinHandle<()>,
);

impl Children {
    /// Starts what the settings ask for after `c` closed.
    pub fn file_closed(&mut self, c: &ClosedFile, live: &Live, root: &Path, shared: &Arc<Shared>) {
        if let Some(cmd) = &live.on_rotate {
            // Like flow-capture -R: the program gets the closed file's
            // path, as an argument of its own (never spliced into the
            // command text). The setting runs through sh so that it may
            // carry arguments.
            match Command::new("/bin/sh")
                .arg("-c")
                .arg(format!("{cmd} \"$1\""))
                .arg("floed-on-rotate")
                .arg(&c.path)
                .spawn()
            {
                Ok(child) => self.commands.push(child),
                Err(e) => {
                    tracing::warn!(command = %cmd, error = %e, "on-rotate command did not start")
                }
            }
        }
        if let Some(out) = &live.export_parquet {
            self.export(&c.path, out);
        }
        let policy = live.expire.clone();
        if policy.max_bytes.is_none() && policy.max_age_secs.is_none() {
            return;
        }
        if self.expiring.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        let root: PathBuf = root.to_path_buf();
        let shared = shared.clone();
        let shipping = live.shipping;
        self.expiring = Some(std::thread::spawn(move || {
            // Files not yet shipped are spared (all of them until the
            // shipper has looked at the store).
            let keep = if shipping {
                crate::ship::keep_from(&shared)
            } else {
                None
            };
            let spared = |f: &floe_store::TreeFile| keep.is_some_and(|k| f.start_ms >= k);
            match floe_store::expire_keeping(&root, &policy, now_ms(), spared) {
                Ok(x) => {
                    let st = &shared.store;
                    st.files_expired
                        .fetch_add(x.removed.len() as u64, Ordering::Relaxed);
                    st.bytes_expired.fetch_add(x.bytes, Ordering::Relaxed);
                    st.bytes_on_disk.store(x.remaining_bytes, Ordering::Relaxed);
                    if !x.forced.is_empty() {
                        tracing::warn!(
                            files = x.forced.len(),
                            "the disk limit removed files not yet shipped to ClickHouse; their flows are lost to it (counted by the shipper)"
                        );
                    }
                    if !x.removed.is_empty() {
                        tracing::info!(
                            files = x.removed.len(),
                            bytes = x.bytes,
                            remaining_bytes = x.remaining_bytes,
                            "expired old files"
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "expiry failed"),
            }
        }));
    }

    /// Queues a closed file's export as Parquet under `out`.
    fn export(&mut self, file: &Path, out: &Path) {
        if self.exporter.is_none() {
            let (tx, rx) = std::sync::mpsc::channel::<(PathBuf, PathBuf)>();
            let worker = std::thread::Builder::new()
                .name("parquet".into())
                .spawn(move || {
                    for (file, out) in rx {
                        let opts = floe_parquet::ExportOptions::default();
                        match floe_parquet::export_file(&file, &out, &opts) {
                            Ok(x) => tracing::info!(
                                file = %file.display(),
                                parquet = %x.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                                flows = x.flows,
                                bytes = x.bytes,
                                "exported as Parquet"
                            ),
                            Err(e) => tracing::warn!(file = %file.display(), error = %e, "Parquet export failed"),
                        }
                    }
                });
            match worker {
                Ok(h) => self.exporter = Some((tx, h)),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot start the Parquet exporter");
                    return;
                }
            }
        }
        if let Some((tx, _)) = &self.exporter {
            let _ = tx.send((file.to_path_buf(), out.to_path_buf()));
        }
    }

    /// Forgets the commands that have exited.
    pub fn reap(&mut self) {
        self.commands
            .retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_))));
    }

    /// Waits for the commands (for [`ON_ROTATE_WAIT_AT_STOP`] at most),
    /// the expiry thread and the Parquet exporter (at shutdown).
    pub fn wait(mut self) {
        let deadline = std::time::Instant::now() + ON_ROTATE_WAIT_AT_STOP;
        loop {
            self.reap();
            if self.commands.is_empty() || std::time::Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        for c in &self.commands {
            tracing::warn!(
                pid = c.id(),
                "an on-rotate command still runs at stop; floed leaves it running and stops"
            );
        }
        if let Some(h) = self.expiring {
            let _ = h.join();
        }
        if let Some((tx, h)) = self.exporter {
            drop(tx);
            let _ = h.join();
        }
    }
}
