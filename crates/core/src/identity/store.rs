//! Where secrets are kept between runs (the admin's refresh token, client secrets): the OS
//! credential store (Windows Credential Manager, macOS Keychain, Secret Service), never a
//! file. [`KeyringStore`] is the real one, [`MemoryStore`] the one tests use.
//!
//! All keyring calls go through one mutex on a blocking thread: platform stores, Secret
//! Service in particular, misbehave under concurrent access and block on D-Bus.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::chunks::{self, Entries};
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
    /// Every account this store holds a secret for (what `appgrant-cli forget --all` removes).
    fn accounts(&self) -> Result<Vec<String>, StoreError>;
}

/// The account of the list of every account AppGrant saved (credential stores cannot be
/// searched the same way on every platform, so AppGrant keeps its own list).
pub const ACCOUNTS_LIST: &str = "appgrant/accounts";

/// Deletes every secret AppGrant keeps in `store`: each listed account, plus `also` (for
/// example the secrets named by saved connections). Returns the accounts it deleted, sorted.
/// Blocking; stops at the first failure (what was not yet deleted stays listed).
pub fn forget_all(
    store: &dyn TokenStore,
    also: impl IntoIterator<Item = String>,
) -> Result<Vec<String>, StoreError> {
    let mut accounts = store.accounts()?;
    accounts.extend(also);
    accounts.sort();
    accounts.dedup();
    for account in &accounts {
        store.delete(account)?;
    }
    Ok(accounts)
}

/// The OS keyring (Windows Credential Manager, macOS Keychain, Secret Service), via the
/// `keyring` crate. Secrets of any length: long ones are split over several entries
/// (see [`chunks`](super::chunks)).
pub struct KeyringStore {
    inner: SplittingStore<OsKeyring>,
}

/// One lock for every [`KeyringStore`] in the process (the desktop app and tests may make
/// several), so updates of the [`ACCOUNTS_LIST`] never race.
static OS_KEYRING_LOCK: Mutex<()> = Mutex::new(());

impl Default for KeyringStore {
    fn default() -> Self {
        Self {
            inner: SplittingStore {
                entries: OsKeyring,
                lock: &OS_KEYRING_LOCK,
            },
        }
    }
}

impl KeyringStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl TokenStore for KeyringStore {
    fn load(&self, account: &str) -> Result<Option<Secret<String>>, StoreError> {
        self.inner.load(account)
    }
    fn save(&self, account: &str, secret: &Secret<String>) -> Result<(), StoreError> {
        self.inner.save(account, secret)
    }
    fn delete(&self, account: &str) -> Result<(), StoreError> {
        self.inner.delete(account)
    }
    fn accounts(&self) -> Result<Vec<String>, StoreError> {
        self.inner.accounts()
    }
}

/// One keyring entry per account, service [`KEYRING_SERVICE`].
struct OsKeyring;

fn map_keyring(error: keyring::Error) -> StoreError {
    match error {
        keyring::Error::NoStorageAccess(e) => StoreError::Unavailable(e.to_string()),
        keyring::Error::PlatformFailure(e) => StoreError::Unavailable(e.to_string()),
        other => StoreError::Failed(other.to_string()),
    }
}

/// What one keyring entry holds, in UTF-16 code units. Windows: the Credential Manager takes
/// 2,560 bytes and `keyring` writes UTF-16, so 1,280 (less some headroom). macOS: the
/// Keychain has no such limit, and each item may carry its own "AppGrant wants to use your
/// confidential information" prompt, so a secret stays one item there. Elsewhere (Secret
/// Service) there is no limit either; the Windows size is used so that the same splitting
/// runs, and is tested, against a real store on Linux.
const OS_ENTRY_LIMIT_UTF16: usize = if cfg!(target_os = "macos") {
    1 << 20
} else {
    1200
};

impl Entries for OsKeyring {
    fn limit_utf16(&self) -> usize {
        OS_ENTRY_LIMIT_UTF16
    }

    fn get(&self, account: &str) -> Result<Option<String>, StoreError> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, account).map_err(map_keyring)?;
        match entry.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_keyring(e)),
        }
    }

    fn set(&self, account: &str, value: &str) -> Result<(), StoreError> {
        keyring::Entry::new(KEYRING_SERVICE, account)
            .and_then(|entry| entry.set_password(value))
            .map_err(map_keyring)
    }

    fn remove(&self, account: &str) -> Result<(), StoreError> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, account).map_err(map_keyring)?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_keyring(e)),
        }
    }
}

/// A [`TokenStore`] over size-limited entries: splits long secrets ([`chunks`](super::chunks))
/// and keeps the [`ACCOUNTS_LIST`]. All calls go through one mutex (call it from a blocking
/// thread): platform stores, Secret Service in particular, misbehave under concurrent access.
struct SplittingStore<E> {
    entries: E,
    lock: &'static Mutex<()>,
}

impl<E: Entries> SplittingStore<E> {
    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn listed(&self) -> Result<Vec<String>, StoreError> {
        Ok(chunks::load(&self.entries, ACCOUNTS_LIST)?
            .map(|list| list.expose().lines().map(str::to_string).collect())
            .unwrap_or_default())
    }

    fn write_list(&self, accounts: &[String]) -> Result<(), StoreError> {
        if accounts.is_empty() {
            chunks::delete(&self.entries, ACCOUNTS_LIST)
        } else {
            chunks::save(&self.entries, ACCOUNTS_LIST, &accounts.join("\n"))
        }
    }
}

impl<E: Entries + Send + Sync> TokenStore for SplittingStore<E> {
    fn load(&self, account: &str) -> Result<Option<Secret<String>>, StoreError> {
        let _guard = self.guard();
        chunks::load(&self.entries, account)
    }

    /// Lists the account first, so a secret is never stored without being listed.
    fn save(&self, account: &str, secret: &Secret<String>) -> Result<(), StoreError> {
        if account == ACCOUNTS_LIST || account.contains('\n') {
            return Err(StoreError::Failed(format!(
                "\"{}\" cannot be used as a credential store account",
                account.escape_debug()
            )));
        }
        let _guard = self.guard();
        let mut listed = self.listed()?;
        if !listed.iter().any(|a| a == account) {
            listed.push(account.to_string());
            self.write_list(&listed)?;
        }
        chunks::save(&self.entries, account, secret.expose())
    }

    /// Unlists the account last, so a secret is never left behind unlisted.
    fn delete(&self, account: &str) -> Result<(), StoreError> {
        let _guard = self.guard();
        chunks::delete(&self.entries, account)?;
        let mut listed = self.listed()?;
        let before = listed.len();
        listed.retain(|a| a != account);
        if listed.len() != before {
            self.write_list(&listed)?;
        }
        Ok(())
    }

    fn accounts(&self) -> Result<Vec<String>, StoreError> {
        let _guard = self.guard();
        self.listed()
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

    fn accounts(&self) -> Result<Vec<String>, StoreError> {
        self.check()?;
        let mut accounts: Vec<String> = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        accounts.sort();
        Ok(accounts)
    }
}

/// A stand-in for the Windows Credential Manager, for unit tests on any platform.
#[cfg(test)]
pub(crate) mod test_support {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use super::{Entries, StoreError};

    /// Behaves like the Windows Credential Manager through `keyring`: a value is stored as
    /// UTF-16 and refused over 2,560 bytes. Can be told to fail after a number of writes
    /// (a process killed mid-save).
    #[derive(Default)]
    pub struct WindowsLike {
        entries: Mutex<BTreeMap<String, String>>,
        writes_left: Mutex<Option<usize>>,
    }

    /// `CRED_MAX_CREDENTIAL_BLOB_SIZE` in the Windows SDK.
    pub const WINDOWS_BLOB_LIMIT: usize = 2560;

    impl WindowsLike {
        pub fn kill_after(&self, writes: usize) {
            *self.writes_left.lock().unwrap() = Some(writes);
        }
        pub fn revive(&self) {
            *self.writes_left.lock().unwrap() = None;
        }
        pub fn accounts(&self) -> Vec<String> {
            self.entries.lock().unwrap().keys().cloned().collect()
        }
        /// Writes an entry behind the store's back (a damaged or foreign part).
        pub fn put_raw(&self, account: &str, value: &str) {
            self.entries
                .lock()
                .unwrap()
                .insert(account.to_string(), value.to_string());
        }
        fn spend_write(&self) -> Result<(), StoreError> {
            let mut left = self.writes_left.lock().unwrap();
            match *left {
                Some(0) => Err(StoreError::Failed("killed".into())),
                Some(n) => {
                    *left = Some(n - 1);
                    Ok(())
                }
                None => Ok(()),
            }
        }
    }

    impl Entries for WindowsLike {
        fn limit_utf16(&self) -> usize {
            1200
        }
        fn get(&self, account: &str) -> Result<Option<String>, StoreError> {
            Ok(self.entries.lock().unwrap().get(account).cloned())
        }
        fn set(&self, account: &str, value: &str) -> Result<(), StoreError> {
            if value.encode_utf16().count() * 2 > WINDOWS_BLOB_LIMIT {
                return Err(StoreError::Failed(
                    "password encoded as UTF-16 is longer than 2560".into(),
                ));
            }
            self.spend_write()?;
            self.put_raw(account, value);
            Ok(())
        }
        fn remove(&self, account: &str) -> Result<(), StoreError> {
            self.spend_write()?;
            self.entries.lock().unwrap().remove(account);
            Ok(())
        }
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

    fn windows_like_store() -> SplittingStore<test_support::WindowsLike> {
        static LOCK: Mutex<()> = Mutex::new(());
        SplittingStore {
            entries: test_support::WindowsLike::default(),
            lock: &LOCK,
        }
    }

    #[test]
    fn long_secrets_round_trip_through_a_windows_sized_store_and_are_listed_for_forget_all() {
        let store = windows_like_store();
        let long = "R".repeat(3_000) + &"é".repeat(3_000) + &"🔑".repeat(1_000);
        store
            .save("signin/t/u", &Secret::new(long.clone()))
            .unwrap();
        store
            .save("secret/t/app/key", &Secret::new("short".into()))
            .unwrap();
        assert_eq!(store.load("signin/t/u").unwrap().unwrap().expose(), &long);
        assert_eq!(
            store.accounts().unwrap(),
            ["signin/t/u", "secret/t/app/key"]
        );

        store.delete("signin/t/u").unwrap();
        store.delete("secret/t/app/key").unwrap();
        assert!(store.accounts().unwrap().is_empty());
        assert!(
            store.entries.accounts().is_empty(),
            "nothing left in the credential store: {:?}",
            store.entries.accounts()
        );
    }

    #[test]
    fn the_accounts_list_cannot_be_overwritten_as_a_secret() {
        let store = windows_like_store();
        let error = store
            .save(ACCOUNTS_LIST, &Secret::new("x".into()))
            .unwrap_err();
        assert!(error.to_string().contains("cannot be used"), "{error}");
    }

    #[test]
    fn forget_all_deletes_listed_and_named_secrets_and_leaves_nothing() {
        let store = windows_like_store();
        store
            .save("signin/t/u", &Secret::new("x".repeat(5_000)))
            .unwrap();
        store
            .save("secret/t/a/k", &Secret::new("s".into()))
            .unwrap();
        // An entry written before the accounts list existed, named by a saved connection.
        store.entries.put_raw("secret/t/old/k", "older");
        let removed = forget_all(&store, ["secret/t/old/k".to_string()]).unwrap();
        assert_eq!(removed, ["secret/t/a/k", "secret/t/old/k", "signin/t/u"]);
        assert!(
            store.entries.accounts().is_empty(),
            "{:?}",
            store.entries.accounts()
        );
        assert!(forget_all(&store, []).unwrap().is_empty());
    }

    #[test]
    fn memory_store_lists_its_accounts() {
        let store = MemoryStore::new();
        store.save("b", &Secret::new("1".into())).unwrap();
        store.save("a", &Secret::new("2".into())).unwrap();
        assert_eq!(store.accounts().unwrap(), ["a", "b"]);
    }

    /// Uses the real OS keyring: run only inside `scripts/with-keyring.sh`. 10 kB is four
    /// times what one Windows credential holds; the same code splits it on every platform.
    #[test]
    #[ignore = "touches the real OS keyring; run inside scripts/with-keyring.sh"]
    fn real_keyring_keeps_a_10_kb_secret_and_forgets_every_part() {
        let store = KeyringStore::new();
        let account = format!("test/{}", uuid_like());
        let secret: String = (0..10_000)
            .map(|i| char::from(b'A' + (i % 26) as u8))
            .collect();
        store.save(&account, &Secret::new(secret.clone())).unwrap();
        assert_eq!(store.load(&account).unwrap().unwrap().expose(), &secret);
        assert!(store.accounts().unwrap().contains(&account));
        let first_part = keyring::Entry::new(KEYRING_SERVICE, &format!("{account}#a0")).unwrap();
        if OS_ENTRY_LIMIT_UTF16 < secret.len() {
            assert!(first_part.get_password().is_ok(), "stored in parts");
        }

        store.delete(&account).unwrap();
        assert!(store.load(&account).unwrap().is_none());
        assert!(!store.accounts().unwrap().contains(&account));
        assert!(matches!(
            first_part.get_password(),
            Err(keyring::Error::NoEntry)
        ));
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
