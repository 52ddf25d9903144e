//! Where the tenant lives, as options every command that signs in takes (`connect`, `remove`,
//! and the lifecycle commands flatten [`CloudArgs`] too): a Microsoft cloud by name, or custom
//! endpoints with an optional CA file (a standalone `appgrant-sim --tls` for a training
//! session). Commands acting on a saved connection default to the cloud it recorded.

use std::path::PathBuf;

use appgrant_core::cloud::{Cloud, CloudError};
use clap::ValueEnum;

use crate::error::{CliError, Code};

/// The Microsoft clouds, as `--cloud` spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CloudName {
    /// Microsoft 365 worldwide, including GCC (the default).
    Global,
    /// US Government GCC High.
    UsGov,
    /// US Government DoD.
    UsGovDod,
    /// China, operated by 21Vianet (needs --client-id: Microsoft's sign-in app is not there).
    China,
}

impl From<CloudName> for Cloud {
    fn from(name: CloudName) -> Self {
        match name {
            CloudName::Global => Cloud::Global,
            CloudName::UsGov => Cloud::UsGov,
            CloudName::UsGovDod => Cloud::UsGovDod,
            CloudName::China => Cloud::China,
        }
    }
}

/// `--cloud`, or custom endpoints (`--login-url`, `--graph-url`, `--ca-file`), and the
/// sign-in app (`--client-id`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CloudArgs {
    /// The Microsoft cloud the tenant is in (default: global, or the saved connection's).
    #[arg(long, value_enum, value_name = "CLOUD")]
    pub cloud: Option<CloudName>,
    /// Custom sign-in address, e.g. a standalone practice tenant at https://127.0.0.1:PORT
    /// (https, or http on 127.0.0.1/localhost). Needs --graph-url.
    #[arg(long, value_name = "URL")]
    pub login_url: Option<String>,
    /// Custom Microsoft Graph address (with --login-url).
    #[arg(long, value_name = "URL")]
    pub graph_url: Option<String>,
    /// A PEM certificate to trust for the custom addresses (e.g. the one `appgrant-sim --tls`
    /// writes out).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// The Application (client) ID of your own sign-in app registration (required in China;
    /// default: Microsoft Graph Command Line Tools, or APPGRANT_CLIENT_ID).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
}

fn invalid(message: impl Into<String>, hint: &str) -> CliError {
    CliError::new(Code::InvalidInput, message, Some(hint))
}

impl From<CloudError> for CliError {
    fn from(e: CloudError) -> Self {
        invalid(e.to_string(), e.hint())
    }
}

impl CloudArgs {
    /// Whether any custom endpoint option was given.
    pub fn custom(&self) -> bool {
        self.login_url.is_some() || self.graph_url.is_some() || self.ca_file.is_some()
    }

    /// Refuses `--practice` together with custom endpoints or a cloud.
    pub fn check_not_practice(&self) -> Result<(), CliError> {
        if self.custom() || self.cloud.is_some() {
            return Err(invalid(
                "--practice runs its own practice tenant inside this command, so it takes no --cloud, --login-url, --graph-url or --ca-file.",
                "Leave out --practice to use a standalone practice tenant (--login-url ... --graph-url ... --ca-file ...), or leave out the endpoint options.",
            ));
        }
        Ok(())
    }

    /// The cloud these options name; `saved` (a connection's recorded cloud) when they name
    /// none; else Global. The endpoints are checked here (addresses, CA file) so a mistake is
    /// reported before anything else happens.
    pub fn resolve(&self, saved: Option<Cloud>) -> Result<Cloud, CliError> {
        if self.cloud.is_some() && self.custom() {
            return Err(invalid(
                "--cloud names a Microsoft cloud, --login-url/--graph-url/--ca-file are for custom addresses: use one or the other.",
                "Leave out --cloud when you give custom addresses.",
            ));
        }
        let cloud = match (&self.login_url, &self.graph_url) {
            (Some(login), Some(graph)) => Cloud::Custom {
                login: login.trim().to_string(),
                graph: graph.trim().to_string(),
                resource: None,
                ca_file: self.ca_file.clone(),
            },
            (Some(_), None) => {
                return Err(invalid(
                    "--login-url needs --graph-url: AppGrant never guesses where Microsoft Graph is.",
                    "Add --graph-url URL (for a standalone practice tenant it is the same address as --login-url).",
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "--graph-url needs --login-url.",
                    "Add --login-url URL (for a standalone practice tenant it is the same address as --graph-url).",
                ))
            }
            (None, None) if self.ca_file.is_some() => {
                return Err(invalid(
                    "--ca-file is only for custom addresses.",
                    "Add --login-url and --graph-url, or leave out --ca-file (Microsoft's clouds need no extra certificate).",
                ))
            }
            (None, None) => match (self.cloud, saved) {
                (Some(name), _) => name.into(),
                (None, Some(saved)) => saved,
                (None, None) => Cloud::Global,
            },
        };
        cloud.endpoints()?;
        Ok(cloud)
    }

    /// `--client-id`, else `APPGRANT_CLIENT_ID`, else none (the cloud's default).
    pub fn client_id(&self) -> Option<String> {
        self.client_id
            .clone()
            .or_else(|| std::env::var("APPGRANT_CLIENT_ID").ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }
}

/// How a cloud is shown in lists: "US Government (GCC High)", or the custom sign-in address.
pub fn describe(cloud: &Cloud) -> String {
    match cloud {
        Cloud::Custom { login, .. } => format!("custom endpoints at {login}"),
        named => named.label().to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn args(f: impl FnOnce(&mut CloudArgs)) -> CloudArgs {
        let mut a = CloudArgs::default();
        f(&mut a);
        a
    }

    #[test]
    fn named_clouds_saved_clouds_and_global_in_that_order() {
        assert_eq!(CloudArgs::default().resolve(None).unwrap(), Cloud::Global);
        assert_eq!(
            CloudArgs::default().resolve(Some(Cloud::UsGov)).unwrap(),
            Cloud::UsGov
        );
        let dod = args(|a| a.cloud = Some(CloudName::UsGovDod));
        assert_eq!(dod.resolve(Some(Cloud::UsGov)).unwrap(), Cloud::UsGovDod);
    }

    #[test]
    fn contradictory_or_half_custom_options_say_what_to_do() {
        let half = args(|a| a.login_url = Some("https://127.0.0.1:4000".into()));
        let e = half.resolve(None).unwrap_err();
        assert_eq!(e.code, Code::InvalidInput);
        assert!(
            e.message.contains("--login-url needs --graph-url"),
            "{}",
            e.message
        );

        let both = args(|a| {
            a.cloud = Some(CloudName::China);
            a.login_url = Some("https://127.0.0.1:4000".into());
            a.graph_url = Some("https://127.0.0.1:4000".into());
        });
        assert!(both
            .resolve(None)
            .unwrap_err()
            .message
            .contains("one or the other"));

        let plain = args(|a| {
            a.login_url = Some("http://sim.example.com".into());
            a.graph_url = Some("http://sim.example.com".into());
        });
        let e = plain.resolve(None).unwrap_err();
        assert!(e.message.contains("use https://"), "{}", e.message);

        let ca_alone = args(|a| a.ca_file = Some("/tmp/x.pem".into()));
        assert!(ca_alone
            .resolve(None)
            .unwrap_err()
            .message
            .contains("only for custom"));
        assert!(ca_alone.check_not_practice().is_err());
    }
}
