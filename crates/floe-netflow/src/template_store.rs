//! Templates kept on disk, so that a restarted collector decodes v9/IPFIX
//! data at once instead of waiting for the exporters' next template refresh
//! (minutes, on many routers).
//!
//! netflow_parser writes every template it learns through a
//! [`TemplateStore`] and asks it on a cache miss; this one keeps them in
//! memory and [`FileTemplateStore::save`] writes them to one file (written
//! to a temporary name, synced, renamed), which the daemon calls every few
//! seconds when something changed and at shutdown.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use netflow_parser::template_store::{
    TemplateKind, TemplateStore, TemplateStoreError, TemplateStoreKey,
};

const MAGIC: &[u8; 8] = b"FLOETPL1";

/// A template store backed by one file.
#[derive(Debug)]
pub struct FileTemplateStore {
    path: PathBuf,
    map: Mutex<HashMap<TemplateStoreKey, Vec<u8>>>,
    dirty: AtomicBool,
}

fn kind_code(k: TemplateKind) -> u8 {
    match k {
        TemplateKind::V9Data => 0,
        TemplateKind::V9Options => 1,
        TemplateKind::IpfixData => 2,
        TemplateKind::IpfixOptions => 3,
        TemplateKind::IpfixV9Data => 4,
        TemplateKind::IpfixV9Options => 5,
        _ => 255,
    }
}

fn kind_from(c: u8) -> Option<TemplateKind> {
    Some(match c {
        0 => TemplateKind::V9Data,
        1 => TemplateKind::V9Options,
        2 => TemplateKind::IpfixData,
        3 => TemplateKind::IpfixOptions,
        4 => TemplateKind::IpfixV9Data,
        5 => TemplateKind::IpfixV9Options,
        _ => return None,
    })
}

impl FileTemplateStore {
    /// Loads `path` if it exists. A damaged file is not an error: the
    /// templates in it are dropped (exporters announce them again) and
    /// the count of entries skipped is returned.
    pub fn open(path: impl Into<PathBuf>) -> std::io::Result<(Arc<Self>, usize)> {
        let path = path.into();
        let mut map = HashMap::new();
        let mut skipped = 0;
        match std::fs::read(&path) {
            Ok(bytes) => skipped = parse(&bytes, &mut map),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok((
            Arc::new(FileTemplateStore {
                path,
                map: Mutex::new(map),
                dirty: AtomicBool::new(false),
            }),
            skipped,
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of templates held.
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the templates to disk if they changed since the last save.
    pub fn save(&self) -> std::io::Result<bool> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(false);
        }
        let mut buf = MAGIC.to_vec();
        if let Ok(m) = self.map.lock() {
            for (k, v) in m.iter() {
                let scope = k.scope.as_bytes();
                buf.push(kind_code(k.kind));
                buf.extend_from_slice(&k.template_id.to_le_bytes());
                buf.extend_from_slice(&(scope.len() as u16).to_le_bytes());
                buf.extend_from_slice(scope);
                buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
                buf.extend_from_slice(v);
            }
        }
        let tmp = self.path.with_extension("tmp");
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&buf)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        if result.is_err() {
            self.dirty.store(true, Ordering::Release);
        }
        result.map(|_| true)
    }
}

fn parse(b: &[u8], map: &mut HashMap<TemplateStoreKey, Vec<u8>>) -> usize {
    if b.len() < MAGIC.len() || &b[..MAGIC.len()] != MAGIC {
        return usize::from(!b.is_empty());
    }
    let mut at = MAGIC.len();
    let mut take = |n: usize| -> Option<&[u8]> {
        let s = b.get(at..at + n)?;
        at += n;
        Some(s)
    };
    loop {
        let Some(head) = take(5) else { return 0 };
        let kind = head[0];
        let id = u16::from_le_bytes([head[1], head[2]]);
        let slen = usize::from(u16::from_le_bytes([head[3], head[4]]));
        let Some(scope) = take(slen).map(|s| String::from_utf8_lossy(s).into_owned()) else {
            return 1;
        };
        let Some(vlen) = take(4).map(|v| u32::from_le_bytes([v[0], v[1], v[2], v[3]]) as usize)
        else {
            return 1;
        };
        let Some(value) = take(vlen) else { return 1 };
        if let Some(k) = kind_from(kind) {
            map.insert(TemplateStoreKey::new(scope, k, id), value.to_vec());
        }
    }
}

impl TemplateStore for FileTemplateStore {
    fn get(&self, key: &TemplateStoreKey) -> Result<Option<Vec<u8>>, TemplateStoreError> {
        Ok(self.map.lock().ok().and_then(|m| m.get(key).cloned()))
    }

    fn put(&self, key: &TemplateStoreKey, value: &[u8]) -> Result<(), TemplateStoreError> {
        if let Ok(mut m) = self.map.lock() {
            if m.get(key).map(Vec::as_slice) != Some(value) {
                m.insert(key.clone(), value.to_vec());
                self.dirty.store(true, Ordering::Release);
            }
        }
        Ok(())
    }

    fn remove(&self, key: &TemplateStoreKey) -> Result<(), TemplateStoreError> {
        if let Ok(mut m) = self.map.lock() {
            if m.remove(key).is_some() {
                self.dirty.store(true, Ordering::Release);
            }
        }
        Ok(())
    }
}
