//! What floed starts when a file closes: the on-rotate command (as
//! flow-capture -R) and the expiry of old files, neither of which the
//! write thread waits for.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use floe_store::ClosedFile;

use crate::receive::now_ms;
use crate::shared::{Live, Shared};

/// The on-rotate commands still running and the expiry thread.
#[derive(Default)]
pub struct Children {
    commands: Vec<Child>,
    expiring: Option<std::thread::JoinHandle<()>>,
}

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
        let policy = live.expire.clone();
        if policy.max_bytes.is_none() && policy.max_age_secs.is_none() {
            return;
        }
        if self.expiring.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        let root: PathBuf = root.to_path_buf();
        let shared = shared.clone();
        self.expiring = Some(std::thread::spawn(move || {
            match floe_store::expire(&root, &policy, now_ms()) {
                Ok(x) => {
                    let st = &shared.store;
                    st.files_expired
                        .fetch_add(x.removed.len() as u64, Ordering::Relaxed);
                    st.bytes_expired.fetch_add(x.bytes, Ordering::Relaxed);
                    st.bytes_on_disk.store(x.remaining_bytes, Ordering::Relaxed);
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

    /// Forgets the commands that have exited.
    pub fn reap(&mut self) {
        self.commands
            .retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_))));
    }

    /// Waits for every command and the expiry thread (at shutdown).
    pub fn wait(self) {
        for mut c in self.commands {
            let _ = c.wait();
        }
        if let Some(h) = self.expiring {
            let _ = h.join();
        }
    }
}
