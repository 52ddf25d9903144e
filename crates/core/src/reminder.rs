//! The start-up reminder: which saved connections are due (a current secret expires within
//! [`REMIND_WITHIN_DAYS`] days, or has expired), and whether the OS should be told about them
//! again. One notification a day for the same set of due secrets: the last one sent is
//! remembered in `reminders.json` in the app's data folder (no secret in it).

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::lifecycle::ConnectionStatus;

/// Secrets that expire within this many days are reminded of.
pub const REMIND_WITHIN_DAYS: i64 = 30;

/// The file, in the data folder, that remembers the last notification.
pub const REMINDER_FILE: &str = "reminders.json";

/// One due connection, as the reminder names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Due {
    pub connection_id: String,
    pub vendor: String,
    pub tenant: String,
    pub expires_at: DateTime<Utc>,
    pub days_left: i64,
}

/// Due connections, the soonest first.
pub fn due(rows: &[ConnectionStatus]) -> Vec<Due> {
    let mut due: Vec<Due> = rows
        .iter()
        .filter_map(|c| {
            let (expires_at, days_left) = (c.next_expiry?, c.days_left?);
            (days_left <= REMIND_WITHIN_DAYS).then(|| Due {
                connection_id: c.id.clone(),
                vendor: c.vendor.clone(),
                tenant: c.tenant.label().to_string(),
                expires_at,
                days_left,
            })
        })
        .collect();
    due.sort_by_key(|d| d.expires_at);
    due
}

/// The notification's text: a title and one line.
pub fn message(due: &[Due]) -> (String, String) {
    let title = match due.len() {
        1 => "1 secret needs rotating soon".to_string(),
        n => format!("{n} secrets need rotating soon"),
    };
    let names: Vec<String> = due
        .iter()
        .take(3)
        .map(|d| format!("{} in {}", d.vendor, d.tenant))
        .collect();
    let more = due.len().saturating_sub(names.len());
    let body = if more > 0 {
        format!(
            "{} and {more} more. Open AppGrant's connections to rotate them.",
            names.join(", ")
        )
    } else {
        format!(
            "{}. Open AppGrant's connections to rotate them.",
            names.join(", ")
        )
    };
    (title, body)
}

/// What was last sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Sent {
    day: NaiveDate,
    /// The due set: `connection id@expiry` per secret, sorted.
    due: Vec<String>,
}

fn fingerprint(due: &[Due]) -> Vec<String> {
    let mut keys: Vec<String> = due
        .iter()
        .map(|d| format!("{}@{}", d.connection_id, d.expires_at.to_rfc3339()))
        .collect();
    keys.sort();
    keys
}

/// Remembers notifications in a data folder.
#[derive(Debug, Clone)]
pub struct ReminderLog {
    path: PathBuf,
}

impl ReminderLog {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join(REMINDER_FILE),
        }
    }

    fn last(&self) -> Option<Sent> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Whether to notify about `due` on `today`: something is due, and not this same set
    /// already today. A missing or unreadable file means "not sent yet". Blocking.
    pub fn should_notify(&self, due: &[Due], today: NaiveDate) -> bool {
        !due.is_empty()
            && self
                .last()
                .is_none_or(|s| s.day != today || s.due != fingerprint(due))
    }

    /// Records that `due` was notified on `today`. Blocking.
    pub fn record(&self, due: &[Due], today: NaiveDate) -> std::io::Result<()> {
        let sent = Sent {
            day: today,
            due: fingerprint(due),
        };
        let text = serde_json::to_string(&sent).map_err(std::io::Error::other)?;
        std::fs::write(&self.path, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{Severity, TenantInfo};
    use chrono::TimeZone;

    fn row(id: &str, days: Option<i64>) -> ConnectionStatus {
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
        ConnectionStatus {
            id: id.to_string(),
            recipe_id: "tonicdm".to_string(),
            vendor: format!("Vendor {id}"),
            tenant: TenantInfo {
                id: "t".to_string(),
                domain: Some("contoso.onmicrosoft.com".to_string()),
                practice: false,
                cloud: "global".to_string(),
            },
            apps: Vec::new(),
            states: Vec::new(),
            severity: Severity::Ok,
            next_expiry: days.map(|d| now + chrono::TimeDelta::days(d)),
            days_left: days,
            created_at: now,
            verified_at: None,
            last_checked_at: None,
        }
    }

    /// A fresh folder under the system's temp dir (removed at the end of the test).
    struct Dir(PathBuf);
    impl Dir {
        fn new() -> Self {
            let dir =
                std::env::temp_dir().join(format!("appgrant-reminder-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    #[test]
    fn due_means_within_30_days_or_expired_soonest_first() {
        let rows = [
            row("a", Some(31)),
            row("b", Some(30)),
            row("c", Some(-2)),
            row("d", None),
        ];
        let ids: Vec<String> = due(&rows).into_iter().map(|d| d.connection_id).collect();
        assert_eq!(ids, ["c", "b"]);
    }

    #[test]
    fn one_notification_a_day_for_the_same_due_set() {
        let dir = Dir::new();
        let log = ReminderLog::new(&dir.0);
        let first = due(&[row("a", Some(5))]);
        assert!(log.should_notify(&first, day(4)));
        log.record(&first, day(4)).unwrap();
        assert!(!log.should_notify(&first, day(4)), "same set, same day");
        assert!(log.should_notify(&first, day(5)), "next day again");
        let more = due(&[row("a", Some(5)), row("b", Some(9))]);
        assert!(log.should_notify(&more, day(4)), "a new due secret");
        assert!(
            !log.should_notify(&[], day(6)),
            "nothing due: no notification"
        );
    }

    #[test]
    fn an_unreadable_log_means_not_sent_yet() {
        let dir = Dir::new();
        std::fs::write(dir.0.join(REMINDER_FILE), "{not json").unwrap();
        let log = ReminderLog::new(&dir.0);
        assert!(log.should_notify(&due(&[row("a", Some(1))]), day(4)));
    }

    #[test]
    fn the_message_names_up_to_three_and_counts_the_rest() {
        let rows: Vec<_> = (1..=5).map(|i| row(&i.to_string(), Some(i))).collect();
        let (title, body) = message(&due(&rows));
        assert_eq!(title, "5 secrets need rotating soon");
        assert!(body.starts_with("Vendor 1 in contoso.onmicrosoft.com, Vendor 2 in"));
        assert!(body.contains("and 2 more"));
        let (title, _) = message(&due(&rows[..1]));
        assert_eq!(title, "1 secret needs rotating soon");
    }
}
