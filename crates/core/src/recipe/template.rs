//! Value templates used in recipes: hand-off values (`{apps.main.client_id}`) and redirect
//! URIs derived from inputs (`{inputs.portal_url}/msgraph-auth`).
//!
//! A template is parsed once when the recipe loads, so a misspelt placeholder is a load
//! error with a line number, never a blank field on the Done screen.

use std::fmt;

use serde::Serialize;

/// A value AppGrant knows once the recipe has been applied (or from the admin's inputs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "var", content = "of", rename_all = "snake_case")]
pub enum Var {
    /// The directory (tenant) id.
    TenantId,
    /// The tenant's primary domain, e.g. `contoso.onmicrosoft.com`.
    TenantDomain,
    /// The Application (client) ID of one of the recipe's apps.
    ClientId(String),
    /// The client secret's value. Only rendered when the user asks for it.
    Secret(String),
    /// The client secret's expiry date (YYYY-MM-DD).
    SecretExpiry(String),
    /// The client secret's id (keyId), which some vendors ask for.
    SecretId(String),
    /// One of the recipe's inputs.
    Input(String),
}

impl Var {
    /// Whether rendering this variable reveals a secret.
    pub fn is_secret(&self) -> bool {
        matches!(self, Self::Secret(_))
    }

    fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('.').collect();
        match parts.as_slice() {
            ["tenant_id"] => Ok(Self::TenantId),
            ["tenant_domain"] => Ok(Self::TenantDomain),
            ["inputs", id] => Ok(Self::Input((*id).to_string())),
            ["apps", app, field] => match *field {
                "client_id" => Ok(Self::ClientId((*app).to_string())),
                "secret" => Ok(Self::Secret((*app).to_string())),
                "secret_expiry" => Ok(Self::SecretExpiry((*app).to_string())),
                "secret_id" => Ok(Self::SecretId((*app).to_string())),
                other => Err(format!(
                    "apps.{app}.{other} is not a value AppGrant knows; use client_id, secret, secret_expiry or secret_id"
                )),
            },
            _ => Err(format!(
                "{{{text}}} is not a value AppGrant knows; use {{tenant_id}}, {{tenant_domain}}, {{apps.<key>.client_id}}, {{apps.<key>.secret}}, {{apps.<key>.secret_expiry}}, {{apps.<key>.secret_id}} or {{inputs.<id>}}"
            )),
        }
    }
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TenantId => write!(f, "{{tenant_id}}"),
            Self::TenantDomain => write!(f, "{{tenant_domain}}"),
            Self::ClientId(app) => write!(f, "{{apps.{app}.client_id}}"),
            Self::Secret(app) => write!(f, "{{apps.{app}.secret}}"),
            Self::SecretExpiry(app) => write!(f, "{{apps.{app}.secret_expiry}}"),
            Self::SecretId(app) => write!(f, "{{apps.{app}.secret_id}}"),
            Self::Input(id) => write!(f, "{{inputs.{id}}}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Var(Var),
}

/// A string with `{placeholders}`; `{{` and `}}` stand for literal braces. Serialises as the
/// text written in the recipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    segments: Vec<Segment>,
}

impl Template {
    pub fn parse(source: &str) -> Result<Self, String> {
        let mut segments = Vec::new();
        let mut text = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err(format!("`{{{name}` is missing its closing `}}`"));
                    }
                    if !text.is_empty() {
                        segments.push(Segment::Text(std::mem::take(&mut text)));
                    }
                    segments.push(Segment::Var(Var::parse(name.trim())?));
                }
                '}' => return Err("a lone `}` (write `}}` for a literal brace)".to_string()),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            segments.push(Segment::Text(text));
        }
        Ok(Self {
            source: source.to_string(),
            segments,
        })
    }

    /// The template as written in the recipe.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn vars(&self) -> impl Iterator<Item = &Var> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Var(v) => Some(v),
            Segment::Text(_) => None,
        })
    }

    /// Whether rendering this template reveals a secret.
    pub fn is_secret(&self) -> bool {
        self.vars().any(Var::is_secret)
    }

    /// Fills the placeholders; `lookup` returns `None` for a value not known yet, which is
    /// reported back so the caller can say which one is missing.
    pub fn render(&self, mut lookup: impl FnMut(&Var) -> Option<String>) -> Result<String, Var> {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(t) => out.push_str(t),
                Segment::Var(v) => out.push_str(&lookup(v).ok_or_else(|| v.clone())?),
            }
        }
        Ok(out)
    }
}

impl Serialize for Template {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_placeholders_and_text() {
        let t = Template::parse("{inputs.portal_url}/account/microsoft/auth").unwrap();
        assert_eq!(
            t.vars().collect::<Vec<_>>(),
            vec![&Var::Input("portal_url".into())]
        );
        let rendered = t
            .render(|v| {
                (v == &Var::Input("portal_url".into())).then(|| "https://ttr.contoso.com".into())
            })
            .unwrap();
        assert_eq!(rendered, "https://ttr.contoso.com/account/microsoft/auth");
    }

    #[test]
    fn secrets_are_flagged() {
        assert!(Template::parse("{apps.main.secret}").unwrap().is_secret());
        assert!(!Template::parse("{apps.main.client_id}")
            .unwrap()
            .is_secret());
    }

    #[test]
    fn unknown_placeholders_are_rejected_with_the_allowed_ones() {
        let err = Template::parse("{apps.main.password}").unwrap_err();
        assert!(err.contains("use client_id, secret"), "{err}");
        let err = Template::parse("{tenant}").unwrap_err();
        assert!(err.contains("{tenant_id}"), "{err}");
        let err = Template::parse("{tenant_id").unwrap_err();
        assert!(err.contains("closing"), "{err}");
    }

    #[test]
    fn doubled_braces_are_literal() {
        let t = Template::parse("{{x}}").unwrap();
        assert_eq!(t.render(|_| None).unwrap(), "{x}");
    }

    #[test]
    fn missing_values_are_named() {
        let t = Template::parse("{apps.mail.client_id}").unwrap();
        assert_eq!(t.render(|_| None), Err(Var::ClientId("mail".into())));
    }
}
