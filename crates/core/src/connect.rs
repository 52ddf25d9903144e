//! Turning a finished run into a saved [`Connection`], and removing one again.
//!
//! A connection is what the dashboard lists: which vendor, which tenant, which apps and when
//! their secrets expire. Removing it deletes what the recipe created in the tenant (the
//! enterprise app first, which takes its grants with it, then the app registration), the
//! secrets in the keyring, the metadata and the run journal, after the admin has seen the list.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::apply::journal::Journal;
use crate::apply::ApplyOutcome;
use crate::cloud::Cloud;
use crate::graph::{GraphClient, GraphError};
use crate::plan::Plan;
use crate::recipe::Recipe;
use crate::vault::{ConnectedApp, Connection, SecretMeta, Vault, VaultError};

/// Builds the connection record for a successful apply (no secrets in it). `cloud` is where
/// the tenant lives ([`crate::flow::TenantChoice::recorded_cloud`]), so later sign-ins go
/// to the same place.
pub fn connection_from(
    recipe: &Recipe,
    plan: &Plan,
    outcome: &ApplyOutcome,
    tenant_domain: Option<String>,
    practice: bool,
    cloud: Option<Cloud>,
    verified_at: Option<DateTime<Utc>>,
) -> Connection {
    Connection {
        id: Connection::new_id(),
        recipe_id: recipe.id.clone(),
        vendor: recipe.vendor.clone(),
        tenant_id: plan.tenant_id.clone(),
        tenant_domain,
        practice,
        cloud,
        apps: outcome
            .apps
            .iter()
            .map(|a| ConnectedApp {
                key: a.key.clone(),
                display_name: a.display_name.clone(),
                app_id: a.app_id.clone(),
                object_id: a.object_id.clone(),
                service_principal_id: Some(a.service_principal_id.clone()),
                secret: a.secret.as_ref().map(|s| SecretMeta {
                    key_id: s.key_id.clone(),
                    description: s.description.clone(),
                    created_at: s.created_at,
                    expires_at: s.expires_at,
                }),
                rotation: None,
                certificate: a.certificate.clone(),
            })
            .collect(),
        inputs: plan
            .inputs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        created_at: Utc::now(),
        verified_at,
        mailbox_limits: Vec::new(),
        sign_in_limits: Vec::new(),
        ..Connection::default()
    }
}

/// What removing the connection will delete, in plain sentences, for the confirmation dialog.
pub fn removal_summary(connection: &Connection) -> Vec<String> {
    let mut lines = Vec::new();
    for app in &connection.apps {
        lines.push(format!(
            "The app registration \"{}\" (Application (client) ID {}) and its enterprise app, with every permission granted to it",
            app.display_name, app.app_id
        ));
        if let Some(secret) = &app.secret {
            lines.push(format!(
                "Its client secret \"{}\" (the vendor will stop working until you connect again)",
                secret.description
            ));
        }
    }
    lines.push(
        "AppGrant's record of this connection and the secrets in this computer's credential store"
            .to_string(),
    );
    lines
}

#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error("removing {what} from the tenant failed: {source}")]
    Graph {
        what: String,
        #[source]
        source: GraphError,
    },
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Journal(#[from] crate::apply::journal::JournalError),
}

/// Deletes the connection's apps from the tenant, then its local record and secrets.
/// Anything already gone counts as removed, so a failed removal can simply be repeated.
pub async fn remove(
    graph: &GraphClient,
    vault: &Vault,
    data_dir: &Path,
    connection: &Connection,
) -> Result<(), RemoveError> {
    for app in &connection.apps {
        if let Some(sp) = &app.service_principal_id {
            graph
                .delete(&format!("servicePrincipals/{sp}"))
                .await
                .map_err(|source| RemoveError::Graph {
                    what: format!("the enterprise app \"{}\"", app.display_name),
                    source,
                })?;
        }
        graph
            .delete(&format!("applications/{}", app.object_id))
            .await
            .map_err(|source| RemoveError::Graph {
                what: format!("the app registration \"{}\"", app.display_name),
                source,
            })?;
    }
    vault.remove(&connection.id)?;
    match Journal::open(data_dir, &connection.tenant_id, &connection.recipe_id) {
        Ok(journal) => journal.delete()?,
        // A damaged journal was already set aside by open(); nothing left to delete.
        Err(crate::apply::journal::JournalError::Corrupt { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
