//! The vendor hand-off sheet: the vendor's labels and values, the secret expiry dates and
//! the vendor's next steps, as Markdown or plain text.

use std::fmt::Write;

use super::{Handoff, HandoffValue};

fn intro(h: &Handoff) -> String {
    let tenant = match &h.tenant_domain {
        Some(domain) => format!("{domain} (tenant ID {})", h.tenant_id),
        None => format!("tenant ID {}", h.tenant_id),
    };
    format!("Values to give {} for {tenant}, from AppGrant.", h.vendor)
}

fn notices(h: &Handoff) -> Vec<String> {
    let mut out = Vec::new();
    if h.practice {
        out.push(format!(
            "Practice tenant: these values only work with AppGrant's practice tenant, not with {}.",
            h.vendor
        ));
    }
    if h.fields.iter().any(|f| f.hidden) {
        out.push(
            "Secrets are hidden. Reveal and copy them in AppGrant, or export again with secrets included."
                .to_string(),
        );
    } else if h.fields.iter().any(|f| f.secret) {
        out.push(format!(
            "This file contains a client secret. Give it to {} through a secure channel and delete the file afterwards.",
            h.vendor
        ));
    }
    out
}

fn expiry_lines(h: &Handoff) -> Vec<String> {
    h.secrets
        .iter()
        .map(|s| {
            format!(
                "{}: the client secret expires on {}.",
                s.app_name,
                s.expires_on.format("%Y-%m-%d")
            )
        })
        .collect()
}

/// Escapes text so Markdown shows it as written. An `_` inside a word (`MS_GRAPH_CLIENT_ID`)
/// cannot start emphasis in CommonMark, so it stays as it is, readable as plain text.
fn md_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let in_word = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        let escape = match c {
            '_' => !(in_word(i.checked_sub(1)) && in_word(Some(i + 1))),
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '#' | '|' | '~' => true,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

/// A Markdown code span that shows `value` verbatim, whatever backticks it holds.
fn md_code(value: &str) -> String {
    let value: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in value.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if value.starts_with('`') || value.ends_with('`') || value.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{value}{pad}{fence}")
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

pub(super) fn markdown(h: &Handoff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", md_text(&h.title));
    let _ = writeln!(out, "{}\n", md_text(&intro(h)));
    for notice in notices(h) {
        let _ = writeln!(out, "> {}\n", md_text(&notice));
    }
    let _ = writeln!(out, "## Values to enter in {}\n", md_text(&h.vendor));
    for HandoffValue {
        label, value, help, ..
    } in &h.fields
    {
        let _ = writeln!(out, "- **{}**: {}", md_text(label), md_code(value));
        if let Some(help) = help {
            let _ = writeln!(out, "  _{}_", md_text(help));
        }
    }
    let expiries = expiry_lines(h);
    if !expiries.is_empty() {
        let _ = writeln!(out, "\n## Secret expiry\n");
        for line in expiries {
            let _ = writeln!(out, "- {}", md_text(&line));
        }
        let _ = writeln!(
            out,
            "\nRotate each secret in AppGrant before it expires, then give {} the new one.",
            md_text(&h.vendor)
        );
    }
    if !h.next_steps.is_empty() {
        let _ = writeln!(out, "\n## Next steps\n");
        for (i, step) in h.next_steps.iter().enumerate() {
            let _ = writeln!(out, "{}. {}", i + 1, md_text(step));
        }
    }
    out
}

pub(super) fn text(h: &Handoff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", one_line(&h.title));
    let _ = writeln!(out, "{}\n", one_line(&intro(h)));
    for notice in notices(h) {
        let _ = writeln!(out, "NOTE: {notice}\n");
    }
    let _ = writeln!(out, "Values to enter in {}", one_line(&h.vendor));
    for HandoffValue {
        label, value, help, ..
    } in &h.fields
    {
        let _ = writeln!(out, "  {}: {}", one_line(label), one_line(value));
        if let Some(help) = help {
            let _ = writeln!(out, "    ({})", one_line(help));
        }
    }
    let expiries = expiry_lines(h);
    if !expiries.is_empty() {
        let _ = writeln!(out, "\nSecret expiry");
        for line in expiries {
            let _ = writeln!(out, "  {}", one_line(&line));
        }
        let _ = writeln!(
            out,
            "  Rotate each secret in AppGrant before it expires, then give {} the new one.",
            one_line(&h.vendor)
        );
    }
    if !h.next_steps.is_empty() {
        let _ = writeln!(out, "\nNext steps");
        for (i, step) in h.next_steps.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", i + 1, one_line(step));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(md_code("abc"), "`abc`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`x"), "`` `x ``");
    }

    #[test]
    fn markdown_text_is_escaped() {
        assert_eq!(md_text("a_b*c"), "a_b\\*c");
        assert_eq!(md_text("_x MS_GRAPH_*"), "\\_x MS_GRAPH\\_\\*");
        assert_eq!(md_text("line\nbreak"), "line break");
    }
}
