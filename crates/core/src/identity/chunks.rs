//! Secrets of any length in credential stores that keep only small values per entry.
//!
//! The Windows Credential Manager refuses a credential blob over 2,560 bytes, and the
//! `keyring` crate stores text there as UTF-16, so one entry holds at most 1,280 UTF-16 code
//! units. Microsoft refresh tokens and certificate private keys can be longer. This module
//! splits a long secret over several entries, the same way on every platform (so the Linux
//! tests exercise the Windows path):
//!
//! - A secret that fits one entry ([`Entries::limit_utf16`]) is one entry at `account`,
//!   exactly as before, so secrets saved by earlier versions still read.
//! - A longer one is stored as parts at `{account}#a0`, `#a1`, ... (or `#b0`, ... : two slots
//!   that take turns), each value `{nonce}:{piece}`, and then a small header at `account`:
//!   `appgrant-parts:1:{slot}:{count}:{nonce}:{sha256 of the secret}`.
//!
//! Why that cannot yield a wrong secret: the header is written last, so a write killed
//! halfway leaves the previous header pointing at the previous, untouched slot. Every part
//! carries the nonce of its write and the header carries a checksum of the whole, so a
//! mixture (two processes writing at once, a part removed by hand) is reported as damaged,
//! never returned. Deleting removes the header first (the secret is gone at once), then every
//! part of both slots, last part first, so a delete killed halfway leaves parts that the next
//! save or delete of that account still finds and removes.

use sha2::{Digest, Sha256};

use super::store::StoreError;
use crate::secret::Secret;

const HEADER_PREFIX: &str = "appgrant-parts:1:";
const SLOTS: [char; 2] = ['a', 'b'];
/// No secret needs more parts than this (about 1.2 million characters).
const MAX_PARTS: usize = 1000;

/// A credential store as the platform offers it: one value per account, maybe size-limited.
pub trait Entries {
    /// The most UTF-16 code units this store keeps in one entry.
    fn limit_utf16(&self) -> usize;
    fn get(&self, account: &str) -> Result<Option<String>, StoreError>;
    fn set(&self, account: &str, value: &str) -> Result<(), StoreError>;
    /// Removes the entry; removing a missing one succeeds.
    fn remove(&self, account: &str) -> Result<(), StoreError>;
}

/// What the header entry says about a split secret.
#[derive(Debug, PartialEq)]
struct Header {
    slot: char,
    count: usize,
    nonce: String,
    checksum: String,
}

impl Header {
    fn parse(value: &str) -> Option<Result<Header, String>> {
        let rest = value.strip_prefix(HEADER_PREFIX)?;
        let fields: Vec<&str> = rest.split(':').collect();
        let parsed = match fields.as_slice() {
            [slot, count, nonce, checksum] => {
                let slot = slot.chars().next().filter(|s| SLOTS.contains(s));
                let count = count
                    .parse::<usize>()
                    .ok()
                    .filter(|c| (1..=MAX_PARTS).contains(c));
                match (slot, count) {
                    (Some(slot), Some(count)) => Ok(Header {
                        slot,
                        count,
                        nonce: (*nonce).to_string(),
                        checksum: (*checksum).to_string(),
                    }),
                    _ => Err("its header names no valid slot or part count".to_string()),
                }
            }
            _ => Err("its header is not in a format this version reads".to_string()),
        };
        Some(parsed)
    }

    fn render(&self) -> String {
        format!(
            "{HEADER_PREFIX}{}:{}:{}:{}",
            self.slot, self.count, self.nonce, self.checksum
        )
    }
}

fn part_account(account: &str, slot: char, index: usize) -> String {
    format!("{account}#{slot}{index}")
}

fn checksum(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn damaged(account: &str, why: impl std::fmt::Display) -> StoreError {
    StoreError::Failed(format!(
        "the stored secret \"{account}\" is damaged ({why}); save it again (sign in again, or create a new client secret)"
    ))
}

/// Reads a secret, joining its parts when it was split.
pub fn load(entries: &dyn Entries, account: &str) -> Result<Option<Secret<String>>, StoreError> {
    let Some(value) = entries.get(account)? else {
        return Ok(None);
    };
    let header = match Header::parse(&value) {
        None => return Ok(Some(Secret::new(value))),
        Some(Ok(header)) => header,
        Some(Err(why)) => return Err(damaged(account, why)),
    };
    let mut joined = String::new();
    for index in 0..header.count {
        let part = entries
            .get(&part_account(account, header.slot, index))?
            .ok_or_else(|| damaged(account, format_args!("part {} is missing", index + 1)))?;
        let piece = part
            .strip_prefix(header.nonce.as_str())
            .and_then(|rest| rest.strip_prefix(':'))
            .ok_or_else(|| {
                damaged(
                    account,
                    format_args!("part {} belongs to another write", index + 1),
                )
            })?;
        joined.push_str(piece);
    }
    if checksum(&joined) != header.checksum {
        return Err(damaged(account, "its checksum does not match"));
    }
    Ok(Some(Secret::new(joined)))
}

/// Saves a secret: one entry when it fits, otherwise parts and then the header.
pub fn save(entries: &dyn Entries, account: &str, secret: &str) -> Result<(), StoreError> {
    let limit = entries.limit_utf16();
    if fits_one_entry(secret, limit) {
        entries.set(account, secret)?;
        return sweep_slots(entries, account);
    }
    let current = entries
        .get(account)?
        .and_then(|value| Header::parse(&value).and_then(Result::ok));
    let slot = match current {
        Some(Header { slot: 'a', .. }) => 'b',
        _ => 'a',
    };
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let pieces = split(secret, limit.saturating_sub(nonce.len() + 1).max(1));
    if pieces.len() > MAX_PARTS {
        return Err(StoreError::Failed(format!(
            "the secret \"{account}\" is too long to keep in the credential store ({} characters)",
            secret.chars().count()
        )));
    }
    for (index, piece) in pieces.iter().enumerate() {
        entries.set(
            &part_account(account, slot, index),
            &format!("{nonce}:{piece}"),
        )?;
    }
    sweep(entries, account, slot, pieces.len())?;
    let header = Header {
        slot,
        count: pieces.len(),
        nonce,
        checksum: checksum(secret),
    };
    entries.set(account, &header.render())?;
    let other = if slot == 'a' { 'b' } else { 'a' };
    sweep(entries, account, other, 0)
}

/// Deletes a secret and every part of it; deleting a missing one succeeds.
pub fn delete(entries: &dyn Entries, account: &str) -> Result<(), StoreError> {
    entries.remove(account)?;
    sweep_slots(entries, account)
}

/// A secret that is one entry must fit and must not look like a header.
fn fits_one_entry(secret: &str, limit: usize) -> bool {
    secret.encode_utf16().count() <= limit && !secret.starts_with(HEADER_PREFIX)
}

/// Splits on character boundaries into pieces of at most `budget` UTF-16 code units.
fn split(secret: &str, budget: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut units) = (0, 0);
    for (at, c) in secret.char_indices() {
        if units + c.len_utf16() > budget {
            pieces.push(&secret[start..at]);
            (start, units) = (at, 0);
        }
        units += c.len_utf16();
    }
    if start < secret.len() {
        pieces.push(&secret[start..]);
    }
    pieces
}

fn sweep_slots(entries: &dyn Entries, account: &str) -> Result<(), StoreError> {
    SLOTS
        .iter()
        .try_for_each(|&slot| sweep(entries, account, slot, 0))
}

/// Removes parts `from..` of a slot, last first, so an interrupted sweep leaves no gap.
fn sweep(entries: &dyn Entries, account: &str, slot: char, from: usize) -> Result<(), StoreError> {
    let mut end = from;
    while end < MAX_PARTS && entries.get(&part_account(account, slot, end))?.is_some() {
        end += 1;
    }
    for index in (from..end).rev() {
        entries.remove(&part_account(account, slot, index))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::store::test_support::WindowsLike;

    /// A refresh-token-like secret of `len` characters, with some characters that take two
    /// UTF-16 units and a colon, so splitting and the part format are both exercised.
    fn long_secret(len: usize) -> String {
        let alphabet: Vec<char> = "AbC0.-_:😀é".chars().collect();
        (0..len)
            .map(|i| alphabet[(i * 7) % alphabet.len()])
            .collect()
    }

    fn read(store: &WindowsLike, account: &str) -> Option<String> {
        load(store, account).unwrap().map(|s| s.expose().clone())
    }

    #[test]
    fn the_windows_limit_refuses_a_long_secret_in_one_entry() {
        let store = WindowsLike::default();
        assert!(store.set("x", &long_secret(10_000)).is_err());
    }

    #[test]
    fn a_10_kb_secret_round_trips_over_the_windows_limit_and_delete_leaves_nothing() {
        let store = WindowsLike::default();
        let secret = long_secret(10_000);
        save(&store, "signin/t/u", &secret).unwrap();
        assert_eq!(read(&store, "signin/t/u").as_deref(), Some(secret.as_str()));
        assert!(store.accounts().len() > 8, "split over several entries");
        delete(&store, "signin/t/u").unwrap();
        assert_eq!(read(&store, "signin/t/u"), None);
        assert!(store.accounts().is_empty(), "left: {:?}", store.accounts());
    }

    #[test]
    fn short_secrets_stay_one_entry_and_entries_of_earlier_versions_still_read() {
        let store = WindowsLike::default();
        store.set("old", "refresh-token-from-before").unwrap();
        assert_eq!(
            read(&store, "old").as_deref(),
            Some("refresh-token-from-before")
        );
        save(&store, "new", "short").unwrap();
        assert_eq!(store.accounts(), ["new", "old"]);
    }

    #[test]
    fn replacing_long_with_short_and_back_leaves_no_stale_parts() {
        let store = WindowsLike::default();
        save(&store, "k", &long_secret(9_000)).unwrap();
        save(&store, "k", &long_secret(3_000)).unwrap();
        assert_eq!(read(&store, "k"), Some(long_secret(3_000)));
        let parts_of_3000 = store.accounts().len() - 1;
        save(&store, "k", "short").unwrap();
        assert_eq!(store.accounts(), ["k"]);
        save(&store, "k", &long_secret(3_000)).unwrap();
        assert_eq!(store.accounts().len() - 1, parts_of_3000);
        assert_eq!(read(&store, "k"), Some(long_secret(3_000)));
    }

    #[test]
    fn a_save_killed_at_any_point_leaves_the_old_or_the_new_secret_never_a_mix() {
        let (old, new) = (long_secret(5_000), long_secret(7_000).replace('A', "Z"));
        for kill_at in 0..40 {
            let store = WindowsLike::default();
            save(&store, "k", &old).unwrap();
            store.kill_after(kill_at);
            let finished = save(&store, "k", &new).is_ok();
            store.revive();
            let now = read(&store, "k");
            assert!(
                now == Some(old.clone()) || now == Some(new.clone()),
                "killed after {kill_at} writes"
            );
            if finished {
                assert_eq!(now, Some(new.clone()));
            }
            // The next save and delete clean up whatever the killed one left.
            save(&store, "k", &new).unwrap();
            delete(&store, "k").unwrap();
            assert!(
                store.accounts().is_empty(),
                "killed after {kill_at}: {:?}",
                store.accounts()
            );
        }
    }

    #[test]
    fn a_killed_delete_means_gone_and_the_next_delete_removes_the_rest() {
        for kill_at in 1..10 {
            let store = WindowsLike::default();
            save(&store, "k", &long_secret(6_000)).unwrap();
            store.kill_after(kill_at);
            let _ = delete(&store, "k");
            store.revive();
            assert_eq!(read(&store, "k"), None);
            delete(&store, "k").unwrap();
            assert!(store.accounts().is_empty(), "killed after {kill_at}");
        }
    }

    #[test]
    fn a_missing_or_foreign_part_is_reported_as_damaged_never_returned() {
        let store = WindowsLike::default();
        save(&store, "k", &long_secret(4_000)).unwrap();
        store.put_raw("k#a1", "othernonce:xyz");
        let error = load(&store, "k").unwrap_err().to_string();
        assert!(error.contains("part 2 belongs to another write"), "{error}");
        store.remove("k#a1").unwrap();
        let error = load(&store, "k").unwrap_err().to_string();
        assert!(error.contains("part 2 is missing"), "{error}");
        assert!(error.contains("save it again"), "{error}");
    }

    #[test]
    fn a_short_secret_that_looks_like_a_header_is_still_itself() {
        let store = WindowsLike::default();
        let tricky = format!("{HEADER_PREFIX}a:1:n:c");
        save(&store, "k", &tricky).unwrap();
        assert_eq!(read(&store, "k"), Some(tricky));
    }

    #[test]
    fn pieces_never_exceed_the_budget_or_split_a_character() {
        let secret = long_secret(3_001);
        let pieces = split(&secret, 100);
        assert!(pieces.iter().all(|p| p.encode_utf16().count() <= 100));
        assert_eq!(pieces.concat(), secret);
    }
}
