//! Typed client of the coordinator HTTP API.
