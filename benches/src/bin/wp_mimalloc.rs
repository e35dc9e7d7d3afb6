//! Whole-program workloads with `mimalloc::MiMalloc` as the global allocator
//! (see `benches::whole` for why each allocator has its own binary).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    benches::whole::child::main("mimalloc")
}
