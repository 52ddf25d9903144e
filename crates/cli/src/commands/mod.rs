//! One module per group of commands; each adapts arguments, calls core and prints.

pub mod adopt;
pub mod certificate;
pub mod connect;
pub mod connections;
pub mod forget;
pub mod lifecycle;
pub mod recipes;
pub mod record;
