//! Whole-program workloads with `pymalloc::PyMalloc` as the global allocator
//! (see `benches::whole` for why each allocator has its own binary).

#[global_allocator]
static GLOBAL: pymalloc::PyMalloc = pymalloc::PyMalloc;

fn main() -> std::process::ExitCode {
    benches::whole::child::main("pymalloc")
}
