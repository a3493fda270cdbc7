//! Integration tests of the run engine, driven through its library API with no
//! argument parsing.

mod engine;
