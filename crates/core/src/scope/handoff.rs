//! The hand-off for when the signed-in account cannot change Exchange (or cannot remove a
//! Microsoft Graph application permission): the exact commands, in order, for the person who
//! can, and what to do afterwards (api-notes §7.1).
//!
//! Exchange Online PowerShell: `New-ServicePrincipal` (Exchange's pointer to the enterprise
//! app), `New-ManagementScope` (the recipient filter; group distinguished names are looked up
//! with `Get-Group`, because Exchange wants a DN there), `New-ManagementRoleAssignment` per
//! application role, and `Test-ServicePrincipalAuthorization` to check. Then Microsoft Graph
//! PowerShell removes the tenant-wide grants.

use serde::{Deserialize, Serialize};

use super::people::RecipientKind;
use super::{AppScopePlan, ENTRA_WHO, EXCHANGE_WHO};
use crate::identity::Session;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeHandoff {
    /// Who can run it.
    pub who: String,
    /// A message to forward.
    pub message: String,
    /// The commands, one per line, ready to paste into PowerShell.
    pub commands: String,
    /// What to do once they are done.
    pub reverify: String,
}

/// A PowerShell single-quoted string.
fn ps(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn exchange_commands(app: &AppScopePlan, out: &mut Vec<String>, n: usize) {
    out.push(format!(
        "# {} ({}): limit to the chosen mailboxes",
        app.display_name, app.vendor
    ));
    out.push(format!(
        "New-ServicePrincipal -AppId {} -ObjectId {} -DisplayName {}",
        ps(&app.app_id),
        ps(&app.service_principal_id),
        ps(&app.display_name)
    ));
    let mut clauses = Vec::new();
    for (i, r) in app.recipients.iter().enumerate() {
        match r.kind {
            RecipientKind::Group => {
                let var = format!("$group{n}_{i}");
                let identity = r.upn_or_mail.as_deref().unwrap_or(&r.display_name);
                out.push(format!(
                    "{var} = (Get-Group -Identity {}).DistinguishedName   # {}",
                    ps(identity),
                    r.display_name
                ));
                clauses.push(format!("(MemberOfGroup -eq '{var}')"));
            }
            RecipientKind::User => {
                let address = r
                    .mail
                    .as_deref()
                    .or(r.upn_or_mail.as_deref())
                    .unwrap_or(&r.id);
                clauses.push(format!(
                    "(PrimarySmtpAddress -eq '{}')",
                    address.replace('\'', "''").replace('"', "`\"")
                ));
            }
        }
    }
    // A double-quoted PowerShell string, so the $group variables expand into the filter.
    out.push(format!(
        "New-ManagementScope -Name {} -RecipientRestrictionFilter \"{}\"",
        ps(&app.scope_name),
        clauses.join(" -or ")
    ));
    for r in &app.roles {
        out.push(format!(
            "New-ManagementRoleAssignment -App {} -Role {} -CustomResourceScope {}",
            ps(&app.service_principal_id),
            ps(&r.role),
            ps(&app.scope_name)
        ));
    }
    out.push(format!(
        "Test-ServicePrincipalAuthorization -Identity {}   # optional: lists the roles and the scope",
        ps(&app.app_id)
    ));
}

fn entra_commands(app: &AppScopePlan, out: &mut Vec<String>) {
    for g in app.entra_grants.iter() {
        match &g.assignment_id {
            Some(id) => out.push(format!(
                "Remove-MgServicePrincipalAppRoleAssignment -ServicePrincipalId {} -AppRoleAssignmentId {}   # {}: {}",
                ps(&app.service_principal_id),
                ps(id),
                app.display_name,
                g.permission
            )),
            None => out.push(format!(
                "# {}: {} is not granted organisation-wide (nothing to remove)",
                app.display_name, g.permission
            )),
        }
    }
}

/// Builds the hand-off for the apps of a scope plan.
pub fn build(
    apps: &[AppScopePlan],
    session: &Session,
    needs_exchange: bool,
    needs_entra: bool,
) -> ExchangeHandoff {
    let mut lines = Vec::new();
    if needs_exchange {
        lines.push(format!(
            "# Part 1, Exchange Online PowerShell, as {EXCHANGE_WHO}"
        ));
        lines.push("Connect-ExchangeOnline".to_string());
        for (n, app) in apps.iter().enumerate() {
            exchange_commands(app, &mut lines, n);
        }
    }
    lines.push(String::new());
    lines.push(format!(
        "# Part 2, only after part 1: Microsoft Graph PowerShell, as {ENTRA_WHO}."
    ));
    lines.push("# Exchange's roles add to the app's organisation-wide permissions, so those must go for the limit to work.".to_string());
    lines.push(
        "Connect-MgGraph -Scopes 'AppRoleAssignment.ReadWrite.All','Application.Read.All'"
            .to_string(),
    );
    for app in apps {
        entra_commands(app, &mut lines);
    }
    let who = match (needs_exchange, needs_entra) {
        (true, true) => format!("{EXCHANGE_WHO} for part 1, and {ENTRA_WHO} for part 2"),
        (true, false) => format!("{EXCHANGE_WHO} for part 1; part 2 needs {ENTRA_WHO}"),
        _ => ENTRA_WHO.to_string(),
    };
    let names: Vec<String> = apps
        .iter()
        .map(|a| format!("\"{}\"", a.display_name))
        .collect();
    let vendor = apps
        .first()
        .map(|a| a.vendor.as_str())
        .unwrap_or("the vendor");
    let me = session
        .display_name
        .clone()
        .unwrap_or_else(|| session.user_principal_name.clone());
    let message = format!(
        "Hello,\n\n{me} is connecting {vendor} to our Microsoft 365 tenant with AppGrant and wants {} to reach only the chosen mailboxes, not everyone's. That needs Exchange Online \"RBAC for Applications\", which my account cannot change.\n\nCould you run the commands below, in order? Part 1 limits the app in Exchange; part 2 then removes its organisation-wide permission, which would otherwise still reach every mailbox. Nothing else changes.\n\nThank you.",
        names.join(" and ")
    );
    ExchangeHandoff {
        who,
        message,
        commands: lines.join("\n"),
        reverify: "When both parts are done, open the connection in AppGrant and press Verify. Microsoft takes 30 minutes to 2 hours to apply Exchange changes; until then the connection shows \"scope pending\", and Verify can be run again later.".to_string(),
    }
}
