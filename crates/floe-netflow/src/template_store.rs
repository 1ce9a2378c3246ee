//! Templates kept on disk, so that a restarted collector decodes v9/IPFIX
//! data at once instead of waiting for the exporters' next template refresh
//! (minutes, on many routers).
//!
//! netflow_parser writes every template it learns through a
//! [`TemplateStore`] and asks it on a cache miss; this one keeps them in
//! memory and [`FileTemplateStore::save`] writes them to one file (written
//! to a temporary name, synced, renamed), which the daemon calls every few
//! seconds when something changed and at shutdown.
//!
//! Bounded: netflow_parser puts every template it learns and never removes
//! the ones its own cache evicts, so a flood of made-up template or source
//! ids would grow the store without end. Beyond [`DEFAULT_LIMIT`] templates
//! (or the limit given), the scope (exporter stream) written to least
//! recently is dropped whole; a real exporter refreshes its templates every
//! few minutes and so stays.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use netflow_parser::template_store::{
    TemplateKind, TemplateStore, TemplateStoreError, TemplateStoreKey,
};

const MAGIC: &[u8; 8] = b"FLOETPL1";

/// Templates kept by default (about 160 MB at worst, 256-field templates).
pub const DEFAULT_LIMIT: usize = 16_384;

/// The templates of one scope, and when it was last written to.
#[derive(Debug, Default)]
struct Scoped {
    last_put: u64,
    templates: HashMap<(TemplateKind, u16), Vec<u8>>,
}

/// Scopes with their templates, and the scopes by age of their last put.
#[derive(Debug, Default)]
struct Templates {
    scopes: HashMap<Arc<str>, Scoped>,
    by_age: std::collections::BTreeMap<u64, Arc<str>>,
    clock: u64,
    count: usize,
    limit: usize,
}

impl Templates {
    fn insert(&mut self, key: &TemplateStoreKey, value: Vec<u8>) -> bool {
        self.clock += 1;
        let now = self.clock;
        let s = self.scopes.entry(key.scope.clone()).or_default();
        if s.last_put != 0 {
            self.by_age.remove(&s.last_put);
        }
        s.last_put = now;
        self.by_age.insert(now, key.scope.clone());
        let changed = s.templates.get(&(key.kind, key.template_id)) != Some(&value);
        if s.templates
            .insert((key.kind, key.template_id), value)
            .is_none()
        {
            self.count += 1;
        }
        while self.count > self.limit {
            // The oldest scope other than the one just written.
            let Some((&age, scope)) = self.by_age.iter().find(|(_, sc)| **sc != key.scope) else {
                break;
            };
            let scope = scope.clone();
            self.by_age.remove(&age);
            if let Some(gone) = self.scopes.remove(&scope) {
                self.count -= gone.templates.len();
            }
        }
        changed
    }

    fn get(&self, key: &TemplateStoreKey) -> Option<&Vec<u8>> {
        self.scopes
            .get(&key.scope)?
            .templates
            .get(&(key.kind, key.template_id))
    }

    fn remove(&mut self, key: &TemplateStoreKey) -> bool {
        let Some(s) = self.scopes.get_mut(&key.scope) else {
            return false;
        };
        let removed = s.templates.remove(&(key.kind, key.template_id)).is_some();
        if removed {
            self.count -= 1;
        }
        removed
    }
}

/// A template store backed by one file.
#[derive(Debug)]
pub struct FileTemplateStore {
    path: PathBuf,
    map: Mutex<Templates>,
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
        Self::open_with_limit(path, DEFAULT_LIMIT)
    }

    /// [`FileTemplateStore::open`] keeping at most `limit` templates.
    pub fn open_with_limit(
        path: impl Into<PathBuf>,
        limit: usize,
    ) -> std::io::Result<(Arc<Self>, usize)> {
        let path = path.into();
        let mut map = Templates {
            limit: limit.max(1),
            ..Templates::default()
        };
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
        self.map.lock().map(|m| m.count).unwrap_or(0)
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
            for (scope, s) in &m.scopes {
                for ((kind, id), v) in &s.templates {
                    let scope = scope.as_bytes();
                    buf.push(kind_code(*kind));
                    buf.extend_from_slice(&id.to_le_bytes());
                    buf.extend_from_slice(&(scope.len() as u16).to_le_bytes());
                    buf.extend_from_slice(scope);
                    buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    buf.extend_from_slice(v);
                }
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

fn parse(b: &[u8], map: &mut Templates) -> usize {
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
            map.insert(&TemplateStoreKey::new(scope, k, id), value.to_vec());
        }
    }
}

impl TemplateStore for FileTemplateStore {
    fn get(&self, key: &TemplateStoreKey) -> Result<Option<Vec<u8>>, TemplateStoreError> {
        Ok(self.map.lock().ok().and_then(|m| m.get(key).cloned()))
    }

    fn put(&self, key: &TemplateStoreKey, value: &[u8]) -> Result<(), TemplateStoreError> {
        if let Ok(mut m) = self.map.lock() {
            // Every put renews the scope, changed or not: that is what keeps
            // a live exporter's templates over a flood's.
            if m.insert(key, value.to_vec()) {
                self.dirty.store(true, Ordering::Release);
            }
        }
        Ok(())
    }

    fn remove(&self, key: &TemplateStoreKey) -> Result<(), TemplateStoreError> {
        if let Ok(mut m) = self.map.lock() {
            if m.remove(key) {
                self.dirty.store(true, Ordering::Release);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod bound_tests {
    use super::*;

    #[test]
    fn the_scope_written_least_recently_goes_first() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = FileTemplateStore::open_with_limit(dir.path().join("t"), 25).unwrap();
        let key = |scope: &str, id: u16| TemplateStoreKey::new(scope, TemplateKind::V9Data, id);
        for id in 256..266 {
            store.put(&key("live", id), b"tpl").unwrap();
        }
        for n in 0..10 {
            // A flood of made-up scopes, the live exporter refreshing one
            // template now and then.
            for id in 256..266 {
                store.put(&key(&format!("fake{n}"), id), b"x").unwrap();
            }
            store.put(&key("live", 256), b"tpl").unwrap();
        }
        assert!(store.len() <= 25, "{}", store.len());
        for id in 256..266 {
            assert!(store.get(&key("live", id)).unwrap().is_some(), "live {id}");
        }
        assert!(store.get(&key("fake0", 256)).unwrap().is_none());
        assert!(store.get(&key("fake9", 256)).unwrap().is_some());
    }
}
