//! "Only these users may sign in" for apps people sign in to (DocBits, timetoreply):
//! `appRoleAssignmentRequired = true` on the app's service principal plus a default-access
//! assignment (app role id `00000000-…`) per chosen user or group (api-notes §4.5, §4.6).
//!
//! This limits **sign-in** (unassigned people get AADSTS50105). It does not limit which
//! mailboxes an app-only token reaches (api-notes §6.4); the texts here say so.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::ScopeError;
use super::people::Recipient;
use crate::apply::AppOutcome;
use crate::graph::{ErrorClass, Expect, GraphClient};
use crate::recipe::AppSpec;

/// The "default access" app role, for apps that define no roles of their own.
pub const DEFAULT_ACCESS_ROLE: &str = "00000000-0000-0000-0000-000000000000";

/// How the option is described to the admin.
pub const EXPLANATION: &str = "Only the people and groups you choose can sign in to this app; anyone else is told they are not assigned to it. This limits sign-in only: it does not limit which mailboxes the app can reach with its own permissions.";

/// The sign-in limit on one app, as stored on the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInLimit {
    pub app_key: String,
    pub service_principal_id: String,
    pub recipients: Vec<Recipient>,
    /// (principal id, assignment id).
    pub assignments: Vec<(String, String)>,
    pub applied_at: DateTime<Utc>,
}

impl SignInLimit {
    pub fn headline(&self) -> String {
        format!(
            "Sign-in limited to {} chosen {} (mailbox access is not limited by this)",
            self.recipients.len(),
            if self.recipients.len() == 1 {
                "user or group"
            } else {
                "users and groups"
            }
        )
    }
}

/// Plain step titles for the Review screen.
pub fn steps(spec: &AppSpec, app: &AppOutcome, recipients: &[Recipient]) -> Vec<String> {
    let mut out = vec![format!(
        "Require people to be assigned before they can sign in to \"{}\" (this limits sign-in, not mailbox access)",
        app.display_name
    )];
    out.extend(recipients.iter().map(|r| {
        format!(
            "Let {} sign in to \"{}\"",
            r.display_name, spec.display_name
        )
    }));
    out
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Turns on "assignment required" and makes the assignments exactly the chosen set (adds
/// missing ones, removes default-access assignments of people no longer chosen). Re-runs
/// change nothing.
pub async fn limit_sign_in(
    graph: &GraphClient,
    spec: &AppSpec,
    app: &AppOutcome,
    recipients: &[Recipient],
) -> Result<SignInLimit, ScopeError> {
    if !spec.limit_sign_in {
        return Err(ScopeError::SignInLimitNotOffered {
            app: spec.display_name.clone(),
        });
    }
    if recipients.is_empty() {
        return Err(ScopeError::NoRecipients {
            app: spec.display_name.clone(),
        });
    }
    let sp = &app.service_principal_id;
    let current = graph
        .get(&format!(
            "servicePrincipals/{sp}?$select=id,appRoleAssignmentRequired"
        ))
        .await?;
    if current.get("appRoleAssignmentRequired") != Some(&Value::Bool(true)) {
        graph
            .patch(
                &format!("servicePrincipals/{sp}"),
                &json!({"appRoleAssignmentRequired": true}),
                Expect::Replicating,
            )
            .await?;
    }
    let existing: Vec<(String, String)> = graph
        .get_all(&format!("servicePrincipals/{sp}/appRoleAssignedTo"))
        .await?
        .iter()
        .filter(|a| str_of(a, "appRoleId") == DEFAULT_ACCESS_ROLE)
        .map(|a| {
            (
                str_of(a, "principalId").to_ascii_lowercase(),
                str_of(a, "id"),
            )
        })
        .collect();
    let mut assignments = Vec::new();
    for r in recipients {
        let principal = r.id.to_ascii_lowercase();
        if let Some((p, id)) = existing.iter().find(|(p, _)| p == &principal) {
            assignments.push((p.clone(), id.clone()));
            continue;
        }
        let body = json!({"principalId": r.id, "resourceId": sp, "appRoleId": DEFAULT_ACCESS_ROLE});
        match graph
            .post(
                &format!("servicePrincipals/{sp}/appRoleAssignedTo"),
                &body,
                Expect::Replicating,
            )
            .await
        {
            Ok(created) => assignments.push((
                principal,
                created
                    .as_ref()
                    .map(|c| str_of(c, "id"))
                    .unwrap_or_default(),
            )),
            Err(e) if e.class() == ErrorClass::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
    }
    for (principal, id) in &existing {
        if !recipients
            .iter()
            .any(|r| r.id.eq_ignore_ascii_case(principal))
        {
            graph
                .delete(&format!("servicePrincipals/{sp}/appRoleAssignedTo/{id}"))
                .await?;
        }
    }
    Ok(SignInLimit {
        app_key: app.key.clone(),
        service_principal_id: sp.clone(),
        recipients: recipients.to_vec(),
        assignments,
        applied_at: Utc::now(),
    })
}

/// Lets everyone in the organisation sign in again; the assignments are removed too when
/// `remove_assignments` is set.
pub async fn remove_sign_in_limit(
    graph: &GraphClient,
    limit: &SignInLimit,
    remove_assignments: bool,
) -> Result<(), ScopeError> {
    let sp = &limit.service_principal_id;
    graph
        .patch(
            &format!("servicePrincipals/{sp}"),
            &json!({"appRoleAssignmentRequired": false}),
            Expect::Settled,
        )
        .await?;
    if remove_assignments {
        for (_, id) in &limit.assignments {
            graph
                .delete(&format!("servicePrincipals/{sp}/appRoleAssignedTo/{id}"))
                .await?;
        }
    }
    Ok(())
}
