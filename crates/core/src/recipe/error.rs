//! Errors found while loading a recipe or checking the admin's inputs.
//!
//! Every error names the recipe, the line (when the problem is in the file) and, where we can
//! tell, the fix. Loading collects all problems at once so an author fixes them in one pass.

use std::fmt;

use serde::Serialize;

/// What kind of problem it is, for the UI and CLI to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipeErrorKind {
    /// Not valid TOML, a missing or misspelt key, or a value of the wrong type.
    Syntax,
    /// A permission Microsoft Graph does not have.
    UnknownPermission,
    /// A permission listed as application that is delegated, or the reverse.
    WrongPermissionKind,
    /// The same permission twice in one app.
    DuplicatePermission,
    /// A value outside what the field allows (bad URL, lifetime, id, placeholder...).
    InvalidValue,
    /// Two settings that contradict each other.
    Inconsistent,
}

/// One problem in one recipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecipeError {
    /// The recipe's file name (or id for built-in recipes).
    pub recipe: String,
    /// 1-based line in the file, when the problem has a place.
    pub line: Option<usize>,
    /// 1-based column on that line.
    pub column: Option<usize>,
    pub kind: RecipeErrorKind,
    pub message: String,
    pub fix: Option<String>,
}

impl fmt::Display for RecipeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.recipe)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "; {fix}")?;
        }
        Ok(())
    }
}

/// All problems found in one recipe, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct RecipeErrors(pub Vec<RecipeError>);

impl RecipeErrors {
    pub fn iter(&self) -> impl Iterator<Item = &RecipeError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for RecipeErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for error in &self.0 {
            if !first {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
            first = false;
        }
        Ok(())
    }
}

/// An input value the admin typed that the recipe cannot use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{label}: {message}")]
pub struct InputError {
    /// The input's id in the recipe.
    pub input: String,
    /// The label shown next to the field.
    pub label: String,
    pub message: String,
}

/// Maps byte offsets in a file to 1-based line and column numbers.
pub(super) struct LineIndex<'a> {
    text: &'a str,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        Self { text }
    }

    pub fn locate(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map_or(1, |l| l.chars().count() + 1);
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based() {
        let index = LineIndex::new("a = 1\nbb = 2\n");
        assert_eq!(index.locate(0), (1, 1));
        assert_eq!(index.locate(6), (2, 1));
        assert_eq!(index.locate(9), (2, 4));
    }

    #[test]
    fn display_names_recipe_line_and_fix() {
        let e = RecipeError {
            recipe: "totalview.toml".into(),
            line: Some(12),
            column: Some(3),
            kind: RecipeErrorKind::UnknownPermission,
            message: "Email.Send is not a Microsoft Graph application permission".into(),
            fix: Some("did you mean Mail.Send?".into()),
        };
        assert_eq!(
            e.to_string(),
            "totalview.toml, line 12: Email.Send is not a Microsoft Graph application permission; did you mean Mail.Send?"
        );
    }
}
