//! Session FSM (being written).
