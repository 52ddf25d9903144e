//! The Microsoft clouds AppGrant can sign in to (Global, US Government GCC High and DoD,
//! China), plus custom endpoints (the practice tenant, or a standalone `appgrant-sim` with its
//! own CA certificate): their hosts, the Graph resource named in scopes, which sign-in client
//! exists there, a stable id and a label for the UI and CLI.
//!
//! Login and Graph are separate bases even when they share a host (the simulator serves both
//! on one port), so nothing in the client ever derives one from the other.
//!
//! Sign-in client per cloud (SOURCE, checked 2026-12):
//! - Hosts: Microsoft Graph "national cloud deployments" (`/work/shared/graph/api-notes.md`
//!   §1) and the Graph PowerShell SDK's built-in environments
//!   (microsoftgraph/msgraph-sdk-powershell `src/Authentication/Authentication/GraphEnvironmentConstants.cs`).
//! - Scopes: "Any permission scope value (including the .default scope) that contains the
//!   Microsoft Graph domain MUST use the domain of the Microsoft Graph service root endpoint
//!   for the national cloud deployment", e.g. `https://graph.microsoft.us/.default`
//!   (learn.microsoft.com/graph/sdks/national-clouds). [`Endpoints::scope`] does that.
//! - "Microsoft Graph Command Line Tools" (`14d82eec-204b-4c2f-b7e8-296a70dab67e`) is what
//!   Microsoft's own `Connect-MgGraph -Environment USGov|USGovDoD` signs in with (the SDK keeps
//!   one default client id for every environment: `ConnectMgGraph.cs`), so Global, GCC High
//!   and DoD use it. It does **not** exist in China (21Vianet): "Globally registered apps
//!   don't replicate to Azure China. You'll need to register your own applications in Azure
//!   China" (learn.microsoft.com/powershell/microsoftgraph/authentication-commands, "Using
//!   Get-MgEnvironment"; msgraph-sdk-powershell issues #802, #1032, #1735: AADSTS700016 for
//!   this id in 21Vianet). For China the admin names their own public client registration
//!   ([`Cloud::sign_in_client`] is `None`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use url::Url;

use crate::identity::DEFAULT_CLIENT_ID;
use crate::vault::Connection;

/// A Microsoft cloud (national clouds are separate worlds: tokens and apps do not cross).
/// Serialised with a `cloud` tag whose value is [`Cloud::id`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cloud", rename_all = "snake_case")]
pub enum Cloud {
    /// login.microsoftonline.com + graph.microsoft.com (also Microsoft 365 GCC).
    Global,
    /// US Government L4 (GCC High).
    UsGov,
    /// US Government L5 (DoD).
    UsGovDod,
    /// China, operated by 21Vianet.
    China,
    /// Any other base, e.g. the practice tenant at `http://127.0.0.1:{port}` or a standalone
    /// simulator at `https://127.0.0.1:{port}`. Build one with [`Cloud::custom`].
    Custom {
        login: String,
        graph: String,
        /// The Graph resource named in scopes; defaults to the global one.
        #[serde(default)]
        resource: Option<String>,
        /// A PEM certificate to trust (as a root) for these endpoints only, e.g. the one a
        /// standalone `appgrant-sim --tls` writes out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ca_file: Option<PathBuf>,
    },
}

/// Where to sign in and where Graph lives, for one cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The authority host, e.g. `https://login.microsoftonline.com/` (always ends in `/`).
    pub login: Url,
    /// The Graph host, e.g. `https://graph.microsoft.com/` (always ends in `/`).
    pub graph: Url,
    /// The Graph resource used in scopes, e.g. `https://graph.microsoft.com`.
    pub resource: String,
    /// An extra root certificate every HTTP client for these endpoints trusts (checked PEM).
    pub ca: Option<TrustedCa>,
}

/// A CA certificate file that was read and found to hold at least one PEM certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedCa {
    pub path: PathBuf,
    pub pem: Vec<u8>,
}

/// Endpoints that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    #[error("\"{url}\" is not a usable {what} address: {reason}")]
    Address {
        what: &'static str,
        url: String,
        reason: String,
    },
    #[error("The CA certificate file {} {reason}", path.display())]
    CaFile { path: PathBuf, reason: String },
    #[error("\"{0}\" is not a cloud AppGrant knows.")]
    UnknownCloud(String),
}

impl CloudError {
    /// What to do about it, in one sentence.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Address { .. } => "Give the address as https://host[:port] (http:// only on this computer, 127.0.0.1 or localhost).",
            Self::CaFile { .. } => "Point to the PEM certificate the server uses (a standalone appgrant-sim --tls prints its path), or leave the CA file out.",
            Self::UnknownCloud(_) => "Choose one of: global, us_gov, us_gov_dod, china (or custom endpoints).",
        }
    }
}

fn base(what: &'static str, text: &str) -> Result<Url, CloudError> {
    let error = |reason: &str| CloudError::Address {
        what,
        url: text.to_string(),
        reason: reason.to_string(),
    };
    let mut url = Url::parse(text).map_err(|e| error(&e.to_string()))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(error(
                "use https:// (http:// only for a tenant on this computer: 127.0.0.1 or localhost)",
            ))
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(error("no ? or # allowed"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Reads a CA file and checks it holds at least one PEM certificate.
fn trusted_ca(path: &Path) -> Result<TrustedCa, CloudError> {
    let error = |reason: String| CloudError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => error("does not exist.".to_string()),
        _ => error(format!("could not be read: {e}.")),
    })?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(TrustedCa {
            path: path.to_path_buf(),
            pem,
        }),
        _ => Err(error(
            "is not a PEM certificate (expected -----BEGIN CERTIFICATE-----).".to_string(),
        )),
    }
}

impl Cloud {
    /// The four Microsoft clouds, in the order the UI offers them.
    pub const NAMED: [Cloud; 4] = [Cloud::Global, Cloud::UsGov, Cloud::UsGovDod, Cloud::China];

    /// Custom endpoints with the global Graph resource and no extra CA.
    pub fn custom(login: impl Into<String>, graph: impl Into<String>) -> Self {
        Self::Custom {
            login: login.into(),
            graph: graph.into(),
            resource: None,
            ca_file: None,
        }
    }

    /// The Microsoft cloud whose login and Graph hosts `endpoints` are, or `None` for custom
    /// endpoints (the practice tenant, a standalone simulator).
    pub fn serving(endpoints: &Endpoints) -> Option<Cloud> {
        [Cloud::Global, Cloud::UsGov, Cloud::UsGovDod, Cloud::China]
            .into_iter()
            .find(|cloud| {
                cloud.endpoints().is_ok_and(|own| {
                    own.login.host_str() == endpoints.login.host_str()
                        && own.graph.host_str() == endpoints.graph.host_str()
                })
            })
    }

    /// A stable id for the UI, the CLI and saved files: `global`, `us_gov`, `us_gov_dod`,
    /// `china`, `custom` (the same as the serde tag).
    pub fn id(&self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::UsGov => "us_gov",
            Self::UsGovDod => "us_gov_dod",
            Self::China => "china",
            Self::Custom { .. } => "custom",
        }
    }

    /// The named cloud with this id (`-` and `_` are the same, case does not matter).
    pub fn from_id(id: &str) -> Result<Self, CloudError> {
        let key = id.trim().to_ascii_lowercase().replace('-', "_");
        Self::NAMED
            .into_iter()
            .find(|c| c.id() == key)
            .ok_or_else(|| CloudError::UnknownCloud(id.to_string()))
    }

    /// What the admin sees, e.g. "US Government (GCC High)".
    pub fn label(&self) -> &'static str {
        match self {
            Self::Global => "Global",
            Self::UsGov => "US Government (GCC High)",
            Self::UsGovDod => "US Government (DoD)",
            Self::China => "China (21Vianet)",
            Self::Custom { .. } => "Custom endpoints",
        }
    }

    /// The public client AppGrant signs in with when the admin names none: Microsoft Graph
    /// Command Line Tools where Microsoft provides it; `None` in China (see the module doc),
    /// where the admin must name their own registration.
    pub fn sign_in_client(&self) -> Option<&'static str> {
        match self {
            Self::China => None,
            _ => Some(DEFAULT_CLIENT_ID),
        }
    }

    /// Where a saved connection's tenant lives: the recorded cloud, else Global (connections
    /// saved before clouds were recorded). Practice connections made with the in-process
    /// practice tenant record none: the caller starts a practice tenant for them.
    pub fn of(connection: &Connection) -> Cloud {
        connection.cloud.clone().unwrap_or(Cloud::Global)
    }

    /// The hosts and resource; for custom endpoints also reads and checks the CA file.
    pub fn endpoints(&self) -> Result<Endpoints, CloudError> {
        let (login, graph, resource) = match self {
            Self::Global => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
                "https://graph.microsoft.com",
            ),
            Self::UsGov => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
                "https://graph.microsoft.us",
            ),
            Self::UsGovDod => (
                "https://login.microsoftonline.us",
                "https://dod-graph.microsoft.us",
                "https://dod-graph.microsoft.us",
            ),
            // The Entra national-cloud page names this host (api-notes §1).
            Self::China => (
                "https://login.partner.microsoftonline.cn",
                "https://microsoftgraph.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
            ),
            Self::Custom {
                login,
                graph,
                resource,
                ca_file,
            } => {
                return Ok(Endpoints {
                    login: base("sign-in", login)?,
                    graph: base("Microsoft Graph", graph)?,
                    resource: resource
                        .clone()
                        .unwrap_or_else(|| "https://graph.microsoft.com".to_string()),
                    ca: ca_file.as_deref().map(trusted_ca).transpose()?,
                })
            }
        };
        Ok(Endpoints {
            login: base("sign-in", login)?,
            graph: base("Microsoft Graph", graph)?,
            resource: resource.to_string(),
            ca: None,
        })
    }
}

impl Endpoints {
    /// `{login}/{tenant}/oauth2/v2.0/{leaf}`.
    pub fn oauth2(&self, tenant: &str, leaf: &str) -> Result<Url, url::ParseError> {
        self.login.join(&format!("{tenant}/oauth2/v2.0/{leaf}"))
    }

    /// `{graph}/v1.0/{path}`.
    pub fn graph_v1(&self, path: &str) -> Result<Url, url::ParseError> {
        self.graph
            .join(&format!("v1.0/{}", path.trim_start_matches('/')))
    }

    /// A Graph scope in the form the token endpoint wants: `{resource}/{name}`.
    pub fn scope(&self, name: &str) -> String {
        format!("{}/{name}", self.resource.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_clouds_endpoints_name_their_cloud_and_custom_ones_none() {
        for cloud in [Cloud::Global, Cloud::UsGov, Cloud::UsGovDod, Cloud::China] {
            let endpoints = cloud.endpoints().unwrap();
            assert_eq!(Cloud::serving(&endpoints), Some(cloud));
        }
        let practice = Cloud::custom("http://127.0.0.1:4443", "http://127.0.0.1:4443");
        assert_eq!(Cloud::serving(&practice.endpoints().unwrap()), None);
    }

    #[test]
    fn global_endpoints() {
        let e = Cloud::Global.endpoints().unwrap();
        assert_eq!(
            e.oauth2("organizations", "authorize").unwrap().as_str(),
            "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize"
        );
        assert_eq!(
            e.graph_v1("/me").unwrap().as_str(),
            "https://graph.microsoft.com/v1.0/me"
        );
        assert_eq!(
            e.scope("User.Read"),
            "https://graph.microsoft.com/User.Read"
        );
    }

    #[test]
    fn national_clouds_use_their_own_hosts() {
        let gov = Cloud::UsGov.endpoints().unwrap();
        assert_eq!(gov.graph.host_str(), Some("graph.microsoft.us"));
        assert_eq!(gov.scope(".default"), "https://graph.microsoft.us/.default");
        let china = Cloud::China.endpoints().unwrap();
        assert_eq!(
            china.login.host_str(),
            Some("login.partner.microsoftonline.cn")
        );
    }

    #[test]
    fn custom_bases_keep_login_and_graph_apart() {
        let e = Cloud::custom("http://127.0.0.1:4100/login", "http://127.0.0.1:4100")
            .endpoints()
            .unwrap();
        assert_eq!(
            e.oauth2("contoso.example", "token").unwrap().as_str(),
            "http://127.0.0.1:4100/login/contoso.example/oauth2/v2.0/token"
        );
        assert_eq!(
            e.graph_v1("me").unwrap().as_str(),
            "http://127.0.0.1:4100/v1.0/me"
        );
    }

    #[test]
    fn plain_http_is_only_for_loopback() {
        let err = Cloud::custom("http://login.example.com", "https://graph.example.com")
            .endpoints()
            .unwrap_err();
        assert!(err.to_string().contains("use https://"), "{err}");
    }

    fn with_ca(path: &Path) -> Cloud {
        Cloud::Custom {
            login: "https://127.0.0.1:4100".into(),
            graph: "https://127.0.0.1:4100".into(),
            resource: None,
            ca_file: Some(path.to_path_buf()),
        }
    }

    fn test_ca() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/test-ca.pem")
    }

    #[test]
    fn a_ca_file_is_read_and_checked_when_the_endpoints_are_built() {
        let e = with_ca(&test_ca()).endpoints().unwrap();
        let ca = e.ca.expect("the CA is kept for the HTTP clients");
        assert!(String::from_utf8_lossy(&ca.pem).contains("BEGIN CERTIFICATE"));

        let missing = with_ca(Path::new("/nonexistent/sim-ca.pem"))
            .endpoints()
            .unwrap_err();
        assert_eq!(
            missing.to_string(),
            "The CA certificate file /nonexistent/sim-ca.pem does not exist."
        );

        let not_pem =
            std::env::temp_dir().join(format!("appgrant-not-pem-{}.txt", std::process::id()));
        std::fs::write(&not_pem, "hello").unwrap();
        let err = with_ca(&not_pem).endpoints().unwrap_err();
        let _ = std::fs::remove_file(&not_pem);
        assert!(
            err.to_string().contains("is not a PEM certificate"),
            "{err}"
        );
        assert!(err.hint().contains("PEM"));
    }

    #[test]
    fn every_cloud_has_a_stable_id_a_label_and_a_sign_in_client_where_microsoft_has_one() {
        let ids: Vec<&str> = Cloud::NAMED.iter().map(Cloud::id).collect();
        assert_eq!(ids, ["global", "us_gov", "us_gov_dod", "china"]);
        assert_eq!(Cloud::from_id("us-gov-dod").unwrap(), Cloud::UsGovDod);
        assert_eq!(Cloud::from_id("China").unwrap(), Cloud::China);
        assert!(matches!(
            Cloud::from_id("mars"),
            Err(CloudError::UnknownCloud(_))
        ));
        assert_eq!(Cloud::UsGov.label(), "US Government (GCC High)");
        assert_eq!(Cloud::custom("https://a", "https://b").id(), "custom");
        assert_eq!(Cloud::UsGovDod.sign_in_client(), Some(DEFAULT_CLIENT_ID));
        assert_eq!(Cloud::China.sign_in_client(), None);
    }

    #[test]
    fn the_saved_form_uses_the_id_and_older_custom_entries_still_load() {
        let json = serde_json::to_value(Cloud::UsGovDod).unwrap();
        assert_eq!(json, serde_json::json!({ "cloud": "us_gov_dod" }));
        let old: Cloud = serde_json::from_value(serde_json::json!({
            "cloud": "custom", "login": "https://x", "graph": "https://y"
        }))
        .unwrap();
        assert_eq!(old, Cloud::custom("https://x", "https://y"));
        let with = with_ca(&test_ca());
        let back: Cloud = serde_json::from_value(serde_json::to_value(&with).unwrap()).unwrap();
        assert_eq!(back, with);
    }

    #[test]
    fn a_connection_without_a_recorded_cloud_is_in_the_global_cloud() {
        let mut c = Connection::default();
        assert_eq!(Cloud::of(&c), Cloud::Global);
        c.cloud = Some(Cloud::UsGov);
        assert_eq!(Cloud::of(&c), Cloud::UsGov);
    }
}
