//! loom models of pymalloc's concurrent protocols (arrive with issue 3). Compiles to nothing without `--cfg loom`.
