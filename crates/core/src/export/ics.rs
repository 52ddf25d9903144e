//! `.ics` secret-expiry reminders (RFC 5545): one all-day VEVENT per app secret with a
//! VALARM, CRLF line endings, lines folded at 75 octets, TEXT values escaped.
//!
//! The UID is derived from the connection, app and secret id, so importing a newer export
//! updates the same event, and a rotated secret (new key id) gets a new one. No secret value
//! is ever written here: only dates, names and ids.

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::{Handoff, SecretExpiry, REMINDER_DAYS_BEFORE};

/// The maximum line length in octets, excluding the CRLF (RFC 5545 §3.1).
pub(super) const MAX_LINE_OCTETS: usize = 75;

/// Escapes a TEXT value (RFC 5545 §3.3.11).
pub(super) fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded so no line exceeds 75 octets (continuations start with
/// a space) and never inside a UTF-8 character.
pub(super) fn push_line(out: &mut String, line: &str) {
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > MAX_LINE_OCTETS {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += len;
    }
    out.push_str("\r\n");
}

fn date(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// The day the reminder falls on: 30 days before expiry, or today if that has passed.
pub(super) fn reminder_day(expires_on: NaiveDate, today: NaiveDate) -> NaiveDate {
    expires_on
        .checked_sub_days(Days::new(REMINDER_DAYS_BEFORE))
        .unwrap_or(expires_on)
        .max(today)
}

fn uid_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn summary(h: &Handoff, s: &SecretExpiry, today: NaiveDate) -> String {
    let practice = if h.practice { "[Practice] " } else { "" };
    let when = if s.expires_on < today {
        "expired"
    } else {
        "expires"
    };
    format!(
        "{practice}Rotate the {} ({when} {})",
        h.app_title(s),
        s.expires_on.format("%Y-%m-%d")
    )
}

fn description(h: &Handoff, s: &SecretExpiry) -> String {
    format!(
        "The client secret AppGrant created for {vendor} in {tenant} expires on {date}. \
         When it expires, {vendor} stops working.\n\
         What to do: open AppGrant, choose the {vendor} connection for {tenant} and rotate \
         the secret. Then give {vendor} the new secret and expiry date, the same way you \
         gave them the first one.\n\n\
         App: {app}\nApplication (client) ID: {client_id}\nSecret ID: {key_id}\n\
         Tenant ID: {tenant_id}",
        vendor = h.vendor,
        tenant = h.tenant_label(),
        date = s.expires_on.format("%Y-%m-%d"),
        app = s.app_name,
        client_id = s.client_id,
        key_id = s.key_id,
        tenant_id = h.tenant_id,
    )
}

/// Which reminders the calendar carries.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Reminders {
    /// One all-day event [`REMINDER_DAYS_BEFORE`] days before expiry (or today), alarm 09:00.
    Before,
    /// After a rotation: an all-day event on the expiry day with alarms at 09:00 on each of
    /// [`ROTATION_ALARM_DAYS`] days before it.
    Rotation,
}

/// Days before the new expiry that a rotation's reminder alarms go off.
pub const ROTATION_ALARM_DAYS: [u32; 2] = [30, 7];

pub(super) fn render(h: &Handoff, now: DateTime<Utc>, reminders: Reminders) -> String {
    let today = now.date_naive();
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//AppGrant//Secret expiry reminders//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        push_line(&mut out, line);
    }
    for s in &h.secrets {
        let day = match reminders {
            Reminders::Before => reminder_day(s.expires_on, today),
            Reminders::Rotation => s.expires_on,
        };
        let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
        let summary = escape_text(&summary(h, s, today));
        push_line(&mut out, "BEGIN:VEVENT");
        push_line(
            &mut out,
            &format!(
                "UID:{}-{}-{}@appgrant",
                uid_part(&h.connection_id),
                uid_part(&s.app_key),
                uid_part(&s.key_id)
            ),
        );
        push_line(&mut out, &format!("DTSTAMP:{stamp}"));
        push_line(&mut out, &format!("DTSTART;VALUE=DATE:{}", date(day)));
        push_line(&mut out, &format!("DTEND;VALUE=DATE:{}", date(next)));
        push_line(&mut out, &format!("SUMMARY:{summary}"));
        push_line(
            &mut out,
            &format!("DESCRIPTION:{}", escape_text(&description(h, s))),
        );
        push_line(&mut out, "TRANSP:TRANSPARENT");
        // 09:00 on the day (the start of an all-day event is midnight local time).
        let triggers: Vec<String> = match reminders {
            Reminders::Before => vec!["PT9H".to_string()],
            Reminders::Rotation => ROTATION_ALARM_DAYS
                .iter()
                .map(|d| format!("-P{}DT15H", d - 1))
                .collect(),
        };
        for trigger in triggers {
            push_line(&mut out, "BEGIN:VALARM");
            push_line(&mut out, "ACTION:DISPLAY");
            push_line(&mut out, &format!("DESCRIPTION:{summary}"));
            push_line(&mut out, &format!("TRIGGER:{trigger}"));
            push_line(&mut out, "END:VALARM");
        }
        push_line(&mut out, "END:VEVENT");
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        let long = format!("SUMMARY:{}", "é".repeat(100));
        push_line(&mut out, &long);
        assert!(out.ends_with("\r\n"));
        for line in out.trim_end_matches("\r\n").split("\r\n") {
            assert!(line.len() <= MAX_LINE_OCTETS, "{} octets", line.len());
        }
        let unfolded = out.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, long);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }

    #[test]
    fn reminder_is_30_days_before_or_today() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            reminder_day(d(2028, 11, 25), d(2026, 1, 1)),
            d(2028, 10, 26)
        );
        assert_eq!(reminder_day(d(2026, 1, 10), d(2026, 1, 1)), d(2026, 1, 1));
    }
}
