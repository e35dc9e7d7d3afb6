//! `gc_peers_pymalloc cyclegc+pymalloc <workload> [--quick] [--param N]`:
//! `gc_peers` with `pymalloc::PyMalloc` as the global allocator, the setup
//! the project recommends, so that everything a `Gc` holds (the nodes' `Vec`
//! edge buffers) comes from pymalloc too (see `benches::gc_workloads`).

#[global_allocator]
static GLOBAL: pymalloc::PyMalloc = pymalloc::PyMalloc;

fn main() -> std::process::ExitCode {
    benches::gc_workloads::child::main(benches::gc_workloads::PYMALLOC_BINARY)
}
