//! Commands for apps made by hand before AppGrant: find them, adopt one, fix its drift, and
//! the tenant-wide expiry report. Each works in the tenant the wizard is signed in to and
//! calls core's `adopt` module; no logic lives here.

use std::sync::Arc;

use appgrant_core::adopt::{self, AdoptRequest, DriftPlan, ExpiryRow, Findings, ReadProgress};
use appgrant_core::graph::{DelegatedToken, GraphClient};
use appgrant_core::identity::{Access, Session};
use appgrant_core::lifecycle::{ConnectionStatus, SignedIn};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;

use crate::error::{Code, UiError};
use crate::state::AppState;

type Result<T> = std::result::Result<T, UiError>;

/// The expiry report (mirrored in `ui/src/lib/types.ts` `ExpiryView`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpiryView {
    pub rows: Vec<ExpiryRow>,
    /// The same rows as CSV, for the export button.
    pub csv: String,
}

/// An adopted connection and its drift (mirrored in `types.ts` `AdoptView`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdoptView {
    pub connection: ConnectionStatus,
    pub drift: DriftPlan,
}

struct Here {
    session: Session,
    signed_in: SignedIn,
    graph: GraphClient,
    practice: bool,
    cloud: Option<appgrant_core::cloud::Cloud>,
}

/// The wizard's sign-in, or `not_signed_in`.
async fn here(state: &AppState) -> Result<Here> {
    let flow = state.flow.lock().await;
    let not_signed_in = || {
        UiError::new(
            Code::NotSignedIn,
            "Sign in to the tenant first",
            Some("Choose your tenant (or the practice tenant) on the Start screen and sign in."),
        )
    };
    let auth = flow.authenticator().map_err(|_| not_signed_in())?;
    let session = auth.session().await.ok_or_else(not_signed_in)?;
    let endpoints = flow.endpoints()?.clone();
    let practice = flow.tenant().is_some_and(|t| t.practice);
    let cloud = flow.tenant().and_then(|t| t.recorded_cloud());
    let graph = GraphClient::new(
        flow.http_client()?,
        &endpoints.graph,
        Arc::new(DelegatedToken {
            auth: Arc::clone(&auth),
            access: Access::Apply,
        }),
    );
    Ok(Here {
        session,
        signed_in: SignedIn { endpoints, auth },
        graph,
        practice,
        cloud,
    })
}

/// "Find apps already in this tenant": every app registration, matched with the recipes.
#[tauri::command]
#[tracing::instrument(skip(state, on_progress), err(level = "warn", Debug))]
pub async fn find_vendor_apps(
    state: State<'_, AppState>,
    on_progress: Channel<ReadProgress>,
) -> Result<Findings> {
    let here = here(&state).await?;
    let apps = adopt::read_apps(&here.graph, |p| {
        let _ = on_progress.send(p);
    })
    .await?;
    Ok(adopt::find(&apps, &state.recipes()?))
}

/// Every app registration's secrets and certificates expiring within `within_days` (all
/// when None), with the CSV.
#[tauri::command]
#[tracing::instrument(skip(state, on_progress), err(level = "warn", Debug))]
pub async fn expiry_report(
    state: State<'_, AppState>,
    within_days: Option<i64>,
    on_progress: Channel<ReadProgress>,
) -> Result<ExpiryView> {
    let here = here(&state).await?;
    let apps = adopt::read_apps(&here.graph, |p| {
        let _ = on_progress.send(p);
    })
    .await?;
    let mut rows = adopt::expiry_rows(&apps, chrono::Utc::now(), within_days);
    adopt::read_owners(&here.graph, &mut rows).await;
    let csv = adopt::to_csv(&rows);
    Ok(ExpiryView { rows, csv })
}

/// Adopts existing app(s) as a connection of `recipe_id` and shows its drift.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn adopt_app(
    state: State<'_, AppState>,
    recipe_id: String,
    app_ids: Vec<String>,
) -> Result<AdoptView> {
    let here = here(&state).await?;
    let recipe = state
        .recipes()?
        .into_iter()
        .find(|r| r.id == recipe_id)
        .ok_or_else(|| UiError::from(adopt::AdoptError::UnknownRecipe(recipe_id.clone())))?;
    let connection = adopt::adopt(
        &here.graph,
        &here.session,
        &state.vault,
        &AdoptRequest {
            recipe,
            app_ids,
            practice: here.practice,
            cloud: here.cloud.clone(),
        },
    )
    .await?;
    let lifecycle = state.lifecycle()?;
    let drift = adopt::drift_plan(&lifecycle, &here.graph, &here.signed_in, &connection.id).await?;
    let connection = lifecycle.status(&connection.id, chrono::Utc::now()).await?;
    Ok(AdoptView { connection, drift })
}

/// The drift of a connection against its recipe, as a reviewed plan.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn plan_drift_fix(
    state: State<'_, AppState>,
    connection_id: String,
) -> Result<DriftPlan> {
    let here = here(&state).await?;
    let lifecycle = state.lifecycle()?;
    Ok(adopt::drift_plan(&lifecycle, &here.graph, &here.signed_in, &connection_id).await?)
}

/// Runs the reviewed drift plan; answers with what is left (nothing, when all went well).
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn fix_adopted_drift(
    state: State<'_, AppState>,
    connection_id: String,
) -> Result<DriftPlan> {
    let here = here(&state).await?;
    let lifecycle = state.lifecycle()?;
    Ok(adopt::fix_drift(
        &lifecycle,
        &here.graph,
        &here.signed_in,
        &connection_id,
        |_| {},
    )
    .await?)
}
