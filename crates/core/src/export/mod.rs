//! Vendor hand-off exports: the values a vendor asks for, with the vendor's own labels, as
//! a sheet (Markdown or plain text), a `.env` file, JSON, and an `.ics` secret-expiry
//! reminder.
//!
//! [`Handoff::build`] renders each of the recipe's hand-off fields from a saved
//! [`Connection`]. Client secrets go into it only when the caller passes [`AppSecrets`],
//! which it should do only when the person explicitly asked; otherwise a secret field shows
//! [`HIDDEN_SECRET`]. The `.ics` reminder never contains a secret.
//!
//! # JSON shape (`format` 1)
//! ```json
//! {
//!   "format": 1,
//!   "recipe_id": "tonicdm",
//!   "vendor": "TonicDM",
//!   "title": "TonicDM organisation-level Office 365 token",
//!   "style": "sheet",                    // or "env"
//!   "connection_id": "9b1c…",
//!   "tenant_id": "0f3c…",
//!   "tenant_domain": "contoso.onmicrosoft.com",   // or null
//!   "practice": false,
//!   "secrets_included": false,
//!   "fields": [
//!     { "label": "App Secret", "value": "<hidden: reveal in AppGrant>",
//!       "secret": true, "hidden": true, "help": null }
//!   ],
//!   "secrets": [
//!     { "app_key": "main", "app_name": "TonicDM Office 365 Token", "client_id": "…",
//!       "key_id": "…", "created_at": "2026-11-25T10:00:00Z",
//!       "expires_at": "2028-11-25T10:00:00Z", "expires_on": "2028-11-25" }
//!   ],
//!   "next_steps": ["Sign in to TonicDM …"]
//! }
//! ```
//! New keys may be added within format 1; existing ones keep their meaning.
//! Dates (`expires_on`, `{apps.<key>.secret_expiry}`) are the UTC date, as Microsoft
//! records it.

pub mod certificate;
mod env;
mod error;
mod ics;
mod sheet;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use error::{ExportCode, ExportError};
pub use ics::ROTATION_ALARM_DAYS;

use crate::recipe::{HandoffStyle, Recipe, Var};
use crate::secret::Secret;
use crate::vault::{Connection, Vault};

/// What a secret field shows when secrets were not included.
pub const HIDDEN_SECRET: &str = "<hidden: reveal in AppGrant>";

/// The JSON format version written by [`Handoff::to_json`].
pub const HANDOFF_FORMAT: u32 = 1;

/// Days before a secret expires that the `.ics` reminder falls on.
pub const REMINDER_DAYS_BEFORE: u64 = 30;

/// How the vendor takes the values (mirrors [`HandoffStyle`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportStyle {
    Sheet,
    Env,
}

impl From<HandoffStyle> for ExportStyle {
    fn from(style: HandoffStyle) -> Self {
        match style {
            HandoffStyle::Sheet => Self::Sheet,
            HandoffStyle::Env => Self::Env,
        }
    }
}

/// The files AppGrant can export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// The vendor hand-off sheet as Markdown (`.md`).
    Markdown,
    /// The vendor hand-off sheet as plain text (`.txt`).
    Text,
    /// `NAME=value` lines (`.env`); only for vendors that take environment variables.
    Env,
    /// The [`Handoff`] as JSON (`.json`).
    Json,
    /// A calendar reminder before each secret expires (`.ics`).
    Ics,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Markdown => "md",
            Self::Text => "txt",
            Self::Env => "env",
            Self::Json => "json",
            Self::Ics => "ics",
        }
    }

    /// Whether the format can carry secret values at all (`.ics` never does).
    pub fn can_include_secrets(self) -> bool {
        self != Self::Ics
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Markdown => "a Markdown sheet",
            Self::Text => "a text sheet",
            Self::Env => "an environment (.env) file",
            Self::Json => "JSON",
            Self::Ics => "a calendar reminder",
        })
    }
}

/// Client secret values by the recipe's app key, read from the keyring for an export the
/// person explicitly asked to include secrets in.
#[derive(Debug, Clone, Default)]
pub struct AppSecrets(BTreeMap<String, Secret<String>>);

impl AppSecrets {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, app_key: impl Into<String>, secret: Secret<String>) {
        self.0.insert(app_key.into(), secret);
    }

    pub fn get(&self, app_key: &str) -> Option<&Secret<String>> {
        self.0.get(app_key)
    }

    /// Reads every secret of the connection from the vault's keyring. A secret that is not
    /// there is left out (building the hand-off then says which one is missing). Blocking.
    pub fn from_vault(vault: &Vault, connection: &Connection) -> Result<Self, ExportError> {
        let mut secrets = Self::new();
        for app in &connection.apps {
            if let Some(at) = app.secret_ref(&connection.tenant_id) {
                if let Some(secret) = vault.load_secret(&at)? {
                    secrets.insert(&app.key, secret);
                }
            }
        }
        Ok(secrets)
    }
}

/// One value for the vendor, with the vendor's label.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffValue {
    pub label: String,
    /// The value, or [`HIDDEN_SECRET`] in place of a secret that was not included.
    pub value: String,
    /// The value contains a client secret.
    pub secret: bool,
    /// The secret was left out (`value` shows [`HIDDEN_SECRET`]).
    pub hidden: bool,
    pub help: Option<String>,
}

impl fmt::Debug for HandoffValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = if self.secret && !self.hidden {
            &"[redacted]"
        } else {
            &self.value
        };
        f.debug_struct("HandoffValue")
            .field("label", &self.label)
            .field("value", value)
            .field("secret", &self.secret)
            .field("hidden", &self.hidden)
            .field("help", &self.help)
            .finish()
    }
}

/// When one app's client secret expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretExpiry {
    pub app_key: String,
    pub app_name: String,
    pub client_id: String,
    /// The secret's id (`keyId`), not the secret.
    pub key_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// `expires_at` as a UTC date.
    pub expires_on: NaiveDate,
}

/// Everything a vendor needs from one connection, ready to show or export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// [`HANDOFF_FORMAT`].
    pub format: u32,
    pub recipe_id: String,
    pub vendor: String,
    /// The recipe's display name.
    pub title: String,
    pub style: ExportStyle,
    pub connection_id: String,
    pub tenant_id: String,
    pub tenant_domain: Option<String>,
    pub practice: bool,
    /// Whether secret values are in `fields` (otherwise they show [`HIDDEN_SECRET`]).
    pub secrets_included: bool,
    pub fields: Vec<HandoffValue>,
    pub secrets: Vec<SecretExpiry>,
    pub next_steps: Vec<String>,
}

impl Handoff {
    /// Renders the recipe's hand-off fields from the connection. Pass `secrets` only when
    /// the person asked for secrets in the export; `None` hides them.
    pub fn build(
        recipe: &Recipe,
        connection: &Connection,
        secrets: Option<&AppSecrets>,
    ) -> Result<Self, ExportError> {
        if recipe.id != connection.recipe_id {
            return Err(ExportError::WrongRecipe {
                connection_recipe: connection.recipe_id.clone(),
                recipe: recipe.id.clone(),
            });
        }
        let mut fields = Vec::with_capacity(recipe.handoff.len());
        for field in &recipe.handoff {
            // A certificate stands in for the secret: its thumbprint is not secret.
            let certificate_only = field.value.vars().any(|v| matches!(v, Var::Secret(_)))
                && field.value.vars().all(|v| match v {
                    Var::Secret(key) => certificate_of(connection, key).is_some(),
                    _ => true,
                });
            let secret = (field.secret || field.value.is_secret()) && !certificate_only;
            let mut failure = None;
            let rendered = field
                .value
                .render(|var| lookup(var, connection, secrets, &mut failure));
            let value = match rendered {
                Ok(value) => value,
                Err(var) => {
                    return Err(failure.unwrap_or_else(|| ExportError::MissingValue {
                        vendor: recipe.vendor.clone(),
                        var: var.to_string(),
                    }))
                }
            };
            fields.push(HandoffValue {
                label: field.label.clone(),
                value,
                secret,
                hidden: secret && secrets.is_none(),
                help: field.help.clone(),
            });
        }
        let expiries = connection
            .apps
            .iter()
            .filter_map(|app| {
                app.secret.as_ref().map(|s| SecretExpiry {
                    app_key: app.key.clone(),
                    app_name: app.display_name.clone(),
                    client_id: app.app_id.clone(),
                    key_id: s.key_id.clone(),
                    created_at: s.created_at,
                    expires_at: s.expires_at,
                    expires_on: s.expires_at.date_naive(),
                })
            })
            .collect();
        Ok(Self {
            format: HANDOFF_FORMAT,
            recipe_id: recipe.id.clone(),
            vendor: recipe.vendor.clone(),
            title: recipe.display_name.clone(),
            style: recipe.handoff_style.into(),
            connection_id: connection.id.clone(),
            tenant_id: connection.tenant_id.clone(),
            tenant_domain: connection.tenant_domain.clone(),
            practice: connection.practice,
            secrets_included: secrets.is_some(),
            fields,
            secrets: expiries,
            next_steps: certificate_steps(&recipe.vendor, connection)
                .into_iter()
                .chain(recipe.next_steps.iter().cloned())
                .collect(),
        })
    }

    /// The value with the vendor's label `label`.
    pub fn field(&self, label: &str) -> Option<&HandoffValue> {
        self.fields.iter().find(|f| f.label == label)
    }

    /// The formats that make sense for this vendor, the vendor's own first.
    pub fn formats(&self) -> Vec<ExportFormat> {
        let mut formats = match self.style {
            ExportStyle::Env => vec![ExportFormat::Env, ExportFormat::Markdown],
            ExportStyle::Sheet => vec![ExportFormat::Markdown],
        };
        formats.extend([ExportFormat::Text, ExportFormat::Json]);
        if !self.secrets.is_empty() {
            formats.push(ExportFormat::Ics);
        }
        formats
    }

    /// The tenant as people know it: its domain when known, else its id.
    pub fn tenant_label(&self) -> &str {
        self.tenant_domain.as_deref().unwrap_or(&self.tenant_id)
    }

    /// A file name for the export, e.g. `tonicdm-contoso.onmicrosoft.com.md`.
    pub fn file_name(&self, format: ExportFormat) -> String {
        let stem: String = format!("{}-{}", self.recipe_id, self.tenant_label())
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let stem = stem.trim_start_matches('.');
        match format {
            ExportFormat::Ics => format!("{stem}-secret-reminder.ics"),
            other => format!("{stem}.{}", other.extension()),
        }
    }

    /// The export in `format`. `now` stamps the calendar reminder (`DTSTAMP`).
    pub fn render(&self, format: ExportFormat, now: DateTime<Utc>) -> Result<String, ExportError> {
        match format {
            ExportFormat::Markdown => Ok(self.to_markdown()),
            ExportFormat::Text => Ok(self.to_text()),
            ExportFormat::Env => self.to_env(),
            ExportFormat::Json => self.to_json(),
            ExportFormat::Ics => Ok(self.to_ics(now)),
        }
    }

    /// The vendor hand-off sheet as Markdown.
    pub fn to_markdown(&self) -> String {
        sheet::markdown(self)
    }

    /// The vendor hand-off sheet as plain text.
    pub fn to_text(&self) -> String {
        sheet::text(self)
    }

    /// `NAME=value` lines for vendors that take environment variables (timetoreply).
    /// A hidden secret becomes a comment, so a server never starts with a placeholder.
    pub fn to_env(&self) -> Result<String, ExportError> {
        if self.style != ExportStyle::Env {
            return Err(ExportError::FormatNotOffered {
                vendor: self.vendor.clone(),
                format: ExportFormat::Env,
            });
        }
        env::render(self)
    }

    /// Pretty JSON in the shape documented at the top of this module.
    pub fn to_json(&self) -> Result<String, ExportError> {
        serde_json::to_string_pretty(self)
            .map(|mut s| {
                s.push('\n');
                s
            })
            .map_err(|e| ExportError::Encode(e.to_string()))
    }

    /// A calendar (RFC 5545) with one all-day reminder per app secret,
    /// [`REMINDER_DAYS_BEFORE`] days before it expires (or today, if that day has passed),
    /// with an alarm at 09:00. Never contains a secret.
    pub fn to_ics(&self, now: DateTime<Utc>) -> String {
        ics::render(self, now, ics::Reminders::Before)
    }

    /// The calendar after a rotation: one all-day event per secret on its (new) expiry day,
    /// with alarms at 09:00 [`ROTATION_ALARM_DAYS`] (30 and 7) days before. Never contains a
    /// secret. Its events replace the earlier reminder's in calendars that import both.
    pub fn to_rotation_ics(&self, now: DateTime<Utc>) -> String {
        ics::render(self, now, ics::Reminders::Rotation)
    }

    fn app_title(&self, expiry: &SecretExpiry) -> String {
        if self.secrets.len() <= 1 {
            format!("{} secret", self.vendor)
        } else if expiry.app_name.starts_with(&self.vendor) {
            format!("{} secret", expiry.app_name)
        } else {
            format!("{} {} secret", self.vendor, expiry.app_name)
        }
    }
}

/// The certificate of the app `key`, when it has one instead of a client secret.
fn certificate_of<'a>(
    connection: &'a Connection,
    key: &str,
) -> Option<&'a crate::certificate::CertificateMeta> {
    connection
        .app(key)
        .filter(|a| a.secret.is_none())
        .and_then(|a| a.certificate.as_ref())
}

/// What the admin does with each certificate: send the PFX, or nothing at all.
fn certificate_steps(vendor: &str, connection: &Connection) -> Vec<String> {
    use crate::certificate::CertificateOrigin;
    connection
        .apps
        .iter()
        .filter_map(|a| {
            let c = a.certificate.as_ref()?;
            Some(match c.origin {
                CertificateOrigin::Vendor => format!(
                    "{}: nothing secret to hand off. {vendor} already holds the private key of its certificate (thumbprint {}, expires {}); tell {vendor} the app is ready.",
                    a.display_name, c.thumbprint, c.not_after.date_naive()
                ),
                CertificateOrigin::Generated => format!(
                    "{}: export the certificate as a PFX (thumbprint {}, expires {}) and send the file and its password to {vendor} separately, never in the same message.",
                    a.display_name, c.thumbprint, c.not_after.date_naive()
                ),
            })
        })
        .collect()
}

/// The hand-off value in place of a client secret for an app that has a certificate.
fn certificate_value(c: &crate::certificate::CertificateMeta) -> String {
    match c.origin {
        crate::certificate::CertificateOrigin::Vendor => format!(
            "Your certificate (thumbprint {}, expires {}): no client secret",
            c.thumbprint,
            c.not_after.date_naive()
        ),
        crate::certificate::CertificateOrigin::Generated => format!(
            "Certificate (thumbprint {}, expires {}): in the exported PFX",
            c.thumbprint,
            c.not_after.date_naive()
        ),
    }
}

fn lookup(
    var: &Var,
    connection: &Connection,
    secrets: Option<&AppSecrets>,
    failure: &mut Option<ExportError>,
) -> Option<String> {
    match var {
        Var::TenantId => Some(connection.tenant_id.clone()),
        Var::TenantDomain => connection.tenant_domain.clone(),
        Var::ClientId(key) => connection.app(key).map(|a| a.app_id.clone()),
        Var::SecretExpiry(key) => match certificate_of(connection, key) {
            Some(c) => Some(c.not_after.format("%Y-%m-%d").to_string()),
            None => connection
                .app(key)
                .and_then(|a| a.secret.as_ref())
                .map(|s| s.expires_at.format("%Y-%m-%d").to_string()),
        },
        Var::SecretId(key) => match certificate_of(connection, key) {
            Some(c) => Some(c.key_id.clone()),
            None => connection
                .app(key)
                .and_then(|a| a.secret.as_ref())
                .map(|s| s.key_id.clone()),
        },
        Var::Input(id) => connection.inputs.get(id).cloned(),
        Var::Secret(key) if certificate_of(connection, key).is_some() => {
            certificate_of(connection, key).map(certificate_value)
        }
        Var::Secret(key) => match secrets {
            None => Some(HIDDEN_SECRET.to_string()),
            Some(secrets) => {
                let found = secrets.get(key).map(|s| s.expose().clone());
                if found.is_none() {
                    *failure = Some(ExportError::SecretNotAvailable {
                        app: connection
                            .app(key)
                            .map_or_else(|| key.clone(), |a| a.display_name.clone()),
                    });
                }
                found
            }
        },
    }
}
