//! Connections vault (being written).
