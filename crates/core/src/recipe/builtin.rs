//! The recipes that ship with AppGrant, embedded at compile time from `recipes/`.

use super::{parse, Recipe, RecipeErrors};

/// File name and text of each built-in recipe, in the order the wizard lists them.
const BUILTIN: &[(&str, &str)] = &[
    (
        "tonicdm.toml",
        include_str!("../../../../recipes/tonicdm.toml"),
    ),
    (
        "totalview.toml",
        include_str!("../../../../recipes/totalview.toml"),
    ),
    (
        "docbits.toml",
        include_str!("../../../../recipes/docbits.toml"),
    ),
    (
        "timetoreply.toml",
        include_str!("../../../../recipes/timetoreply.toml"),
    ),
];

/// All built-in recipes. An error here is a bug in a shipped recipe (the tests load them all).
pub fn builtin() -> Result<Vec<Recipe>, RecipeErrors> {
    let mut recipes = Vec::with_capacity(BUILTIN.len());
    let mut errors = Vec::new();
    for (name, text) in BUILTIN {
        match parse(name, text) {
            Ok(recipe) => recipes.push(recipe),
            Err(e) => errors.extend(e.0),
        }
    }
    if errors.is_empty() {
        Ok(recipes)
    } else {
        Err(RecipeErrors(errors))
    }
}

/// One built-in recipe by id.
pub fn builtin_by_id(id: &str) -> Result<Option<Recipe>, RecipeErrors> {
    Ok(builtin()?.into_iter().find(|r| r.id == id))
}
