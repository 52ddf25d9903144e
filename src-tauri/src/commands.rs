//! Tauri commands: each one calls core once and converts the error. No logic lives here.

use crate::dto::RecipeCard;
use crate::error::UiError;

/// The built-in recipes for the "Choose vendor" screen.
#[tauri::command(async)]
#[tracing::instrument(err(Debug))]
pub fn list_recipes() -> Result<Vec<RecipeCard>, UiError> {
    let recipes = appgrant_core::recipe::builtin()?;
    Ok(recipes.iter().map(RecipeCard::from).collect())
}
