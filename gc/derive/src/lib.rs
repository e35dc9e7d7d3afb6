//! `#[derive(Trace)]` for `cyclegc` (arrives with issue 4).
