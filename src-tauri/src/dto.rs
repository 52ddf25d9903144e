//! What crosses the IPC boundary, shaped for the UI (mirrored in `ui/src/lib/types.ts`).

use appgrant_core::catalog::{PermissionKind, Risk};
use appgrant_core::recipe::Recipe;
use serde::Serialize;

/// A vendor as the "Choose vendor" screen shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipeCard {
    pub id: String,
    pub vendor: String,
    pub display_name: String,
    pub description: String,
    pub apps: Vec<AppCard>,
    /// The most a leaked secret could do, across all apps.
    pub max_risk: Risk,
    /// Labels of the values the admin must type before applying (timetoreply's portal URL).
    pub inputs: Vec<String>,
    /// How many mistakes in the vendor's own guide the recipe corrects.
    pub corrections: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppCard {
    pub display_name: String,
    pub purpose: String,
    pub permissions: Vec<PermissionCard>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionCard {
    pub name: String,
    pub kind: PermissionKind,
    pub summary: String,
    pub risk: Risk,
}

impl From<&Recipe> for RecipeCard {
    fn from(r: &Recipe) -> Self {
        Self {
            id: r.id.clone(),
            vendor: r.vendor.clone(),
            display_name: r.display_name.clone(),
            description: r.description.clone(),
            apps: r
                .apps
                .iter()
                .map(|a| AppCard {
                    display_name: a.display_name.clone(),
                    purpose: a.purpose.clone(),
                    permissions: a
                        .permissions
                        .iter()
                        .map(|p| PermissionCard {
                            name: p.name.clone(),
                            kind: p.kind,
                            summary: p.summary.clone(),
                            risk: p.risk,
                        })
                        .collect(),
                })
                .collect(),
            max_risk: r.max_risk(),
            inputs: r.inputs.iter().map(|i| i.label.clone()).collect(),
            corrections: r.corrections.len(),
        }
    }
}
