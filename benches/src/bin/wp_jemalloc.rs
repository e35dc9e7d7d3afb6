//! Whole-program workloads with `tikv_jemallocator::Jemalloc` as the global allocator
//! (see `benches::whole` for why each allocator has its own binary).

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    benches::whole::child::main("jemalloc")
}
