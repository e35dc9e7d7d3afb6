//! Criterion micro-benchmarks: every workload of `benches::micro` is a group,
//! and the four allocators are the functions of each group, so one
//! `cargo bench -p benches` puts system, pymalloc, mimalloc and jemalloc side
//! by side. Each allocator is called through the equal-cost shims of
//! `benches::shim`. Throughput is in allocator operations, so criterion's
//! elements/s compare across groups.
//!
//! Filter as usual, e.g. `cargo bench -p benches -- 'batch_mixed/random'`.

use std::time::Duration;

use benches::micro::Micro;
use benches::report::machine::cores;
use benches::shim::Allocator;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// One group per workload, one function per allocator.
fn allocators(c: &mut Criterion) {
    println!("benches: seed {:#x}", benches::rng::SEED);
    for w in Micro::all(cores()) {
        let mut group = c.benchmark_group(w.name());
        group.throughput(Throughput::Elements(w.ops_per_iter()));
        for a in Allocator::ALL {
            group.bench_function(a.name(), |b| b.iter_custom(|iters| a.run(&w, iters)));
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = allocators
}
criterion_main!(benches);
