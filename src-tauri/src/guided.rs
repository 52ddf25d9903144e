//! Commands for leading a guided onboarding session: presenter mode (remembered across
//! restarts) and the practice scenarios menu. A scenario's effect (`appgrant_core::practice`)
//! is carried out with the practice tenant's own controls, the same ones its `/_sim` API
//! offers: reset, knobs, the hand-made apps, and the account the sign-in page suggests.

use appgrant_core::practice::{self, Effect};
use appgrant_sim::Sim;
use tauri::State;

use crate::dto::{ScenarioChosen, ScenarioMenu, TenantInfo};
use crate::error::{Code, UiError};
use crate::state::AppState;

type Result<T> = std::result::Result<T, UiError>;

/// Turns presenter mode on or off and remembers it for the next launch.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn set_presenter(state: State<'_, AppState>, on: bool) -> Result<bool> {
    let settings = appgrant_core::settings::Settings::update(&state.data_dir, |s| s.presenter = on)
        .map_err(|e| {
            UiError::new(
                Code::Vault,
                e.to_string(),
                Some("Presenter mode is on for now; check that the data folder is writable."),
            )
        })?;
    Ok(settings.presenter)
}

/// The practice scenarios, each with its one line, and the one now chosen.
#[tauri::command]
pub async fn practice_scenarios(state: State<'_, AppState>) -> Result<ScenarioMenu> {
    Ok(ScenarioMenu {
        scenarios: practice::scenarios(),
        active: state.scenario().id.to_string(),
    })
}

/// Puts the practice tenant into a scenario (the previous one ends). When the scenario needs
/// another account, or resets the tenant, whoever was signed in is signed out.
#[tauri::command]
#[tracing::instrument(skip(state), err(level = "warn", Debug))]
pub async fn choose_practice_scenario(
    state: State<'_, AppState>,
    id: String,
) -> Result<ScenarioChosen> {
    let scenario = practice::scenario(&id).map_err(|e| {
        UiError::new(
            Code::Practice,
            e.to_string(),
            Some("Choose one from the menu."),
        )
    })?;
    let previous = state.scenario();
    let tenant = state.practice_tenant().await?;
    let mut flow = state.flow.lock().await;
    if !flow.tenant().is_some_and(|t| t.practice) {
        return Err(UiError::new(
            Code::Practice,
            "Practice scenarios change only the practice tenant.",
            Some("Open the practice tenant first."),
        ));
    }
    let added_apps = {
        let practice = state.practice.lock().await;
        let sim = practice
            .as_ref()
            .ok_or_else(|| UiError::new(Code::Practice, "The practice tenant stopped.", None))?;
        carry_out(sim, &scenario.effect)
    };
    if scenario.effect.reset_tenant {
        *state
            .practice_fresh_since
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(chrono::Utc::now());
        // The runs in the practice tenant name objects the reset removed: start afresh.
        appgrant_core::apply::journal::Journal::forget_tenant(&state.data_dir, &tenant.tenant_id)
            .map_err(|e| {
            UiError::new(
                Code::Practice,
                e.to_string(),
                Some("Check that the data folder is writable."),
            )
        })?;
    }
    let active = if scenario.effect.reset_tenant {
        practice::ordinary()
    } else {
        scenario.clone()
    };
    *state.scenario.lock().unwrap_or_else(|p| p.into_inner()) = active.id;
    let signed_out = scenario.changes_account(&previous);
    if signed_out {
        flow.sign_out().await?;
        flow.set_login_hint(Some(active.sign_in_upn(&tenant.domain)))?;
    }
    tracing::info!(scenario = active.id, signed_out, "practice scenario chosen");
    Ok(ScenarioChosen {
        tenant: TenantInfo::practice(&active, &tenant.domain),
        active: active.id.to_string(),
        signed_out,
        added_apps: added_apps.into_iter().map(str::to_string).collect(),
    })
}

/// Sets the practice tenant up as `effect` says, starting from an ordinary day; returns the
/// hand-made apps put back.
fn carry_out(sim: &Sim, effect: &Effect) -> Vec<&'static str> {
    if effect.reset_tenant {
        sim.reset();
    }
    let delay = effect.replication_ms;
    sim.update_knobs(|k| {
        k.replication = appgrant_sim::Replication {
            app_to_sp_ms: delay,
            sp_to_grant_ms: delay,
            app_to_token_ms: delay,
            secret_to_token_ms: delay,
            assignment_to_token_ms: delay,
            object_read_ms: 0,
        };
        k.latency_ms = effect.latency_ms;
        k.secret_max_lifetime_days = effect.secret_max_lifetime_days;
    });
    if effect.hand_made_apps {
        sim.add_hand_made_apps()
    } else {
        Vec::new()
    }
}
