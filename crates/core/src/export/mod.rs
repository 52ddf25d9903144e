//! Vendor hand-off exports (being written).
