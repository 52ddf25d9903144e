//! Where the admin's refresh token is kept between runs: the OS credential store (Windows
//! Credential Manager, macOS Keychain, Secret Service), never a file.
//!
//! All keyring calls go through one mutex on a blocking thread: platform stores, Secret
//! Service in particular, misbehave under concurrent access and block on D-Bus.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::secret::Secret;

/// The keyring service name every AppGrant entry uses.
pub const KEYRING_SERVICE: &str = "AppGrant";

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// No usable credential store (e.g. no Secret Service running, or it is locked).
    #[error("the system credential store is not available ({0})")]
    Unavailable(String),
    #[error("the system credential store failed: {0}")]
    Failed(String),
}

/// A place to keep secrets by account name.
pub trait TokenStore: Send + Sync {
    fn load(&self, account: &str) -> Result<Option<Secret<String>>, StoreError>;
    fn save(&self, account: &str, secret: &Secret<String>) -> Result<(), StoreError>;
    /// Deleting something that is not there succeeds.
    fn delete(&self, account: &str) -> Result<(), StoreError>;
}

/// The OS keyring, via the `keyring` crate.
#[derive(Default)]
pub struct KeyringStore {
    lock: Mutex<()>,
}

fn map_keyring(error: keyring::Error) -> StoreError {
    match error {
        keyring::Error::NoStorageAccess(e) => StoreError::Unavailable(e.to_string()),
        keyring::Error::PlatformFailure(e) => StoreError::Unavailable(e.to_string()),
        other => StoreError::Failed(other.to_string()),
    }
}

impl KeyringStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with_entry<T>(
        &self,
        account: &str,
        f: impl FnOnce(&keyring::Entry) -> Result<T, keyring::Error>,
    ) -> Result<T, keyring::Error> {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = keyring::Entry::new(KEYRING_SERVICE, account)?;
        f(&entry)
    }
}

impl TokenStore for KeyringStore {
    fn load(&self, account: &str) -> Result<Option<Secret<String>>, StoreError> {
        match self.with_entry(account, keyring::Entry::get_password) {
            Ok(value) => Ok(Some(Secret::new(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_keyring(e)),
        }
    }

    fn save(&self, account: &str, secret: &Secret<String>) -> Result<(), StoreError> {
        self.with_entry(account, |e| e.set_password(secret.expose()))
            .map_err(map_keyring)
    }

    fn delete(&self, account: &str) -> Result<(), StoreError> {
        match self.with_entry(account, keyring::Entry::delete_credential) {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_keyring(e)),
        }
    }
}

/// An in-memory store for tests (and for running without any keyring).
#[derive(Default, Clone)]
pub struct MemoryStore {
    entries: Arc<Mutex<HashMap<String, String>>>,
    unavailable: Arc<Mutex<bool>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every call fail as if no credential store were running.
    pub fn set_unavailable(&self, unavailable: bool) {
        *self.unavailable.lock().unwrap_or_else(|p| p.into_inner()) = unavailable;
    }

    pub fn contains(&self, account: &str) -> bool {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(account)
    }

    fn check(&self) -> Result<(), StoreError> {
        if *self.unavailable.lock().unwrap_or_else(|p| p.into_inner()) {
            Err(StoreError::Unavailable(
                "no Secret Service on the session bus".to_string(),
            ))
        } else {
            Ok(())
        }
    }
}

impl TokenStore for MemoryStore {
    fn load(&self, account: &str) -> Result<Option<Secret<String>>, StoreError> {
        self.check()?;
        Ok(self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .cloned()
            .map(Secret::new))
    }

    fn save(&self, account: &str, secret: &Secret<String>) -> Result<(), StoreError> {
        self.check()?;
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.to_string(), secret.expose().clone());
        Ok(())
    }

    fn delete(&self, account: &str) -> Result<(), StoreError> {
        self.check()?;
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(account);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip_and_idempotent_delete() {
        let store = MemoryStore::new();
        assert!(store.load("a").unwrap().is_none());
        store.save("a", &Secret::new("rt".into())).unwrap();
        assert_eq!(store.load("a").unwrap().unwrap().expose(), "rt");
        store.delete("a").unwrap();
        store.delete("a").unwrap();
        assert!(store.load("a").unwrap().is_none());
        store.set_unavailable(true);
        assert!(matches!(store.load("a"), Err(StoreError::Unavailable(_))));
    }

    /// Uses the real OS keyring: run only inside `scripts/with-keyring.sh` (the test script
    /// does), never on a person's own machine.
    #[test]
    #[ignore = "touches the real OS keyring; run inside scripts/with-keyring.sh"]
    fn real_keyring_round_trip() {
        let store = KeyringStore::new();
        let account = format!("test/{}", uuid_like());
        assert!(store.load(&account).unwrap().is_none());
        store
            .save(&account, &Secret::new("refresh-token".into()))
            .unwrap();
        assert_eq!(
            store.load(&account).unwrap().unwrap().expose(),
            "refresh-token"
        );
        store.delete(&account).unwrap();
        assert!(store.load(&account).unwrap().is_none());
        store.delete(&account).unwrap();
    }

    fn uuid_like() -> String {
        format!(
            "{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        )
    }
}
