//! Placeholder: the fusion benchmark is written with the engine.
fn main() {}
