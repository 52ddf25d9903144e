//! Choosing the tenant (a real one in any cloud or at custom endpoints, or the in-process
//! practice tenant) and signing in through the flow, as the desktop shell does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use appgrant_core::cloud::Cloud;
use appgrant_core::flow::{Flow, TenantChoice};
use appgrant_core::identity::Session;
use appgrant_sim::{Sim, SimConfig};
use tokio_util::sync::CancellationToken;

use crate::context::{browser, Context};
use crate::error::{CliError, Code};
use crate::out::Out;

/// A flow pointed at its tenant; `practice` keeps the practice tenant running while it lives.
pub struct Tenant {
    pub flow: Flow,
    pub practice: Option<Sim>,
}

/// Starts the practice tenant in this process and points a new flow at it.
pub async fn practice(ctx: &Context) -> Result<Tenant, CliError> {
    let sim = Sim::start(SimConfig::default()).await.map_err(|e| {
        CliError::new(
            Code::Practice,
            format!("The practice tenant could not start: {e}"),
            Some("Try again; if it keeps failing, check that this computer allows local network connections on 127.0.0.1."),
        )
    })?;
    // Nobody types the code in practice, so there is no reason to wait 5 s between polls.
    sim.update_knobs(|k| k.device_code_interval_secs = 1);
    let mut flow = Flow::new(ctx.data_dir.clone(), Arc::clone(&ctx.secrets));
    flow.use_tenant(TenantChoice {
        cloud: Cloud::custom(sim.login_base(), sim.graph_base()),
        tenant: sim.tenant_id(),
        practice: true,
        client_id: Some(sim.public_client_id().to_string()),
    })?;
    Ok(Tenant {
        flow,
        practice: Some(sim),
    })
}

/// Points a new flow at a tenant (`organizations`, a domain or an id) in `cloud` (a Microsoft
/// cloud, or custom endpoints such as a standalone practice tenant), signing in with
/// `client_id` or the cloud's default sign-in app.
pub fn real(
    ctx: &Context,
    tenant: &str,
    cloud: Cloud,
    client_id: Option<String>,
) -> Result<Tenant, CliError> {
    let mut flow = Flow::new(ctx.data_dir.clone(), Arc::clone(&ctx.secrets));
    flow.use_tenant(TenantChoice {
        cloud,
        tenant: tenant.to_string(),
        practice: false,
        client_id,
    })?;
    Ok(Tenant {
        flow,
        practice: None,
    })
}

impl Tenant {
    /// Signs in: in practice with an automatically approved device code as the tenant's
    /// Global Administrator; otherwise with a device code or the browser.
    pub async fn sign_in(
        &mut self,
        out: &Out,
        device_code: bool,
        cancel: &CancellationToken,
    ) -> Result<Session, CliError> {
        let auth = self.flow.authenticator()?;
        let session = if let Some(sim) = &self.practice {
            let prompt = self.flow.start_device_code().await?;
            out.line(format!(
                "PRACTICE: signing in as {} (a Global Administrator of the practice tenant; approved automatically).",
                sim.admin_upn()
            ));
            sim.approve_device_code(&prompt.user_code, &sim.admin_upn())
                .map_err(|e| CliError::new(Code::Practice, e, None))?;
            auth.complete_device_code(&prompt, tokio::time::sleep, cancel)
                .await?
        } else if device_code {
            let prompt = self.flow.start_device_code().await?;
            out.line(format!(
                "To sign in, open {} on any device and enter the code {} (valid until {} UTC).",
                prompt.verification_uri,
                prompt.user_code,
                prompt.expires_at.format("%H:%M")
            ));
            out.line("Waiting for the sign-in to finish... (Ctrl+C to stop)");
            auth.complete_device_code(&prompt, tokio::time::sleep, cancel)
                .await?
        } else {
            out.line("Opening your browser to sign in... (Ctrl+C to stop; --device-code signs in from any device)");
            Flow::sign_in_browser(auth, browser().as_ref(), cancel).await?
        };
        let tenant = session
            .tenant_domain
            .clone()
            .unwrap_or_else(|| session.tenant_id.clone());
        let roles = if session.roles.is_empty() {
            "no admin role".to_string()
        } else {
            session.roles.join(", ")
        };
        out.line(format!(
            "Signed in as {} to {tenant} ({roles}).",
            session.user_principal_name
        ));
        Ok(session)
    }
}

/// A cancel switch for the long waits (sign-in, apply): the first Ctrl+C stops them cleanly
/// (a stopped apply continues where it left off next time), the second quits at once.
pub fn interrupt() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        static PRESSED: AtomicBool = AtomicBool::new(false);
        while tokio::signal::ctrl_c().await.is_ok() {
            if PRESSED.swap(true, Ordering::SeqCst) {
                crate::out::say(true, "Stopped.");
                std::process::exit(130);
            }
            crate::out::say(true, "Stopping... (press Ctrl+C again to quit at once)");
            cancel.cancel();
        }
    });
    token
}
