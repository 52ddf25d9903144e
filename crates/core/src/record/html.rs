//! The change record as one standalone HTML page to keep or print: inline CSS (print styles
//! included: A4, no page break inside a row), no scripts, no external resources, every value
//! escaped. Void elements are self-closed (`<br />`), so the page is also well-formed XML.

use std::fmt::Write;

use super::{ChangeRecord, ObjectRow};

/// Escapes text for HTML element content and quoted attribute values.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #eef1f5; color: #1b1f24; font: 14px/1.5 "Segoe UI", system-ui, -apple-system, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 60rem; margin: 2rem auto; background: #fff; padding: 2.5rem 3rem; border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
header { border-bottom: 3px solid #0f5ea8; padding-bottom: 1rem; margin-bottom: 1.5rem; }
.kicker { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: #0f5ea8; font-weight: 600; margin: 0; }
h1 { font-size: 26px; margin: .2rem 0 .4rem; }
h2 { font-size: 18px; margin: 2rem 0 .6rem; padding-bottom: .2rem; border-bottom: 1px solid #d5dbe3; }
h3 { font-size: 15px; margin: 1.2rem 0 .4rem; }
.lead { margin: 0; color: #4a5562; }
.nosecret { display: inline-block; margin-top: .6rem; padding: .25rem .6rem; border-radius: 4px; background: #e8f4ea; color: #1d5b2a; font-size: 13px; }
table { width: 100%; border-collapse: collapse; margin: .4rem 0 1rem; }
th, td { text-align: left; vertical-align: top; padding: .4rem .55rem; border-bottom: 1px solid #e1e6ec; }
th { background: #f4f6f9; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: #4a5562; }
table.facts th { width: 11rem; text-transform: none; letter-spacing: 0; font-size: 13px; background: none; }
.ids { font-family: "Cascadia Mono", Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; overflow-wrap: anywhere; }
.ids span { display: block; margin-bottom: .3rem; }
.ids b { display: block; font: 600 11px/1.3 "Segoe UI", system-ui, sans-serif; color: #4a5562; }
table.objects td:nth-child(1) { width: 24%; }
table.objects td:nth-child(2) { width: 17%; color: #2d3640; }
table.objects td:nth-child(3) { width: 31%; }
table.objects td:nth-child(4) { width: 28%; }
.place { color: #2d3640; }
.place a { display: inline-block; margin-top: .2rem; color: #0f5ea8; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 3px; font-size: 12px; font-weight: 600; white-space: nowrap; border: 1px solid currentColor; }
.risk-read { color: #1d5b2a; } .risk-write { color: #8a5300; } .risk-send, .risk-directory-wide, .risk-unknown { color: #a11d1d; }
.st-passed { color: #1d5b2a; } .st-warning { color: #8a5300; } .st-failed { color: #a11d1d; } .st-skipped { color: #4a5562; }
.note { color: #4a5562; font-style: italic; }
.nowrap { white-space: nowrap; }
ul { margin: .3rem 0 .8rem; padding-left: 1.3rem; }
footer { margin-top: 2rem; padding-top: .8rem; border-top: 1px solid #d5dbe3; color: #4a5562; font-size: 12px; }
@page { size: A4; margin: 16mm 14mm; }
@media print {
  body { background: #fff; font-size: 10.5pt; }
  main { margin: 0; padding: 0; max-width: none; box-shadow: none; border-radius: 0; }
  h2 { break-after: avoid; }
  h3 { break-after: avoid; }
  tr, li { break-inside: avoid; }
  thead { display: table-header-group; }
  .place a { display: none; }
  thead th { background: #f4f6f9 !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

fn table(
    out: &mut String,
    class: &str,
    head: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) {
    let _ = write!(out, "<table class=\"{class}\"><thead><tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

fn badge(kind: &str, text: &str) -> String {
    let class: String = text
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("<span class=\"badge {kind}-{class}\">{}</span>", esc(text))
}

fn ids(row: &ObjectRow) -> String {
    if row.ids.is_empty() {
        return "—".to_string();
    }
    row.ids
        .iter()
        .map(|(label, id)| format!("<span><b>{}</b> {}</span>", esc(label), esc(id)))
        .collect()
}

fn place(row: &ObjectRow, portal: Option<&str>) -> String {
    let mut cell = format!("<span class=\"place\">{}</span>", esc(&row.place));
    if let (Some(link), Some(portal)) = (&row.link, portal) {
        let _ = write!(
            cell,
            "<br /><a href=\"{}\">Show in the {}</a>",
            esc(link),
            esc(portal)
        );
    }
    cell
}

fn header(out: &mut String, r: &ChangeRecord) {
    let _ = writeln!(
        out,
        "<header><p class=\"kicker\">AppGrant change record</p><h1>{} in {}</h1>\
         <p class=\"lead\">What AppGrant created or changed in your Microsoft tenant, for your change management.</p>\
         <p class=\"nosecret\">Contains no secret: secret values stay in the credential store of the computer that made the connection.</p></header>",
        esc(&r.vendor),
        esc(&r.tenant)
    );
    let mut facts = vec![
        (
            "Tenant",
            format!(
                "{} <span class=\"ids\">{}</span>",
                esc(&r.tenant),
                esc(&r.tenant_id)
            ),
        ),
        ("Microsoft cloud", esc(&r.cloud)),
        ("Signed in as", esc(&r.signed_in)),
        ("Connected", esc(&r.connected_at)),
    ];
    if let Some(v) = &r.verified_at {
        facts.push(("Last verified", esc(v)));
    }
    facts.push(("Record written", esc(&r.generated_at)));
    facts.push((
        "AppGrant connection",
        format!("<span class=\"ids\">{}</span>", esc(&r.connection_id)),
    ));
    out.push_str("<table class=\"facts\"><tbody>\n");
    for (k, v) in facts {
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{v}</td></tr>",
            esc(k)
        );
    }
    out.push_str("</tbody></table>\n");
}

fn objects(out: &mut String, r: &ChangeRecord) {
    out.push_str("<section><h2>Objects AppGrant created or changed</h2>\n");
    let mut apps: Vec<&str> = r.objects.iter().map(|o| o.app.as_str()).collect();
    apps.dedup();
    for app in apps {
        let _ = writeln!(out, "<h3>{}</h3>", esc(app));
        table(
            out,
            "objects",
            &["Object", "What AppGrant did", "Where in the portal", "IDs"],
            r.objects.iter().filter(|o| o.app == app).map(|o| {
                vec![
                    esc(&o.object),
                    esc(&o.action),
                    place(o, r.portal_name.as_deref()),
                    format!("<div class=\"ids\">{}</div>", ids(o)),
                ]
            }),
        );
    }
    if let Some(note) = &r.grants_note {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", esc(note));
    }
    out.push_str("</section>\n");
}

fn permissions(out: &mut String, r: &ChangeRecord) {
    out.push_str("<section><h2>Permissions granted</h2>\n");
    table(
        out,
        "permissions",
        &["App", "Permission", "Type", "What it allows", "Risk", "Now"],
        r.permissions.iter().map(|p| {
            vec![
                esc(&p.app),
                format!("<strong>{}</strong>", esc(&p.name)),
                esc(&p.kind),
                esc(&p.meaning),
                badge("risk", &p.risk),
                esc(&p.status),
            ]
        }),
    );
    out.push_str("</section>\n");
}

fn checks(out: &mut String, r: &ChangeRecord) {
    out.push_str("<section>");
    match &r.checks_at {
        Some(at) => {
            let _ = writeln!(out, "<h2>Verification <small>({})</small></h2>", esc(at));
            table(
                out,
                "checks",
                &["Result", "Check", "Details"],
                r.checks
                    .iter()
                    .map(|c| vec![badge("st", &c.status), esc(&c.title), esc(&c.detail)]),
            );
        }
        None => out.push_str("<h2>Verification</h2><p class=\"note\">No verification was saved with this connection. Use Check now in AppGrant.</p>"),
    }
    out.push_str("</section>\n");
}

fn list(out: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = write!(out, "<p>{}</p><ul>", esc(title));
    for item in items {
        let _ = write!(out, "<li>{}</li>", esc(item));
    }
    out.push_str("</ul>\n");
}

fn limits(out: &mut String, r: &ChangeRecord) {
    out.push_str("<section><h2>Mailbox and sign-in limits</h2>\n");
    if r.limits.is_empty() {
        out.push_str("<p>None: the permissions above apply to the whole organisation.</p>\n");
    }
    for l in &r.limits {
        let _ = writeln!(
            out,
            "<h3>{}: {}</h3><p><strong>{}</strong></p>",
            esc(&l.kind),
            esc(&l.app),
            esc(&l.headline)
        );
        list(out, "People and groups:", &l.people);
        list(out, "Proof:", &l.proof);
    }
    out.push_str("</section>\n");
}

fn secrets(out: &mut String, r: &ChangeRecord) {
    out.push_str("<section><h2>Secret expiry</h2>\n");
    if r.secrets.is_empty() {
        out.push_str("<p>No client secret.</p></section>\n");
        return;
    }
    table(
        out,
        "secrets",
        &["App", "Secret", "Secret ID", "Created", "Expires", "Due"],
        r.secrets.iter().map(|s| {
            vec![
                esc(&s.app),
                esc(&s.description),
                format!("<span class=\"ids\">{}</span>", esc(&s.key_id)),
                format!("<span class=\"nowrap\">{}</span>", esc(&s.created)),
                format!("<strong class=\"nowrap\">{}</strong>", esc(&s.expires)),
                format!("<span class=\"nowrap\">{}</span>", esc(&s.due)),
            ]
        }),
    );
    out.push_str("<p>Rotate each secret in AppGrant before it expires, then give the vendor the new value.</p></section>\n");
}

pub(super) fn render(r: &ChangeRecord) -> String {
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n");
    let _ = writeln!(
        out,
        "<title>Change record: {} in {}</title>",
        esc(&r.vendor),
        esc(&r.tenant)
    );
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>\n<main>");
    header(&mut out, r);
    objects(&mut out, r);
    permissions(&mut out, r);
    checks(&mut out, r);
    limits(&mut out, r);
    secrets(&mut out, r);
    let _ = writeln!(
        out,
        "<footer>Written by AppGrant on {}. Ids are as Microsoft Entra shows them; search for them in the portal to find each object.</footer>\n</main>\n</body>\n</html>",
        esc(&r.generated_at)
    );
    out
}
