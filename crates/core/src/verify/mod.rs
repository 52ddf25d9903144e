//! Verify: prove the connection works, with least privilege.
//!
//! For each app with application permissions: get a client-credentials token with the new
//! secret (waiting out Microsoft's activation delay), check the token's `roles` equal the
//! recipe's application permissions, and make one harmless read that those permissions allow.
//! For every app: read back the app role assignments and the delegated grant and report
//! anything more or less than the recipe asks for (a leftover `User.Read`, say).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::apply::{AppOutcome, ApplyOutcome};
use crate::catalog::PermissionKind;
use crate::cloud::Endpoints;
use crate::graph::{GraphClient, RetryPolicy, StaticToken};
use crate::identity::aadsts_code;
use crate::plan::Plan;
use crate::recipe::Recipe;
use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Passed,
    /// Works, but something deserves attention (more than the recipe asked for).
    Warning,
    Failed,
    /// Not applicable, or not checkable without side effects.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub id: String,
    pub app: String,
    pub title: String,
    pub status: CheckStatus,
    pub detail: String,
    /// What to do when it did not pass.
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub checks: Vec<Check>,
}

impl VerifyReport {
    /// True when nothing failed (warnings allowed).
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.status != CheckStatus::Failed)
    }
}

/// What an app proves itself with at the token endpoint.
#[derive(Debug, Clone)]
pub enum ClientCredential {
    Secret(Secret<String>),
    /// A certificate's private key (PKCS#8 PEM) and the certificate (DER): each token
    /// request sends a freshly signed client assertion.
    Certificate {
        key: crate::certificate::PrivateKeyPem,
        der: Vec<u8>,
    },
}

impl ClientCredential {
    /// "secret" or "certificate", for the checks' titles.
    pub fn noun(&self) -> &'static str {
        match self {
            Self::Secret(_) => "secret",
            Self::Certificate { .. } => "certificate",
        }
    }
}

/// Each app's credential from `store`: its client secret, or its generated certificate's
/// private key (a vendor's certificate has none here). Apps whose entry is missing are left
/// out, and verification reports them.
pub async fn load_credentials(
    store: Arc<dyn crate::identity::TokenStore>,
    tenant_id: &str,
    outcome: &ApplyOutcome,
) -> Vec<(String, ClientCredential)> {
    use base64::engine::general_purpose::STANDARD;
    let mut out = Vec::new();
    for app in &outcome.apps {
        let (account, der) = match (&app.secret, &app.certificate) {
            (Some(s), _) => (s.keyring_account.clone(), None),
            (None, Some(c)) if c.origin == crate::certificate::CertificateOrigin::Generated => (
                crate::certificate::key_account(tenant_id, &app.app_id, &c.thumbprint),
                STANDARD.decode(&c.certificate_base64).ok(),
            ),
            _ => continue,
        };
        let store = Arc::clone(&store);
        let Ok(Ok(Some(value))) = tokio::task::spawn_blocking(move || store.load(&account)).await
        else {
            continue;
        };
        out.push((
            app.key.clone(),
            match der {
                Some(der) => ClientCredential::Certificate { key: value, der },
                None => ClientCredential::Secret(value),
            },
        ));
    }
    out
}

/// Called with (app key, message) while verification waits for Microsoft.
pub type WaitNotice = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// What verification needs.
pub struct VerifyContext<'a> {
    pub endpoints: &'a Endpoints,
    pub tenant_id: &'a str,
    /// The admin's Graph client (for reading assignments back).
    pub admin: &'a GraphClient,
    pub http: reqwest::Client,
    /// How long to wait for a new secret or assignment to become active (about 5 minutes).
    pub policy: RetryPolicy,
    /// A mailbox to probe (the signed-in admin's user id works well).
    pub probe_user: Option<String>,
    /// Reports waits ("Microsoft is activating the new secret").
    pub on_wait: Option<WaitNotice>,
}

/// Runs every check for every app of the outcome, each app-only app proving itself with its
/// client secret from `secrets`.
pub async fn verify(
    ctx: &VerifyContext<'_>,
    recipe: &Recipe,
    plan: &Plan,
    outcome: &ApplyOutcome,
    secrets: &[(String, Secret<String>)],
) -> VerifyReport {
    let credentials: Vec<(String, ClientCredential)> = secrets
        .iter()
        .map(|(k, s)| (k.clone(), ClientCredential::Secret(s.clone())))
        .collect();
    verify_with(ctx, recipe, plan, outcome, &credentials).await
}

/// Runs every check for every app of the outcome, with a secret or certificate per app.
pub async fn verify_with(
    ctx: &VerifyContext<'_>,
    recipe: &Recipe,
    plan: &Plan,
    outcome: &ApplyOutcome,
    secrets: &[(String, ClientCredential)],
) -> VerifyReport {
    let mut checks = Vec::new();
    for app in &outcome.apps {
        let Some(spec) = recipe.apps.iter().find(|a| a.key == app.key) else {
            continue;
        };
        // A permission limited by Exchange is proven by the mailbox-limit check instead.
        let limited = plan
            .app(&app.key)
            .map(|a| a.limited_permissions.clone())
            .unwrap_or_default();
        let wanted_roles: Vec<String> = spec
            .application_permissions()
            .map(|p| p.name.clone())
            .filter(|n| !limited.contains(n))
            .collect();
        let wanted_scopes: Vec<String> = spec
            .delegated_permissions()
            .map(|p| p.name.clone())
            .collect();
        let blocked = plan
            .steps
            .iter()
            .any(|s| s.app == app.key && s.blocked.is_some() && !s.done);

        if !wanted_roles.is_empty() {
            let secret = secrets.iter().find(|(k, _)| k == &app.key).map(|(_, s)| s);
            checks.extend(app_only_checks(ctx, app, &wanted_roles, secret, blocked).await);
        }
        checks.push(read_back_roles(ctx, plan, app, &wanted_roles).await);
        if !wanted_scopes.is_empty() {
            checks.push(read_back_scopes(ctx, plan, app, &wanted_scopes).await);
        }
    }
    VerifyReport { checks }
}

fn check(
    app: &AppOutcome,
    id: &str,
    title: String,
    status: CheckStatus,
    detail: String,
    hint: Option<&str>,
) -> Check {
    Check {
        id: format!("{}/{id}", app.key),
        app: app.key.clone(),
        title,
        status,
        detail,
        hint: hint.map(str::to_string),
    }
}

/// Client-credentials token → roles claim → one harmless probe.
pub(crate) async fn app_only_checks(
    ctx: &VerifyContext<'_>,
    app: &AppOutcome,
    wanted: &[String],
    secret: Option<&ClientCredential>,
    blocked: bool,
) -> Vec<Check> {
    let mut out = Vec::new();
    let noun = secret.map_or(
        if app.certificate.is_some() {
            "certificate"
        } else {
            "secret"
        },
        ClientCredential::noun,
    );
    let token_title = format!("{} can sign in with its {noun}", app.display_name);
    let Some(secret) = secret else {
        let vendor = app
            .certificate
            .as_ref()
            .is_some_and(|c| c.origin == crate::certificate::CertificateOrigin::Vendor);
        out.push(if vendor {
            check(
                app,
                "token",
                token_title,
                CheckStatus::Skipped,
                "The vendor holds this certificate's private key, so only the vendor can sign in as the app; its first sign-in proves it. The permissions are checked below.".to_string(),
                None,
            )
        } else {
            check(
                app,
                "token",
                token_title,
                CheckStatus::Failed,
                format!("The {noun} is not in this computer's credential store."),
                Some("Rotate the credential from the connections list to create and store a new one."),
            )
        });
        return out;
    };
    let (token, waited) = match token_with_retry(ctx, app, secret).await {
        Ok(t) => t,
        Err(message) => {
            out.push(check(app, "token", token_title, CheckStatus::Failed, message,
                Some("Wait a few minutes (Microsoft can take up to 5 to activate a new credential) and run the verification again.")));
            return out;
        }
    };
    out.push(check(
        app,
        "token",
        token_title,
        CheckStatus::Passed,
        if waited.is_zero() {
            "Microsoft issued a token.".to_string()
        } else {
            format!(
                "Microsoft issued a token after activating the {noun} ({} s).",
                waited.as_secs()
            )
        },
        None,
    ));

    // Assignments can take a little longer than the secret to reach new tokens.
    let mut token = token;
    let mut roles = roles_of(token.expose());
    let mut extra_wait = Duration::ZERO;
    let mut attempt = 0;
    while !blocked && wanted.iter().any(|w| !roles.contains(w)) && extra_wait < ctx.policy.budget {
        attempt += 1;
        let delay = ctx
            .policy
            .base
            .saturating_mul(1 << attempt.min(5))
            .min(ctx.policy.cap);
        notify(
            ctx,
            &app.key,
            "Microsoft is still adding the permissions to new tokens; asking again shortly",
        );
        tokio::time::sleep(delay).await;
        extra_wait += delay;
        match token_with_retry(ctx, app, secret).await {
            Ok((t, _)) => {
                roles = roles_of(t.expose());
                token = t;
            }
            Err(_) => break,
        }
    }
    let missing: Vec<&String> = wanted.iter().filter(|w| !roles.contains(w)).collect();
    let extra: Vec<&String> = roles.iter().filter(|r| !wanted.contains(r)).collect();
    let roles_title = format!(
        "{}'s token carries exactly the recipe's permissions",
        app.display_name
    );
    out.push(if !missing.is_empty() {
        check(app, "roles", roles_title, if blocked { CheckStatus::Skipped } else { CheckStatus::Failed },
            format!("Missing: {}.", missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")),
            Some(if blocked { "An administrator still has to grant consent (see the consent hand-off)." } else { "Run Apply again to grant the missing permissions." }))
    } else if !extra.is_empty() {
        check(app, "roles", roles_title, CheckStatus::Warning,
            format!("More than the recipe asks for: {}.", extra.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")),
            Some("Remove the extra permissions in Entra (App registrations > API permissions) unless the vendor needs them."))
    } else {
        check(app, "roles", roles_title, CheckStatus::Passed, format!("{}.", wanted.join(", ")), None)
    });

    out.push(probe(ctx, app, &roles, &token).await);
    out
}

fn notify(ctx: &VerifyContext<'_>, app: &str, message: &str) {
    if let Some(f) = &ctx.on_wait {
        f(app, message);
    }
}

/// A client-credentials token for `app`, reporting waits to the context's observer.
async fn token_with_retry(
    ctx: &VerifyContext<'_>,
    app: &AppOutcome,
    secret: &ClientCredential,
) -> Result<(Secret<String>, Duration), String> {
    let wait = |message: &str| notify(ctx, &app.key, &format!("{message}; usually under a minute"));
    client_credentials_token_with(
        &ctx.http,
        ctx.endpoints,
        ctx.tenant_id,
        ctx.policy,
        &app.app_id,
        secret,
        wait,
    )
    .await
}

/// A client-credentials token for `app_id`, retrying the two answers that mean "not active
/// yet" (AADSTS700016 for a new app, 7000215 for a new secret) within the policy's budget.
/// Returns the token and how long it waited; `on_wait` hears why each wait happens.
pub async fn client_credentials_token(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    tenant_id: &str,
    policy: RetryPolicy,
    app_id: &str,
    secret: &Secret<String>,
    on_wait: impl Fn(&str),
) -> Result<(Secret<String>, Duration), String> {
    let credential = ClientCredential::Secret(secret.clone());
    client_credentials_token_with(
        http,
        endpoints,
        tenant_id,
        policy,
        app_id,
        &credential,
        on_wait,
    )
    .await
}

/// [`client_credentials_token`] with a secret or a certificate: a certificate signs a new
/// client assertion (RS256, `x5t#S256`, `aud` = the token endpoint) for every attempt.
pub async fn client_credentials_token_with(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    tenant_id: &str,
    policy: RetryPolicy,
    app_id: &str,
    credential: &ClientCredential,
    on_wait: impl Fn(&str),
) -> Result<(Secret<String>, Duration), String> {
    let url = endpoints
        .oauth2(tenant_id, "token")
        .map_err(|e| e.to_string())?;
    let scope = endpoints.scope(".default");
    let mut waited = Duration::ZERO;
    let mut attempt = 0u32;
    let first_look = std::time::Instant::now();
    loop {
        attempt += 1;
        let look = std::time::Instant::now();
        let proof = match credential {
            ClientCredential::Secret(secret) => ("client_secret", secret.clone()),
            ClientCredential::Certificate { key, der } => (
                "client_assertion",
                crate::certificate::jwt::client_assertion(
                    key,
                    der,
                    app_id,
                    url.as_str(),
                    chrono::Utc::now(),
                )
                .map_err(|e| e.to_string())?,
            ),
        };
        let mut form = vec![
            ("client_id", app_id),
            (proof.0, proof.1.expose().as_str()),
            ("scope", scope.as_str()),
            ("grant_type", "client_credentials"),
        ];
        if matches!(credential, ClientCredential::Certificate { .. }) {
            form.push((
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ));
        }
        // (retry, replication: "not active yet" answers are polled like objects
        // Microsoft is still replicating; network trouble backs off)
        let (retryable, replicating, message) = match http
            .post(url.clone())
            .form(&form)
            .send()
            .await
        {
            Ok(mut r) if r.status().is_success() => {
                let body = crate::graph::read_capped(&mut r)
                    .await
                    .map_err(|e| format!("Microsoft's token answer could not be read ({e})"))?;
                return token_from(&body).map(|token| (token, waited));
            }
            Ok(mut r) => {
                let status = r.status().as_u16();
                let text = crate::graph::read_capped(&mut r).await.unwrap_or_default();
                let body: Value = serde_json::from_str(&text).unwrap_or_default();
                let description = body
                    .get("error_description")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("the token endpoint answered HTTP {status}"));
                match aadsts_code(&description) {
                        Some(700016) => (
                            true,
                            true,
                            "Microsoft is still creating the app".to_string(),
                        ),
                        Some(7000215) => (
                            true,
                            true,
                            "Microsoft is still activating the new secret".to_string(),
                        ),
                        Some(7000222) => (false, false, "The secret has expired.".to_string()),
                        // A certificate just added is not known to sign-in yet.
                        Some(700027) if waited < policy.budget / 2 => (
                            true,
                            true,
                            "Microsoft is still activating the new certificate".to_string(),
                        ),
                        Some(700024) => (
                            false,
                            false,
                            "Microsoft refused the signed assertion's times (AADSTS700024): check this computer's clock.".to_string(),
                        ),
                        _ => (
                            false,
                            false,
                            description
                                .lines()
                                .next()
                                .unwrap_or("token request refused")
                                .to_string(),
                        ),
                    }
            }
            Err(e) => (true, false, format!("could not reach Microsoft ({e})")),
        };
        let delay = if replicating {
            policy.replication_delay(first_look.elapsed(), look.elapsed())
        } else {
            policy
                .base
                .saturating_mul(1 << attempt.min(5))
                .min(policy.cap)
        };
        if !retryable || waited + delay > policy.budget {
            return Err(message);
        }
        on_wait(&message);
        tokio::time::sleep(delay).await;
        waited += delay;
    }
}

/// The access token in a 2xx token answer. An answer without one (invalid JSON, or Microsoft's
/// error shape sent with a 200) is an error, never an empty token.
fn token_from(body: &str) -> Result<Secret<String>, String> {
    let body: Value = serde_json::from_str(body)
        .map_err(|e| format!("Microsoft's token answer is not JSON ({e})"))?;
    match body.get("access_token").and_then(Value::as_str) {
        Some(token) if !token.is_empty() => Ok(Secret::new(token.to_string())),
        _ => Err(
            match body.get("error_description").and_then(Value::as_str) {
                Some(d) => d.lines().next().unwrap_or(d).to_string(),
                None => "Microsoft's token answer holds no access token".to_string(),
            },
        ),
    }
}

/// The application permissions (`roles` claim) in an app-only token.
pub fn roles_of(jwt: &str) -> Vec<String> {
    jwt.split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|claims| claims.get("roles").cloned())
        .and_then(|r| serde_json::from_value(r).ok())
        .unwrap_or_default()
}

/// One read the permissions allow; nothing is changed and nothing is sent.
async fn probe(
    ctx: &VerifyContext<'_>,
    app: &AppOutcome,
    roles: &[String],
    token: &Secret<String>,
) -> Check {
    let has = |name: &str| roles.iter().any(|r| r == name);
    let user = ctx.probe_user.clone().unwrap_or_default();
    let call = if has("Mail.ReadWrite")
        || has("Mail.Read")
        || has("Mail.ReadBasic.All")
        || has("Mail.ReadBasic")
    {
        Some((
            format!("users/{user}/messages?$top=1&$select=subject"),
            "read one message header",
        ))
    } else if has("Calendars.ReadWrite") || has("Calendars.Read") {
        Some((
            format!("users/{user}/calendar/events?$top=1&$select=subject"),
            "read one calendar entry",
        ))
    } else if has("MailboxSettings.ReadWrite") || has("MailboxSettings.Read") {
        Some((
            format!("users/{user}/mailboxSettings"),
            "read mailbox settings",
        ))
    } else if has("User.Read.All") || has("Directory.Read.All") {
        Some(("users?$top=1&$select=id".to_string(), "read one user"))
    } else {
        None
    };
    let title = format!("{} can do its job", app.display_name);
    let Some((path, what)) = call.filter(|(p, _)| !p.contains("users//")) else {
        return check(app, "probe", title, CheckStatus::Skipped,
            "No harmless test exists for these permissions (AppGrant never sends e-mail to test Mail.Send); the token check above covers them.".to_string(),
            None);
    };
    let client = GraphClient::new(
        ctx.http.clone(),
        &ctx.endpoints.graph,
        Arc::new(StaticToken(token.clone())),
    )
    .with_policy(ctx.policy);
    match client.get(&path).await {
        Ok(_) => check(app, "probe", title, CheckStatus::Passed, format!("Using its own token, it could {what}."), None),
        Err(e) => check(app, "probe", title, CheckStatus::Failed, format!("Trying to {what} failed: {e}"),
            Some("If you just limited mailbox access, the test mailbox may be outside the scope; otherwise run Apply again.")),
    }
}

async fn read_back_roles(
    ctx: &VerifyContext<'_>,
    plan: &Plan,
    app: &AppOutcome,
    wanted: &[String],
) -> Check {
    let title = format!(
        "{} holds no more application permissions than needed",
        app.display_name
    );
    let assignments = match ctx
        .admin
        .get_all(&format!(
            "servicePrincipals/{}/appRoleAssignments",
            app.service_principal_id
        ))
        .await
    {
        Ok(a) => a,
        Err(e) => {
            return check(
                app,
                "granted-roles",
                title,
                CheckStatus::Failed,
                format!("Could not read the grants back: {e}"),
                None,
            )
        }
    };
    let by_id: std::collections::HashMap<String, String> = plan
        .app(&app.key)
        .map(|p| {
            p.app_roles
                .iter()
                .map(|(n, id)| (id.clone(), n.clone()))
                .collect()
        })
        .unwrap_or_default();
    let catalog = crate::catalog::Catalog::bundled().ok();
    let granted: Vec<String> = assignments
        .iter()
        .filter(|a| {
            a.get("resourceId").and_then(Value::as_str)
                == Some(plan.graph_service_principal_id.as_str())
        })
        .filter_map(|a| a.get("appRoleId").and_then(Value::as_str))
        .map(|id| {
            by_id.get(id).cloned().unwrap_or_else(|| {
                catalog
                    .and_then(|c| {
                        c.iter()
                            .find(|p| p.kind == PermissionKind::Application && p.id == id)
                            .map(|p| p.value.clone())
                    })
                    .unwrap_or_else(|| id.to_string())
            })
        })
        .collect();
    compare(app, "granted-roles", title, wanted, &granted)
}

async fn read_back_scopes(
    ctx: &VerifyContext<'_>,
    plan: &Plan,
    app: &AppOutcome,
    wanted: &[String],
) -> Check {
    let title = format!(
        "{}'s delegated permissions are exactly the recipe's",
        app.display_name
    );
    let path = format!(
        "oauth2PermissionGrants?$filter=clientId eq '{}' and consentType eq 'AllPrincipals' and resourceId eq '{}'",
        app.service_principal_id, plan.graph_service_principal_id
    );
    match ctx.admin.get_all(&path).await {
        Ok(grants) => {
            let granted: Vec<String> = grants
                .iter()
                .filter_map(|g| g.get("scope").and_then(Value::as_str))
                .flat_map(|s| s.split_whitespace().map(str::to_string))
                .collect();
            compare(app, "granted-scopes", title, wanted, &granted)
        }
        Err(e) => check(
            app,
            "granted-scopes",
            title,
            CheckStatus::Failed,
            format!("Could not read the grant back: {e}"),
            None,
        ),
    }
}

fn compare(
    app: &AppOutcome,
    id: &str,
    title: String,
    wanted: &[String],
    granted: &[String],
) -> Check {
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|w| !granted.contains(w))
        .map(String::as_str)
        .collect();
    let extra: Vec<&str> = granted
        .iter()
        .filter(|g| !wanted.contains(g))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        check(app, id, title, CheckStatus::Failed, format!("Not granted: {}.", missing.join(", ")),
            Some("Run Apply again, or send the consent hand-off to an administrator who can grant it."))
    } else if !extra.is_empty() {
        check(app, id, title, CheckStatus::Warning, format!("Also granted, but not needed: {}.", extra.join(", ")),
            Some("Remove the extra permissions in Entra (Enterprise applications > Permissions) unless the vendor needs them."))
    } else if wanted.is_empty() {
        check(
            app,
            id,
            title,
            CheckStatus::Passed,
            "None, as the recipe asks.".to_string(),
            None,
        )
    } else {
        check(
            app,
            id,
            title,
            CheckStatus::Passed,
            format!("{}.", wanted.join(", ")),
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_roles_from_a_token() {
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"roles":["Mail.Send"]}"#);
        assert_eq!(roles_of(&format!("h.{payload}.s")), ["Mail.Send"]);
        assert!(roles_of("garbage").is_empty());
    }
}
