//! `recipes` and `recipe check`.

use std::path::Path;

use appgrant_core::recipe::Recipe;
use serde_json::{json, Value};

use crate::context::read_recipe;
use crate::error::CliError;
use crate::out::Out;

fn recipe_json(r: &Recipe) -> Value {
    json!({
        "id": r.id,
        "vendor": r.vendor,
        "display_name": r.display_name,
        "description": r.description,
        "handoff_style": r.handoff_style,
        "risk": r.max_risk().label(),
        "abilities": r.capabilities(),
        "apps": r.apps.iter().map(|a| json!({
            "key": a.key,
            "display_name": a.display_name,
            "purpose": a.purpose,
            "permissions": a.permissions.iter().map(|p| json!({
                "name": p.name,
                "kind": p.kind,
                "risk": p.risk.label(),
                "summary": p.summary,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "inputs": r.inputs.iter().map(|i| json!({
            "id": i.id,
            "label": i.label,
            "help": i.help,
            "example": i.example,
        })).collect::<Vec<_>>(),
    })
}

fn print_recipe(out: &Out, r: &Recipe) {
    out.line(format!("{} ({})  {}", r.vendor, r.id, r.display_name));
    out.line(format!("  risk: {}", r.max_risk().label()));
    for app in &r.apps {
        out.line(format!("  app: {} ({})", app.display_name, app.purpose));
    }
    out.line("  the vendor will be able to:");
    for ability in r.capabilities() {
        out.line(format!("    - {ability}"));
    }
    for input in &r.inputs {
        let example = input
            .example
            .as_deref()
            .map(|e| format!(", e.g. {e}"))
            .unwrap_or_default();
        out.line(format!(
            "  asks for: --input {}=... ({}{example})",
            input.id, input.label
        ));
    }
}

/// `recipes`: the built-in recipes.
pub fn list(out: &Out) -> Result<(), CliError> {
    let recipes = appgrant_core::recipe::builtin()?;
    if out.json {
        return out.json(&recipes.iter().map(recipe_json).collect::<Vec<_>>());
    }
    for (i, r) in recipes.iter().enumerate() {
        if i > 0 {
            out.line("");
        }
        print_recipe(out, r);
    }
    Ok(())
}

/// `recipe check FILE`: validates a recipe file (invalid: exit 2, every problem with its line).
pub fn check(out: &Out, file: &Path) -> Result<(), CliError> {
    let recipe = read_recipe(file)?;
    if out.json {
        return out.json(&json!({ "ok": true, "file": file.display().to_string(), "recipe": recipe_json(&recipe) }));
    }
    out.line(format!("{}: OK", file.display()));
    print_recipe(out, &recipe);
    Ok(())
}
