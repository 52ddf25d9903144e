//! The change record as Markdown: headings and tables that read well as plain text and in any
//! Markdown viewer. Every value is escaped, so a display name cannot break a table or add a
//! link.

use std::fmt::Write;

use super::{ChangeRecord, ObjectRow};

/// Escapes text for a Markdown table cell or paragraph.
pub(super) fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// An id as a code span (copyable, no escapes inside), unless it could break out of one.
pub(super) fn code(id: &str) -> String {
    if id.is_empty() || id.chars().any(|c| c == '`' || c == '|' || c.is_control()) {
        md(id)
    } else {
        format!("`{id}`")
    }
}

fn table(out: &mut String, head: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(head.len()));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

fn ids(row: &ObjectRow) -> String {
    if row.ids.is_empty() {
        return "—".to_string();
    }
    row.ids
        .iter()
        .map(|(label, id)| format!("{}: {}", md(label), code(id)))
        .collect::<Vec<_>>()
        .join("<br>")
}

fn place(row: &ObjectRow, portal: Option<&str>) -> String {
    match (&row.link, portal) {
        (Some(link), Some(portal)) => {
            format!("{} ([Show in the {portal}](<{link}>))", md(&row.place))
        }
        _ => md(&row.place),
    }
}

fn header(out: &mut String, r: &ChangeRecord) {
    let _ = writeln!(
        out,
        "# Change record: {} in {}\n",
        md(&r.vendor),
        md(&r.tenant)
    );
    out.push_str("> What AppGrant created or changed in your Microsoft tenant, for your change management. It contains no secret: secret values stay in the credential store of the computer that made the connection.\n\n");
    let mut facts = vec![
        vec![
            "Tenant".into(),
            format!("{} ({})", md(&r.tenant), code(&r.tenant_id)),
        ],
        vec!["Microsoft cloud".into(), md(&r.cloud)],
        vec!["Signed in as".into(), md(&r.signed_in)],
        vec!["Connected".into(), md(&r.connected_at)],
    ];
    if let Some(v) = &r.verified_at {
        facts.push(vec!["Last verified".into(), md(v)]);
    }
    facts.push(vec!["Record written".into(), md(&r.generated_at)]);
    facts.push(vec!["AppGrant connection".into(), code(&r.connection_id)]);
    table(out, &["", ""], facts);
}

fn objects(out: &mut String, r: &ChangeRecord) {
    out.push_str("## Objects AppGrant created or changed\n\n");
    let mut apps: Vec<&str> = r.objects.iter().map(|o| o.app.as_str()).collect();
    apps.dedup();
    for app in apps {
        let _ = writeln!(out, "### {}\n", md(app));
        table(
            out,
            &["Object", "What AppGrant did", "Where in the portal", "IDs"],
            r.objects.iter().filter(|o| o.app == app).map(|o| {
                vec![
                    md(&o.object),
                    md(&o.action),
                    place(o, r.portal_name.as_deref()),
                    ids(o),
                ]
            }),
        );
    }
    if let Some(note) = &r.grants_note {
        let _ = writeln!(out, "_{}_\n", md(note));
    }
}

fn permissions(out: &mut String, r: &ChangeRecord) {
    out.push_str("## Permissions granted\n\n");
    table(
        out,
        &["App", "Permission", "Type", "What it allows", "Risk", "Now"],
        r.permissions.iter().map(|p| {
            vec![
                md(&p.app),
                md(&p.name),
                md(&p.kind),
                md(&p.meaning),
                md(&p.risk),
                md(&p.status),
            ]
        }),
    );
}

fn checks(out: &mut String, r: &ChangeRecord) {
    match &r.checks_at {
        Some(at) => {
            let _ = writeln!(out, "## Verification ({})\n", md(at));
            table(
                out,
                &["Result", "Check", "Details"],
                r.checks
                    .iter()
                    .map(|c| vec![md(&c.status), md(&c.title), md(&c.detail)]),
            );
        }
        None => out.push_str("## Verification\n\nNo verification was saved with this connection. Use Check now in AppGrant.\n\n"),
    }
}

fn limits(out: &mut String, r: &ChangeRecord) {
    out.push_str("## Mailbox and sign-in limits\n\n");
    if r.limits.is_empty() {
        out.push_str("None: the permissions above apply to the whole organisation.\n\n");
    }
    for l in &r.limits {
        let _ = writeln!(out, "### {}: {}\n", md(&l.kind), md(&l.app));
        let _ = writeln!(out, "{}\n", md(&l.headline));
        if !l.people.is_empty() {
            out.push_str("People and groups:\n\n");
            for p in &l.people {
                let _ = writeln!(out, "- {}", md(p));
            }
            out.push('\n');
        }
        if !l.proof.is_empty() {
            out.push_str("Proof:\n\n");
            for p in &l.proof {
                let _ = writeln!(out, "- {}", md(p));
            }
            out.push('\n');
        }
    }
}

fn secrets(out: &mut String, r: &ChangeRecord) {
    out.push_str("## Secret expiry\n\n");
    if r.secrets.is_empty() {
        out.push_str("No client secret.\n\n");
        return;
    }
    table(
        out,
        &["App", "Secret", "Secret ID", "Created", "Expires", "Due"],
        r.secrets.iter().map(|s| {
            vec![
                md(&s.app),
                md(&s.description),
                code(&s.key_id),
                md(&s.created),
                md(&s.expires),
                md(&s.due),
            ]
        }),
    );
    out.push_str(
        "Rotate each secret in AppGrant before it expires, then give the vendor the new value.\n",
    );
}

pub(super) fn render(r: &ChangeRecord) -> String {
    let mut out = String::new();
    header(&mut out, r);
    objects(&mut out, r);
    permissions(&mut out, r);
    checks(&mut out, r);
    limits(&mut out, r);
    secrets(&mut out, r);
    out
}
