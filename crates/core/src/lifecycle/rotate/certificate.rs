//! Rotating a certificate AppGrant generated, through the same journaled stages as a secret
//! (see the parent module):
//!
//! 1. **Creating**: a new key pair and self-signed certificate (same subject); its thumbprint
//!    is recorded, then it goes on the app with `addKey`, the proof of possession signed by
//!    the current certificate; its private key goes to the keyring.
//! 2. **Stored** → proved with a client assertion signed by the new key (and the recipe's
//!    probe) → **Overlap**: the connection names the new certificate; the old one works on.
//! 3. **RemovingOld**: `removeKey` of the old certificate (proof signed by the new one), then
//!    its key leaves the keyring; a token with the new certificate shows it still works.
//!
//! A run killed after `addKey` but before the keyring write leaves a certificate whose key is
//! lost: the next run removes it with `removeKey` (signed by the current certificate) and
//! makes another. A vendor's certificate is not rotated here: the vendor sends a new one.

use base64::Engine;
use chrono::Utc;
use serde_json::{json, Value};

use super::{blocking, Rotation, RotationStage, RotationStep, Run};
use crate::apply::{is_certificate, key_credentials};
use crate::certificate::{self, jwt, CertificateMeta, CertificateOrigin, PrivateKeyPem};
use crate::graph::fields::text;
use crate::graph::{ErrorClass, Expect, GraphError};
use crate::lifecycle::error::LifecycleError;
use crate::recipe::Recipe;
use crate::vault::{ConnectedApp, Connection};
use crate::verify::ClientCredential;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Whether the app's credential is a certificate AppGrant can rotate (one it generated).
pub(super) fn rotatable(app: &ConnectedApp) -> bool {
    app.secret.is_none()
        && app
            .certificate
            .as_ref()
            .is_some_and(|c| c.origin == CertificateOrigin::Generated)
}

impl Run<'_> {
    /// The certificate path of `app_to_overlap`: runs the stages up to the overlap.
    pub(super) async fn certificate_to_overlap(
        &self,
        key: &str,
        recipe: Option<&Recipe>,
        days: u32,
        grace_days: u32,
    ) -> Result<(), LifecycleError> {
        loop {
            let (connection, app) = self.app(key).await?;
            let Some(current) = app.certificate.clone().filter(|_| rotatable(&app)) else {
                return Ok(());
            };
            let (rotation, fresh) = match app.rotation.clone().filter(Rotation::active) {
                Some(r) => (r, false),
                None => (
                    self.begin_certificate(&app, current, days, grace_days)
                        .await?,
                    true,
                ),
            };
            match rotation.stage {
                RotationStage::Creating => {
                    self.create_certificate(&connection, &app, rotation, fresh)
                        .await?;
                }
                RotationStage::Stored => {
                    self.prove_certificate(&connection, &app, rotation, recipe)
                        .await?;
                }
                RotationStage::Overlap | RotationStage::RemovingOld | RotationStage::Done => {
                    return Ok(())
                }
            }
        }
    }

    async fn begin_certificate(
        &self,
        app: &ConnectedApp,
        current: CertificateMeta,
        lifetime_days: u32,
        grace_days: u32,
    ) -> Result<Rotation, LifecycleError> {
        let now = Utc::now();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let rotation = Rotation {
            description: super::description_for(&current.subject, &id, now),
            id,
            stage: RotationStage::Creating,
            started_at: now,
            lifetime_days,
            grace_days,
            pending_since: None,
            new_secret: None,
            old_secret: None,
            proved_at: None,
            grace_ends_at: None,
            confirmed_at: None,
            finished_at: None,
            still_works: None,
            new_certificate: None,
            old_certificate: Some(current),
            pending_thumbprint: None,
        };
        self.save_rotation(&app.key, &rotation).await?;
        self.step(
            &app.key,
            RotationStep::Started,
            format!("Rotating the certificate of {}", app.display_name),
        )?;
        Ok(rotation)
    }

    /// The private key and DER of `meta` from the keyring.
    async fn held(
        &self,
        connection: &Connection,
        app: &ConnectedApp,
        meta: &CertificateMeta,
    ) -> Result<Option<(PrivateKeyPem, Vec<u8>)>, LifecycleError> {
        let account =
            certificate::key_account(&connection.tenant_id, &app.app_id, &meta.thumbprint);
        let store = self.ctx.vault.store();
        let key = tokio::task::spawn_blocking(move || store.load(&account))
            .await
            .map_err(|e| LifecycleError::Keyring {
                detail: e.to_string(),
            })?
            .map_err(|e| LifecycleError::Keyring {
                detail: e.to_string(),
            })?;
        let der = B64.decode(&meta.certificate_base64).unwrap_or_default();
        Ok(key.map(|k| (k, der)))
    }

    /// The current certificate's key; without it no proof can be signed.
    async fn signer(
        &self,
        connection: &Connection,
        app: &ConnectedApp,
        meta: &CertificateMeta,
    ) -> Result<(PrivateKeyPem, Vec<u8>), LifecycleError> {
        self.held(connection, app, meta).await?.ok_or_else(|| LifecycleError::Keyring {
            detail: format!(
                "the private key of the certificate {} of \"{}\" is not in this computer's credential store, so no proof of possession can be signed",
                meta.thumbprint, app.display_name
            ),
        })
    }

    async fn key_credentials(&self, app: &ConnectedApp) -> Result<Vec<Value>, LifecycleError> {
        key_credentials(&self.graph(&app.key), &app.object_id)
            .await
            .map_err(|e| graph_error(app, "Reading the certificates", e))
    }

    /// `removeKey`, signed by the certificate `signer` holds; an unknown key is already gone.
    async fn remove_key(
        &self,
        app: &ConnectedApp,
        key_id: &str,
        signer: &(PrivateKeyPem, Vec<u8>),
    ) -> Result<(), LifecycleError> {
        let proof = jwt::proof(&signer.0, &signer.1, &app.object_id, Utc::now()).map_err(|e| {
            LifecycleError::Keyring {
                detail: e.to_string(),
            }
        })?;
        match self
            .graph(&app.key)
            .post(
                &format!("applications/{}/removeKey", app.object_id),
                &json!({ "keyId": key_id, "proof": proof.expose() }),
                Expect::Settled,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.class() == ErrorClass::NotFound => Ok(()),
            Err(e) => Err(graph_error(app, "Removing a certificate", e)),
        }
    }

    async fn create_certificate(
        &self,
        connection: &Connection,
        app: &ConnectedApp,
        mut rotation: Rotation,
        fresh: bool,
    ) -> Result<(), LifecycleError> {
        let key = app.key.as_str();
        let old =
            rotation
                .old_certificate
                .clone()
                .ok_or_else(|| LifecycleError::NothingToFinish {
                    vendor: connection.vendor.clone(),
                })?;
        let signer = self.signer(connection, app, &old).await?;
        if let (false, Some(pending)) = (fresh, rotation.pending_thumbprint.clone()) {
            let creds = self.key_credentials(app).await?;
            if let Some(cred) = creds.iter().find(|c| is_certificate(c, &pending)) {
                let kept = self.recover(connection, app, cred, &pending).await?;
                if let Some(meta) = kept {
                    rotation.new_certificate = Some(meta);
                    rotation.pending_thumbprint = None;
                    rotation.stage = RotationStage::Stored;
                    return self.save_rotation(key, &rotation).await;
                }
                self.step(
                    key,
                    RotationStep::RemovingOrphan,
                    "Removing a new certificate an interrupted rotation never stored",
                )?;
                self.remove_key(app, &text(cred, "keyId"), &signer).await?;
            }
        }
        self.step(
            key,
            RotationStep::CreatingSecret,
            format!(
                "Creating a new certificate for {} ({} days)",
                app.display_name, rotation.lifetime_days
            ),
        )?;
        let (subject, days) = (old.subject.clone(), rotation.lifetime_days);
        let made =
            tokio::task::spawn_blocking(move || certificate::generate::generate(&subject, days))
                .await
                .map_err(|e| LifecycleError::Keyring {
                    detail: e.to_string(),
                })?
                .map_err(|e| LifecycleError::Keyring {
                    detail: e.to_string(),
                })?;
        rotation.pending_thumbprint = Some(made.info.thumbprint.clone());
        self.save_rotation(key, &rotation).await?;
        let proof = jwt::proof(&signer.0, &signer.1, &app.object_id, Utc::now()).map_err(|e| {
            LifecycleError::Keyring {
                detail: e.to_string(),
            }
        })?;
        let body = json!({
            "keyCredential": {
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "key": B64.encode(&made.der),
                "displayName": rotation.description,
            },
            "passwordCredential": null,
            "proof": proof.expose(),
        });
        let added = self
            .graph(key)
            .post(
                &format!("applications/{}/addKey", app.object_id),
                &body,
                Expect::Settled,
            )
            .await
            .map_err(|e| graph_error(app, "Adding the new certificate", e))?
            .unwrap_or_default();
        self.step(
            key,
            RotationStep::SecretCreated,
            "The new certificate is on the app; storing its private key",
        )?;
        let account =
            certificate::key_account(&connection.tenant_id, &app.app_id, &made.info.thumbprint);
        let store = self.ctx.vault.store();
        let private = made.key.clone();
        let stored = tokio::task::spawn_blocking(move || store.save(&account, &private)).await;
        let key_id = text(&added, "keyId");
        if !matches!(stored, Ok(Ok(()))) {
            // A certificate nobody can sign with is a liability: take it off the app again.
            self.remove_key(app, &key_id, &signer).await?;
            rotation.pending_thumbprint = None;
            self.save_rotation(key, &rotation).await?;
            return Err(LifecycleError::Keyring {
                detail: "the new certificate's private key could not be stored".to_string(),
            });
        }
        rotation.new_certificate = Some(CertificateMeta {
            key_id,
            thumbprint: made.info.thumbprint.clone(),
            thumbprint_sha256: made.info.thumbprint_sha256.clone(),
            subject: made.info.subject.clone(),
            not_before: made.info.not_before,
            not_after: made.info.not_after,
            origin: CertificateOrigin::Generated,
            certificate_base64: B64.encode(&made.der),
        });
        rotation.pending_thumbprint = None;
        rotation.stage = RotationStage::Stored;
        self.save_rotation(key, &rotation).await?;
        self.step(
            key,
            RotationStep::Stored,
            "The new certificate's private key is in this computer's credential store",
        )
    }

    /// A certificate an interrupted run put on the app whose key did reach the keyring.
    async fn recover(
        &self,
        connection: &Connection,
        app: &ConnectedApp,
        cred: &Value,
        thumbprint: &str,
    ) -> Result<Option<CertificateMeta>, LifecycleError> {
        let Ok(read) = certificate::import::inspect(
            "the app's certificate",
            &B64.decode(text(cred, "key")).unwrap_or_default(),
        ) else {
            return Ok(None);
        };
        let meta = CertificateMeta {
            key_id: text(cred, "keyId"),
            thumbprint: thumbprint.to_string(),
            thumbprint_sha256: read.info.thumbprint_sha256,
            subject: read.info.subject,
            not_before: read.info.not_before,
            not_after: read.info.not_after,
            origin: CertificateOrigin::Generated,
            certificate_base64: B64.encode(&read.der),
        };
        Ok(self.held(connection, app, &meta).await?.map(|_| meta))
    }

    async fn prove_certificate(
        &self,
        connection: &Connection,
        app: &ConnectedApp,
        mut rotation: Rotation,
        recipe: Option<&Recipe>,
    ) -> Result<(), LifecycleError> {
        let key = app.key.as_str();
        let Some(new) = rotation.new_certificate.clone() else {
            rotation.stage = RotationStage::Creating;
            return self.save_rotation(key, &rotation).await;
        };
        let Some((private, der)) = self.held(connection, app, &new).await? else {
            // The keyring lost it: nobody can sign with it; remove it and make another.
            if let Some(old) = rotation.old_certificate.clone() {
                let signer = self.signer(connection, app, &old).await?;
                self.remove_key(app, &new.key_id, &signer).await?;
            }
            rotation.new_certificate = None;
            rotation.stage = RotationStage::Creating;
            return self.save_rotation(key, &rotation).await;
        };
        self.step(
            key,
            RotationStep::Proving,
            "Proving the new certificate works",
        )?;
        self.prove_then_overlap(
            (connection, app, recipe),
            rotation,
            &ClientCredential::Certificate { key: private, der },
            |a, r| a.certificate = r.new_certificate.clone(),
            "The new certificate works; the old one stays valid during the overlap",
        )
        .await
    }

    /// RemovingOld for a certificate: removeKey (signed by the new certificate), forget the
    /// old key, check the new one still gets a token. Returns whether it does.
    pub(super) async fn finish_certificate(
        &self,
        connection: &Connection,
        app: &ConnectedApp,
        rotation: &Rotation,
    ) -> Result<bool, LifecycleError> {
        let key = app.key.as_str();
        let new = rotation.new_certificate.clone();
        let signer = match &new {
            Some(n) => self.held(connection, app, n).await?,
            None => None,
        };
        if let (Some(old), Some(signer)) = (rotation.old_certificate.clone(), &signer) {
            self.step(
                key,
                RotationStep::RemovingOld,
                format!("Removing the old certificate of {}", app.display_name),
            )?;
            let still_there = self
                .key_credentials(app)
                .await?
                .iter()
                .any(|c| text(c, "keyId") == old.key_id);
            if still_there {
                self.remove_key(app, &old.key_id, signer).await?;
            }
            let account =
                certificate::key_account(&connection.tenant_id, &app.app_id, &old.thumbprint);
            let store = self.ctx.vault.store();
            blocking(move || store.delete(&account).map_err(Into::into)).await?;
            self.step(
                key,
                RotationStep::OldRemoved,
                "The old certificate is gone from the tenant and this computer",
            )?;
        }
        self.step(
            key,
            RotationStep::CheckingNew,
            "Checking the new certificate still works",
        )?;
        let Some((private, der)) = signer else {
            return Ok(false);
        };
        Ok(crate::verify::client_credentials_token_with(
            &self.ctx.http,
            &self.ctx.endpoints,
            &connection.tenant_id,
            self.ctx.policy,
            &app.app_id,
            &ClientCredential::Certificate { key: private, der },
            |_| {},
        )
        .await
        .is_ok())
    }
}

fn graph_error(app: &ConnectedApp, what: &str, e: GraphError) -> LifecycleError {
    if e.class() == ErrorClass::NotFound {
        LifecycleError::AppDeleted {
            app: app.display_name.clone(),
        }
    } else {
        LifecycleError::graph(format!("{what} of {}", app.display_name), e)
    }
}
