//! Wire codec (being written).
