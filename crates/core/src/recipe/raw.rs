//! The recipe file exactly as written in TOML, before validation.
//!
//! Every struct denies unknown keys, so a misspelt key is an error with a line number rather
//! than a silently ignored setting. Values that later checks may reject carry their span, so
//! those errors can point at the line too.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRecipe {
    pub schema: Spanned<u32>,
    pub id: Spanned<String>,
    pub vendor: String,
    pub display_name: String,
    pub description: String,
    #[serde(default)]
    pub guide: Option<String>,
    #[serde(default)]
    pub handoff_style: Option<Spanned<String>>,
    #[serde(default)]
    pub inputs: Vec<RawInput>,
    #[serde(default)]
    pub apps: Vec<RawApp>,
    #[serde(default)]
    pub handoff: Vec<RawHandoff>,
    #[serde(default)]
    pub next_steps: Vec<String>,
    #[serde(default)]
    pub corrections: Vec<RawCorrection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInput {
    pub id: Spanned<String>,
    pub label: String,
    #[serde(default)]
    pub help: Option<String>,
    pub kind: Spanned<String>,
    #[serde(default)]
    pub example: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApp {
    pub key: Spanned<String>,
    pub display_name: String,
    pub purpose: String,
    pub audience: Spanned<String>,
    #[serde(default)]
    pub allow_public_client_flows: bool,
    #[serde(default)]
    pub redirect_uris: RawRedirectUris,
    #[serde(default)]
    pub implicit_grant: RawImplicitGrant,
    #[serde(default)]
    pub permissions: RawPermissions,
    pub default_user_read: Spanned<String>,
    pub admin_consent: Spanned<bool>,
    pub credential: RawCredential,
    #[serde(default)]
    pub limit_mailboxes: Option<RawLimitMailboxes>,
    #[serde(default)]
    pub limit_sign_in: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRedirectUris {
    #[serde(default)]
    pub web: Vec<Spanned<String>>,
    #[serde(default)]
    pub spa: Vec<Spanned<String>>,
    #[serde(default)]
    pub public_client: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImplicitGrant {
    #[serde(default)]
    pub id_tokens: bool,
    #[serde(default)]
    pub access_tokens: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPermissions {
    #[serde(default)]
    pub application: Vec<Spanned<String>>,
    #[serde(default)]
    pub delegated: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCredential {
    pub kind: Spanned<String>,
    pub description: Spanned<String>,
    pub lifetime_months: Spanned<i64>,
    /// Certificates only: the subject of a generated certificate (`CN=...`).
    #[serde(default)]
    pub subject: Option<Spanned<String>>,
    /// Certificates only: `generate`, `vendor` or `either`.
    #[serde(default)]
    pub certificate_source: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimitMailboxes {
    pub permissions: Vec<Spanned<String>>,
    #[serde(default)]
    pub required: bool,
    pub why: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHandoff {
    pub label: Spanned<String>,
    pub value: Spanned<String>,
    #[serde(default)]
    pub help: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCorrection {
    pub guide_says: String,
    pub appgrant_does: String,
    pub why: String,
}
