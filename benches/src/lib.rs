//! Benchmarks comparing pymalloc and cyclegc with their peers (arrive with issue 5).
