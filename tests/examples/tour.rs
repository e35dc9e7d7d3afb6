//! A short tour (placeholder until the allocator lands).
#[global_allocator]
static GLOBAL: pymalloc::PyMalloc = pymalloc::PyMalloc;

fn main() {
    let v: Vec<Box<u64>> = (0..1000).map(Box::new).collect();
    println!("{}", v.iter().map(|b| **b).sum::<u64>());
}
