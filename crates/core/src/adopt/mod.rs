//! Day one in a tenant with history: the vendor apps someone made by hand, found, adopted and
//! brought back to the recipe, and every app registration's secrets and certificates in one
//! expiry report.
//!
//! - [`read`]: every app registration, read in pages of 999 with `$select`, with progress.
//! - [`find`]: which recipe each app looks like (confidence and the reason in words), and the
//!   apps that match none but hold high-risk Graph permissions.
//! - [`take`]: adopting an app as a saved connection (no new objects), and the settings drift
//!   the lifecycle check does not cover ("assignment required" used as a mailbox limit).
//! - [`report`]: the tenant-wide expiry report, as rows, CSV or JSON.
//!
//! Everything here reads with the signed-in admin's delegated token; only [`take`] writes.

mod error;
pub mod find;
pub mod read;
pub mod report;
pub mod take;

pub use error::{AdoptCode, AdoptError};
pub use find::{find, Confidence, Findings, RiskyApp, VendorMatch};
pub use read::{
    read_apps, Credential, CredentialKind, Permission, PermissionNames, ReadProgress, TenantApp,
};
pub use report::{expiry_rows, read_owners, to_csv, ExpiryRow};
pub use take::{
    adopt, drift_plan, fix_drift, fix_settings, AdoptRequest, Area, DriftPlan, DriftStep,
    APP_MANAGER_ROLES,
};
