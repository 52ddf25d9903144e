//! The one place where core errors become what the UI receives: `{ code, message, hint }`.
//!
//! `code` is stable and the UI branches on it (`ui/src/lib/errors.ts`); `message` says what
//! happened; `hint` says what to do next.

use serde::Serialize;

/// An error as the UI sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UiError {
    pub code: Code,
    pub message: String,
    pub hint: Option<String>,
}

/// Error codes the UI branches on. Add one only when the UI needs to tell it apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// A recipe could not be loaded; the message lists each problem with its line.
    InvalidRecipe,
}

impl From<appgrant_core::recipe::RecipeErrors> for UiError {
    fn from(errors: appgrant_core::recipe::RecipeErrors) -> Self {
        Self {
            code: Code::InvalidRecipe,
            message: errors.to_string(),
            hint: Some("Fix the lines named above and load the recipe again.".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_to_the_shape_the_ui_reads() {
        let errors = appgrant_core::recipe::parse("bad.toml", "schema = ").unwrap_err();
        let json = serde_json::to_value(UiError::from(errors)).unwrap();
        assert_eq!(json["code"], "invalid_recipe");
        assert!(json["message"]
            .as_str()
            .unwrap()
            .starts_with("bad.toml, line 1: "));
        assert!(json["hint"].is_string());
    }
}
