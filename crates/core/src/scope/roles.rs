//! Which Exchange Online application role stands in for which Microsoft Graph application
//! permission (api-notes §7.2), and how the chosen recipients become an Exchange recipient
//! filter.

use super::people::{Recipient, RecipientKind};

/// `(Graph application permission, Exchange application role)`, from the table Microsoft
/// publishes for RBAC for Applications. `Mail.ReadBasic.All` → `Application Mail.ReadBasic` is
/// our inference (the table lists `Mail.ReadBasic`; the `.All` form is Graph's name for the
/// application permission).
pub const ROLE_FOR_PERMISSION: [(&str, &str); 11] = [
    ("Mail.Read", "Application Mail.Read"),
    ("Mail.ReadBasic", "Application Mail.ReadBasic"),
    ("Mail.ReadBasic.All", "Application Mail.ReadBasic"),
    ("Mail.ReadWrite", "Application Mail.ReadWrite"),
    ("Mail.Send", "Application Mail.Send"),
    ("MailboxSettings.Read", "Application MailboxSettings.Read"),
    (
        "MailboxSettings.ReadWrite",
        "Application MailboxSettings.ReadWrite",
    ),
    ("Calendars.Read", "Application Calendars.Read"),
    ("Calendars.ReadWrite", "Application Calendars.ReadWrite"),
    ("Contacts.Read", "Application Contacts.Read"),
    ("Contacts.ReadWrite", "Application Contacts.ReadWrite"),
];

/// The Exchange application role for a Graph permission, if Exchange can scope it.
pub fn exchange_role(permission: &str) -> Option<&'static str> {
    ROLE_FOR_PERMISSION
        .iter()
        .find(|(p, _)| p.eq_ignore_ascii_case(permission))
        .map(|(_, r)| *r)
}

fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The recipient filter for a management scope: members of each chosen group, and each
/// chosen user by address, joined with `-or`.
///
/// Groups are named by their Entra object id. Exchange's own documentation asks for the
/// group's distinguished name, which Graph cannot tell us; whether the Graph beta route
/// accepts the object id is unverified (the PowerShell hand-off looks the DN up instead).
pub fn recipient_filter(recipients: &[Recipient]) -> String {
    let clauses: Vec<String> = recipients
        .iter()
        .map(|r| match r.kind {
            RecipientKind::Group => format!("MemberOfGroup -eq {}", quote(&r.id)),
            RecipientKind::User => match &r.mail {
                Some(mail) => format!("PrimarySmtpAddress -eq {}", quote(mail)),
                None => format!(
                    "UserPrincipalName -eq {}",
                    quote(r.upn_or_mail.as_deref().unwrap_or(&r.id))
                ),
            },
        })
        .collect();
    if clauses.len() == 1 {
        clauses.concat()
    } else {
        clauses
            .iter()
            .map(|c| format!("({c})"))
            .collect::<Vec<_>>()
            .join(" -or ")
    }
}

/// The scope's display name. It contains the appId, which is how a re-run finds it again.
pub fn scope_name(display_name: &str, app_id: &str) -> String {
    let short: String = display_name.chars().take(24).collect();
    format!("AppGrant {} {app_id}", short.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(mail: &str) -> Recipient {
        Recipient {
            id: "u1".into(),
            kind: RecipientKind::User,
            display_name: "U".into(),
            upn_or_mail: Some(mail.into()),
            mail: Some(mail.into()),
        }
    }

    #[test]
    fn filters_join_groups_and_users() {
        let g = Recipient {
            id: "g-1".into(),
            kind: RecipientKind::Group,
            display_name: "G".into(),
            upn_or_mail: None,
            mail: None,
        };
        assert_eq!(
            recipient_filter(std::slice::from_ref(&g)),
            "MemberOfGroup -eq 'g-1'"
        );
        assert_eq!(
            recipient_filter(&[g, user("o'brien@x")]),
            "(MemberOfGroup -eq 'g-1') -or (PrimarySmtpAddress -eq 'o''brien@x')"
        );
    }

    #[test]
    fn roles_follow_the_published_table() {
        assert_eq!(
            exchange_role("Calendars.ReadWrite"),
            Some("Application Calendars.ReadWrite")
        );
        assert_eq!(exchange_role("User.Read.All"), None);
        assert!(scope_name("TonicDM Office 365 Token", "abc").ends_with(" abc"));
    }
}
