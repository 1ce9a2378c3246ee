//! Templates kept on disk, so that a restarted collector decodes v9/IPFIX
//! data at once instead of waiting for the exporters' next template refresh
//! (minutes, on many routers).
//!
//! The decoder writes every template it learns (and every withdrawal)
//! through to a [`FileTemplateStore`], and restores a stream's templates
//! from it the first time the stream is heard from again;
//! [`FileTemplateStore::save`] writes them to one file (to a temporary
//! name, synced, renamed), which the daemon calls every few seconds when
//! something changed and at shutdown.
//!
//! Bounded: beyond [`DEFAULT_LIMIT`] templates (or the limit given), the
//! scope (exporter stream) written to least recently is dropped whole; a
//! real exporter refreshes its templates every few minutes and so stays,
//! while a flood of made-up source ids goes.
//!
//! The file (`FLOETPL2`) is a sequence of entries, each: scope length
//! (u16 LE) and scope name (UTF-8, `ADDRESS/vVERSION/DOMAIN`), template id
//! (u16 LE), options flag (u8), scope field count (u16 LE), field count
//! (u16 LE), then per field the element (u16 LE), length (u16 LE) and an
//! enterprise flag (u8) with the enterprise number (u32 LE) when it is 1.
//! Files of the previous format (`FLOETPL1`, netflow_parser's template
//! encoding) are read too, so an upgrade keeps the templates.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::templates::{FieldSpec, TemplateDef};

const MAGIC: &[u8; 8] = b"FLOETPL2";
const LEGACY_MAGIC: &[u8; 8] = b"FLOETPL1";

/// Templates kept by default (about 160 MB at worst, 256-field templates).
pub const DEFAULT_LIMIT: usize = 16_384;

/// The templates of one scope, and when it was last written to.
#[derive(Debug, Default)]
struct Scoped {
    last_put: u64,
    templates: HashMap<u16, TemplateDef>,
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
    /// Puts a template; true when it changed what is stored.
    fn insert(&mut self, scope: &str, def: TemplateDef) -> bool {
        self.clock += 1;
        let now = self.clock;
        let scope: Arc<str> = match self.scopes.get_key_value(scope) {
            Some((k, _)) => k.clone(),
            None => Arc::from(scope),
        };
        let s = self.scopes.entry(scope.clone()).or_default();
        if s.last_put != 0 {
            self.by_age.remove(&s.last_put);
        }
        s.last_put = now;
        self.by_age.insert(now, scope.clone());
        let changed = s.templates.get(&def.id) != Some(&def);
        if changed && s.templates.insert(def.id, def).is_none() {
            self.count += 1;
        }
        while self.count > self.limit {
            // The oldest scope other than the one just written.
            let Some((&age, old)) = self.by_age.iter().find(|(_, sc)| **sc != scope) else {
                break;
            };
            let old = old.clone();
            self.by_age.remove(&age);
            if let Some(gone) = self.scopes.remove(&old) {
                self.count -= gone.templates.len();
            }
        }
        changed
    }

    fn remove(&mut self, scope: &str, id: u16) -> bool {
        let Some(s) = self.scopes.get_mut(scope) else {
            return false;
        };
        let removed = s.templates.remove(&id).is_some();
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

    /// The file the templates are saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of templates held.
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.count).unwrap_or(0)
    }

    /// Whether no template is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps a template of `scope`. Every put renews the scope, changed or
    /// not: that is what keeps a live exporter's templates over a flood's.
    pub(crate) fn put(&self, scope: &str, def: &TemplateDef) {
        if let Ok(mut m) = self.map.lock() {
            if m.insert(scope, def.clone()) {
                self.dirty.store(true, Ordering::Release);
            }
        }
    }

    /// Forgets a template of `scope`.
    pub(crate) fn remove(&self, scope: &str, id: u16) {
        if let Ok(mut m) = self.map.lock() {
            if m.remove(scope, id) {
                self.dirty.store(true, Ordering::Release);
            }
        }
    }

    /// The templates kept for `scope`.
    pub(crate) fn scope(&self, scope: &str) -> Vec<TemplateDef> {
        self.map
            .lock()
            .ok()
            .and_then(|m| {
                m.scopes
                    .get(scope)
                    .map(|s| s.templates.values().cloned().collect())
            })
            .unwrap_or_default()
    }

    /// Writes the templates to disk if they changed since the last save.
    pub fn save(&self) -> std::io::Result<bool> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(false);
        }
        let mut buf = MAGIC.to_vec();
        if let Ok(m) = self.map.lock() {
            for (scope, s) in &m.scopes {
                for def in s.templates.values() {
                    encode(&mut buf, scope, def);
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

fn encode(buf: &mut Vec<u8>, scope: &str, def: &TemplateDef) {
    let scope = scope.as_bytes();
    buf.extend_from_slice(&(scope.len() as u16).to_le_bytes());
    buf.extend_from_slice(scope);
    buf.extend_from_slice(&def.id.to_le_bytes());
    buf.push(u8::from(def.options));
    buf.extend_from_slice(&def.scope_fields.to_le_bytes());
    buf.extend_from_slice(&(def.fields.len() as u16).to_le_bytes());
    for f in &def.fields {
        buf.extend_from_slice(&f.ie.to_le_bytes());
        buf.extend_from_slice(&f.len.to_le_bytes());
        match f.enterprise {
            Some(pen) => {
                buf.push(1);
                buf.extend_from_slice(&pen.to_le_bytes());
            }
            None => buf.push(0),
        }
    }
}

/// Reads bytes in order; every read is checked against what is left.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16le(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32le(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u16be(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32be(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Loads a template file into `map`; returns how many entries were
/// skipped as damaged (0 or 1: the rest of a damaged file is dropped).
fn parse(b: &[u8], map: &mut Templates) -> usize {
    if b.starts_with(LEGACY_MAGIC) {
        return parse_legacy(b, map);
    }
    if !b.starts_with(MAGIC) {
        return usize::from(!b.is_empty());
    }
    let mut c = Cursor { b, at: MAGIC.len() };
    while c.at < b.len() {
        let entry = (|| {
            let slen = usize::from(c.u16le()?);
            let scope = String::from_utf8_lossy(c.take(slen)?).into_owned();
            let id = c.u16le()?;
            let options = c.u8()? != 0;
            let scope_fields = c.u16le()?;
            let n = c.u16le()?;
            let mut fields = Vec::new();
            for _ in 0..n {
                let ie = c.u16le()?;
                let len = c.u16le()?;
                let enterprise = match c.u8()? {
                    0 => None,
                    _ => Some(c.u32le()?),
                };
                fields.push(FieldSpec {
                    ie,
                    len,
                    enterprise,
                });
            }
            Some((
                scope,
                TemplateDef {
                    id,
                    options,
                    scope_fields,
                    fields,
                },
            ))
        })();
        match entry {
            Some((scope, def)) => {
                map.insert(&scope, def);
            }
            None => return 1,
        }
    }
    0
}

/// The previous format: (kind u8, id u16 LE, scope, value) entries whose
/// values are netflow_parser 1.0's template encoding (version byte 1,
/// then big-endian fields, see its `template_store` module).
fn parse_legacy(b: &[u8], map: &mut Templates) -> usize {
    let mut c = Cursor {
        b,
        at: LEGACY_MAGIC.len(),
    };
    while c.at < b.len() {
        let entry = (|| {
            let kind = c.u8()?;
            let _id = c.u16le()?;
            let slen = usize::from(c.u16le()?);
            let scope = String::from_utf8_lossy(c.take(slen)?).into_owned();
            let vlen = c.u32le()? as usize;
            let value = c.take(vlen)?;
            Some((scope, legacy_def(kind, value)))
        })();
        match entry {
            Some((scope, Some(def))) => {
                map.insert(&scope, def);
            }
            Some((_, None)) => {}
            None => return 1,
        }
    }
    0
}

fn legacy_def(kind: u8, value: &[u8]) -> Option<TemplateDef> {
    let mut c = Cursor { b: value, at: 0 };
    if c.u8()? != 1 {
        return None;
    }
    let id = c.u16be()?;
    let v9_fields = |c: &mut Cursor, n: usize| -> Option<Vec<FieldSpec>> {
        (0..n)
            .map(|_| {
                Some(FieldSpec {
                    ie: c.u16be()?,
                    len: c.u16be()?,
                    enterprise: None,
                })
            })
            .collect()
    };
    let ipfix_fields = |c: &mut Cursor, n: usize| -> Option<Vec<FieldSpec>> {
        (0..n)
            .map(|_| {
                let ie = c.u16be()?;
                let len = c.u16be()?;
                let enterprise = match c.u8()? {
                    0 => None,
                    _ => Some(c.u32be()?),
                };
                Some(FieldSpec {
                    ie,
                    len,
                    enterprise,
                })
            })
            .collect()
    };
    let (options, scope_fields, fields) = match kind {
        // v9 data templates, also as IPFIX set 0.
        0 | 4 => {
            let n = usize::from(c.u16be()?);
            (false, 0, v9_fields(&mut c, n)?)
        }
        // v9 options templates: scope and option lengths in bytes.
        1 | 5 => {
            let scope = usize::from(c.u16be()? / 4);
            let opts = usize::from(c.u16be()? / 4);
            (true, scope as u16, v9_fields(&mut c, scope + opts)?)
        }
        2 => {
            let n = usize::from(c.u16be()?);
            (false, 0, ipfix_fields(&mut c, n)?)
        }
        3 => {
            let n = usize::from(c.u16be()?);
            let scope = c.u16be()?;
            (true, scope, ipfix_fields(&mut c, n)?)
        }
        _ => return None,
    };
    Some(TemplateDef {
        id,
        options,
        scope_fields,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(id: u16) -> TemplateDef {
        TemplateDef {
            id,
            options: false,
            scope_fields: 0,
            fields: vec![
                FieldSpec {
                    ie: 8,
                    len: 4,
                    enterprise: None,
                },
                FieldSpec {
                    ie: 100,
                    len: 65535,
                    enterprise: Some(9),
                },
            ],
        }
    }

    #[test]
    fn the_scope_written_least_recently_goes_first() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = FileTemplateStore::open_with_limit(dir.path().join("t"), 25).unwrap();
        for id in 256..266 {
            store.put("live", &def(id));
        }
        for n in 0..10 {
            // A flood of made-up scopes, the live exporter refreshing one
            // template now and then.
            for id in 256..266 {
                store.put(&format!("fake{n}"), &def(id));
            }
            store.put("live", &def(256));
        }
        assert!(store.len() <= 25, "{}", store.len());
        assert_eq!(store.scope("live").len(), 10);
        assert!(store.scope("fake0").is_empty());
        assert_eq!(store.scope("fake9").len(), 10);
    }

    #[test]
    fn saved_and_loaded_and_legacy_files_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("templates");
        let (store, _) = FileTemplateStore::open(&path).unwrap();
        store.put("192.0.2.1/v10/7", &def(300));
        store.put("192.0.2.1/v10/7", &def(301));
        store.remove("192.0.2.1/v10/7", 301);
        assert!(store.save().unwrap());
        let (again, skipped) = FileTemplateStore::open(&path).unwrap();
        assert_eq!(skipped, 0);
        assert_eq!(again.scope("192.0.2.1/v10/7"), [def(300)]);

        // A FLOETPL1 file with a v9 data template (id 256: IN_BYTES/4,
        // IPV4_SRC_ADDR/4) and an IPFIX options template.
        let mut old = LEGACY_MAGIC.to_vec();
        let mut entry = |kind: u8, scope: &str, value: &[u8]| {
            old.push(kind);
            old.extend_from_slice(&0u16.to_le_bytes());
            old.extend_from_slice(&(scope.len() as u16).to_le_bytes());
            old.extend_from_slice(scope.as_bytes());
            old.extend_from_slice(&(value.len() as u32).to_le_bytes());
            old.extend_from_slice(value);
        };
        entry(0, "10.0.0.1/v9/0", &[1, 1, 0, 0, 2, 0, 1, 0, 4, 0, 8, 0, 4]);
        entry(
            3,
            "10.0.0.1/v10/0",
            &[1, 1, 1, 0, 2, 0, 1, 0, 149, 0, 4, 0, 0, 34, 0, 4, 0],
        );
        let legacy = dir.path().join("legacy");
        std::fs::write(&legacy, &old).unwrap();
        let (store, skipped) = FileTemplateStore::open(&legacy).unwrap();
        assert_eq!(skipped, 0);
        assert_eq!(store.len(), 2);
        let v9 = store.scope("10.0.0.1/v9/0");
        assert_eq!(v9[0].id, 256);
        assert_eq!(v9[0].fields.len(), 2);
        let opt = store.scope("10.0.0.1/v10/0");
        assert!(opt[0].options);
        assert_eq!(opt[0].scope_fields, 1);
        assert_eq!(opt[0].fields[1].ie, 34);
        // A damaged file: what was whole before the damage is kept.
        std::fs::write(&legacy, &old[..old.len() - 3]).unwrap();
        let (store, skipped) = FileTemplateStore::open(&legacy).unwrap();
        assert_eq!((store.len(), skipped), (1, 1));
    }
}
