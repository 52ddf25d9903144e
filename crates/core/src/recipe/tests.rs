//! Recipe tests: every built-in recipe loads and says what its vendor's guide asks for (with
//! the guide's mistakes corrected), and each kind of bad recipe or input is reported with the
//! recipe, the line and the fix.

use std::collections::BTreeMap;

use super::*;

fn recipe(id: &str) -> Recipe {
    builtin_by_id(id)
        .expect("built-in recipes load")
        .unwrap_or_else(|| panic!("no built-in recipe {id}"))
}

fn names(app: &AppSpec, kind: PermissionKind) -> Vec<&str> {
    app.permissions
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| p.name.as_str())
        .collect()
}

fn secret(app: &AppSpec) -> (&str, u32) {
    assert!(matches!(app.credential, CredentialSpec::Secret { .. }));
    (
        app.credential.description(),
        app.credential.lifetime_months(),
    )
}

fn labels(r: &Recipe) -> Vec<&str> {
    r.handoff.iter().map(|h| h.label.as_str()).collect()
}

#[test]
fn four_builtin_recipes_with_five_apps() {
    let all = builtin().expect("every shipped recipe is valid");
    let ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["tonicdm", "totalview", "docbits", "timetoreply"]);
    assert_eq!(
        all.iter().map(|r| r.apps.len()).sum::<usize>(),
        5,
        "Totalview needs two apps"
    );
    for r in &all {
        assert!(
            !r.next_steps.is_empty(),
            "{} tells the admin what to do next",
            r.id
        );
        assert!(!r.handoff.is_empty(), "{} hands values to the vendor", r.id);
        assert!(
            !r.capabilities().is_empty(),
            "{} explains what it can do",
            r.id
        );
    }
}

#[test]
fn tonicdm_matches_its_guide_with_least_privilege() {
    let r = recipe("tonicdm");
    let app = &r.apps[0];
    assert_eq!(app.display_name, "TonicDM Office 365 Token");
    assert_eq!(app.audience, Audience::SingleTenant);
    assert!(
        app.redirect_uris.is_empty(),
        "the guide says: do not add a redirect URI"
    );
    assert_eq!(
        names(app, PermissionKind::Application),
        [
            "MailboxSettings.ReadWrite",
            "Mail.ReadWrite",
            "User.Read.All"
        ]
    );
    assert!(
        names(app, PermissionKind::Delegated).is_empty(),
        "User.Read is removed"
    );
    assert_eq!(secret(app), ("TonicDM Office365 Secret", 24));
    assert!(app.admin_consent);
    let limit = app
        .limit_mailboxes
        .as_ref()
        .expect("TonicDM asks to limit users");
    assert_eq!(
        limit.permissions,
        ["Mail.ReadWrite", "MailboxSettings.ReadWrite"]
    );
    assert_eq!(
        labels(&r),
        [
            "Application (client) ID",
            "Tenant ID",
            "App Secret",
            "Expiry Date"
        ],
        "TonicDM's own labels"
    );
    let secret_fields: Vec<&str> = r
        .handoff
        .iter()
        .filter(|h| h.secret)
        .map(|h| h.label.as_str())
        .collect();
    assert_eq!(
        secret_fields,
        ["App Secret"],
        "only the secret is hidden until revealed"
    );
    assert!(
        r.corrections
            .iter()
            .any(|c| c.why.contains("Assignment required")),
        "explains why assignment-required does not limit mailboxes"
    );
}

#[test]
fn totalview_has_two_apps_with_the_guides_typos_fixed() {
    let r = recipe("totalview");
    let keys: Vec<&str> = r.apps.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["calendar", "mail"]);
    let calendar = &r.apps[0];
    assert_eq!(calendar.display_name, "Totalview Calendar Synchronization");
    assert_eq!(
        names(calendar, PermissionKind::Application),
        ["Calendars.ReadWrite", "User.Read.All"],
        "Calendars.Read is dropped: ReadWrite covers it"
    );
    let mail = &r.apps[1];
    assert_eq!(mail.display_name, "Totalview E-Mail Sending");
    assert_eq!(
        names(mail, PermissionKind::Application),
        ["Mail.Send"],
        "not Email.Send"
    );
    assert_eq!(mail.permissions[0].risk, Risk::Send);
    for app in &r.apps {
        assert_eq!(app.default_user_read, UserReadPolicy::Remove);
        assert!(names(app, PermissionKind::Delegated).is_empty());
    }
    assert_eq!(r.max_risk(), Risk::Send);
    assert_eq!(r.corrections.len(), 2);
}

#[test]
fn docbits_is_delegated_multi_tenant_with_public_client_flows() {
    let r = recipe("docbits");
    let app = &r.apps[0];
    assert_eq!(app.audience, Audience::MultiTenant);
    assert_eq!(app.audience.sign_in_audience(), "AzureADMultipleOrgs");
    assert!(app.allow_public_client_flows);
    assert!(app.redirect_uris.is_empty());
    assert!(names(app, PermissionKind::Application).is_empty());
    assert_eq!(
        names(app, PermissionKind::Delegated),
        ["User.Read", "Mail.ReadWrite"]
    );
    assert!(app.admin_consent);
    assert!(app.limit_sign_in, "delegated apps offer sign-in limiting");
    assert!(
        app.limit_mailboxes.is_none(),
        "mailbox limiting is for app-only access"
    );
}

#[test]
fn timetoreply_derives_five_redirects_from_the_portal_url() {
    let r = recipe("timetoreply");
    assert_eq!(r.handoff_style, HandoffStyle::Env);
    assert_eq!(r.inputs.len(), 1);
    assert_eq!(r.inputs[0].kind, InputKind::HttpsUrl);
    let app = &r.apps[0];
    assert_eq!(
        app.implicit_grant,
        ImplicitGrant {
            id_tokens: true,
            access_tokens: true
        }
    );
    assert_eq!(
        names(app, PermissionKind::Application),
        ["Mail.ReadBasic.All", "User.Read.All", "Directory.Read.All"]
    );
    assert_eq!(
        names(app, PermissionKind::Delegated),
        ["User.Read", "Mail.ReadBasic", "offline_access"]
    );
    let values = BTreeMap::from([(
        "portal_url".to_string(),
        " https://ttr.contoso.com/ ".to_string(),
    )]);
    let inputs = r.check_inputs(&values).expect("a valid portal URL");
    let uris = app
        .resolve_redirect_uris(&inputs)
        .expect("all inputs known");
    assert_eq!(
        uris.web,
        [
            "https://ttr.contoso.com/account/microsoft/auth",
            "https://ttr.contoso.com/msgraph-auth",
            "https://ttr.contoso.com/msgraph-re-auth",
            "https://ttr.contoso.com/tools/agents/msgraph-store-bulk",
            "https://ttr.contoso.com/msgraph-grant-admin-permission",
        ]
    );
    assert!(labels(&r).iter().all(|l| l.starts_with("MS_GRAPH_")));
    assert_eq!(labels(&r).len(), 7);
}

#[test]
fn portal_url_must_be_https_and_plain() {
    let r = recipe("timetoreply");
    let check = |v: &str| {
        r.check_inputs(&BTreeMap::from([("portal_url".to_string(), v.to_string())]))
            .map_err(|e| e[0].message.clone())
    };
    assert!(check("http://ttr.contoso.com")
        .unwrap_err()
        .contains("https://"));
    assert!(check("ttr.contoso.com")
        .unwrap_err()
        .contains("not a web address"));
    assert!(check("https://ttr.contoso.com/?x=1")
        .unwrap_err()
        .contains("?"));
    assert!(check("").unwrap_err().contains("required"));
    assert!(check("https://user:pw@ttr.contoso.com")
        .unwrap_err()
        .contains("password"));
    let missing = r.check_inputs(&BTreeMap::new()).unwrap_err();
    assert_eq!(missing[0].label, "Your timetoreply portal address");
    let extra = r
        .check_inputs(&BTreeMap::from([
            ("portal_url".to_string(), "https://a.example".to_string()),
            ("colour".to_string(), "blue".to_string()),
        ]))
        .unwrap_err();
    assert!(extra[0].message.contains("does not ask for \"colour\""));
}

// ---- bad recipes ------------------------------------------------------------------------

const GOOD: &str = r#"schema = 1
id = "acme"
vendor = "Acme"
display_name = "Acme mail"
description = "Test recipe"

[[apps]]
key = "main"
display_name = "Acme"
purpose = "Testing"
audience = "single_tenant"
default_user_read = "remove"
admin_consent = true

[apps.permissions]
application = ["Mail.Read"]

[apps.credential]
kind = "secret"
description = "Acme secret"
lifetime_months = 12

[[handoff]]
label = "Client ID"
value = "{apps.main.client_id}"
"#;

/// Parses `GOOD` with one line replaced, and returns the single error it must produce.
fn only_error(from: &str, to: &str) -> RecipeError {
    assert!(GOOD.contains(from), "test setup: {from:?} not in GOOD");
    let text = GOOD.replacen(from, to, 1);
    let errors = parse("acme.toml", &text).expect_err("the change makes the recipe invalid");
    assert_eq!(
        errors.len(),
        1,
        "exactly one problem expected, got: {errors}"
    );
    errors.0.into_iter().next().expect("one error")
}

fn line_of(needle: &str, text: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle present")
        + 1
}

#[test]
fn the_good_example_parses() {
    let r = parse("acme.toml", GOOD).expect("valid");
    assert_eq!(r.apps[0].permissions[0].name, "Mail.Read");
}

#[test]
fn malformed_toml_names_the_line() {
    let e = only_error("vendor = \"Acme\"", "vendor = \"Acme");
    assert_eq!(e.kind, RecipeErrorKind::Syntax);
    assert_eq!(e.recipe, "acme.toml");
    assert_eq!(e.line, Some(3));
    assert!(e.to_string().starts_with("acme.toml, line 3: "), "{e}");
}

#[test]
fn misspelt_key_is_an_error_not_ignored() {
    let e = only_error("admin_consent = true", "admin_concent = true");
    assert_eq!(e.kind, RecipeErrorKind::Syntax);
    assert!(e.message.contains("admin_concent"), "{e}");
    assert!(e.line.is_some());
}

#[test]
fn wrong_type_is_an_error() {
    let e = only_error("lifetime_months = 12", "lifetime_months = \"twelve\"");
    assert_eq!(e.kind, RecipeErrorKind::Syntax);
    assert_eq!(e.line, Some(line_of("lifetime_months", GOOD)));
}

#[test]
fn unknown_permission_suggests_the_real_one() {
    let e = only_error("[\"Mail.Read\"]", "[\"Email.Send\"]");
    assert_eq!(e.kind, RecipeErrorKind::UnknownPermission);
    assert_eq!(e.line, Some(line_of("application =", GOOD)));
    assert_eq!(
        e.to_string(),
        format!(
            "acme.toml, line {}: Email.Send is not a Microsoft Graph application permission; did you mean Mail.Send?",
            line_of("application =", GOOD)
        )
    );
}

#[test]
fn permission_of_the_wrong_kind() {
    let e = only_error("[\"Mail.Read\"]", "[\"offline_access\"]");
    assert_eq!(e.kind, RecipeErrorKind::WrongPermissionKind);
    assert_eq!(
        e.fix.as_deref(),
        Some("move offline_access to the delegated list")
    );
}

#[test]
fn duplicate_permission() {
    let e = only_error("[\"Mail.Read\"]", "[\"Mail.Read\", \"Mail.Read\"]");
    assert_eq!(e.kind, RecipeErrorKind::DuplicatePermission);
    assert!(e.message.contains("listed twice"), "{e}");
}

#[test]
fn read_next_to_readwrite_is_over_asking() {
    let e = only_error("[\"Mail.Read\"]", "[\"Mail.Read\", \"Mail.ReadWrite\"]");
    assert_eq!(e.kind, RecipeErrorKind::Inconsistent);
    assert!(
        e.message.contains("already included in Mail.ReadWrite"),
        "{e}"
    );
}

#[test]
fn application_permissions_need_admin_consent() {
    let e = only_error("admin_consent = true", "admin_consent = false");
    assert_eq!(e.kind, RecipeErrorKind::Inconsistent);
    assert_eq!(e.fix.as_deref(), Some("set admin_consent = true"));
}

#[test]
fn secret_lifetime_must_be_within_what_entra_allows() {
    let e = only_error("lifetime_months = 12", "lifetime_months = 36");
    assert_eq!(e.kind, RecipeErrorKind::InvalidValue);
    assert!(e.fix.as_deref().unwrap_or("").contains("1 to 24"), "{e}");
    let e = only_error("lifetime_months = 12", "lifetime_months = 0");
    assert_eq!(e.kind, RecipeErrorKind::InvalidValue);
}

#[test]
fn certificate_credentials_with_subject_and_source() {
    let r = parse("acme.toml", &GOOD.replace(
        "kind = \"secret\"",
        "kind = \"certificate\"\nsubject = \"CN=Test Connector, O=Vendor\"\ncertificate_source = \"vendor\"",
    ))
    .unwrap();
    let c = &r.apps[0].credential;
    assert!(matches!(
        c,
        CredentialSpec::Certificate { subject: Some(s), source: CertificateSource::Vendor, .. } if s == "CN=Test Connector, O=Vendor"
    ));
    assert_eq!(c.offered(), [CredentialKind::VendorCertificate]);
    assert_eq!(c.subject("ignored"), "CN=Test Connector, O=Vendor");
    // A secret recipe still lets the admin choose a certificate.
    let plain = parse("acme.toml", GOOD).unwrap();
    assert_eq!(
        plain.apps[0].credential.offered()[0],
        CredentialKind::Secret
    );
    assert_eq!(
        plain.apps[0].credential.subject("Main, App"),
        "CN=Main  App"
    );
}

#[test]
fn certificate_mistakes_name_the_line_and_the_fix() {
    let e = only_error("kind = \"secret\"", "kind = \"cert\"");
    assert!(e.message.contains("\"cert\" is not known"), "{e}");
    assert!(
        e.fix
            .as_deref()
            .unwrap_or("")
            .contains("kind = \"certificate\""),
        "{e}"
    );
    let e = only_error(
        "kind = \"secret\"",
        "kind = \"certificate\"\nsubject = \"Vendor\"",
    );
    assert!(e.message.contains("KEY=value"), "{e}");
    assert!(e.line.is_some(), "{e}");
    let e = only_error(
        "kind = \"secret\"",
        "kind = \"certificate\"\ncertificate_source = \"upload\"",
    );
    assert!(
        e.fix.as_deref().unwrap_or("").contains("\"generate\""),
        "{e}"
    );
    let e = only_error("kind = \"secret\"", "kind = \"secret\"\nsubject = \"CN=x\"");
    assert!(e.message.contains("only for kind = \"certificate\""), "{e}");
}

#[test]
fn unknown_handoff_placeholder() {
    let e = only_error("{apps.main.client_id}", "{apps.mian.client_id}");
    assert_eq!(e.kind, RecipeErrorKind::InvalidValue);
    assert!(e.message.contains("{apps.mian.client_id}"), "{e}");
    assert!(
        e.fix.as_deref().unwrap_or("").contains("main"),
        "names the real apps: {e}"
    );
    let e = only_error("{apps.main.client_id}", "{apps.main.password}");
    assert!(e.message.contains("use client_id, secret"), "{e}");
}

#[test]
fn env_style_labels_must_be_variable_names() {
    let e = only_error(
        "description = \"Test recipe\"",
        "description = \"Test recipe\"\nhandoff_style = \"env\"",
    );
    assert!(
        e.message.contains("not an environment variable name"),
        "{e}"
    );
}

#[test]
fn user_read_contradiction() {
    let e = only_error(
        "application = [\"Mail.Read\"]",
        "application = [\"Mail.Read\"]\ndelegated = [\"User.Read\"]",
    );
    assert_eq!(e.kind, RecipeErrorKind::Inconsistent);
    assert!(e.message.contains("default_user_read"), "{e}");
}

#[test]
fn keep_user_read_adds_it() {
    let text = GOOD.replace(
        "default_user_read = \"remove\"",
        "default_user_read = \"keep\"",
    );
    let r = parse("acme.toml", &text).expect("valid");
    assert!(r.apps[0]
        .delegated_permissions()
        .any(|p| p.name == "User.Read"));
}

#[test]
fn mailbox_limit_only_for_mailbox_application_permissions() {
    let text = GOOD.replace(
        "application = [\"Mail.Read\"]",
        "application = [\"Mail.Read\", \"User.Read.All\"]",
    );
    let with_limit = |perms: &str| {
        format!("{text}\n[apps.limit_mailboxes]\npermissions = [{perms}]\nwhy = \"test\"\n")
            .replace(
                "[[handoff]]\nlabel = \"Client ID\"\nvalue = \"{apps.main.client_id}\"\n",
                "",
            )
    };
    parse("acme.toml", &with_limit("\"Mail.Read\"")).expect("Mail.Read can be limited");
    let errors =
        parse("acme.toml", &with_limit("\"User.Read.All\"")).expect_err("not a mailbox permission");
    assert!(
        errors.to_string().contains("does not reach into mailboxes"),
        "{errors}"
    );
    let errors = parse("acme.toml", &with_limit("\"Mail.Send\"")).expect_err("not granted");
    assert!(
        errors
            .to_string()
            .contains("not one of app \"main\"'s application permissions"),
        "{errors}"
    );
}

#[test]
fn redirect_uris_must_be_https_and_inputs_declared() {
    let add = |uris: &str| {
        GOOD.replace(
            "[apps.permissions]",
            &format!("[apps.redirect_uris]\nweb = [{uris}]\n\n[apps.permissions]"),
        )
    };
    parse(
        "acme.toml",
        &add("\"https://acme.example/cb\", \"http://localhost:8400/cb\""),
    )
    .expect("https and loopback are fine");
    let e = parse("acme.toml", &add("\"http://acme.example/cb\"")).expect_err("plain http");
    assert!(e.to_string().contains("must use https://"), "{e}");
    let e = parse("acme.toml", &add("\"{inputs.portal}/cb\"")).expect_err("undeclared input");
    assert!(
        e.to_string()
            .contains("add an [[inputs]] table with id = \"portal\""),
        "{e}"
    );
    let e = parse(
        "acme.toml",
        &add("\"https://a.example/cb\", \"https://a.example/cb\""),
    )
    .expect_err("twice");
    assert!(e.to_string().contains("listed twice"), "{e}");
}

#[test]
fn implicit_grant_needs_a_web_redirect() {
    let e = only_error(
        "[apps.permissions]",
        "[apps.implicit_grant]\nid_tokens = true\n\n[apps.permissions]",
    );
    assert_eq!(e.kind, RecipeErrorKind::Inconsistent);
    assert!(e.message.contains("no web redirect URI"), "{e}");
}

#[test]
fn bad_input_declarations() {
    let with_input = |kind: &str, example: &str| {
        GOOD.replace(
            "[[apps]]",
            &format!("[[inputs]]\nid = \"portal_url\"\nlabel = \"Portal\"\nkind = \"{kind}\"\nexample = \"{example}\"\n\n[[apps]]"),
        )
    };
    parse("acme.toml", &with_input("https_url", "https://ok.example")).expect("valid input");
    let e = parse("acme.toml", &with_input("colour", "red")).expect_err("unknown kind");
    assert!(
        e.to_string().contains("input kind \"colour\" is not known"),
        "{e}"
    );
    let e = parse(
        "acme.toml",
        &with_input("https_url", "http://insecure.example"),
    )
    .expect_err("bad example");
    assert!(
        e.to_string()
            .contains("the example for \"portal_url\" must start with https://"),
        "{e}"
    );
}

#[test]
fn ids_keys_and_schema_are_checked() {
    let e = only_error("id = \"acme\"", "id = \"Acme Corp\"");
    assert!(e.message.contains("not a valid recipe id"), "{e}");
    let e = only_error("schema = 1", "schema = 2");
    assert!(
        e.fix.as_deref().unwrap_or("").contains("update AppGrant"),
        "{e}"
    );
    let e = only_error("audience = \"single_tenant\"", "audience = \"everyone\"");
    assert!(e.message.contains("audience \"everyone\""), "{e}");
}

#[test]
fn no_apps_is_an_error() {
    let text = GOOD.split("[[apps]]").next().unwrap_or_default();
    let e = parse("empty.toml", text).expect_err("no apps");
    assert!(e.to_string().contains("the recipe has no apps"), "{e}");
}

#[test]
fn all_problems_are_reported_at_once_in_file_order() {
    let text = GOOD
        .replace("[\"Mail.Read\"]", "[\"Email.Send\", \"User.Read\"]")
        .replace("lifetime_months = 12", "lifetime_months = 99");
    let errors = parse("acme.toml", &text).expect_err("three problems");
    assert_eq!(errors.len(), 3, "{errors}");
    let lines: Vec<_> = errors.iter().map(|e| e.line).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "errors come in file order");
}
