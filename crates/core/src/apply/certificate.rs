//! The certificate step of Apply: put the plan's certificate on the app, as Microsoft
//! documents it (Graph, "Add a certificate to an app"):
//!
//! - while the app has no certificate AppGrant holds the key of, `PATCH /applications/{id}`
//!   with the whole `keyCredentials` collection (PATCH replaces it, so the ones already there
//!   are sent back, read with `$select=keyCredentials`, which returns their `key`);
//! - once it has one, `addKey` with a proof-of-possession JWT signed by that current key.
//!
//! A generated certificate's private key goes from memory straight into the OS keyring. The
//! journal records the thumbprint before the upload, so a run killed between the upload and
//! the keyring write is found by the next run: the certificate whose key was lost is taken
//! off the app (PATCH without it) and a new one made. Nothing secret is ever journaled.

use std::sync::Arc;

use base64::Engine;
use chrono::Utc;
use serde_json::{json, Value};

use super::journal::PendingCertificate;
use super::{failure, ApplyCode, Run, StepFailure};
use crate::certificate::{self, jwt, CertificateMeta, CertificateOrigin, PrivateKeyPem};
use crate::graph::fields::text;
use crate::graph::{Expect, GraphClient, GraphError};
use crate::plan::{AppPlan, CertificatePlan, Step};
use crate::secret::Secret;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Whether the key credential `cred` is the certificate with SHA-1 thumbprint `thumbprint`
/// (upper hex): by `customKeyIdentifier` (hex, or base64 of the 20 bytes) or by its `key`.
pub fn is_certificate(cred: &Value, thumbprint: &str) -> bool {
    let custom = text(cred, "customKeyIdentifier");
    if custom.eq_ignore_ascii_case(thumbprint) {
        return true;
    }
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02X}")).collect::<String>();
    if B64.decode(&custom).is_ok_and(|b| hex(&b) == thumbprint) {
        return true;
    }
    B64.decode(text(cred, "key"))
        .is_ok_and(|der| certificate::thumbprints(&der).0 == thumbprint)
}

/// The app's key credentials with their `key` (read one object with `$select`).
pub async fn key_credentials(
    graph: &GraphClient,
    object_id: &str,
) -> Result<Vec<Value>, GraphError> {
    Ok(graph
        .get_with(
            &format!("applications/{object_id}?$select=keyCredentials"),
            Expect::Replicating,
        )
        .await?
        .get("keyCredentials")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

/// The `keyCredentials` PATCH body: `keep` as they are, plus `add`. Fails (naming the
/// credential) when one to keep came back without its `key`, since PATCH would drop it.
pub fn patch_body(keep: &[Value], add: Option<Value>) -> Result<Value, String> {
    let mut list = Vec::new();
    for c in keep {
        if text(c, "key").is_empty() {
            return Err(format!(
                "Microsoft did not return the certificate \"{}\" ({}) already on the app, and replacing the list would remove it",
                text(c, "displayName"),
                text(c, "keyId")
            ));
        }
        let mut kept = json!({
            "keyId": text(c, "keyId"),
            "type": text(c, "type"),
            "usage": text(c, "usage"),
            "key": text(c, "key"),
        });
        if let Some(name) = c.get("displayName").filter(|v| v.is_string()) {
            kept["displayName"] = name.clone();
        }
        list.push(kept);
    }
    list.extend(add);
    Ok(json!({ "keyCredentials": list }))
}

/// A new key credential for `der`, named `name`, with the id `key_id`.
pub fn new_credential(der: &[u8], name: &str, key_id: &str) -> Value {
    json!({
        "keyId": key_id,
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
        "key": B64.encode(der),
        "displayName": name,
    })
}

/// What is about to go on the app.
struct Prepared {
    der: Vec<u8>,
    key: Option<PrivateKeyPem>,
    info: certificate::CertificateInfo,
}

impl Run<'_> {
    pub(super) async fn certificate(
        &self,
        app: &AppPlan,
        object_id: &str,
        app_id: &str,
        fresh_app: bool,
        step: &Step,
    ) -> Result<(CertificateMeta, Option<String>), StepFailure> {
        let plan = app.certificate.as_ref().ok_or_else(|| StepFailure {
            step: step.id.clone(),
            code: ApplyCode::Graph,
            message: "the plan has no certificate for this app".to_string(),
            hint: "Plan again.".to_string(),
        })?;
        let graph = self.graph_for(step);
        let fail = |e: GraphError| failure(&step.id, &e);
        let tenant = &self.plan.tenant_id;
        let known = self.journal_app(&app.key);
        let mut creds = if fresh_app {
            Vec::new()
        } else {
            key_credentials(&graph, object_id).await.map_err(fail)?
        };

        // The certificate of an earlier run, on the app and (when generated) in the keyring.
        if let Some(meta) = known.certificate.as_ref().filter(|m| wanted(plan, m)) {
            if creds.iter().any(|c| is_certificate(c, &meta.thumbprint))
                && self.holds_key_for(tenant, app_id, meta).await
            {
                return Ok((
                    meta.clone(),
                    Some(
                        "the certificate from the earlier run is on the app and stored".to_string(),
                    ),
                ));
            }
        }
        // An upload whose run died before it was recorded.
        if let Some(pending) = &known.certificate_pending {
            if let Some(cred) = creds
                .iter()
                .find(|c| is_certificate(c, &pending.thumbprint))
            {
                if let Some(meta) = self
                    .recover(plan, cred, tenant, app_id, &pending.thumbprint)
                    .await
                {
                    self.journal_update(|j| {
                        let a = j.app_mut(&app.key);
                        a.certificate = Some(meta.clone());
                        a.certificate_pending = None;
                    })?;
                    return Ok((
                        meta,
                        Some("the certificate an interrupted run added is kept".to_string()),
                    ));
                }
                tracing::info!(app = %app.key, "removing a certificate whose private key an interrupted run never stored");
                creds.retain(|c| !is_certificate(c, &pending.thumbprint));
                self.replace_credentials(&graph, object_id, &creds, None, step)
                    .await?;
            }
        }

        let prepared = self.prepare(plan, step).await?;
        let thumbprint = prepared.info.thumbprint.clone();
        self.journal_update(|j| {
            j.app_mut(&app.key).certificate_pending = Some(PendingCertificate {
                thumbprint: thumbprint.clone(),
                since: Utc::now(),
            });
        })?;
        let name = &app.secret_description;
        let key_id = match self
            .signer(known.certificate.as_ref(), &creds, tenant, app_id)
            .await
        {
            Some((signer_key, signer_der)) => {
                let proof = jwt::proof(&signer_key, &signer_der, object_id, Utc::now())
                    .map_err(|e| key_failure(step, &e.to_string()))?;
                let body = json!({
                    "keyCredential": {
                        "type": "AsymmetricX509Cert",
                        "usage": "Verify",
                        "key": B64.encode(&prepared.der),
                        "displayName": name,
                    },
                    "passwordCredential": null,
                    "proof": proof.expose(),
                });
                let added = graph
                    .create(
                        &format!("applications/{object_id}/addKey"),
                        &body,
                        Expect::Replicating,
                    )
                    .await
                    .map_err(|e| proof_failure(step, e))?;
                added.map(|a| text(&a, "keyId")).unwrap_or_default()
            }
            None => {
                let key_id = uuid::Uuid::new_v4().to_string();
                let add = new_credential(&prepared.der, name, &key_id);
                self.replace_credentials(&graph, object_id, &creds, Some(add), step)
                    .await?;
                key_id
            }
        };

        if let Some(key) = &prepared.key {
            let account = certificate::key_account(tenant, app_id, &thumbprint);
            if let Err(problem) = self.store(&account, key).await {
                // A certificate nobody can sign with is a liability: take it off again.
                let left = key_credentials(&graph, object_id).await.unwrap_or_default();
                let keep: Vec<Value> = left
                    .into_iter()
                    .filter(|c| !is_certificate(c, &thumbprint))
                    .collect();
                let _ = self
                    .replace_credentials(&graph, object_id, &keep, None, step)
                    .await;
                return Err(StepFailure {
                    step: step.id.clone(),
                    code: ApplyCode::KeyringUnavailable,
                    message: format!("The certificate's private key could not be saved in this computer's credential store ({problem}), so the certificate was removed from the app again."),
                    hint: "Unlock or start your system keyring (Windows Credential Manager, macOS Keychain, GNOME Keyring / KWallet), then run Apply again.".to_string(),
                });
            }
        }
        let meta = CertificateMeta {
            key_id,
            thumbprint: thumbprint.clone(),
            thumbprint_sha256: prepared.info.thumbprint_sha256.clone(),
            subject: prepared.info.subject.clone(),
            not_before: prepared.info.not_before,
            not_after: prepared.info.not_after,
            origin: plan.origin,
            certificate_base64: B64.encode(&prepared.der),
        };
        self.journal_update(|j| {
            let a = j.app_mut(&app.key);
            a.certificate = Some(meta.clone());
            a.certificate_pending = None;
        })?;
        let detail = match plan.origin {
            CertificateOrigin::Generated => format!(
                "thumbprint {thumbprint}, expires {}; private key in the credential store",
                meta.not_after.date_naive()
            ),
            CertificateOrigin::Vendor => format!(
                "thumbprint {thumbprint}, expires {}; the vendor holds the private key",
                meta.not_after.date_naive()
            ),
        };
        Ok((meta, Some(detail)))
    }

    /// The certificate to upload: the vendor's, or a new one made off the async threads.
    async fn prepare(&self, plan: &CertificatePlan, step: &Step) -> Result<Prepared, StepFailure> {
        if let Some(v) = &plan.vendor {
            let der = B64
                .decode(&v.der_base64)
                .map_err(|e| key_failure(step, &e.to_string()))?;
            return Ok(Prepared {
                der,
                key: None,
                info: v.info.clone(),
            });
        }
        let (subject, days) = (plan.subject.clone(), plan.days);
        let made =
            tokio::task::spawn_blocking(move || certificate::generate::generate(&subject, days))
                .await
                .map_err(|e| key_failure(step, &e.to_string()))?
                .map_err(|e| key_failure(step, &e.to_string()))?;
        Ok(Prepared {
            der: made.der,
            key: Some(made.key),
            info: made.info,
        })
    }

    /// PATCHes the app's `keyCredentials` to `keep` plus `add`.
    async fn replace_credentials(
        &self,
        graph: &GraphClient,
        object_id: &str,
        keep: &[Value],
        add: Option<Value>,
        step: &Step,
    ) -> Result<(), StepFailure> {
        let body = patch_body(keep, add).map_err(|message| StepFailure {
            step: step.id.clone(),
            code: ApplyCode::Graph,
            message,
            hint: "Remove the old certificate in Entra (App registrations > Certificates & secrets), then run Apply again.".to_string(),
        })?;
        graph
            .patch(
                &format!("applications/{object_id}"),
                &body,
                Expect::Replicating,
            )
            .await
            .map_err(|e| failure(&step.id, &e))
    }

    /// Whether the private key of `meta` is here (always true for a vendor's certificate).
    async fn holds_key_for(&self, tenant: &str, app_id: &str, meta: &CertificateMeta) -> bool {
        meta.origin == CertificateOrigin::Vendor
            || self
                .load(&certificate::key_account(tenant, app_id, &meta.thumbprint))
                .await
                .is_some()
    }

    /// An interrupted upload that can be kept: the vendor certificate the plan wants, or a
    /// generated one whose key did reach the keyring.
    async fn recover(
        &self,
        plan: &CertificatePlan,
        cred: &Value,
        tenant: &str,
        app_id: &str,
        thumbprint: &str,
    ) -> Option<CertificateMeta> {
        let der = B64.decode(text(cred, "key")).ok()?;
        let read = certificate::import::inspect("the app's certificate", &der).ok()?;
        let origin = match &plan.vendor {
            Some(v) if v.info.thumbprint == thumbprint => CertificateOrigin::Vendor,
            None if self
                .load(&certificate::key_account(tenant, app_id, thumbprint))
                .await
                .is_some() =>
            {
                CertificateOrigin::Generated
            }
            _ => return None,
        };
        Some(CertificateMeta {
            key_id: text(cred, "keyId"),
            thumbprint: read.info.thumbprint.clone(),
            thumbprint_sha256: read.info.thumbprint_sha256,
            subject: read.info.subject,
            not_before: read.info.not_before,
            not_after: read.info.not_after,
            origin,
            certificate_base64: B64.encode(&read.der),
        })
    }

    /// A current certificate of the app whose key AppGrant holds: it signs the addKey proof.
    async fn signer(
        &self,
        known: Option<&CertificateMeta>,
        creds: &[Value],
        tenant: &str,
        app_id: &str,
    ) -> Option<(PrivateKeyPem, Vec<u8>)> {
        let meta = known.filter(|m| {
            m.origin == CertificateOrigin::Generated
                && m.not_after > Utc::now()
                && creds.iter().any(|c| is_certificate(c, &m.thumbprint))
        })?;
        let key = self
            .load(&certificate::key_account(tenant, app_id, &meta.thumbprint))
            .await?;
        let der = B64.decode(&meta.certificate_base64).ok()?;
        Some((key, der))
    }

    async fn load(&self, account: &str) -> Option<Secret<String>> {
        let store = Arc::clone(&self.ctx.secrets);
        let account = account.to_string();
        tokio::task::spawn_blocking(move || store.load(&account))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten()
    }

    async fn store(&self, account: &str, key: &PrivateKeyPem) -> Result<(), String> {
        let store = Arc::clone(&self.ctx.secrets);
        let (account, key) = (account.to_string(), key.clone());
        tokio::task::spawn_blocking(move || store.save(&account, &key))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
    }
}

/// Whether the recorded certificate is the one the plan asks for.
fn wanted(plan: &CertificatePlan, meta: &CertificateMeta) -> bool {
    meta.origin == plan.origin
        && plan
            .vendor
            .as_ref()
            .is_none_or(|v| v.info.thumbprint == meta.thumbprint)
}

/// An addKey failure; a refused proof of possession (HTTP 401
/// `Authentication_MissingOrMalformed`) is not an expired sign-in, so it gets its own words.
fn proof_failure(step: &Step, e: GraphError) -> StepFailure {
    if e.code() != Some("Authentication_MissingOrMalformed") {
        return failure(&step.id, &e);
    }
    StepFailure {
        step: step.id.clone(),
        code: ApplyCode::Graph,
        message: format!("Microsoft refused the proof of possession signed with the app's current certificate ({e})."),
        hint: "Check that this computer's clock is right, then run Apply again.".to_string(),
    }
}

fn key_failure(step: &Step, problem: &str) -> StepFailure {
    StepFailure {
        step: step.id.clone(),
        code: ApplyCode::Graph,
        message: format!("The certificate could not be prepared ({problem})."),
        hint: "Run Apply again; if it keeps failing, attach appgrant.log to a support ticket."
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_recognised_by_hex_or_base64_identifier_or_by_key() {
        let cert = certificate::generate::generate("CN=Match", 30).unwrap();
        let t = &cert.info.thumbprint;
        let sha1: Vec<u8> = (0..20)
            .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        assert!(is_certificate(&json!({"customKeyIdentifier": t}), t));
        assert!(is_certificate(
            &json!({"customKeyIdentifier": B64.encode(sha1)}),
            t
        ));
        assert!(is_certificate(&json!({"key": B64.encode(&cert.der)}), t));
        assert!(!is_certificate(
            &json!({"customKeyIdentifier": "00", "key": null}),
            t
        ));
    }

    #[test]
    fn a_patch_keeps_what_is_there_and_refuses_to_drop_an_unreadable_one() {
        let kept = json!({"keyId": "k1", "type": "AsymmetricX509Cert", "usage": "Verify", "key": "QUJD", "displayName": "old", "endDateTime": "2030-01-01T00:00:00Z"});
        let body = patch_body(&[kept], Some(new_credential(b"der", "new", "k2"))).unwrap();
        let list = body["keyCredentials"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["keyId"], "k1");
        assert_eq!(list[0]["key"], "QUJD");
        assert_eq!(list[1]["keyId"], "k2");
        let keyless = json!({"keyId": "k9", "displayName": "hand-made", "key": null});
        let e = patch_body(&[keyless], None).unwrap_err();
        assert!(e.contains("hand-made") && e.contains("k9"), "{e}");
    }
}
