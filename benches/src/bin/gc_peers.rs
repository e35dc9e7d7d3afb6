//! `gc_peers <peer> <workload> [--quick] [--param N]`: one GC workload on
//! one peer (`Rc`, `cyclegc`, `bacon_rajan_cc`, `dumpster`, `gc`) in a fresh
//! process with the system allocator as its global allocator, so that a
//! stack overflow is a recorded result (see `benches::gc_workloads`).

fn main() -> std::process::ExitCode {
    benches::gc_workloads::child::main(benches::gc_workloads::SYSTEM_BINARY)
}
