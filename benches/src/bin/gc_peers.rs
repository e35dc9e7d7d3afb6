//! `gc_peers <peer> <workload> [--quick] [--param N]`: one GC workload on
//! one peer (`Rc`, `bacon_rajan_cc`, `dumpster`, `gc`) in a fresh process,
//! so that a stack overflow is a recorded result (see
//! `benches::gc_workloads`).

fn main() -> std::process::ExitCode {
    benches::gc_workloads::child::main()
}
