//! Plan: read the tenant, compare it with the recipe and the admin's choices, and produce the
//! ordered steps a person can read before anything is written.
//!
//! Existing objects are found by the `appId` recorded in the run journal (and, for a run that
//! was killed between creating an app and writing the journal, by the run's own marker tag),
//! never by display name alone. Permission ids are resolved from the tenant's Microsoft Graph
//! service principal. The tenant's secret-lifetime policy caps the proposed lifetime, and an
//! admin who cannot grant consent gets a hand-off instead of a run that fails half way.

mod policy;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{json, Value};

pub use policy::{parse_iso_days, SecretPolicy};

use crate::apply::journal::Journal;
use crate::catalog::{PermissionKind, Risk};
use crate::certificate::{CertificateInfo, CertificateOrigin};
use crate::cloud::Endpoints;
use crate::graph::{odata_quote, GraphClient, GraphError};
use crate::identity::Session;
use crate::recipe::{AppSpec, CredentialKind, InputValues, Recipe, MAX_SECRET_LIFETIME_MONTHS};

/// The Microsoft Graph application id, the same in every tenant.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// What the admin decided on the Review screen.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Choices {
    /// Values for the recipe's inputs (timetoreply's portal URL).
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// Display names the admin changed, by app key.
    #[serde(default)]
    pub app_names: BTreeMap<String, String>,
    /// Secret lifetime in months (default: the recipe's).
    #[serde(default)]
    pub secret_lifetime_months: Option<u32>,
    /// The credential per app key (missing: the recipe's default).
    #[serde(default)]
    pub credentials: BTreeMap<String, CredentialChoice>,
}

/// The credential the admin chose for one app on Review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CredentialChoice {
    Secret,
    GeneratedCertificate,
    VendorCertificate {
        #[serde(rename = "fileName")]
        file_name: String,
        /// The file's bytes, base64 (a public certificate; a private key is refused).
        #[serde(rename = "contentBase64")]
        content_base64: String,
    },
}

impl CredentialChoice {
    pub fn kind(&self) -> CredentialKind {
        match self {
            Self::Secret => CredentialKind::Secret,
            Self::GeneratedCertificate => CredentialKind::GeneratedCertificate,
            Self::VendorCertificate { .. } => CredentialKind::VendorCertificate,
        }
    }
}

/// The portal step a plan step belongs to, so the UI can group them as the portal does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Register,
    Permissions,
    Consent,
    Secret,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// Create (or bring up to date) the app registration, including the permission list.
    RegisterApp,
    /// Create the enterprise app (service principal) for it.
    CreateServicePrincipal,
    /// Grant one Microsoft Graph application permission (an app role assignment).
    GrantApplicationPermission { name: String, app_role_id: String },
    /// Grant the delegated permissions for everyone in the organisation.
    GrantDelegatedPermissions { scopes: Vec<String> },
    /// Create the client secret and store it in the OS keyring.
    CreateSecret { days: u32 },
    /// Put a certificate on the app: one AppGrant generates (its private key goes to the OS
    /// keyring) or the vendor's public certificate.
    AddCertificate {
        days: u32,
        origin: CertificateOrigin,
        /// The vendor certificate's SHA-1 thumbprint (generated ones get theirs at Apply).
        thumbprint: Option<String>,
    },
}

/// One step, as the admin reads it on the Review and Apply screens.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// Stable id, e.g. `calendar/grant/Calendars.ReadWrite`.
    pub id: String,
    pub app: String,
    pub phase: Phase,
    #[serde(flatten)]
    pub kind: StepKind,
    /// A plain sentence: "Allow Totalview to send e-mail as any person in your organisation".
    pub title: String,
    pub risk: Option<Risk>,
    /// Already true in the tenant (a re-run skips it).
    pub done: bool,
    /// Why this step cannot run with the signed-in account (it is then left out of apply).
    pub blocked: Option<String>,
}

/// What an app will look like, and what of it exists already.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppPlan {
    pub key: String,
    pub display_name: String,
    /// The application object to create or PATCH (no secrets: those come from addPassword).
    pub application: Value,
    /// `(name, Graph app role id)` for each application permission.
    pub app_roles: Vec<(String, String)>,
    /// Delegated scope values for the tenant-wide grant.
    pub delegated_scopes: Vec<String>,
    pub secret_description: String,
    /// A certificate instead of a client secret (None: a secret).
    pub certificate: Option<CertificatePlan>,
    /// What an earlier run created, when it is still there.
    pub existing: Option<Existing>,
    /// Application permissions limited by Exchange to chosen mailboxes (from the run
    /// journal): Apply leaves their tenant-wide grant removed.
    pub limited_permissions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Existing {
    pub object_id: String,
    pub app_id: String,
    pub service_principal_id: Option<String>,
}

/// The certificate an app gets instead of a secret.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificatePlan {
    pub origin: CertificateOrigin,
    /// The subject of a generated certificate.
    pub subject: String,
    /// How long a generated certificate lives (within the tenant's policy).
    pub days: u32,
    /// The vendor's certificate: base64 DER and what it says.
    pub vendor: Option<VendorCertificate>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VendorCertificate {
    pub der_base64: String,
    pub info: CertificateInfo,
}

/// The secret lifetime after the tenant policy has had its say.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lifetime {
    pub requested_months: u32,
    pub days: u32,
    pub expires_on: NaiveDate,
    /// The tenant's policy maximum, when it shortened the request.
    pub capped_by_policy_days: Option<u32>,
}

/// When the signed-in account cannot grant consent: what to send to someone who can.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentHandoff {
    /// Who can do it ("a Global Administrator or Privileged Role Administrator").
    pub who: String,
    /// A message to forward, with the app names and what to click.
    pub message: String,
    /// Where the approver grants consent; known once the app exists.
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub recipe_id: String,
    pub tenant_id: String,
    pub run_id: String,
    pub graph_service_principal_id: String,
    pub inputs: InputValues,
    pub apps: Vec<AppPlan>,
    pub steps: Vec<Step>,
    pub lifetime: Lifetime,
    pub consent_handoff: Option<ConsentHandoff>,
    /// Things the admin should know ("another app with this name already exists").
    pub notes: Vec<String>,
}

impl Plan {
    /// Steps that still need to run (not done, not blocked).
    pub fn pending(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| !s.done && s.blocked.is_none())
    }

    pub fn app(&self, key: &str) -> Option<&AppPlan> {
        self.apps.iter().find(|a| a.key == key)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Inputs(Vec<crate::recipe::InputError>),
    #[error("reading the tenant failed: {0}")]
    Graph(#[from] GraphError),
    #[error("Microsoft Graph in this tenant does not offer {kind} permission {name}")]
    PermissionMissing { name: String, kind: PermissionKind },
    #[error("the secret lifetime must be 1 to {MAX_SECRET_LIFETIME_MONTHS} months")]
    Lifetime,
    #[error("{app}: {message}")]
    Credential {
        app: String,
        message: String,
        hint: String,
    },
}

/// The run's marker tag on each application it creates; lets a resumed run find an app
/// whose id never reached the journal.
pub fn marker_tag(run_id: &str, app_key: &str) -> String {
    format!("appgrant:{run_id}:{app_key}")
}

/// Reads the tenant and produces the plan. Writes nothing.
pub async fn plan(
    graph: &GraphClient,
    endpoints: &Endpoints,
    session: &Session,
    recipe: &Recipe,
    choices: &Choices,
    journal: &Journal,
) -> Result<Plan, PlanError> {
    let inputs = recipe
        .check_inputs(&choices.inputs)
        .map_err(PlanError::Inputs)?;
    let graph_sp = graph
        .get(&format!(
            "servicePrincipals(appId='{GRAPH_APP_ID}')?$select=id,appRoles,oauth2PermissionScopes"
        ))
        .await?;
    let graph_sp_id = str_of(&graph_sp, "id");
    let policy = SecretPolicy::read(graph).await?;
    let lifetime = lifetime(recipe, choices, &policy)?;

    let mut apps = Vec::new();
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    let can_grant_app = session.capabilities.can_grant_application_permissions;
    let can_grant_delegated = session.capabilities.can_grant_delegated_permissions;
    for spec in &recipe.apps {
        let name = choices
            .app_names
            .get(&spec.key)
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| spec.display_name.clone());
        let app_roles = resolve(&graph_sp, "appRoles", spec, PermissionKind::Application)?;
        let delegated_scopes: Vec<String> = spec
            .delegated_permissions()
            .map(|p| p.name.clone())
            .collect();
        let scope_ids = resolve(
            &graph_sp,
            "oauth2PermissionScopes",
            spec,
            PermissionKind::Delegated,
        )?;
        let redirects = spec
            .resolve_redirect_uris(&inputs)
            .map_err(|_| PlanError::Inputs(Vec::new()))?;
        let application = application_body(
            spec,
            &name,
            &journal.run_id,
            &app_roles,
            &scope_ids,
            &redirects,
        );

        let existing = find_existing(graph, journal, &spec.key, &name).await?;
        if existing.is_none() {
            let same_name = graph
                .get_all(&format!(
                    "applications?$filter=displayName eq {}&$select=id,appId",
                    odata_quote(&name)
                ))
                .await?;
            if !same_name.is_empty() {
                notes.push(format!(
                    "Your tenant already has {} app(s) called \"{name}\". AppGrant creates its own and does not touch them; delete old ones you no longer use.",
                    same_name.len()
                ));
            }
        }
        let granted_roles = match existing
            .as_ref()
            .and_then(|e| e.service_principal_id.as_deref())
        {
            Some(sp) => graph
                .get_all(&format!("servicePrincipals/{sp}/appRoleAssignments"))
                .await?
                .iter()
                .filter(|a| str_of(a, "resourceId") == graph_sp_id)
                .map(|a| str_of(a, "appRoleId"))
                .collect(),
            None => Vec::new(),
        };
        let granted_scopes: Vec<String> = match existing.as_ref().and_then(|e| e.service_principal_id.as_deref()) {
            Some(sp) => graph
                .get_all(&format!(
                    "oauth2PermissionGrants?$filter=clientId eq '{sp}' and consentType eq 'AllPrincipals' and resourceId eq '{graph_sp_id}'"
                ))
                .await?
                .iter()
                .flat_map(|g| str_of(g, "scope").split_whitespace().map(str::to_string).collect::<Vec<_>>())
                .collect(),
            None => Vec::new(),
        };
        let journal_app = journal.apps.get(&spec.key);
        let secret_done = journal_app.is_some_and(|a| a.secret_key_id.is_some() && a.secret_stored)
            && existing.is_some();
        let certificate = certificate_plan(spec, &name, choices, &policy)?;

        let limited_permissions = journal_app
            .map(|a| a.limited_permissions.clone())
            .unwrap_or_default();
        let key = &spec.key;
        let vendor = &recipe.vendor;
        steps.push(Step {
            id: format!("{key}/register"),
            app: key.clone(),
            phase: Phase::Register,
            kind: StepKind::RegisterApp,
            title: format!(
                "Register the app \"{name}\" ({}), with the permissions {vendor} needs listed on it",
                match spec.audience {
                    crate::recipe::Audience::SingleTenant => "your organisation only",
                    crate::recipe::Audience::MultiTenant => "any organisation",
                }
            ),
            risk: None,
            done: false, // always re-applied: a PATCH brings settings back to the recipe
            blocked: None,
        });
        steps.push(Step {
            id: format!("{key}/service-principal"),
            app: key.clone(),
            phase: Phase::Register,
            kind: StepKind::CreateServicePrincipal,
            title: format!("Add \"{name}\" to your enterprise applications"),
            risk: None,
            done: existing
                .as_ref()
                .is_some_and(|e| e.service_principal_id.is_some()),
            blocked: None,
        });
        for (perm_name, role_id) in &app_roles {
            let perm = spec
                .application_permissions()
                .find(|p| &p.name == perm_name);
            // Limited by Exchange to chosen mailboxes: the tenant-wide grant stays removed.
            let limited = limited_permissions.contains(perm_name);
            let title = if limited {
                format!("{perm_name} is limited by Exchange to the chosen mailboxes (not granted tenant-wide)")
            } else {
                format!(
                    "Allow {vendor} to {} ({perm_name}, application)",
                    lower_first(
                        &perm
                            .map(|p| p.summary.clone())
                            .unwrap_or_else(|| perm_name.clone())
                    )
                )
            };
            steps.push(Step {
                id: format!("{key}/grant/{perm_name}"),
                app: key.clone(),
                phase: Phase::Consent,
                kind: StepKind::GrantApplicationPermission {
                    name: perm_name.clone(),
                    app_role_id: role_id.clone(),
                },
                title,
                risk: perm.map(|p| p.risk),
                done: limited || granted_roles.contains(role_id),
                blocked: (!limited && !can_grant_app).then(|| {
                    "Granting Microsoft Graph application permissions needs a Global Administrator or Privileged Role Administrator.".to_string()
                }),
            });
        }
        if !delegated_scopes.is_empty() {
            let all_there = delegated_scopes.iter().all(|s| granted_scopes.contains(s));
            steps.push(Step {
                id: format!("{key}/grant-delegated"),
                app: key.clone(),
                phase: Phase::Consent,
                kind: StepKind::GrantDelegatedPermissions {
                    scopes: delegated_scopes.clone(),
                },
                title: format!(
                    "Allow people who sign in to {vendor} to let it act for them: {}",
                    delegated_scopes.join(", ")
                ),
                risk: spec.delegated_permissions().map(|p| p.risk).max(),
                done: all_there,
                blocked: (!can_grant_delegated).then(|| {
                    "Granting delegated permissions for everyone needs a Cloud Application Administrator, Application Administrator or Global Administrator.".to_string()
                }),
            });
        }
        let description = spec.credential.description().to_string();
        steps.push(match &certificate {
            None => Step {
                id: format!("{key}/secret"),
                app: key.clone(),
                phase: Phase::Secret,
                kind: StepKind::CreateSecret { days: lifetime.days },
                title: format!(
                    "Create the client secret \"{description}\" (expires {}) and keep it in this computer's credential store",
                    lifetime.expires_on
                ),
                risk: None,
                done: secret_done,
                blocked: None,
            },
            Some(c) => certificate_step(key, c, journal_app, existing.is_some()),
        });
        apps.push(AppPlan {
            key: key.clone(),
            display_name: name,
            application,
            app_roles,
            delegated_scopes,
            secret_description: description,
            certificate,
            existing,
            limited_permissions,
        });
    }
    let consent_handoff = consent_handoff(recipe, session, &steps, &apps, endpoints);
    if let Some(cap) = lifetime.capped_by_policy_days {
        notes.push(format!(
            "Your organisation's policy allows secrets to live at most {cap} days, so the secret will expire on {}.",
            lifetime.expires_on
        ));
    }
    Ok(Plan {
        recipe_id: recipe.id.clone(),
        tenant_id: session.tenant_id.clone(),
        run_id: journal.run_id.clone(),
        graph_service_principal_id: graph_sp_id,
        inputs,
        apps,
        steps,
        lifetime,
        consent_handoff,
        notes,
    })
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Finds the permission ids in the tenant's Graph service principal.
fn resolve(
    graph_sp: &Value,
    collection: &str,
    spec: &AppSpec,
    kind: PermissionKind,
) -> Result<Vec<(String, String)>, PlanError> {
    let list = graph_sp
        .get(collection)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    spec.permissions
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| {
            list.iter()
                .find(|r| r.get("value").and_then(Value::as_str) == Some(p.name.as_str()))
                .and_then(|r| r.get("id").and_then(Value::as_str))
                .map(|id| (p.name.clone(), id.to_string()))
                .ok_or_else(|| PlanError::PermissionMissing {
                    name: p.name.clone(),
                    kind,
                })
        })
        .collect()
}

fn application_body(
    spec: &AppSpec,
    name: &str,
    run_id: &str,
    app_roles: &[(String, String)],
    scopes: &[(String, String)],
    redirects: &crate::recipe::ResolvedRedirectUris,
) -> Value {
    let mut access: Vec<Value> = app_roles
        .iter()
        .map(|(_, id)| json!({"id": id, "type": "Role"}))
        .collect();
    access.extend(
        scopes
            .iter()
            .map(|(_, id)| json!({"id": id, "type": "Scope"})),
    );
    json!({
        "displayName": name,
        "signInAudience": spec.audience.sign_in_audience(),
        "tags": ["AppGrant", marker_tag(run_id, &spec.key)],
        "notes": format!("Created by AppGrant: {}.", spec.purpose),
        "isFallbackPublicClient": spec.allow_public_client_flows,
        "requiredResourceAccess": if access.is_empty() { json!([]) } else {
            json!([{ "resourceAppId": GRAPH_APP_ID, "resourceAccess": access }])
        },
        "web": {
            "redirectUris": redirects.web,
            "implicitGrantSettings": {
                "enableIdTokenIssuance": spec.implicit_grant.id_tokens,
                "enableAccessTokenIssuance": spec.implicit_grant.access_tokens,
            }
        },
        "spa": { "redirectUris": redirects.spa },
        "publicClient": { "redirectUris": redirects.public_client },
    })
}

/// The app an earlier run created: by the journal's appId, else by this run's marker tag.
async fn find_existing(
    graph: &GraphClient,
    journal: &Journal,
    key: &str,
    name: &str,
) -> Result<Option<Existing>, GraphError> {
    let app = match journal.apps.get(key).and_then(|a| a.app_id.as_deref()) {
        Some(app_id) => graph
            .get_all(&format!(
                "applications?$filter=appId eq {}&$select=id,appId,tags",
                odata_quote(app_id)
            ))
            .await?
            .into_iter()
            .next(),
        None => graph
            .get_all(&format!(
                "applications?$filter=displayName eq {}&$select=id,appId,tags",
                odata_quote(name)
            ))
            .await?
            .into_iter()
            .find(|a| {
                a.get("tags").and_then(Value::as_array).is_some_and(|tags| {
                    tags.iter()
                        .any(|t| t.as_str() == Some(marker_tag(&journal.run_id, key).as_str()))
                })
            }),
    };
    let Some(app) = app else { return Ok(None) };
    let app_id = str_of(&app, "appId");
    let sp = graph
        .get_all(&format!(
            "servicePrincipals?$filter=appId eq '{app_id}'&$select=id"
        ))
        .await?
        .into_iter()
        .next()
        .map(|sp| str_of(&sp, "id"));
    Ok(Some(Existing {
        object_id: str_of(&app, "id"),
        app_id,
        service_principal_id: sp,
    }))
}

/// The lifetime of a new secret: the admin's choice or the recipe's, capped by the tenant policy.
pub fn lifetime(
    recipe: &Recipe,
    choices: &Choices,
    policy: &SecretPolicy,
) -> Result<Lifetime, PlanError> {
    let recipe_months = recipe
        .apps
        .iter()
        .map(|a| a.credential.lifetime_months())
        .min()
        .unwrap_or(12);
    let months = choices.secret_lifetime_months.unwrap_or(recipe_months);
    lifetime_for_months(months, policy)
}

/// The lifetime of a new secret of `months` months, capped by the tenant policy.
pub fn lifetime_for_months(months: u32, policy: &SecretPolicy) -> Result<Lifetime, PlanError> {
    if !(1..=MAX_SECRET_LIFETIME_MONTHS).contains(&months) {
        return Err(PlanError::Lifetime);
    }
    let now: DateTime<Utc> = Utc::now();
    let wanted_end = now
        .checked_add_months(chrono::Months::new(months))
        .unwrap_or(now + chrono::TimeDelta::days(i64::from(months) * 30));
    let wanted_days = u32::try_from((wanted_end - now).num_days()).unwrap_or(365);
    let (days, capped) = match policy.max_password_days {
        // Stay a day inside the limit so clock skew cannot push us over it.
        Some(max) if wanted_days >= max => (max.saturating_sub(1).max(1), Some(max)),
        _ => (wanted_days, None),
    };
    Ok(Lifetime {
        requested_months: months,
        days,
        expires_on: (now + chrono::TimeDelta::days(i64::from(days))).date_naive(),
        capped_by_policy_days: capped,
    })
}

/// The certificate `spec` gets under the admin's choice, or None for a client secret. A
/// vendor certificate is read and checked here, so a bad one stops the plan with its reason.
fn certificate_plan(
    spec: &AppSpec,
    name: &str,
    choices: &Choices,
    policy: &SecretPolicy,
) -> Result<Option<CertificatePlan>, PlanError> {
    let offered = spec.credential.offered();
    let choice = match choices.credentials.get(&spec.key) {
        Some(c) => c.clone(),
        None => match offered.first() {
            Some(CredentialKind::GeneratedCertificate) => CredentialChoice::GeneratedCertificate,
            Some(CredentialKind::VendorCertificate) => {
                return Err(PlanError::Credential {
                    app: name.to_string(),
                    message: "this vendor sends its own certificate, and none was chosen".to_string(),
                    hint: "Choose the vendor's .cer or .pem file on the Review screen (or with --certificate <file>).".to_string(),
                })
            }
            _ => CredentialChoice::Secret,
        },
    };
    if !offered.contains(&choice.kind()) {
        return Err(PlanError::Credential {
            app: name.to_string(),
            message: format!("the recipe does not offer {:?} for this app", choice.kind()),
            hint: "Choose one of the credentials the Review screen offers for this app."
                .to_string(),
        });
    }
    let days = lifetime_days(
        spec.credential.lifetime_months(),
        policy.max_certificate_days,
    );
    Ok(match choice {
        CredentialChoice::Secret => None,
        CredentialChoice::GeneratedCertificate => Some(CertificatePlan {
            origin: CertificateOrigin::Generated,
            subject: spec.credential.subject(name),
            days,
            vendor: None,
        }),
        CredentialChoice::VendorCertificate {
            file_name,
            content_base64,
        } => {
            let vendor = read_vendor_certificate(&file_name, &content_base64, policy).map_err(
                |(message, hint)| PlanError::Credential {
                    app: name.to_string(),
                    message,
                    hint,
                },
            )?;
            Some(CertificatePlan {
                origin: CertificateOrigin::Vendor,
                subject: vendor.info.subject.clone(),
                days,
                vendor: Some(vendor),
            })
        }
    })
}

/// Reads and checks a vendor certificate; the error is (message, hint).
pub fn read_vendor_certificate(
    file_name: &str,
    content_base64: &str,
    policy: &SecretPolicy,
) -> Result<VendorCertificate, (String, String)> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(content_base64.trim())
        .map_err(|_| {
            (
                format!("{file_name} did not arrive intact (its content is not base64)"),
                "Choose the file again.".to_string(),
            )
        })?;
    let mut cert = crate::certificate::import::inspect(file_name, &bytes)
        .map_err(|e| (e.to_string(), e.hint().to_string()))?;
    cert.info.check(Utc::now(), policy.max_certificate_days);
    if !cert.info.problems.is_empty() {
        return Err((
            cert.info.problems.join(" "),
            "Ask the vendor for a certificate without these problems, or let AppGrant generate one.".to_string(),
        ));
    }
    Ok(VendorCertificate {
        der_base64: cert.base64(),
        info: cert.info,
    })
}

/// Days for a credential of `months` months, a day inside the policy's `max` (clock skew).
pub fn lifetime_days(months: u32, max: Option<u32>) -> u32 {
    let now = Utc::now();
    let end = now
        .checked_add_months(chrono::Months::new(months))
        .unwrap_or(now + chrono::TimeDelta::days(i64::from(months) * 30));
    let wanted = u32::try_from((end - now).num_days()).unwrap_or(365);
    match max {
        Some(max) if wanted >= max => max.saturating_sub(1).max(1),
        _ => wanted,
    }
}

fn certificate_step(
    key: &str,
    plan: &CertificatePlan,
    journal_app: Option<&crate::apply::journal::JournalApp>,
    app_exists: bool,
) -> Step {
    let thumbprint = plan.vendor.as_ref().map(|v| v.info.thumbprint.clone());
    let done = app_exists
        && journal_app
            .and_then(|a| a.certificate.as_ref())
            .is_some_and(|c| {
                c.origin == plan.origin && thumbprint.as_ref().is_none_or(|t| *t == c.thumbprint)
            });
    let expires = (Utc::now() + chrono::TimeDelta::days(i64::from(plan.days))).date_naive();
    let title = match &plan.vendor {
        Some(v) => format!(
            "Add the vendor's certificate \"{}\" (thumbprint {}, expires {}) to the app; nothing secret is stored or sent",
            v.info.subject,
            v.info.thumbprint,
            v.info.not_after.date_naive()
        ),
        None => format!(
            "Create the certificate \"{}\" (RSA 2048, expires {expires}), add its public part to the app and keep its private key in this computer's credential store",
            plan.subject
        ),
    };
    Step {
        id: format!("{key}/certificate"),
        app: key.to_string(),
        phase: Phase::Secret,
        kind: StepKind::AddCertificate {
            days: plan.days,
            origin: plan.origin,
            thumbprint,
        },
        title,
        risk: None,
        done,
        blocked: None,
    }
}

fn consent_handoff(
    recipe: &Recipe,
    session: &Session,
    steps: &[Step],
    apps: &[AppPlan],
    endpoints: &Endpoints,
) -> Option<ConsentHandoff> {
    let blocked: Vec<&Step> = steps
        .iter()
        .filter(|s| s.blocked.is_some() && !s.done)
        .collect();
    if blocked.is_empty() {
        return None;
    }
    let needs_app_roles = blocked
        .iter()
        .any(|s| matches!(s.kind, StepKind::GrantApplicationPermission { .. }));
    let who = if needs_app_roles {
        "a Global Administrator or Privileged Role Administrator"
    } else {
        "a Cloud Application Administrator, Application Administrator or Global Administrator"
    };
    let list: Vec<String> = blocked.iter().map(|s| format!("  - {}", s.title)).collect();
    let app_lines: Vec<String> = apps
        .iter()
        .map(|a| match &a.existing {
            Some(e) => format!(
                "  - {} (Application (client) ID {})",
                a.display_name, e.app_id
            ),
            None => format!("  - {} (created when I apply the set-up)", a.display_name),
        })
        .collect();
    // The portal's API-permissions page, where "Grant admin consent" lives, in the tenant's
    // own cloud (none for the practice tenant or custom endpoints).
    let url = apps.iter().find_map(|a| a.existing.as_ref()).and_then(|e| {
        let cloud = crate::cloud::Cloud::serving(endpoints)?;
        crate::portal::deep_link(
            &cloud,
            crate::portal::Blade::ApiPermissions,
            crate::portal::ObjectIds {
                app_id: &e.app_id,
                service_principal_id: None,
            },
        )
    });
    let message = format!(
        "Hello,\n\nI am connecting {vendor} to our Microsoft 365 tenant with AppGrant. My account ({me}) cannot grant these permissions, which need {who}:\n\n{perms}\n\nfor the app registration(s):\n{apps}\n\nPlease open Microsoft Entra admin center > App registrations > the app > API permissions, check the list matches the above, and click \"Grant admin consent\". Then tell me, and I will re-run the verification in AppGrant.\n\nThank you.",
        vendor = recipe.vendor,
        me = session.user_principal_name,
        perms = list.join("\n"),
        apps = app_lines.join("\n"),
    );
    Some(ConsentHandoff {
        who: who.to_string(),
        message,
        url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape the Review screen sends (`choices.credentials`, see certs-contract.md).
    #[test]
    fn credential_choices_read_the_ui_shape() {
        let choices: Choices = serde_json::from_value(json!({
            "inputs": {},
            "credentials": {
                "main": {"kind": "vendor_certificate", "fileName": "v.cer", "contentBase64": "QUJD"},
                "calendar": {"kind": "generated_certificate"},
                "mail": {"kind": "secret"}
            }
        }))
        .unwrap();
        assert_eq!(
            choices.credentials["main"],
            CredentialChoice::VendorCertificate {
                file_name: "v.cer".into(),
                content_base64: "QUJD".into()
            }
        );
        assert_eq!(
            choices.credentials["calendar"].kind(),
            CredentialKind::GeneratedCertificate
        );
        assert_eq!(choices.credentials["mail"], CredentialChoice::Secret);
        let plain: Choices = serde_json::from_value(json!({"inputs": {}})).unwrap();
        assert!(
            plain.credentials.is_empty(),
            "older callers send no credentials"
        );
    }

    #[test]
    fn certificate_lifetimes_stay_inside_the_policy() {
        assert_eq!(lifetime_days(12, Some(90)), 89);
        assert!((365..=366).contains(&lifetime_days(12, None)));
        let bad = read_vendor_certificate("v.cer", "not base64!", &SecretPolicy::default());
        assert!(bad.unwrap_err().0.contains("did not arrive intact"));
    }
}
