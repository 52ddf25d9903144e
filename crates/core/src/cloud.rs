//! Endpoint sets for the Microsoft clouds AppGrant can sign in to, plus a custom base URL for
//! the practice tenant (the simulator).
//!
//! Login and Graph are separate bases even when they share a host (the simulator serves both
//! on one port), so nothing in the client ever derives one from the other.

use serde::{Deserialize, Serialize};
use url::Url;

/// A Microsoft cloud (national clouds are separate worlds: tokens and apps do not cross).
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
    /// Any other base, e.g. the practice tenant at `http://127.0.0.1:{port}`.
    Custom {
        login: String,
        graph: String,
        /// The Graph resource named in scopes; defaults to the global one.
        #[serde(default)]
        resource: Option<String>,
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
}

/// A base URL that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{url}\" is not a usable {what} address: {reason}")]
pub struct CloudError {
    pub what: &'static str,
    pub url: String,
    pub reason: String,
}

fn base(what: &'static str, text: &str) -> Result<Url, CloudError> {
    let error = |reason: &str| CloudError {
        what,
        url: text.to_string(),
        reason: reason.to_string(),
    };
    let mut url = Url::parse(text).map_err(|e| error(&e.to_string()))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(error(
                "use https:// (http:// only for the local practice tenant)",
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

impl Cloud {
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
            } => {
                return Ok(Endpoints {
                    login: base("sign-in", login)?,
                    graph: base("Microsoft Graph", graph)?,
                    resource: resource
                        .clone()
                        .unwrap_or_else(|| "https://graph.microsoft.com".to_string()),
                })
            }
        };
        Ok(Endpoints {
            login: base("sign-in", login)?,
            graph: base("Microsoft Graph", graph)?,
            resource: resource.to_string(),
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
        let e = Cloud::Custom {
            login: "http://127.0.0.1:4100/login".into(),
            graph: "http://127.0.0.1:4100".into(),
            resource: None,
        }
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
        let err = Cloud::Custom {
            login: "http://login.example.com".into(),
            graph: "https://graph.example.com".into(),
            resource: None,
        }
        .endpoints()
        .unwrap_err();
        assert!(err.to_string().contains("use https://"), "{err}");
    }
}
