//! Prove the limit with the app's own client-credentials token: one mailbox inside the scope
//! answers, one outside is refused (403). Only then is the state `Verified` ("limited to N
//! users"). While Microsoft is still applying the change (30 minutes to 2 hours after it was
//! written) a failed probe leaves the state `Pending`; after that it is `Failed`.
//!
//! Probes never change anything: reading one message header or calendar entry, or the
//! mailbox settings. A send-only app is probed with a `sendMail` that has no recipients,
//! which Exchange refuses (400) after checking access, so nothing is sent [inference: Graph
//! validates recipients after the mailbox permission check].

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::ScopeError;
use super::people::RecipientKind;
use super::{ScopeState, ScopeStatus};
use crate::cloud::Endpoints;
use crate::graph::{GraphClient, RetryPolicy, StaticToken};
use crate::secret::Secret;

/// Microsoft's upper bound for an Exchange RBAC change to take effect.
pub const MICROSOFT_PROPAGATION: Duration = Duration::from_secs(2 * 60 * 60);

/// What verification needs.
pub struct ScopeVerifyContext<'a> {
    pub endpoints: &'a Endpoints,
    pub tenant_id: &'a str,
    /// The admin's Graph client (to list group members and pick an outside mailbox).
    pub admin: &'a GraphClient,
    pub http: reqwest::Client,
    /// Patience for the token endpoint (a new secret takes a little while).
    pub policy: RetryPolicy,
    /// How long after applying a failed probe still counts as "pending".
    pub propagation: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeResult {
    /// The mailbox answered.
    Allowed,
    /// 403: access denied.
    Refused,
    /// Anything else (no mailbox, network…).
    Inconclusive,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    /// The mailbox tried (UPN or address).
    pub mailbox: String,
    pub what: String,
    pub result: ProbeResult,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeReport {
    /// The state to store: `Verified`, still `Pending`, or `Failed`.
    pub state: ScopeState,
    pub inside: Option<Probe>,
    pub outside: Option<Probe>,
    /// One plain sentence for the connection screen.
    pub headline: String,
}

/// A client-credentials token for the app with its secret or certificate (see
/// [`crate::verify::client_credentials_token_with`]).
async fn app_token(
    ctx: &ScopeVerifyContext<'_>,
    app_id: &str,
    credential: &crate::verify::ClientCredential,
) -> Result<Secret<String>, String> {
    crate::verify::client_credentials_token_with(
        &ctx.http,
        ctx.endpoints,
        ctx.tenant_id,
        ctx.policy,
        app_id,
        credential,
        |_| {},
    )
    .await
    .map(|(token, _)| token)
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// (id, address) of every mailbox the chosen recipients cover (direct group members).
async fn in_scope_mailboxes(
    ctx: &ScopeVerifyContext<'_>,
    state: &ScopeState,
) -> Result<Vec<(String, String)>, ScopeError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for r in &state.recipients {
        match r.kind {
            RecipientKind::User => {
                if let Some(mail) = &r.mail {
                    if seen.insert(r.id.to_ascii_lowercase()) {
                        out.push((r.id.clone(), mail.clone()));
                    }
                }
            }
            RecipientKind::Group => {
                let members = ctx
                    .admin
                    .get_all(&format!(
                        "groups/{}/members?$select=id,mail,userPrincipalName",
                        r.id
                    ))
                    .await?;
                for m in members {
                    if let (Some(id), Some(mail)) = (text(&m, "id"), text(&m, "mail")) {
                        if seen.insert(id.to_ascii_lowercase()) {
                            out.push((id, mail));
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// A mailbox outside the scope: the first user with a mailbox who is not in `inside`.
async fn outside_mailbox(
    ctx: &ScopeVerifyContext<'_>,
    inside: &[(String, String)],
) -> Result<Option<(String, String)>, ScopeError> {
    let mut next = Some("users?$select=id,mail,userPrincipalName&$top=100".to_string());
    let mut pages = 0;
    while let Some(link) = next.take() {
        let page = ctx.admin.get(&link).await?;
        for u in page
            .get("value")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(id), Some(mail)) = (text(u, "id"), text(u, "mail")) {
                if !inside.iter().any(|(i, _)| i.eq_ignore_ascii_case(&id)) {
                    return Ok(Some((id, mail)));
                }
            }
        }
        pages += 1;
        if pages < 20 {
            next = text(&page, "@odata.nextLink");
        }
    }
    Ok(None)
}

async fn probe(client: &GraphClient, permissions: &[String], user: &(String, String)) -> Probe {
    let has = |prefix: &str| permissions.iter().any(|p| p.starts_with(prefix));
    let id = &user.0;
    let (method, path, body, what) = if has("Mail.Read") {
        (
            reqwest::Method::GET,
            format!("users/{id}/messages?$top=1&$select=subject"),
            None,
            "read one message header",
        )
    } else if has("Calendars.") {
        (
            reqwest::Method::GET,
            format!("users/{id}/calendar/events?$top=1&$select=subject"),
            None,
            "read one calendar entry",
        )
    } else if has("MailboxSettings.") {
        (
            reqwest::Method::GET,
            format!("users/{id}/mailboxSettings"),
            None,
            "read the mailbox settings",
        )
    } else if has("Contacts.") {
        (
            reqwest::Method::GET,
            format!("users/{id}/contacts?$top=1&$select=displayName"),
            None,
            "read one contact",
        )
    } else {
        (
            reqwest::Method::POST,
            format!("users/{id}/sendMail"),
            Some(
                json!({"message": {"subject": "AppGrant access check (has no recipients, is never delivered)"}, "saveToSentItems": false}),
            ),
            "start an e-mail with no recipients (nothing is sent)",
        )
    };
    let send_check = body.is_some();
    let result = client
        .send(
            method,
            &path,
            body.as_ref(),
            crate::graph::Expect::Settled,
            &[],
        )
        .await;
    let (result, detail) = match result {
        Ok(_) => (ProbeResult::Allowed, "answered".to_string()),
        Err(e) if e.status() == Some(403) => (
            ProbeResult::Refused,
            format!("refused ({})", e.code().unwrap_or("403")),
        ),
        Err(e) if send_check && e.status() == Some(400) => (
            ProbeResult::Allowed,
            "access granted; the empty message was rejected as intended".to_string(),
        ),
        Err(e) => (ProbeResult::Inconclusive, e.to_string()),
    };
    Probe {
        mailbox: user.1.clone(),
        what: what.to_string(),
        result,
        detail,
    }
}

/// Runs the two probes and returns the state to store. Errors only when the tenant cannot
/// be read at all; a probe that fails is a finding, not an error.
pub async fn verify_scope(
    ctx: &ScopeVerifyContext<'_>,
    state: &ScopeState,
    credential: &crate::verify::ClientCredential,
) -> Result<ScopeReport, ScopeError> {
    let now = Utc::now();
    // After a hand-off run elsewhere, the clock starts when the hand-off was prepared.
    let applied_at = match &state.status {
        ScopeStatus::HandedOff { prepared_at } => Some(*prepared_at),
        _ => state.applied_at(),
    };
    let within_propagation =
        applied_at.is_some_and(|t| (now - t).to_std().unwrap_or_default() < ctx.propagation);
    let finish = |status: ScopeStatus, inside: Option<Probe>, outside: Option<Probe>| {
        let mut s = state.clone();
        s.status = status;
        let headline = s.headline();
        ScopeReport {
            state: s,
            inside,
            outside,
            headline,
        }
    };
    let not_yet = |reason: String, inside, outside| match applied_at {
        Some(applied_at) if within_propagation => {
            finish(ScopeStatus::Pending { applied_at }, inside, outside)
        }
        _ => finish(
            ScopeStatus::Failed {
                applied_at,
                checked_at: now,
                reason,
            },
            inside,
            outside,
        ),
    };
    let inside_all = in_scope_mailboxes(ctx, state).await?;
    let Some(inside_user) = inside_all.first().cloned() else {
        return Ok(finish(
            ScopeStatus::Failed {
                applied_at,
                checked_at: now,
                reason: "none of the chosen users or group members has a mailbox".to_string(),
            },
            None,
            None,
        ));
    };
    let outside_user = outside_mailbox(ctx, &inside_all).await?;
    let token = match app_token(ctx, &state.app_id, credential).await {
        Ok(t) => t,
        Err(message) => {
            return Ok(finish(
                ScopeStatus::Failed {
                    applied_at,
                    checked_at: now,
                    reason: format!("the app could not sign in: {message}"),
                },
                None,
                None,
            ))
        }
    };
    let still_granted: Vec<String> = crate::verify::roles_of(token.expose())
        .into_iter()
        .filter(|r| state.permissions.contains(r))
        .collect();
    let client = GraphClient::new(
        ctx.http.clone(),
        &ctx.endpoints.graph,
        Arc::new(StaticToken(token)),
    )
    .with_policy(ctx.policy);
    let inside = probe(&client, &state.permissions, &inside_user).await;
    let outside = match &outside_user {
        Some(u) => Some(probe(&client, &state.permissions, u).await),
        None => None,
    };
    let out_result = outside.as_ref().map(|p| p.result);
    Ok(match (inside.result, out_result) {
        (ProbeResult::Allowed, Some(ProbeResult::Refused)) => finish(
            ScopeStatus::Verified {
                applied_at: applied_at.unwrap_or(now),
                verified_at: now,
                mailboxes: inside_all.len(),
            },
            Some(inside),
            outside,
        ),
        (_, Some(ProbeResult::Allowed)) if !still_granted.is_empty() => finish(
            ScopeStatus::Failed {
                applied_at,
                checked_at: now,
                reason: format!(
                    "the app still holds {} for the whole organisation, so a mailbox outside the list answered",
                    still_granted.join(", ")
                ),
            },
            Some(inside),
            outside,
        ),
        (_, None) => not_yet(
            "there is no mailbox outside the list to prove the limit with".to_string(),
            Some(inside),
            outside,
        ),
        (ProbeResult::Allowed, Some(_)) => not_yet(
            format!(
                "a mailbox outside the list ({}) still answers",
                outside_user.map(|u| u.1).unwrap_or_default()
            ),
            Some(inside),
            outside,
        ),
        (_, _) => not_yet(
            format!(
                "a mailbox on the list ({}) is refused",
                inside.mailbox
            ),
            Some(inside),
            outside,
        ),
    })
}
