//! Recipes: what a vendor needs in a Microsoft 365 tenant, as data.
//!
//! A recipe is a TOML file (format documented in `recipes/README.md`) naming the vendor, the
//! app registrations it needs (audience, redirect URIs, Graph permissions, secret policy,
//! mailbox limiting), the values the vendor asks for with the vendor's own labels, and the
//! vendor's next steps. [`parse`] turns the text into a validated [`Recipe`]: every permission
//! is checked against the bundled catalog and every problem is reported with the recipe's
//! name, the line and the fix. Built-in recipes live in [`builtin`].

mod builtin;
mod error;
mod raw;
mod template;

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use serde::Serialize;
use toml::Spanned;

pub use builtin::{builtin, builtin_by_id};
pub use error::{InputError, RecipeError, RecipeErrorKind, RecipeErrors};
pub use template::{Template, Var};

use crate::catalog::{Catalog, PermissionKind, Risk};
use error::LineIndex;

/// The recipe format version this build understands.
pub const SCHEMA_VERSION: u32 = 1;

/// The longest secret lifetime the Entra portal offers (24 months); tenants may cap it lower.
pub const MAX_SECRET_LIFETIME_MONTHS: u32 = 24;

/// A validated recipe.
#[derive(Debug, Clone, Serialize)]
pub struct Recipe {
    pub id: String,
    pub vendor: String,
    pub display_name: String,
    pub description: String,
    /// Where the vendor's own guide lives, for reference.
    pub guide: Option<String>,
    pub handoff_style: HandoffStyle,
    pub inputs: Vec<InputSpec>,
    pub apps: Vec<AppSpec>,
    pub handoff: Vec<HandoffField>,
    pub next_steps: Vec<String>,
    /// Places where the vendor's guide is wrong and what AppGrant does instead.
    pub corrections: Vec<Correction>,
}

/// How the vendor wants the values: a form to fill in, or environment variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffStyle {
    /// Labelled values typed into the vendor's settings page.
    Sheet,
    /// `NAME=value` lines for a server's environment file.
    Env,
}

/// A value the admin supplies before anything is created (timetoreply's portal address).
#[derive(Debug, Clone, Serialize)]
pub struct InputSpec {
    pub id: String,
    pub label: String,
    pub help: Option<String>,
    pub kind: InputKind,
    pub example: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// An `https://` address without query or fragment; a trailing `/` is dropped.
    HttpsUrl,
    /// Any non-empty single line of text.
    Text,
}

/// One app registration the vendor needs.
#[derive(Debug, Clone, Serialize)]
pub struct AppSpec {
    /// Short name used in hand-off templates (`{apps.calendar.client_id}`).
    pub key: String,
    /// The name the app gets in Entra unless the admin changes it.
    pub display_name: String,
    /// What this app is for, in a few words ("Calendar synchronisation").
    pub purpose: String,
    pub audience: Audience,
    pub allow_public_client_flows: bool,
    pub redirect_uris: RedirectUris,
    pub implicit_grant: ImplicitGrant,
    /// Every Graph permission the app ends up with, application first.
    pub permissions: Vec<RequiredPermission>,
    /// What happens to the `User.Read` permission Entra adds to every new registration.
    pub default_user_read: UserReadPolicy,
    pub admin_consent: bool,
    pub credential: CredentialSpec,
    pub limit_mailboxes: Option<MailboxLimit>,
    /// Offer "only these users may sign in" (assignment required) for delegated apps.
    pub limit_sign_in: bool,
}

/// Who can sign in to the app (Entra's "supported account types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Accounts in this organisational directory only (`AzureADMyOrg`).
    SingleTenant,
    /// Accounts in any organisational directory (`AzureADMultipleOrgs`).
    MultiTenant,
}

impl Audience {
    /// The value of the application's `signInAudience` property.
    pub fn sign_in_audience(self) -> &'static str {
        match self {
            Self::SingleTenant => "AzureADMyOrg",
            Self::MultiTenant => "AzureADMultipleOrgs",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RedirectUris {
    pub web: Vec<Template>,
    pub spa: Vec<Template>,
    pub public_client: Vec<Template>,
}

impl RedirectUris {
    pub fn is_empty(&self) -> bool {
        self.web.is_empty() && self.spa.is_empty() && self.public_client.is_empty()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImplicitGrant {
    pub id_tokens: bool,
    pub access_tokens: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserReadPolicy {
    /// Keep delegated `User.Read` (the vendor needs users to sign in).
    Keep,
    /// Remove it: the app never signs anyone in, so it should not have it.
    Remove,
}

/// A Graph permission the app needs, explained from the catalog.
#[derive(Debug, Clone, Serialize)]
pub struct RequiredPermission {
    pub name: String,
    pub kind: PermissionKind,
    /// The id in the bundled catalog (re-resolved from the tenant at run time).
    pub catalog_id: String,
    pub summary: String,
    pub risk: Risk,
    pub admin_consent_required: bool,
    /// Whether Exchange RBAC for Applications can limit it to chosen mailboxes.
    pub mailbox_scoped: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CredentialSpec {
    Secret {
        description: String,
        lifetime_months: u32,
    },
    Certificate {
        description: String,
        lifetime_months: u32,
        /// The subject of a generated certificate (`CN=...`); None: `CN={app display name}`.
        subject: Option<String>,
        source: CertificateSource,
    },
}

/// Where a recipe's certificate may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateSource {
    /// AppGrant generates it (the private key stays in this computer's credential store).
    Generate,
    /// The vendor sends its public certificate.
    Vendor,
    /// The admin chooses on the Review screen.
    Either,
}

/// A credential the admin can choose on Review (`CredentialChoice` without its data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    Secret,
    GeneratedCertificate,
    VendorCertificate,
}

impl CredentialSpec {
    /// The name the credential carries in Entra (`displayName`).
    pub fn description(&self) -> &str {
        match self {
            Self::Secret { description, .. } | Self::Certificate { description, .. } => description,
        }
    }

    pub fn lifetime_months(&self) -> u32 {
        match self {
            Self::Secret {
                lifetime_months, ..
            }
            | Self::Certificate {
                lifetime_months, ..
            } => *lifetime_months,
        }
    }

    /// What Review offers, the recipe's default first. A recipe asking for a secret also
    /// offers certificates (the admin knows whether the vendor accepts one).
    pub fn offered(&self) -> Vec<CredentialKind> {
        use CredentialKind::*;
        match self {
            Self::Secret { .. } => vec![Secret, GeneratedCertificate, VendorCertificate],
            Self::Certificate { source, .. } => match source {
                CertificateSource::Generate => vec![GeneratedCertificate],
                CertificateSource::Vendor => vec![VendorCertificate],
                CertificateSource::Either => vec![GeneratedCertificate, VendorCertificate],
            },
        }
    }

    /// The subject of a certificate AppGrant generates for the app `display_name`.
    pub fn subject(&self, display_name: &str) -> String {
        match self {
            Self::Certificate {
                subject: Some(s), ..
            } => s.clone(),
            _ => format!("CN={}", display_name.replace([',', '=', '"'], " ")),
        }
    }
}

/// Limiting mailbox access to chosen users (Exchange Online RBAC for Applications).
#[derive(Debug, Clone, Serialize)]
pub struct MailboxLimit {
    /// The application permissions the limit applies to.
    pub permissions: Vec<String>,
    /// Whether the vendor insists (otherwise it is offered, off by default).
    pub required: bool,
    pub why: String,
}

/// One value the vendor asks for, with the vendor's own label.
#[derive(Debug, Clone, Serialize)]
pub struct HandoffField {
    pub label: String,
    pub value: Template,
    pub help: Option<String>,
    /// Whether the value contains the client secret (hidden until revealed).
    pub secret: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Correction {
    pub guide_says: String,
    pub appgrant_does: String,
    pub why: String,
}

/// The admin's input values after checking, keyed by input id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InputValues(BTreeMap<String, String>);

impl InputValues {
    pub fn get(&self, id: &str) -> Option<&str> {
        self.0.get(id).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }
}

/// Redirect URIs with the inputs filled in, ready for the application object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResolvedRedirectUris {
    pub web: Vec<String>,
    pub spa: Vec<String>,
    pub public_client: Vec<String>,
}

impl Recipe {
    /// Every permission across the recipe's apps, with the app it belongs to.
    pub fn permissions(&self) -> impl Iterator<Item = (&AppSpec, &RequiredPermission)> {
        self.apps
            .iter()
            .flat_map(|app| app.permissions.iter().map(move |p| (app, p)))
    }

    /// The highest risk among the recipe's permissions.
    pub fn max_risk(&self) -> Risk {
        self.permissions()
            .map(|(_, p)| p.risk)
            .max()
            .unwrap_or(Risk::Read)
    }

    /// What the vendor will be able to do, in plain sentences, riskiest first, without
    /// repeats.
    pub fn capabilities(&self) -> Vec<String> {
        let mut perms: Vec<&RequiredPermission> = self.permissions().map(|(_, p)| p).collect();
        perms.sort_by(|a, b| b.risk.cmp(&a.risk).then(a.kind.cmp(&b.kind)));
        let mut seen = HashSet::new();
        perms
            .into_iter()
            .map(|p| p.summary.clone())
            .filter(|s| seen.insert(s.clone()))
            .collect()
    }

    /// Checks the admin's values for the recipe's inputs and normalises them.
    pub fn check_inputs(
        &self,
        values: &BTreeMap<String, String>,
    ) -> Result<InputValues, Vec<InputError>> {
        let mut checked = BTreeMap::new();
        let mut errors = Vec::new();
        for input in &self.inputs {
            let raw = values.get(&input.id).map(String::as_str).unwrap_or("");
            match check_input_value(input.kind, raw) {
                Ok(value) => {
                    checked.insert(input.id.clone(), value);
                }
                Err(message) => errors.push(InputError {
                    input: input.id.clone(),
                    label: input.label.clone(),
                    message,
                }),
            }
        }
        for id in values.keys() {
            if !self.inputs.iter().any(|i| &i.id == id) {
                errors.push(InputError {
                    input: id.clone(),
                    label: id.clone(),
                    message: format!("{} does not ask for \"{id}\"", self.display_name),
                });
            }
        }
        if errors.is_empty() {
            Ok(InputValues(checked))
        } else {
            Err(errors)
        }
    }
}

impl AppSpec {
    /// The redirect URIs with the admin's inputs filled in.
    pub fn resolve_redirect_uris(&self, inputs: &InputValues) -> Result<ResolvedRedirectUris, Var> {
        let render = |list: &[Template]| -> Result<Vec<String>, Var> {
            list.iter()
                .map(|t| {
                    t.render(|var| match var {
                        Var::Input(id) => inputs.get(id).map(str::to_string),
                        _ => None,
                    })
                })
                .collect()
        };
        Ok(ResolvedRedirectUris {
            web: render(&self.redirect_uris.web)?,
            spa: render(&self.redirect_uris.spa)?,
            public_client: render(&self.redirect_uris.public_client)?,
        })
    }

    pub fn application_permissions(&self) -> impl Iterator<Item = &RequiredPermission> {
        self.permissions
            .iter()
            .filter(|p| p.kind == PermissionKind::Application)
    }

    pub fn delegated_permissions(&self) -> impl Iterator<Item = &RequiredPermission> {
        self.permissions
            .iter()
            .filter(|p| p.kind == PermissionKind::Delegated)
    }
}

fn check_input_value(kind: InputKind, raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("this is required".to_string());
    }
    match kind {
        InputKind::Text => {
            if value.contains(['\n', '\r']) {
                Err("must be a single line".to_string())
            } else {
                Ok(value.to_string())
            }
        }
        InputKind::HttpsUrl => {
            let url = url::Url::parse(value).map_err(|_| {
                format!(
                    "\"{value}\" is not a web address; enter it like https://portal.example.com"
                )
            })?;
            if url.scheme() != "https" {
                return Err(format!(
                    "must start with https:// (Microsoft only sends sign-ins to secure addresses), not {}://",
                    url.scheme()
                ));
            }
            if url.host_str().is_none_or(str::is_empty) {
                return Err("must include a host name, like https://portal.example.com".to_string());
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err("must not contain ? or #: enter just the portal's address".to_string());
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err("must not contain a user name or password".to_string());
            }
            Ok(url.as_str().trim_end_matches('/').to_string())
        }
    }
}

/// Everything outside input can reach in this module: `data` as a recipe file (as `recipe
/// check` and an import read one), and as the value of every input of every built-in recipe
/// (as `--input` and the wizard pass them), templates rendered. The fuzz target
/// `recipe_toml` (fuzz/) and the stable replay test `tests/fuzz_replay.rs` drive it; it must
/// never panic, whatever `data` holds.
#[doc(hidden)]
pub fn fuzz_surface(data: &[u8]) {
    static BUILTIN: std::sync::OnceLock<Vec<Recipe>> = std::sync::OnceLock::new();
    let text = String::from_utf8_lossy(data);
    if let Ok(recipe) = parse("fuzz.toml", &text) {
        let _ = recipe.check_inputs(&BTreeMap::new());
    }
    for recipe in BUILTIN.get_or_init(|| builtin().unwrap_or_default()) {
        let values = recipe
            .inputs
            .iter()
            .map(|i| (i.id.clone(), text.to_string()))
            .collect();
        if let Ok(checked) = recipe.check_inputs(&values) {
            for app in &recipe.apps {
                let _ = app.resolve_redirect_uris(&checked);
            }
        }
    }
}

/// Parses and validates a recipe. `name` (usually the file name) is used in error messages.
pub fn parse(name: &str, text: &str) -> Result<Recipe, RecipeErrors> {
    let mut v = Validator {
        name,
        lines: LineIndex::new(text),
        errors: Vec::new(),
    };
    let raw: raw::RawRecipe = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let message = e.message().trim().to_string();
            v.push(e.span(), RecipeErrorKind::Syntax, message, None);
            return Err(RecipeErrors(v.errors));
        }
    };
    let catalog = match Catalog::bundled() {
        Ok(c) => c,
        Err(e) => {
            v.push(None, RecipeErrorKind::Syntax, e.to_string(), None);
            return Err(RecipeErrors(v.errors));
        }
    };
    let recipe = v.recipe(raw, catalog);
    if v.errors.is_empty() {
        Ok(recipe)
    } else {
        v.errors.sort_by_key(|e| (e.line, e.column));
        Err(RecipeErrors(v.errors))
    }
}

struct Validator<'a> {
    name: &'a str,
    lines: LineIndex<'a>,
    errors: Vec<RecipeError>,
}

fn is_slug(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl Validator<'_> {
    fn push(
        &mut self,
        span: Option<Range<usize>>,
        kind: RecipeErrorKind,
        message: impl Into<String>,
        fix: Option<String>,
    ) {
        let (line, column) = match span {
            Some(span) => {
                let (l, c) = self.lines.locate(span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        self.errors.push(RecipeError {
            recipe: self.name.to_string(),
            line,
            column,
            kind,
            message: message.into(),
            fix,
        });
    }

    fn invalid(&mut self, span: Range<usize>, message: impl Into<String>, fix: Option<String>) {
        self.push(Some(span), RecipeErrorKind::InvalidValue, message, fix);
    }

    fn inconsistent(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        fix: Option<String>,
    ) {
        self.push(Some(span), RecipeErrorKind::Inconsistent, message, fix);
    }

    fn recipe(&mut self, raw: raw::RawRecipe, catalog: &Catalog) -> Recipe {
        if *raw.schema.get_ref() != SCHEMA_VERSION {
            self.invalid(
                raw.schema.span(),
                format!(
                    "recipe format {} is not one this AppGrant understands (it reads format {SCHEMA_VERSION})",
                    raw.schema.get_ref()
                ),
                Some(format!("set schema = {SCHEMA_VERSION}, or update AppGrant")),
            );
        }
        if !is_slug(raw.id.get_ref(), 40) {
            self.invalid(
                raw.id.span(),
                format!("\"{}\" is not a valid recipe id", raw.id.get_ref()),
                Some("use lowercase letters, digits and dashes, like \"my-vendor\"".to_string()),
            );
        }
        let handoff_style = match raw.handoff_style.as_ref().map(|s| s.get_ref().as_str()) {
            None | Some("sheet") => HandoffStyle::Sheet,
            Some("env") => HandoffStyle::Env,
            Some(other) => {
                let span = raw.handoff_style.as_ref().map(Spanned::span);
                self.push(
                    span,
                    RecipeErrorKind::InvalidValue,
                    format!("handoff_style \"{other}\" is not known"),
                    Some("use \"sheet\" or \"env\"".to_string()),
                );
                HandoffStyle::Sheet
            }
        };
        let inputs = self.inputs(raw.inputs);
        if raw.apps.is_empty() {
            self.push(
                None,
                RecipeErrorKind::Inconsistent,
                "the recipe has no apps",
                Some("add at least one [[apps]] table".to_string()),
            );
        }
        let mut app_keys = HashSet::new();
        let mut apps = Vec::new();
        for raw_app in raw.apps {
            if !app_keys.insert(raw_app.key.get_ref().clone()) {
                self.invalid(
                    raw_app.key.span(),
                    format!("two apps use the key \"{}\"", raw_app.key.get_ref()),
                    Some("give each app its own key".to_string()),
                );
            }
            apps.push(self.app(raw_app, &inputs, catalog));
        }
        let handoff = self.handoff(raw.handoff, handoff_style, &apps, &inputs);
        Recipe {
            id: raw.id.into_inner(),
            vendor: raw.vendor,
            display_name: raw.display_name,
            description: raw.description,
            guide: raw.guide,
            handoff_style,
            inputs,
            apps,
            handoff,
            next_steps: raw.next_steps,
            corrections: raw
                .corrections
                .into_iter()
                .map(|c| Correction {
                    guide_says: c.guide_says,
                    appgrant_does: c.appgrant_does,
                    why: c.why,
                })
                .collect(),
        }
    }

    fn inputs(&mut self, raw: Vec<raw::RawInput>) -> Vec<InputSpec> {
        let mut ids = HashSet::new();
        let mut out = Vec::new();
        for input in raw {
            let id = input.id.get_ref().clone();
            if !is_slug(&id, 40) || id.contains('-') {
                self.invalid(
                    input.id.span(),
                    format!("\"{id}\" is not a valid input id"),
                    Some(
                        "use lowercase letters, digits and underscores, like \"portal_url\""
                            .to_string(),
                    ),
                );
            } else if !ids.insert(id.clone()) {
                self.invalid(
                    input.id.span(),
                    format!("two inputs use the id \"{id}\""),
                    None,
                );
            }
            let kind = match input.kind.get_ref().as_str() {
                "https_url" => InputKind::HttpsUrl,
                "text" => InputKind::Text,
                other => {
                    self.invalid(
                        input.kind.span(),
                        format!("input kind \"{other}\" is not known"),
                        Some("use \"https_url\" or \"text\"".to_string()),
                    );
                    InputKind::Text
                }
            };
            if let Some(example) = &input.example {
                if let Err(message) = check_input_value(kind, example.get_ref()) {
                    self.invalid(
                        example.span(),
                        format!("the example for \"{id}\" {message}"),
                        None,
                    );
                }
            }
            out.push(InputSpec {
                id,
                label: input.label,
                help: input.help,
                kind,
                example: input.example.map(Spanned::into_inner),
            });
        }
        out
    }

    fn app(&mut self, raw: raw::RawApp, inputs: &[InputSpec], catalog: &Catalog) -> AppSpec {
        let key = raw.key.get_ref().clone();
        if !is_slug(&key, 24) {
            self.invalid(
                raw.key.span(),
                format!("\"{key}\" is not a valid app key"),
                Some("use lowercase letters and digits, like \"calendar\"".to_string()),
            );
        }
        if raw.display_name.trim().is_empty() || raw.display_name.chars().count() > 120 {
            self.invalid(
                raw.key.span(),
                format!("app \"{key}\" needs a display name of 1 to 120 characters"),
                None,
            );
        }
        let audience = match raw.audience.get_ref().as_str() {
            "single_tenant" => Audience::SingleTenant,
            "multi_tenant" => Audience::MultiTenant,
            other => {
                self.invalid(
                    raw.audience.span(),
                    format!("audience \"{other}\" is not known"),
                    Some("use \"single_tenant\" or \"multi_tenant\"".to_string()),
                );
                Audience::SingleTenant
            }
        };
        let redirect_uris = RedirectUris {
            web: self.redirects(&raw.redirect_uris.web, RedirectPlatform::Web, inputs),
            spa: self.redirects(&raw.redirect_uris.spa, RedirectPlatform::Spa, inputs),
            public_client: self.redirects(
                &raw.redirect_uris.public_client,
                RedirectPlatform::PublicClient,
                inputs,
            ),
        };
        let implicit_grant = ImplicitGrant {
            id_tokens: raw.implicit_grant.id_tokens,
            access_tokens: raw.implicit_grant.access_tokens,
        };
        if (implicit_grant.id_tokens || implicit_grant.access_tokens)
            && redirect_uris.web.is_empty()
        {
            self.inconsistent(
                raw.key.span(),
                format!("app \"{key}\" asks for implicit-grant tokens but has no web redirect URI to send them to"),
                Some("add a redirect_uris.web entry or turn implicit_grant off".to_string()),
            );
        }

        let default_user_read = match raw.default_user_read.get_ref().as_str() {
            "keep" => UserReadPolicy::Keep,
            "remove" => UserReadPolicy::Remove,
            other => {
                self.invalid(
                    raw.default_user_read.span(),
                    format!("default_user_read \"{other}\" is not known"),
                    Some("use \"keep\" or \"remove\"".to_string()),
                );
                UserReadPolicy::Remove
            }
        };
        let mut permissions = self.permissions(
            &raw.permissions.application,
            PermissionKind::Application,
            catalog,
        );
        let delegated_has_user_read = raw
            .permissions
            .delegated
            .iter()
            .any(|p| p.get_ref() == "User.Read");
        match default_user_read {
            UserReadPolicy::Keep if !delegated_has_user_read => {
                if let Some(p) = catalog.get(PermissionKind::Delegated, "User.Read") {
                    permissions.push(required(p));
                }
            }
            UserReadPolicy::Remove if delegated_has_user_read => {
                let span = raw
                    .permissions
                    .delegated
                    .iter()
                    .find(|p| p.get_ref() == "User.Read")
                    .map(Spanned::span)
                    .unwrap_or_else(|| raw.default_user_read.span());
                self.inconsistent(
                    span,
                    "User.Read is listed but default_user_read = \"remove\"",
                    Some("either keep it (default_user_read = \"keep\") or take it off the delegated list".to_string()),
                );
            }
            _ => {}
        }
        permissions.extend(self.permissions(
            &raw.permissions.delegated,
            PermissionKind::Delegated,
            catalog,
        ));

        let needs_admin = permissions.iter().any(|p| p.admin_consent_required);
        if needs_admin && !raw.admin_consent.get_ref() {
            self.inconsistent(
                raw.admin_consent.span(),
                format!(
                    "app \"{key}\" has permissions that only work after an administrator consents"
                ),
                Some("set admin_consent = true".to_string()),
            );
        }
        if raw.permissions.application.is_empty()
            && raw.permissions.delegated.is_empty()
            && permissions.is_empty()
        {
            self.inconsistent(
                raw.key.span(),
                format!("app \"{key}\" has no Microsoft Graph permissions"),
                Some("list what the vendor needs under [apps.permissions]".to_string()),
            );
        }

        let credential = self.credential(&raw.credential);
        let limit_mailboxes = raw
            .limit_mailboxes
            .map(|limit| self.mailbox_limit(&key, limit, &permissions));
        if raw.limit_sign_in
            && !permissions
                .iter()
                .any(|p| p.kind == PermissionKind::Delegated)
        {
            self.inconsistent(
                raw.key.span(),
                format!("app \"{key}\" offers limit_sign_in but has no delegated permissions, so nobody signs in to it"),
                Some("remove limit_sign_in; use limit_mailboxes to restrict app-only access".to_string()),
            );
        }

        AppSpec {
            key,
            display_name: raw.display_name,
            purpose: raw.purpose,
            audience,
            allow_public_client_flows: raw.allow_public_client_flows,
            redirect_uris,
            implicit_grant,
            permissions,
            default_user_read,
            admin_consent: *raw.admin_consent.get_ref(),
            credential,
            limit_mailboxes,
            limit_sign_in: raw.limit_sign_in,
        }
    }

    fn redirects(
        &mut self,
        raw: &[Spanned<String>],
        platform: RedirectPlatform,
        inputs: &[InputSpec],
    ) -> Vec<Template> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for uri in raw {
            let template = match Template::parse(uri.get_ref()) {
                Ok(t) => t,
                Err(message) => {
                    self.invalid(uri.span(), message, None);
                    continue;
                }
            };
            let mut ok = true;
            for var in template.vars() {
                match var {
                    Var::Input(id) if inputs.iter().any(|i| &i.id == id) => {}
                    Var::Input(id) => {
                        self.invalid(
                            uri.span(),
                            format!("{var} refers to an input the recipe does not declare"),
                            Some(format!("add an [[inputs]] table with id = \"{id}\"")),
                        );
                        ok = false;
                    }
                    other => {
                        self.invalid(
                            uri.span(),
                            format!("redirect URIs can only use inputs, not {other}"),
                            None,
                        );
                        ok = false;
                    }
                }
            }
            if !ok {
                continue;
            }
            // Check the shape with the inputs' examples filled in.
            let sample = template.render(|var| match var {
                Var::Input(id) => inputs.iter().find(|i| &i.id == id).map(|i| {
                    i.example
                        .clone()
                        .unwrap_or_else(|| "https://example.com".to_string())
                }),
                _ => None,
            });
            if let Ok(sample) = sample {
                if let Err(message) = platform.check(&sample) {
                    self.invalid(
                        uri.span(),
                        format!("redirect URI {uri}: {message}", uri = uri.get_ref()),
                        None,
                    );
                    continue;
                }
            }
            if !seen.insert(uri.get_ref().clone()) {
                self.invalid(
                    uri.span(),
                    format!("redirect URI {} is listed twice", uri.get_ref()),
                    None,
                );
                continue;
            }
            out.push(template);
        }
        out
    }

    fn permissions(
        &mut self,
        raw: &[Spanned<String>],
        kind: PermissionKind,
        catalog: &Catalog,
    ) -> Vec<RequiredPermission> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for name in raw {
            let value = name.get_ref();
            if !seen.insert(value.clone()) {
                self.push(
                    Some(name.span()),
                    RecipeErrorKind::DuplicatePermission,
                    format!(
                        "{value} is listed twice as {} permission",
                        kind.with_article()
                    ),
                    Some("remove one of them".to_string()),
                );
                continue;
            }
            match catalog.lookup(kind, value) {
                Ok(p) if !p.is_enabled => self.invalid(
                    name.span(),
                    format!("{value} is disabled by Microsoft and cannot be granted"),
                    None,
                ),
                Ok(p) => out.push(required(p)),
                Err(e) => {
                    let error_kind = match e {
                        crate::catalog::LookupError::WrongKind { .. } => {
                            RecipeErrorKind::WrongPermissionKind
                        }
                        crate::catalog::LookupError::Unknown { .. } => {
                            RecipeErrorKind::UnknownPermission
                        }
                    };
                    self.push(Some(name.span()), error_kind, e.message(), e.fix());
                }
            }
        }
        // Least privilege: X.Read next to X.ReadWrite grants nothing more.
        for name in raw {
            let parts: Vec<&str> = name.get_ref().split('.').collect();
            if let Some(pos) = parts.iter().position(|p| *p == "Read") {
                let mut wider = parts.clone();
                wider[pos] = "ReadWrite";
                let wider = wider.join(".");
                if seen.contains(&wider) {
                    self.inconsistent(
                        name.span(),
                        format!("{} is already included in {wider}", name.get_ref()),
                        Some(format!(
                            "remove {} (least privilege: ask only once)",
                            name.get_ref()
                        )),
                    );
                }
            }
        }
        out
    }

    fn credential(&mut self, raw: &raw::RawCredential) -> CredentialSpec {
        let certificate = match raw.kind.get_ref().as_str() {
            "secret" => false,
            "certificate" => true,
            other => {
                self.invalid(
                    raw.kind.span(),
                    format!("credential kind \"{other}\" is not known"),
                    Some("use kind = \"secret\" or kind = \"certificate\"".to_string()),
                );
                false
            }
        };
        if !certificate {
            for (key, field) in [
                ("subject", &raw.subject),
                ("certificate_source", &raw.certificate_source),
            ] {
                if let Some(f) = field {
                    self.inconsistent(
                        f.span(),
                        format!("{key} is only for kind = \"certificate\""),
                        Some(format!(
                            "remove {key}, or set kind = \"certificate\" if the vendor takes a certificate"
                        )),
                    );
                }
            }
        }
        if raw.description.get_ref().trim().is_empty() {
            self.invalid(
                raw.description.span(),
                "the credential needs a description so the admin can tell it apart later",
                None,
            );
        }
        let months = *raw.lifetime_months.get_ref();
        let max = i64::from(MAX_SECRET_LIFETIME_MONTHS);
        let lifetime_months = if (1..=max).contains(&months) {
            u32::try_from(months).unwrap_or(MAX_SECRET_LIFETIME_MONTHS)
        } else {
            self.invalid(
                raw.lifetime_months.span(),
                format!("a secret lifetime of {months} months is not allowed"),
                Some(format!("choose 1 to {MAX_SECRET_LIFETIME_MONTHS} months (the longest the Entra portal offers)")),
            );
            MAX_SECRET_LIFETIME_MONTHS
        };
        let description = raw.description.get_ref().trim().to_string();
        if !certificate {
            return CredentialSpec::Secret {
                description,
                lifetime_months,
            };
        }
        let subject = raw.subject.as_ref().and_then(|s| {
            let text = s.get_ref().trim();
            match crate::certificate::generate::parse_subject(text) {
                Ok(_) => Some(text.to_string()),
                Err(reason) => {
                    self.invalid(
                        s.span(),
                        format!("subject \"{text}\" cannot be used: {reason}"),
                        Some("write it as subject = \"CN=Vendor Connector\" (optionally followed by , O=Organisation)".to_string()),
                    );
                    None
                }
            }
        });
        let source = match raw
            .certificate_source
            .as_ref()
            .map(|s| (s.get_ref().as_str(), s.span()))
        {
            None | Some(("either", _)) => CertificateSource::Either,
            Some(("generate", _)) => CertificateSource::Generate,
            Some(("vendor", _)) => CertificateSource::Vendor,
            Some((other, span)) => {
                self.invalid(
                    span,
                    format!("certificate_source \"{other}\" is not known"),
                    Some("use \"generate\" (AppGrant makes it), \"vendor\" (the vendor sends its public certificate) or \"either\"".to_string()),
                );
                CertificateSource::Either
            }
        };
        CredentialSpec::Certificate {
            description,
            lifetime_months,
            subject,
            source,
        }
    }

    fn mailbox_limit(
        &mut self,
        key: &str,
        raw: raw::RawLimitMailboxes,
        permissions: &[RequiredPermission],
    ) -> MailboxLimit {
        if raw.permissions.is_empty() {
            self.push(
                None,
                RecipeErrorKind::Inconsistent,
                format!("app \"{key}\": limit_mailboxes lists no permissions"),
                Some("name the mailbox permissions to limit, e.g. permissions = [\"Mail.ReadWrite\"]".to_string()),
            );
        }
        for name in &raw.permissions {
            let found = permissions
                .iter()
                .find(|p| p.kind == PermissionKind::Application && &p.name == name.get_ref());
            match found {
                None => self.inconsistent(
                    name.span(),
                    format!("{} is not one of app \"{key}\"'s application permissions, so it cannot be limited", name.get_ref()),
                    Some("list it under permissions.application first".to_string()),
                ),
                Some(p) if !p.mailbox_scoped => self.inconsistent(
                    name.span(),
                    format!("{} does not reach into mailboxes, so Exchange cannot limit it to chosen users", name.get_ref()),
                    Some("only Mail.*, Calendars.*, MailboxSettings.* and Contacts.* can be limited".to_string()),
                ),
                Some(_) => {}
            }
        }
        MailboxLimit {
            permissions: raw
                .permissions
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            required: raw.required,
            why: raw.why,
        }
    }

    fn handoff(
        &mut self,
        raw: Vec<raw::RawHandoff>,
        style: HandoffStyle,
        apps: &[AppSpec],
        inputs: &[InputSpec],
    ) -> Vec<HandoffField> {
        let mut labels = HashSet::new();
        let mut out = Vec::new();
        for field in raw {
            let label = field.label.get_ref().trim().to_string();
            if label.is_empty() {
                self.invalid(field.label.span(), "a hand-off field needs a label", None);
            } else if !labels.insert(label.clone()) {
                self.invalid(
                    field.label.span(),
                    format!("two hand-off fields are labelled \"{label}\""),
                    None,
                );
            }
            if style == HandoffStyle::Env
                && !(label.starts_with(|c: char| c.is_ascii_uppercase())
                    && label
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            {
                self.invalid(
                    field.label.span(),
                    format!("\"{label}\" is not an environment variable name"),
                    Some(
                        "use capitals, digits and underscores, like MS_GRAPH_CLIENT_ID".to_string(),
                    ),
                );
            }
            let template = match Template::parse(field.value.get_ref()) {
                Ok(t) => t,
                Err(message) => {
                    self.invalid(field.value.span(), message, None);
                    continue;
                }
            };
            for var in template.vars() {
                let known = match var {
                    Var::TenantId | Var::TenantDomain => true,
                    Var::Input(id) => inputs.iter().any(|i| &i.id == id),
                    Var::ClientId(app)
                    | Var::Secret(app)
                    | Var::SecretExpiry(app)
                    | Var::SecretId(app) => apps.iter().any(|a| &a.key == app),
                };
                if !known {
                    self.invalid(
                        field.value.span(),
                        format!("{var} refers to an app or input the recipe does not declare"),
                        Some(format!(
                            "the recipe's apps are {}",
                            apps.iter()
                                .map(|a| a.key.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    );
                }
            }
            out.push(HandoffField {
                label,
                secret: template.is_secret(),
                value: template,
                help: field.help,
            });
        }
        out
    }
}

fn required(p: &crate::catalog::Permission) -> RequiredPermission {
    RequiredPermission {
        name: p.value.clone(),
        kind: p.kind,
        catalog_id: p.id.clone(),
        summary: p.summary(),
        risk: p.risk(),
        admin_consent_required: p.admin_consent_required,
        mailbox_scoped: p.is_mailbox_scoped(),
    }
}

#[derive(Clone, Copy)]
enum RedirectPlatform {
    Web,
    Spa,
    PublicClient,
}

impl RedirectPlatform {
    /// Microsoft's rules for redirect URIs (api-notes: "reply URL restrictions").
    fn check(self, uri: &str) -> Result<(), String> {
        let url = url::Url::parse(uri).map_err(|_| "is not a valid URI".to_string())?;
        if url.fragment().is_some() {
            return Err("must not contain a # fragment".to_string());
        }
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        match self {
            Self::Web | Self::Spa => match url.scheme() {
                "https" => Ok(()),
                "http" if loopback => Ok(()),
                other => Err(format!(
                    "must use https:// (http:// is only allowed for localhost), not {other}://"
                )),
            },
            Self::PublicClient => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
