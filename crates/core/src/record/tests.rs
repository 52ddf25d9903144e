use chrono::TimeZone;

use super::*;
use crate::scope::{EntraGrant, Recipient, RecipientKind, RoleAssignmentRef};
use crate::vault::SecretMeta;
use crate::verify::Check;

const APP_ID: &str = "6f4c3a2b-1d0e-4f9a-8b7c-5d6e7f8a9b0c";
const OBJECT_ID: &str = "11111111-2222-4333-8444-555555555555";
const SP_ID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const HOSTILE: &str = "<script>alert(\"x\")</script> | *Evil* & [link](http://evil)";

fn at(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, d, 10, 0, 0).unwrap()
}

fn recipient(id: &str, name: &str) -> Recipient {
    Recipient {
        id: id.into(),
        kind: RecipientKind::Group,
        display_name: name.into(),
        upn_or_mail: Some("connector@contoso.onmicrosoft.com".into()),
        mail: None,
    }
}

fn probe(result: ProbeResult, mailbox: &str) -> Probe {
    Probe {
        mailbox: mailbox.into(),
        what: "reading the inbox".into(),
        result,
        detail: "Microsoft answered as expected.".into(),
    }
}

/// A TonicDM-like connection with every kind of object, one display name hostile.
fn connection(practice: bool) -> Connection {
    Connection {
        id: "c0ffee00-0000-4000-8000-000000000001".into(),
        recipe_id: "tonicdm".into(),
        vendor: "TonicDM".into(),
        tenant_id: "9b2a7e5c-0000-4000-8000-00000000aaaa".into(),
        tenant_domain: Some("contoso.onmicrosoft.com".into()),
        practice,
        apps: vec![ConnectedApp {
            key: "main".into(),
            display_name: HOSTILE.into(),
            app_id: APP_ID.into(),
            object_id: OBJECT_ID.into(),
            service_principal_id: Some(SP_ID.into()),
            secret: Some(SecretMeta {
                key_id: "aaaa0000-1111-4222-8333-444455556666".into(),
                description: "TonicDM Office365 Secret".into(),
                created_at: at(1),
                expires_at: at(1) + chrono::Duration::days(730),
            }),
            rotation: None,
            certificate: None,
        }],
        created_at: at(1),
        verified_at: Some(at(1)),
        mailbox_limits: vec![ScopeState {
            app_key: "main".into(),
            app_id: APP_ID.into(),
            service_principal_id: SP_ID.into(),
            graph_service_principal_id: "graph-sp".into(),
            permissions: vec!["Mail.ReadWrite".into()],
            recipients: vec![recipient("group-1", "Mail Connector Users")],
            scope_id: Some("scope-0001".into()),
            scope_name: "AppGrant TonicDM".into(),
            recipient_filter: "MemberOfGroup -eq 'x'".into(),
            assignments: vec![RoleAssignmentRef {
                permissions: vec!["Mail.ReadWrite".into()],
                role: "Application Mail.ReadWrite".into(),
                role_definition_id: Some("role-def".into()),
                assignment_id: Some("exo-assignment-0001".into()),
            }],
            replaced_entra_grants: vec![EntraGrant {
                permission: "Mail.ReadWrite".into(),
                app_role_id: "e2a3a72e-5f79-4c64-b1b1-878b674786c9".into(),
                assignment_id: None,
            }],
            status: ScopeStatus::Verified {
                applied_at: at(1),
                verified_at: at(1),
                mailboxes: 2,
            },
        }],
        sign_in_limits: vec![SignInLimit {
            app_key: "main".into(),
            service_principal_id: SP_ID.into(),
            recipients: vec![recipient("user-7", "Robin Reader")],
            assignments: vec![("user-7".into(), "signin-assignment-0007".into())],
            applied_at: at(1),
        }],
        created_by: Some(SignedInAdmin {
            user_principal_name: "avery.admin@contoso.onmicrosoft.com".into(),
            display_name: Some("Avery Admin".into()),
            roles: vec!["Global Administrator".into()],
        }),
        grants: vec![GrantRecord {
            app_key: "main".into(),
            kind: PermissionKind::Application,
            permissions: vec!["User.Read.All".into()],
            id: "grant-assignment-0001".into(),
        }],
        last_verify: Some(VerifyRecord {
            at: at(1),
            checks: vec![Check {
                id: "main/token".into(),
                app: "main".into(),
                title: "The app gets a token <with its secret>".into(),
                status: CheckStatus::Passed,
                detail: "Token issued.".into(),
                hint: None,
            }],
        }),
        limit_proofs: vec![LimitProof {
            app_key: "main".into(),
            checked_at: at(1),
            inside: Some(probe(ProbeResult::Allowed, "robin@contoso.onmicrosoft.com")),
            outside: Some(probe(ProbeResult::Refused, "sam@contoso.onmicrosoft.com")),
        }],
        ..Connection::default()
    }
}

fn ids_of(c: &Connection) -> Vec<String> {
    vec![
        APP_ID.into(),
        OBJECT_ID.into(),
        SP_ID.into(),
        c.apps[0].secret.as_ref().unwrap().key_id.clone(),
        "grant-assignment-0001".into(),
        "scope-0001".into(),
        "exo-assignment-0001".into(),
        "signin-assignment-0007".into(),
        c.tenant_id.clone(),
    ]
}

/// Parses the page as XML (it self-closes void elements) and fails on any unbalanced tag.
fn assert_well_formed(html: &str) {
    let body = html
        .strip_prefix("<!DOCTYPE html>\n")
        .expect("starts with the HTML doctype");
    let mut reader = quick_xml::Reader::from_str(body);
    reader.config_mut().check_end_names = true;
    let mut depth = 0i32;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(_)) => depth += 1,
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!(
                "not well-formed at {}: {e}\n{}",
                reader.buffer_position(),
                &body[..(reader.buffer_position() as usize).min(body.len())]
            ),
        }
    }
    assert_eq!(depth, 0, "every element is closed");
}

#[test]
fn every_object_id_is_in_both_formats() {
    let c = connection(false);
    let record = ChangeRecord::build(&c, None, at(4));
    for format in [RecordFormat::Md, RecordFormat::Html] {
        let text = record.render(format);
        for id in ids_of(&c) {
            assert!(
                text.contains(&crate::record::markdown::code(&id))
                    || text.contains(&crate::record::html::esc(&id)),
                "{format:?} names {id}"
            );
        }
        assert!(
            text.contains("Avery Admin"),
            "{format:?} says who signed in"
        );
        assert!(text.contains("Global Administrator"));
        assert!(
            text.contains("2028-11-30"),
            "{format:?} has the secret's expiry"
        );
        assert!(text.contains("Limited to 2 users"), "{format:?}");
        assert!(text.contains("Refused"), "{format:?} shows the proof");
        assert!(text.contains("Grant admin consent for contoso.onmicrosoft.com"));
    }
}

#[test]
fn html_is_well_formed_standalone_and_escapes_hostile_names() {
    let record = ChangeRecord::build(&connection(false), None, at(4));
    let html = record.render(RecordFormat::Html);
    assert_well_formed(&html);
    assert!(
        !html.contains("<script"),
        "no script, not even a hostile one"
    );
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    assert!(html.contains("&lt;with its secret&gt;"));
    assert!(!html.contains("src="), "no external resources");
    assert!(!html.contains("<link"), "styles are inline");
    assert!(html.contains("@media print"), "print styles");
    assert!(
        html.contains("https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Overview/appId/6f4c3a2b"),
        "a real tenant's objects link to the portal"
    );
}

#[test]
fn markdown_escapes_hostile_names_so_tables_hold() {
    let md = ChangeRecord::build(&connection(false), None, at(4)).render(RecordFormat::Md);
    assert!(!md.contains("<script>"));
    assert!(!md.contains("[link](http://evil)"), "no link injected");
    assert!(md.contains("\\<script\\>"));
    let rows = md
        .lines()
        .filter(|l| l.starts_with("| App registration"))
        .collect::<Vec<_>>();
    assert_eq!(rows.len(), 1);
    let unescaped_pipes = rows[0].replace("\\|", "").matches('|').count();
    assert_eq!(unescaped_pipes, 5, "4 columns: {}", rows[0]);
}

#[test]
fn practice_tenant_records_have_no_portal_links_and_old_files_still_render() {
    let mut c = connection(true);
    let record = ChangeRecord::build(&c, None, at(4));
    assert!(record.objects.iter().all(|o| o.link.is_none()));
    assert!(record.cloud.starts_with("Practice tenant"));
    c.created_by = None;
    c.grants.clear();
    c.last_verify = None;
    let html = ChangeRecord::build(&c, None, at(4)).render(RecordFormat::Html);
    assert!(html.contains("Not recorded (this connection was saved by an older AppGrant)"));
    assert!(html.contains("were not read from the tenant"));
    assert!(html.contains("No verification was saved"));

    let old: Connection = serde_json::from_value(serde_json::json!({
        "id": "old", "recipe_id": "tonicdm", "vendor": "TonicDM", "tenant_id": "t",
        "apps": [], "created_at": "2025-01-01T00:00:00Z"
    }))
    .expect("an index file from before the change record loads");
    assert!(old.created_by.is_none() && old.grants.is_empty() && old.last_verify.is_none());
}

#[test]
fn permissions_come_with_meaning_risk_and_how_they_are_granted() {
    let recipe = crate::recipe::builtin_by_id("tonicdm").unwrap().unwrap();
    let record = ChangeRecord::build(&connection(false), Some(&recipe), at(4));
    let mail = record
        .permissions
        .iter()
        .find(|p| p.name == "Mail.ReadWrite")
        .unwrap();
    assert_eq!(mail.status, "Limited to chosen mailboxes (Exchange)");
    assert_eq!(mail.kind, "Application");
    assert_eq!(mail.risk, "write");
    assert!(!mail.meaning.is_empty());
    let users = record
        .permissions
        .iter()
        .find(|p| p.name == "User.Read.All")
        .unwrap();
    assert_eq!(users.status, "Granted for the whole organisation");
    let settings = record
        .permissions
        .iter()
        .find(|p| p.name == "MailboxSettings.ReadWrite")
        .unwrap();
    assert_eq!(settings.status, "Not granted");
}

#[test]
fn formats_and_file_names() {
    assert_eq!(RecordFormat::parse("HTML").unwrap(), RecordFormat::Html);
    assert_eq!(RecordFormat::parse("markdown").unwrap(), RecordFormat::Md);
    let err = RecordFormat::parse("pdf").unwrap_err();
    assert!(err.to_string().contains("pdf") && err.hint().contains("html"));
    let record = ChangeRecord::build(&connection(false), None, at(4));
    assert_eq!(
        record.file_name(RecordFormat::Html, at(4)),
        "appgrant-change-record-tonicdm-contoso.onmicrosoft.com-2026-12-04.html"
    );
}

#[test]
fn a_certificate_is_recorded_with_its_thumbprint_and_place() {
    let mut c = connection(false);
    c.apps[0].secret = None;
    c.apps[0].certificate = Some(crate::certificate::CertificateMeta {
        key_id: "cccc0000-1111-4222-8333-444455556666".into(),
        thumbprint: "0123456789ABCDEF0123456789ABCDEF01234567".into(),
        thumbprint_sha256: "AA".into(),
        subject: "CN=TonicDM Connector".into(),
        not_before: at(1),
        not_after: at(1) + chrono::Duration::days(365),
        origin: crate::certificate::CertificateOrigin::Vendor,
        certificate_base64: String::new(),
    });
    let record = ChangeRecord::build(&c, None, at(4));
    for format in [RecordFormat::Md, RecordFormat::Html] {
        let text = record.render(format);
        assert!(
            text.contains("0123456789ABCDEF0123456789ABCDEF01234567"),
            "{format:?}"
        );
        assert!(
            text.contains("the vendor&#39;s public certificate")
                || text.contains("the vendor's public certificate"),
            "{format:?}"
        );
        assert!(
            text.contains("Certificates"),
            "{format:?} names the portal place"
        );
    }
    assert_well_formed(&record.render(RecordFormat::Html));
}
