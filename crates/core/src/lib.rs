//! appgrant-core: everything in AppGrant that is not UI.
//!
//! Data flows left to right: a [`recipe::Recipe`] (what a vendor needs, validated against the
//! [`catalog`] of Microsoft Graph permissions) becomes a plan, is applied to the tenant,
//! verified, and saved as a connection. The desktop shell and the CLI are thin adapters over
//! this crate; it knows nothing of windows or terminals.

pub mod adopt;
pub mod apply;
pub mod catalog;
pub mod certificate;
pub mod cloud;
pub mod connect;
mod data_file;
pub mod export;
pub mod flow;
pub mod graph;
pub mod identity;
pub mod lifecycle;
pub mod lockdown;
pub mod panic_hook;
pub mod plan;
pub mod portal;
pub mod practice;
pub mod recipe;
pub mod record;
pub mod reminder;
pub mod scope;
pub mod secret;
pub mod settings;
pub mod vault;
pub mod verify;
