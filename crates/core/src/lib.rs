//! appgrant-core
