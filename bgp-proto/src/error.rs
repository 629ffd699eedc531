//! Decode errors (being written).
