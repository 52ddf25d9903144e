//! What crosses the IPC boundary, shaped for the UI (mirrored in `ui/src/lib/types.ts`).
//! No type here can carry a secret, except the one string `reveal_secret` returns.

use appgrant_core::catalog::{PermissionKind, Risk};
use appgrant_core::certificate::CertificateOrigin;
use appgrant_core::cloud::{Cloud, Endpoints};
use appgrant_core::export::Handoff;
use appgrant_core::plan::{ConsentHandoff, Lifetime, Plan, Step};
use appgrant_core::portal::{deep_link, handoff_place, portal_name, step_place, ObjectIds, Place};
use appgrant_core::practice::Scenario;
use appgrant_core::recipe::{Audience, CredentialKind, Recipe, Var};
use appgrant_core::settings::{LastTenant, Settings};
use appgrant_core::vault::Connection;
use serde::Serialize;

/// A vendor as the "Choose vendor" screen shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipeCard {
    pub id: String,
    pub vendor: String,
    pub display_name: String,
    pub description: String,
    pub apps: Vec<AppCard>,
    /// The most a leaked secret could do, across all apps.
    pub max_risk: Risk,
    /// Labels of the values the admin must type before applying (timetoreply's portal URL).
    pub inputs: Vec<String>,
    /// The same inputs with their ids (the keys of `Choices.inputs`), help and example.
    pub input_fields: Vec<InputField>,
    /// How many mistakes in the vendor's own guide the recipe corrects.
    pub corrections: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InputField {
    pub id: String,
    pub label: String,
    pub help: Option<String>,
    pub example: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppCard {
    pub display_name: String,
    pub purpose: String,
    pub permissions: Vec<PermissionCard>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionCard {
    pub name: String,
    pub kind: PermissionKind,
    pub summary: String,
    pub risk: Risk,
}

fn permission_cards(app: &appgrant_core::recipe::AppSpec) -> Vec<PermissionCard> {
    app.permissions
        .iter()
        .map(|p| PermissionCard {
            name: p.name.clone(),
            kind: p.kind,
            summary: p.summary.clone(),
            risk: p.risk,
        })
        .collect()
}

impl From<&Recipe> for RecipeCard {
    fn from(r: &Recipe) -> Self {
        Self {
            id: r.id.clone(),
            vendor: r.vendor.clone(),
            display_name: r.display_name.clone(),
            description: r.description.clone(),
            apps: r
                .apps
                .iter()
                .map(|a| AppCard {
                    display_name: a.display_name.clone(),
                    purpose: a.purpose.clone(),
                    permissions: permission_cards(a),
                })
                .collect(),
            max_risk: r.max_risk(),
            inputs: r.inputs.iter().map(|i| i.label.clone()).collect(),
            input_fields: r
                .inputs
                .iter()
                .map(|i| InputField {
                    id: i.id.clone(),
                    label: i.label.clone(),
                    help: i.help.clone(),
                    example: i.example.clone(),
                })
                .collect(),
            corrections: r.corrections.len(),
        }
    }
}

/// How the window opens (see `launch_options`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchOptions {
    /// "practice", "tenant", or none (show the Start screen).
    pub start: Option<&'static str>,
    pub tenant: Option<String>,
    /// The tenant's cloud (`Cloud::id`) when it was remembered; none: Global.
    pub cloud: Option<String>,
    /// The organisation's own sign-in app, when it was remembered with the tenant.
    pub client_id: Option<String>,
    /// Presenter mode (remembered across restarts).
    pub presenter: bool,
}

impl LaunchOptions {
    pub fn practice(presenter: bool) -> Self {
        Self {
            start: Some("practice"),
            tenant: None,
            cloud: None,
            client_id: None,
            presenter,
        }
    }

    pub fn tenant(
        tenant: &str,
        cloud: Option<String>,
        client_id: Option<String>,
        presenter: bool,
    ) -> Self {
        Self {
            start: Some("tenant"),
            tenant: Some(tenant.to_string()),
            cloud,
            client_id,
            presenter,
        }
    }

    /// The tenant chosen last time, or the Start screen on a first run.
    pub fn remembered(settings: Settings) -> Self {
        match settings.last_tenant {
            Some(LastTenant::Practice) => Self::practice(settings.presenter),
            Some(LastTenant::Tenant {
                tenant,
                cloud,
                client_id,
            }) => Self::tenant(&tenant, Some(cloud), client_id, settings.presenter),
            None => Self {
                start: None,
                tenant: None,
                cloud: None,
                client_id: None,
                presenter: settings.presenter,
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantInfo {
    pub practice: bool,
    pub label: String,
    pub sign_in_hint: Option<String>,
    /// The Microsoft cloud of a real tenant (none for the practice tenant).
    pub cloud: Option<CloudView>,
}

impl TenantInfo {
    /// The practice tenant, with the sign-in hint of the chosen scenario.
    pub fn practice(scenario: &Scenario, domain: &str) -> Self {
        Self {
            practice: true,
            label: "Contoso Practice".to_string(),
            sign_in_hint: Some(scenario.sign_in_hint(domain)),
            cloud: None,
        }
    }
}

/// The practice scenarios menu: every scenario with its one line, and the one now chosen.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioMenu {
    pub scenarios: Vec<Scenario>,
    pub active: String,
}

/// What choosing a scenario did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioChosen {
    /// The practice tenant with the scenario's sign-in hint.
    pub tenant: TenantInfo,
    /// The scenario now in effect ("reset" leaves an ordinary day).
    pub active: String,
    /// Whoever was signed in was signed out (another account should sign in, or the tenant
    /// was reset).
    pub signed_out: bool,
    /// Apps made by hand that were put back into the tenant.
    pub added_apps: Vec<String>,
}

/// A Microsoft cloud as the wizard shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudView {
    /// `global`, `us_gov`, `us_gov_dod`, `china` (`Cloud::id`).
    pub id: &'static str,
    /// "US Government (GCC High)".
    pub label: &'static str,
    /// Where the admin signs in, e.g. `login.microsoftonline.us`.
    pub sign_in_host: String,
}

impl CloudView {
    pub fn new(cloud: &Cloud, endpoints: &Endpoints) -> Self {
        Self {
            id: cloud.id(),
            label: cloud.label(),
            sign_in_host: endpoints.login.host_str().unwrap_or_default().to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanApp {
    pub key: String,
    pub display_name: String,
    pub purpose: String,
    pub audience: &'static str,
    pub redirect_uris: Vec<String>,
    pub permissions: Vec<PermissionCard>,
    pub secret_description: String,
    pub existing_app_id: Option<String>,
    /// The credential chosen for the app, and what Review may offer instead.
    pub credential: CredentialView,
}

/// The credential of one app on Review.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialView {
    /// What the plan uses now: `secret`, `generated_certificate` or `vendor_certificate`.
    pub kind: CredentialKind,
    /// What the admin may choose, the recipe's default first.
    pub offered: Vec<CredentialKind>,
    pub lifetime_months: u32,
    /// The subject of the certificate (generated: the one AppGrant will make).
    pub subject: Option<String>,
}

impl CredentialView {
    fn new(spec: &appgrant_core::recipe::AppSpec, app: &appgrant_core::plan::AppPlan) -> Self {
        let kind = match app.certificate.as_ref().map(|c| c.origin) {
            None => CredentialKind::Secret,
            Some(CertificateOrigin::Generated) => CredentialKind::GeneratedCertificate,
            Some(CertificateOrigin::Vendor) => CredentialKind::VendorCertificate,
        };
        Self {
            kind,
            offered: spec.credential.offered(),
            lifetime_months: spec.credential.lifetime_months(),
            subject: app.certificate.as_ref().map(|c| c.subject.clone()),
        }
    }
}

/// A certificate credential as Done and the connections list show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateView {
    pub app_key: String,
    pub app_name: String,
    /// SHA-1, upper-case hex (as the Entra portal shows it).
    pub thumbprint: String,
    pub not_after: chrono::DateTime<chrono::Utc>,
    pub origin: CertificateOrigin,
}

/// The certificates of a connection's apps.
pub fn certificates_of(c: &Connection) -> Vec<CertificateView> {
    c.apps
        .iter()
        .filter_map(|a| {
            let cert = a.certificate.as_ref()?;
            Some(CertificateView {
                app_key: a.key.clone(),
                app_name: a.display_name.clone(),
                thumbprint: cert.thumbprint.clone(),
                not_after: cert.not_after,
                origin: cert.origin,
            })
        })
        .collect()
}

/// What `export_certificate` wrote; the PFX password is shown once and not kept by the UI.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateExportView {
    pub paths: Vec<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CorrectionView {
    pub guide_says: String,
    pub appgrant_does: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    pub recipe_id: String,
    pub vendor: String,
    pub apps: Vec<PlanApp>,
    /// The plan's steps as core has them (`kind` is the step's tag, e.g. "register_app"),
    /// each with where it lives in the Entra admin center.
    pub steps: Vec<StepView>,
    pub lifetime: Lifetime,
    pub consent_handoff: Option<ConsentHandoff>,
    pub notes: Vec<String>,
    pub corrections: Vec<CorrectionView>,
    pub mailbox_limit_note: Option<String>,
    /// Some app of the recipe offers "only these people may sign in".
    pub limit_sign_in: bool,
    /// How sign-in limiting is described (it limits sign-in, not mailbox access).
    pub sign_in_limit_note: Option<String>,
}

/// A plan step and where the same thing lives in the Entra admin center.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepView {
    #[serde(flatten)]
    pub step: Step,
    pub portal: PortalView,
}

/// Where something lives in the portal, and (for a real tenant, once the object exists) the
/// link that opens that blade.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortalView {
    /// "Entra ID → App registrations → TonicDM O365 Token → API permissions → …".
    pub text: String,
    /// The blade's address in the cloud's portal; none for the practice tenant or before the
    /// object exists.
    pub link: Option<String>,
    /// The portal's name for the link's label ("Microsoft Entra admin center").
    pub portal_name: Option<&'static str>,
}

impl PortalView {
    /// `cloud` is None for the practice tenant (it has no portal); `ids` None until the
    /// object exists.
    pub fn new(place: Place, cloud: Option<&Cloud>, ids: Option<ObjectIds<'_>>) -> Self {
        let link = match (cloud, place.blade, ids) {
            (Some(cloud), Some(blade), Some(ids)) => deep_link(cloud, blade, ids),
            _ => None,
        };
        Self {
            text: place.text,
            portal_name: link.as_ref().and(cloud.and_then(portal_name)),
            link,
        }
    }
}

/// The tenant a plan or a connection is in, as the portal names it.
pub struct PortalContext {
    /// None for the practice tenant.
    pub cloud: Option<Cloud>,
    /// The organisation's name, as the portal's "Grant admin consent for …" button shows it.
    pub tenant: String,
}

impl PlanView {
    pub fn new(recipe: &Recipe, plan: &Plan, portal: &PortalContext) -> Self {
        let apps = plan
            .apps
            .iter()
            .filter_map(|a| {
                let spec = recipe.apps.iter().find(|s| s.key == a.key)?;
                let uris = |key: &str| -> Vec<String> {
                    a.application
                        .pointer(key)
                        .and_then(|v| v.as_array())
                        .map(|l| {
                            l.iter()
                                .filter_map(|u| u.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let mut redirect_uris = uris("/web/redirectUris");
                redirect_uris.extend(uris("/spa/redirectUris"));
                redirect_uris.extend(uris("/publicClient/redirectUris"));
                Some(PlanApp {
                    key: a.key.clone(),
                    display_name: a.display_name.clone(),
                    purpose: spec.purpose.clone(),
                    audience: match spec.audience {
                        Audience::SingleTenant => {
                            "Accounts in your organisation only (single tenant)"
                        }
                        Audience::MultiTenant => "Accounts in any organisation (multitenant)",
                    },
                    redirect_uris,
                    permissions: permission_cards(spec),
                    secret_description: a.secret_description.clone(),
                    existing_app_id: a.existing.as_ref().map(|e| e.app_id.clone()),
                    credential: CredentialView::new(spec, a),
                })
            })
            .collect();
        let limited: Vec<&str> = recipe
            .apps
            .iter()
            .filter(|a| a.limit_mailboxes.is_some())
            .map(|a| a.display_name.as_str())
            .collect();
        let limit_sign_in = recipe.apps.iter().any(|a| a.limit_sign_in);
        Self {
            limit_sign_in,
            sign_in_limit_note: limit_sign_in
                .then(|| appgrant_core::scope::signin::EXPLANATION.to_string()),
            recipe_id: recipe.id.clone(),
            vendor: recipe.vendor.clone(),
            apps,
            steps: plan
                .steps
                .iter()
                .map(|step| {
                    let app = plan.apps.iter().find(|a| a.key == step.app);
                    let name = app.map_or(step.app.as_str(), |a| a.display_name.as_str());
                    let existing = app.and_then(|a| a.existing.as_ref());
                    let ids = existing.map(|e| ObjectIds {
                        app_id: &e.app_id,
                        service_principal_id: e.service_principal_id.as_deref(),
                    });
                    StepView {
                        portal: PortalView::new(
                            step_place(&step.kind, name, &portal.tenant),
                            portal.cloud.as_ref(),
                            ids,
                        ),
                        step: step.clone(),
                    }
                })
                .collect(),
            lifetime: plan.lifetime.clone(),
            consent_handoff: plan.consent_handoff.clone(),
            notes: plan.notes.clone(),
            corrections: recipe
                .corrections
                .iter()
                .map(|c| CorrectionView {
                    guide_says: c.guide_says.clone(),
                    appgrant_does: c.appgrant_does.clone(),
                    why: c.why.clone(),
                })
                .collect(),
            mailbox_limit_note: (!limited.is_empty()).then(|| {
                format!(
                    "{} asks to limit which mailboxes {} may open. Choose the people or groups below and AppGrant will limit it with Exchange Online RBAC for Applications after Apply, then prove it. Nothing chosen means no limit: the app can reach every mailbox the permissions above allow.",
                    recipe.vendor,
                    limited.join(" and ")
                )
            }),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyResult {
    pub ok: bool,
    pub failures: Vec<appgrant_core::apply::StepFailure>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HandoffField {
    pub label: String,
    pub value: String,
    pub secret: bool,
    pub help: Option<String>,
    pub app_key: Option<String>,
    /// Where the value can be read in the portal (none for the admin's own inputs).
    pub portal: Option<PortalView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Expiry {
    pub app: String,
    pub expires_on: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoneView {
    pub connection_id: String,
    pub vendor: String,
    pub fields: Vec<HandoffField>,
    pub next_steps: Vec<String>,
    pub expiries: Vec<Expiry>,
    pub formats: Vec<appgrant_core::export::ExportFormat>,
    /// One line per limited app ("Limited to 10 users" only once verified).
    pub mailbox_limits: Vec<String>,
    /// One line per app whose sign-in is limited (says it is not a mailbox limit).
    pub sign_in_limits: Vec<String>,
    /// Certificate credentials (thumbprint and expiry). For `origin = "vendor"` there is
    /// nothing secret to hand off.
    pub certificates: Vec<CertificateView>,
}

impl DoneView {
    /// Says where each value lives in the portal, with a link for a real tenant's cloud.
    pub fn with_portal(mut self, recipe: &Recipe, connection: &Connection) -> Self {
        let cloud = if connection.practice {
            None
        } else {
            Some(connection.cloud.clone().unwrap_or(Cloud::Global))
        };
        for field in &mut self.fields {
            let var = recipe
                .handoff
                .iter()
                .find(|h| h.label == field.label)
                .and_then(|h| h.value.vars().next());
            let Some(var) = var else { continue };
            let key = match var {
                Var::ClientId(k) | Var::Secret(k) | Var::SecretExpiry(k) | Var::SecretId(k) => {
                    Some(k.as_str())
                }
                _ => None,
            };
            let app = key.and_then(|k| connection.apps.iter().find(|a| a.key == k));
            let Some(place) = handoff_place(var, app.map_or("", |a| a.display_name.as_str()))
            else {
                continue;
            };
            let ids = app.map(|a| ObjectIds {
                app_id: &a.app_id,
                service_principal_id: a.service_principal_id.as_deref(),
            });
            field.portal = Some(PortalView::new(place, cloud.as_ref(), ids));
        }
        self
    }

    /// `handoff` must be built without secrets.
    pub fn new(recipe: &Recipe, handoff: &Handoff) -> Self {
        let fields = handoff
            .fields
            .iter()
            .map(|f| {
                let app_key = recipe
                    .handoff
                    .iter()
                    .find(|h| h.label == f.label)
                    .and_then(|h| {
                        h.value.vars().find_map(|v| match v {
                            Var::Secret(app) => Some(app.clone()),
                            _ => None,
                        })
                    });
                HandoffField {
                    label: f.label.clone(),
                    value: f.value.clone(),
                    secret: f.secret,
                    help: f.help.clone(),
                    app_key,
                    portal: None,
                }
            })
            .collect();
        Self {
            connection_id: handoff.connection_id.clone(),
            vendor: handoff.vendor.clone(),
            fields,
            next_steps: handoff.next_steps.clone(),
            expiries: handoff
                .secrets
                .iter()
                .map(|s| Expiry {
                    app: s.app_name.clone(),
                    expires_on: s.expires_on.to_string(),
                })
                .collect(),
            formats: handoff.formats(),
            mailbox_limits: Vec::new(),
            sign_in_limits: Vec::new(),
            certificates: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionCard {
    pub id: String,
    pub vendor: String,
    pub tenant: String,
    pub practice: bool,
    pub apps: Vec<String>,
    pub next_expiry: Option<String>,
    pub days_left: Option<i64>,
    /// The mailbox limit's headline per limited app.
    pub mailbox_limits: Vec<String>,
    /// Certificate credentials (thumbprint and expiry), one per app that has one.
    pub certificates: Vec<CertificateView>,
}

/// Headlines of a connection's mailbox limits.
pub fn limit_headlines(c: &Connection) -> Vec<String> {
    c.mailbox_limits
        .iter()
        .map(appgrant_core::scope::ScopeState::headline)
        .collect()
}

impl From<&Connection> for ConnectionCard {
    fn from(c: &Connection) -> Self {
        Self {
            id: c.id.clone(),
            vendor: c.vendor.clone(),
            tenant: c
                .tenant_domain
                .clone()
                .unwrap_or_else(|| c.tenant_id.clone()),
            practice: c.practice,
            apps: c.apps.iter().map(|a| a.display_name.clone()).collect(),
            next_expiry: c.next_expiry().map(|d| d.date_naive().to_string()),
            days_left: c.days_until_expiry(chrono::Utc::now()),
            mailbox_limits: limit_headlines(c),
            certificates: certificates_of(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use appgrant_core::certificate::{CertificateMeta, CertificateOrigin};
    use appgrant_core::plan::StepKind;
    use appgrant_core::vault::ConnectedApp;

    /// The certificate shapes the UI reads (certs-contract.md): camelCase keys, RFC 3339
    /// dates, snake_case kinds.
    #[test]
    fn certificate_shapes_match_the_contract() {
        let at = chrono::DateTime::parse_from_rfc3339("2027-06-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let connection = Connection {
            tenant_id: "t".into(),
            apps: vec![ConnectedApp {
                key: "main".into(),
                display_name: "TonicDM".into(),
                certificate: Some(CertificateMeta {
                    key_id: "k".into(),
                    thumbprint: "AB".into(),
                    thumbprint_sha256: "CD".into(),
                    subject: "CN=TonicDM".into(),
                    not_before: at,
                    not_after: at,
                    origin: CertificateOrigin::Vendor,
                    certificate_base64: String::new(),
                }),
                ..ConnectedApp::default()
            }],
            ..Connection::default()
        };
        let card = serde_json::to_value(ConnectionCard::from(&connection)).unwrap();
        assert_eq!(
            card["certificates"],
            serde_json::json!([{
                "appKey": "main", "appName": "TonicDM", "thumbprint": "AB",
                "notAfter": "2027-06-01T00:00:00Z", "origin": "vendor"
            }])
        );
        let view = serde_json::to_value(CredentialView {
            kind: CredentialKind::GeneratedCertificate,
            offered: vec![CredentialKind::Secret, CredentialKind::VendorCertificate],
            lifetime_months: 12,
            subject: None,
        })
        .unwrap();
        assert_eq!(
            view,
            serde_json::json!({
                "kind": "generated_certificate",
                "offered": ["secret", "vendor_certificate"],
                "lifetimeMonths": 12,
                "subject": null
            })
        );
        let export = serde_json::to_value(CertificateExportView {
            paths: vec!["/x.pfx".into()],
            password: Some("pw".into()),
        })
        .unwrap();
        assert_eq!(
            export,
            serde_json::json!({"paths": ["/x.pfx"], "password": "pw"})
        );
        let info = appgrant_core::certificate::generate::generate("CN=Shape", 30)
            .unwrap()
            .info;
        let info = serde_json::to_value(info).unwrap();
        for key in [
            "subject",
            "thumbprint",
            "thumbprintSha256",
            "notBefore",
            "notAfter",
            "keyBits",
            "problems",
        ] {
            assert!(info.get(key).is_some(), "CertificateInfo has {key}: {info}");
        }
    }

    const APP_ID: &str = "3cf9614c-cfb2-4511-a87a-458aedcd8dbb";

    fn place() -> Place {
        step_place(
            &StepKind::RegisterApp,
            "TonicDM Office 365 Token",
            "Contoso",
        )
    }

    #[test]
    fn a_real_tenants_existing_app_gets_a_portal_link_and_the_practice_tenant_none() {
        let ids = ObjectIds {
            app_id: APP_ID,
            service_principal_id: None,
        };
        let real = PortalView::new(place(), Some(&Cloud::Global), Some(ids));
        assert_eq!(
            real.text,
            "Entra ID → App registrations → TonicDM Office 365 Token → Overview"
        );
        assert!(real
            .link
            .as_deref()
            .is_some_and(|l| l.starts_with("https://entra.microsoft.com/") && l.ends_with(APP_ID)));
        assert_eq!(real.portal_name, Some("Microsoft Entra admin center"));

        let practice = PortalView::new(place(), None, Some(ids));
        assert_eq!(
            (practice.link, practice.portal_name),
            (None, None),
            "no portal"
        );
        let not_yet = PortalView::new(place(), Some(&Cloud::Global), None);
        assert_eq!(
            not_yet.link, None,
            "nothing to link to before the app exists"
        );
        assert_eq!(not_yet.text, real.text, "the words are there all the same");
    }
}
