//! Whole-program workloads with `std::alloc::System` as the global allocator
//! (see `benches::whole` for why each allocator has its own binary).

#[global_allocator]
static GLOBAL: std::alloc::System = std::alloc::System;

fn main() -> std::process::ExitCode {
    benches::whole::child::main("system")
}
