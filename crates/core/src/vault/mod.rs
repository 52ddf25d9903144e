//! The connections vault: what AppGrant made where, and the client secrets.
//!
//! Two halves that never mix:
//! - **Metadata** ([`Connection`]: tenant, vendor, app ids, secret key ids and expiry dates,
//!   created and verified times) lives in `connections.json` in the app data folder. The
//!   file has a `version` field ([`INDEX_VERSION`]). Every write goes to a temporary file in
//!   the same folder, is flushed to disk and then renamed over the index, so a process killed
//!   mid-write leaves either the old index or the new one, never half of one. A damaged
//!   index is never overwritten: opening or saving reports [`VaultError::CorruptIndex`],
//!   naming the file, and a copy is kept beside it (`connections.json.corrupt-<time>`).
//! - **Secret values** live only in the OS keyring (service `AppGrant`, account
//!   `secret/{tenant_id}/{app_id}/{key_id}`, see [`SecretRef`]), through a [`TokenStore`].
//!   Pass the same `Arc<KeyringStore>` the sign-in code uses, so every keyring call in the
//!   process goes through one lock.
//!
//! Every method blocks (file I/O, and keyring calls that may wait on D-Bus or a keychain
//! prompt). From async code call them inside `tokio::task::spawn_blocking`, never directly on
//! an async worker or the UI thread. Writes within one process are serialised; two
//! processes (desktop and CLI) saving at the same instant cannot corrupt the index, but the
//! later write wins.
//!
//! [`TokenStore`]: crate::identity::TokenStore

mod connection;
mod error;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

pub use connection::{ConnectedApp, Connection, SecretMeta, SecretRef};
pub use error::{VaultCode, VaultError};

use crate::identity::TokenStore;
use crate::secret::Secret;

/// The index file's name inside the vault folder.
pub const INDEX_FILE: &str = "connections.json";

/// The index format this build reads and writes.
pub const INDEX_VERSION: u32 = 1;

/// Temporary files older than this are leftovers of a killed process and are removed on open.
const STALE_TEMP_AGE: Duration = Duration::from_secs(10 * 60);

const TEMP_PREFIX: &str = ".connections.json.";
const TEMP_SUFFIX: &str = ".tmp";
const CORRUPT_PREFIX: &str = "connections.json.corrupt-";

#[derive(Serialize)]
struct IndexOut<'a> {
    version: u32,
    connections: &'a [Connection],
}

#[derive(Deserialize)]
struct IndexIn {
    // `version` is checked before this is read.
    #[serde(default)]
    connections: Vec<Connection>,
}

/// Saved connections on disk plus their secrets in the keyring. See the module docs.
pub struct Vault {
    dir: PathBuf,
    index_path: PathBuf,
    store: Arc<dyn TokenStore>,
    /// Serialises read-modify-write of the index within this process.
    lock: Mutex<()>,
    /// The index as this process last read or wrote it, with the file's size and modified
    /// time then: while the file is unchanged it is not parsed again (bulk rotations save
    /// each connection several times).
    cache: Mutex<Option<(FileStamp, Vec<Connection>)>>,
}

/// What identifies one version of the index file on disk.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: SystemTime,
}

fn stamp(path: &Path) -> Option<FileStamp> {
    let meta = fs::metadata(path).ok()?;
    Some(FileStamp {
        len: meta.len(),
        modified: meta.modified().ok()?,
    })
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("index_path", &self.index_path)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Opens (creating the folder if needed) the vault in `dir` and checks the index can be
    /// read. Blocking.
    pub fn open(dir: PathBuf, store: Arc<dyn TokenStore>) -> Result<Vault, VaultError> {
        fs::create_dir_all(&dir).map_err(|e| VaultError::io("create the folder", &dir, e))?;
        let vault = Vault {
            index_path: dir.join(INDEX_FILE),
            dir,
            store,
            lock: Mutex::new(()),
            cache: Mutex::new(None),
        };
        vault.remove_stale_temp_files();
        vault.read_index()?;
        Ok(vault)
    }

    /// The folder the vault lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The metadata index file.
    pub fn index_path(&self) -> &Path {
        &self.index_path
    }

    /// Every saved connection, in the order they were first saved.
    pub fn list(&self) -> Result<Vec<Connection>, VaultError> {
        let _guard = self.guard();
        self.read_index()
    }

    pub fn get(&self, id: &str) -> Result<Option<Connection>, VaultError> {
        Ok(self.list()?.into_iter().find(|c| c.id == id))
    }

    /// Like [`Vault::get`], but a missing connection is [`VaultError::NotFound`].
    pub fn require(&self, id: &str) -> Result<Connection, VaultError> {
        self.get(id)?
            .ok_or_else(|| VaultError::NotFound { id: id.to_string() })
    }

    /// Inserts the connection, or replaces the saved one with the same id.
    pub fn save(&self, connection: &Connection) -> Result<(), VaultError> {
        let _guard = self.guard();
        let mut all = self.read_index()?;
        match all.iter_mut().find(|c| c.id == connection.id) {
            Some(existing) => *existing = connection.clone(),
            None => all.push(connection.clone()),
        }
        self.write_index(&all)?;
        tracing::info!(connection = %connection.id, vendor = %connection.vendor, "connection saved");
        Ok(())
    }

    /// Changes one saved connection in place (read, `change`, write, under the index lock),
    /// so concurrent updates of different connections, or of different fields, never undo
    /// each other. Returns the connection as saved. Blocking.
    pub fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut Connection),
    ) -> Result<Connection, VaultError> {
        let _guard = self.guard();
        let mut all = self.read_index()?;
        let connection = all
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| VaultError::NotFound { id: id.to_string() })?;
        change(connection);
        let saved = connection.clone();
        self.write_index(&all)?;
        Ok(saved)
    }

    /// Forgets a connection: deletes every keyring entry of its secrets and certificate keys,
    /// then its metadata.
    /// Returns what was removed; removing an unknown id succeeds with `None`.
    ///
    /// If the keyring cannot be reached, nothing is removed, so the connection stays listed
    /// and the person can try again (rather than leaving secrets nobody can find).
    /// This does not touch the tenant: deleting the apps there is the caller's job.
    pub fn remove(&self, id: &str) -> Result<Option<Connection>, VaultError> {
        let _guard = self.guard();
        let mut all = self.read_index()?;
        let Some(position) = all.iter().position(|c| c.id == id) else {
            return Ok(None);
        };
        for secret in all[position].secret_refs() {
            self.store.delete(&secret.account()?)?;
        }
        let connection = &all[position];
        for account in connection
            .apps
            .iter()
            .filter_map(|a| a.certificate_key_account(&connection.tenant_id))
        {
            self.store.delete(&account)?;
        }
        let removed = all.remove(position);
        self.write_index(&all)?;
        tracing::info!(connection = %id, "connection removed");
        Ok(Some(removed))
    }

    /// The credential store the vault keeps secrets in.
    pub fn store(&self) -> Arc<dyn TokenStore> {
        Arc::clone(&self.store)
    }

    /// Keeps a client secret in the keyring. Blocking.
    pub fn store_secret(&self, at: &SecretRef, secret: &Secret<String>) -> Result<(), VaultError> {
        self.store.save(&at.account()?, secret)?;
        Ok(())
    }

    /// Reads a client secret from the keyring; `None` when there is no such entry. Blocking.
    pub fn load_secret(&self, at: &SecretRef) -> Result<Option<Secret<String>>, VaultError> {
        Ok(self.store.load(&at.account()?)?)
    }

    /// The private key of the generated certificate of the app `app_key`. Blocking.
    pub fn load_certificate_key(
        &self,
        connection: &Connection,
        app_key: &str,
    ) -> Result<Option<Secret<String>>, VaultError> {
        match connection
            .app(app_key)
            .and_then(|a| a.certificate_key_account(&connection.tenant_id))
        {
            Some(account) => Ok(self.store.load(&account)?),
            None => Ok(None),
        }
    }

    /// Deletes a client secret from the keyring; deleting a missing one succeeds. Blocking.
    pub fn delete_secret(&self, at: &SecretRef) -> Result<(), VaultError> {
        self.store.delete(&at.account()?)?;
        Ok(())
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, Option<(FileStamp, Vec<Connection>)>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_index(&self) -> Result<Vec<Connection>, VaultError> {
        let before = stamp(&self.index_path);
        if let (Some(now), Some((then, connections))) = (before, self.cached().as_ref()) {
            if now == *then {
                return Ok(connections.clone());
            }
        }
        let bytes = match fs::read(&self.index_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(VaultError::io("read", &self.index_path, e)),
        };
        match parse_index(&bytes) {
            Ok(Parsed::Current(connections)) => {
                // Only when nobody wrote in between (else the next read parses again).
                if before.is_some() && before == stamp(&self.index_path) {
                    *self.cached() = before.map(|s| (s, connections.clone()));
                }
                Ok(connections)
            }
            Ok(Parsed::Newer(found)) => Err(VaultError::NewerIndex {
                path: self.index_path.clone(),
                found,
                supported: INDEX_VERSION,
            }),
            Err(detail) => {
                let backup = self.keep_corrupt_copy(&bytes)?;
                tracing::error!(path = %self.index_path.display(), backup = %backup.display(), %detail, "connections index is damaged");
                Err(VaultError::CorruptIndex {
                    path: self.index_path.clone(),
                    backup,
                    detail,
                })
            }
        }
    }

    fn write_index(&self, connections: &[Connection]) -> Result<(), VaultError> {
        let mut text = serde_json::to_vec_pretty(&IndexOut {
            version: INDEX_VERSION,
            connections,
        })
        .map_err(|e| VaultError::io("prepare", &self.index_path, std::io::Error::other(e)))?;
        text.push(b'\n');
        *self.cached() = None;
        write_atomically(&self.dir, &self.index_path, &text)?;
        // Another process writing right after us would show as a different file.
        *self.cached() = stamp(&self.index_path)
            .filter(|s| s.len == text.len() as u64)
            .map(|s| (s, connections.to_vec()));
        Ok(())
    }

    /// Copies a damaged index beside it (once per distinct content) and returns the copy.
    fn keep_corrupt_copy(&self, bytes: &[u8]) -> Result<PathBuf, VaultError> {
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                if name.to_string_lossy().starts_with(CORRUPT_PREFIX)
                    && fs::read(entry.path()).is_ok_and(|b| b == bytes)
                {
                    return Ok(entry.path());
                }
            }
        }
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let backup = self.dir.join(format!("{CORRUPT_PREFIX}{stamp}"));
        write_atomically(&self.dir, &backup, bytes)?;
        Ok(backup)
    }

    fn remove_stale_temp_files(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
                continue;
            }
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| now.duration_since(modified).ok())
                .is_some_and(|age| age >= STALE_TEMP_AGE);
            if stale {
                match fs::remove_file(entry.path()) {
                    Ok(()) => tracing::info!(file = %name, "removed a leftover temporary file"),
                    Err(e) => {
                        tracing::warn!(file = %name, error = %e, "could not remove a leftover temporary file")
                    }
                }
            }
        }
    }
}

enum Parsed {
    Current(Vec<Connection>),
    Newer(u32),
}

fn parse_index(bytes: &[u8]) -> Result<Parsed, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let version = value
        .get("version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| "no format version".to_string())?;
    let version = u32::try_from(version).map_err(|_| format!("format version {version}"))?;
    if version > INDEX_VERSION {
        return Ok(Parsed::Newer(version));
    }
    if version == 0 {
        return Err("format version 0".to_string());
    }
    let index: IndexIn = serde_json::from_value(value).map_err(|e| e.to_string())?;
    Ok(Parsed::Current(index.connections))
}

/// Writes `bytes` to `target` via a temporary file in `dir`, flushed before the rename.
fn write_atomically(dir: &Path, target: &Path, bytes: &[u8]) -> Result<(), VaultError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let temp = dir.join(format!(
        "{TEMP_PREFIX}{}-{nanos}-{}{TEMP_SUFFIX}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_and_rename(&temp, target, bytes);
    if result.is_err() {
        let _ = fs::remove_file(&temp);
        return result;
    }
    sync_dir(dir);
    Ok(())
}

fn write_and_rename(temp: &Path, target: &Path, bytes: &[u8]) -> Result<(), VaultError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(temp)
        .map_err(|e| VaultError::io("create", temp, e))?;
    file.write_all(bytes)
        .map_err(|e| VaultError::io("write", temp, e))?;
    file.sync_all()
        .map_err(|e| VaultError::io("flush to disk", temp, e))?;
    drop(file);
    fs::rename(temp, target).map_err(|e| VaultError::io("replace", target, e))
}

/// Makes the rename itself durable (Unix); best effort.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(e) = fs::File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(dir = %dir.display(), error = %e, "could not flush the folder to disk");
    }
    #[cfg(not(unix))]
    let _ = dir;
}
