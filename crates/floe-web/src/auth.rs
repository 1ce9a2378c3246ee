//! HTTP basic authentication against a file of users and argon2 password
//! hashes, one `NAME:HASH` per line (`#` comments), made and updated with
//! `floe web --add-user NAME --auth FILE`.

use std::collections::HashMap;
use std::path::Path;

use argon2::password_hash::rand_core::OsRng;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;

/// Why the users file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The users file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The users file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A line of the users file is not a user and a password hash.
    #[error("{path}:{line}: {why}")]
    Line {
        /// The users file.
        path: String,
        /// The line's number, from 1.
        line: usize,
        /// What is wrong with it.
        why: String,
    },
    /// A user name that cannot be used.
    #[error("a user name is 1 to 64 letters, digits, '.', '-' or '_'")]
    Name,
    /// The password could not be hashed.
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// The users and their password hashes.
#[derive(Clone, Debug, Default)]
pub struct Users {
    hashes: HashMap<String, String>,
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

impl Users {
    /// Reads a users file; every line is checked (a hash that does not
    /// parse is an error naming its line).
    pub fn load(path: &Path) -> Result<Users, AuthError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| AuthError::Io {
            path: p.clone(),
            source: e,
        })?;
        let mut hashes = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let bad = |why: &str| AuthError::Line {
                path: p.clone(),
                line: i + 1,
                why: why.into(),
            };
            let (name, hash) = l.split_once(':').ok_or_else(|| bad("expected NAME:HASH"))?;
            if !valid_name(name) {
                return Err(bad("not a user name"));
            }
            PasswordHash::new(hash).map_err(|_| bad("not an argon2 password hash"))?;
            hashes.insert(name.to_string(), hash.to_string());
        }
        Ok(Users { hashes })
    }

    /// Whether an `Authorization` header's value names a user with the
    /// right password.
    pub fn check(&self, header: Option<&str>) -> Option<String> {
        let b64 = header?.strip_prefix("Basic ")?.trim();
        let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (name, password) = text.split_once(':')?;
        let hash = self.hashes.get(name)?;
        let parsed = PasswordHash::new(hash).ok()?;
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .ok()
            .map(|_| name.to_string())
    }

    /// True when there are no users (then nobody gets in).
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }
}

/// Adds or replaces a user in the users file (made, mode 0600, when
/// absent).
pub fn add_user(path: &Path, name: &str, password: &str) -> Result<(), AuthError> {
    if !valid_name(name) {
        return Err(AuthError::Name);
    }
    let p = path.display().to_string();
    let io = |e| AuthError::Io {
        path: p.clone(),
        source: e,
    };
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AuthError::Hash(e.to_string()))?
        .to_string();
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    let mut lines: Vec<String> = old
        .lines()
        .filter(|l| l.split_once(':').map(|(n, _)| n.trim()) != Some(name))
        .map(str::to_string)
        .collect();
    lines.push(format!("{name}:{hash}"));
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        f.write_all((lines.join("\n") + "\n").as_bytes())
            .map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("users");
        add_user(&f, "noc", "s3cret").unwrap();
        add_user(&f, "ops", "other").unwrap();
        add_user(&f, "noc", "changed").unwrap();
        let u = Users::load(&f).unwrap();
        let basic = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert_eq!(u.check(Some(&basic("noc:changed"))), Some("noc".into()));
        assert_eq!(u.check(Some(&basic("noc:s3cret"))), None);
        assert_eq!(u.check(Some(&basic("ops:other"))), Some("ops".into()));
        assert_eq!(u.check(Some("Basic !!!")), None);
        assert_eq!(u.check(None), None);
        assert!(add_user(&f, "bad name", "x").is_err());
        std::fs::write(&f, "noc:notahash\n").unwrap();
        assert!(Users::load(&f).unwrap_err().to_string().contains(":1:"));
    }
}
