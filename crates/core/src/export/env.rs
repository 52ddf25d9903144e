//! `.env` files: one `NAME=value` line per hand-off field.
//!
//! Quoting follows what dotenv loaders (phpdotenv, python-dotenv, Node's dotenv, Docker
//! Compose) and a POSIX shell's `.` all read the same way:
//! - values of only `A-Z a-z 0-9 _ - . : / + @ % , =` are written bare (no `~`, which a
//!   shell would expand);
//! - otherwise, single quotes (taken literally by all of them) when the value has no `'`;
//! - otherwise double quotes, with `\`, `"`, `$` and `` ` `` escaped by a backslash.
//!
//! Control characters (line breaks included) never reach the file: such a value is refused.

use std::fmt::Write;

use super::{ExportError, Handoff};

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_bare_safe(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '-' | '.' | ':' | '/' | '+' | '@' | '%' | ',' | '=')
}

/// The value as it appears after `NAME=`.
pub(super) fn quote(value: &str) -> Option<String> {
    if value.chars().any(char::is_control) {
        return None;
    }
    if !value.is_empty() && value.chars().all(is_bare_safe) {
        return Some(value.to_string());
    }
    if !value.contains('\'') {
        return Some(format!("'{value}'"));
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Some(out)
}

fn comment(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

pub(super) fn render(h: &Handoff) -> Result<String, ExportError> {
    let mut out = String::new();
    let _ = writeln!(out, "# {}", comment(&h.title));
    let tenant = match &h.tenant_domain {
        Some(domain) => format!("{domain} ({})", h.tenant_id),
        None => h.tenant_id.clone(),
    };
    let _ = writeln!(
        out,
        "# Values for {} in tenant {}, from AppGrant.",
        comment(&h.vendor),
        comment(&tenant)
    );
    if h.practice {
        let _ = writeln!(
            out,
            "# Practice tenant: these values only work with AppGrant's practice tenant."
        );
    }
    for s in &h.secrets {
        let _ = writeln!(
            out,
            "# The client secret of {} expires on {}: rotate it in AppGrant before then.",
            comment(&s.app_name),
            s.expires_on.format("%Y-%m-%d")
        );
    }
    for field in &h.fields {
        if !is_env_name(&field.label) {
            return Err(ExportError::NotEnvName {
                label: field.label.clone(),
            });
        }
        if field.hidden {
            let _ = writeln!(
                out,
                "# {} is not included: reveal it in AppGrant and add it here.",
                field.label
            );
            let _ = writeln!(out, "# {}=", field.label);
            continue;
        }
        let value = quote(&field.value).ok_or_else(|| {
            ExportError::Encode(format!(
                "the value of {} contains a line break or control character",
                field.label
            ))
        })?;
        let _ = writeln!(out, "{}={value}", field.label);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_env_names() {
        assert!(is_env_name("MS_GRAPH_CLIENT_ID"));
        assert!(is_env_name("_x1"));
        assert!(!is_env_name("1X"));
        assert!(!is_env_name("Tenant ID"));
        assert!(!is_env_name(""));
    }

    #[test]
    fn values_are_quoted_only_when_needed() {
        assert_eq!(
            quote("https://ttr.contoso.com/msgraph-auth").unwrap(),
            "https://ttr.contoso.com/msgraph-auth"
        );
        assert_eq!(quote("Ab8Q~x.y_z-1").unwrap(), "'Ab8Q~x.y_z-1'");
        assert_eq!(quote("7d1c-42").unwrap(), "7d1c-42");
        assert_eq!(quote("a b$c").unwrap(), "'a b$c'");
        assert_eq!(quote("it's $x").unwrap(), "\"it's \\$x\"");
        assert_eq!(quote("").unwrap(), "''");
        assert_eq!(quote("a\nb"), None);
    }
}
