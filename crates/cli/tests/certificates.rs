#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `connect --certificate` and `export-cert`, run as a helpdesk script would run them against
//! the practice tenant. The PFX test needs a real keyring (the key must outlive `connect`):
//! `dbus-run-session -- scripts/with-keyring.sh cargo test -p appgrant-cli -- --ignored`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{json_out, run, TempDir};

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn connect(data: &Path, keyring: bool, recipe: &str, certificate: &str) -> Output {
    run(
        data,
        keyring,
        &[
            "connect",
            recipe,
            "--practice",
            "--yes",
            "--json",
            "--certificate",
            certificate,
        ],
    )
}

#[test]
fn a_generated_certificate_is_listed_with_thumbprint_and_expiry() {
    let data = TempDir::new();
    let o = connect(&data.0, false, "docbits", "generate");
    assert!(o.status.success(), "{}", text(&o));
    let result = json_out(&o);
    assert_eq!(result["verified"], true, "verified with the certificate");
    let cert = &result["connection"]["apps"][0]["certificate"];
    let thumbprint = cert["thumbprint"].as_str().unwrap().to_string();
    assert_eq!(thumbprint.len(), 40);
    assert_eq!(cert["origin"], "generated");
    assert!(
        result["connection"]["apps"][0]["secret"].is_null(),
        "no client secret"
    );

    let list = run(&data.0, false, &["connections"]);
    let listed = text(&list);
    assert!(
        listed.contains(&format!(
            "certificate (made by AppGrant): thumbprint {thumbprint}"
        )),
        "{listed}"
    );
    let rows = json_out(&run(&data.0, false, &["connections", "--json"]));
    assert_eq!(
        rows[0]["apps"][0]["certificate"]["thumbprint"],
        thumbprint.as_str()
    );

    // The in-memory store of the first command is gone: export says where the key should be.
    let id = result["connection"]["id"].as_str().unwrap();
    let o = run(
        &data.0,
        false,
        &["export-cert", id, "--pfx", "-o", data.0.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(8), "{}", text(&o));
    assert!(
        text(&o).contains("not in this computer's credential store"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_vendor_certificate_is_used_and_a_private_key_is_refused() {
    let data = TempDir::new();
    let vendor = appgrant_core::certificate::generate::generate("CN=TonicDM Vendor", 365).unwrap();
    let cert_file = data.0.join("tonicdm.cer");
    std::fs::write(&cert_file, &vendor.der).unwrap();
    let o = connect(&data.0, false, "tonicdm", cert_file.to_str().unwrap());
    assert!(o.status.success(), "{}", text(&o));
    let result = json_out(&o);
    let cert = &result["connection"]["apps"][0]["certificate"];
    assert_eq!(cert["thumbprint"], vendor.info.thumbprint.as_str());
    assert_eq!(cert["origin"], "vendor");
    let steps = result["handoff"]["next_steps"].as_array().unwrap();
    assert!(
        steps[0]
            .as_str()
            .unwrap()
            .contains("nothing secret to hand off"),
        "{steps:?}"
    );
    let id = result["connection"]["id"].as_str().unwrap();
    let o = run(&data.0, false, &["export-cert", id, "--pem"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("The vendor holds the private key"),
        "{}",
        text(&o)
    );

    // A file with the private key in it: refused before anything is created.
    let leaked = data.0.join("leaked.pem");
    std::fs::write(
        &leaked,
        format!("{}{}", vendor.certificate_pem(), vendor.key.expose()),
    )
    .unwrap();
    let o = connect(&data.0, false, "totalview", leaked.to_str().unwrap());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("never send private keys"), "{}", text(&o));
}

#[test]
#[ignore = "touches the real OS keyring; run inside scripts/with-keyring.sh"]
fn an_exported_pfx_opens_in_openssl_with_the_printed_password() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!(
            "SKIPPED: the openssl command is not installed, so the PFX was not opened with it"
        );
        return;
    }
    let data = TempDir::new();
    let o = connect(&data.0, true, "tonicdm", "generate");
    assert!(o.status.success(), "{}", text(&o));
    let result = json_out(&o);
    let id = result["connection"]["id"].as_str().unwrap().to_string();
    let thumbprint = result["connection"]["apps"][0]["certificate"]["thumbprint"]
        .as_str()
        .unwrap()
        .to_string();
    let out_dir = data.0.join("export");
    let o = run(
        &data.0,
        true,
        &[
            "export-cert",
            &id,
            "--pfx",
            "--json",
            "-o",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let written = json_out(&o);
    let pfx = written["paths"][0].as_str().unwrap();
    let password = written["password"].as_str().unwrap();
    let opened = Command::new("openssl")
        .args([
            "pkcs12",
            "-in",
            pfx,
            "-passin",
            &format!("pass:{password}"),
            "-nokeys",
        ])
        .output()
        .unwrap();
    assert!(
        opened.status.success(),
        "{}",
        String::from_utf8_lossy(&opened.stderr)
    );
    let pem = String::from_utf8_lossy(&opened.stdout);
    let inside =
        appgrant_core::certificate::import::inspect("from-pfx.pem", pem.as_bytes()).unwrap();
    assert_eq!(
        inside.info.thumbprint, thumbprint,
        "the PFX holds the app's certificate"
    );
    let o = run(&data.0, true, &["remove", &id, "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
}
