//! Blocks freed by threads other than the one that allocated them:
//! producer/consumer pairs and many-to-many exchanges, checking contents.

use integration::{Rng, check, fill};
use std::alloc::{GlobalAlloc, Layout};
use std::sync::{Mutex, mpsc};
use std::thread;

/// The tests read process-wide statistics: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

#[global_allocator]
static GLOBAL: pymalloc::PyMalloc = pymalloc::PyMalloc;

/// A block in flight between threads.
struct Sent {
    p: usize,
    layout: Layout,
    tag: u64,
}

fn make(rng: &mut Rng, max: usize) -> Sent {
    let layout = Layout::from_size_align(rng.range(1, max), 8).unwrap();
    // SAFETY: non-zero layout; whoever receives it frees it.
    let p = unsafe { GLOBAL.alloc(layout) };
    assert!(!p.is_null());
    let tag = rng.next_u64();
    // SAFETY: the block is ours.
    unsafe { fill(p, layout.size(), tag) };
    Sent {
        p: p.addr(),
        layout,
        tag,
    }
}

fn consume(s: Sent) {
    let p = std::ptr::with_exposed_provenance_mut::<u8>(s.p);
    // SAFETY: the sender gave up the live block.
    unsafe {
        check(p, s.layout.size(), s.tag);
        GLOBAL.dealloc(p, s.layout);
    }
}

#[test]
fn producer_consumer() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = Rng::from_env("producer_consumer");
    let seed = rng.next_u64();
    let before = pymalloc::stats();
    let (tx, rx) = mpsc::sync_channel::<Vec<Sent>>(64);
    let producer = thread::spawn(move || {
        let mut rng = Rng::new(seed);
        for _ in 0..2_000 {
            let batch: Vec<Sent> = (0..200).map(|_| make(&mut rng, 512)).collect();
            tx.send(batch).unwrap();
        }
    });
    let consumer = thread::spawn(move || {
        let mut n = 0;
        for batch in rx {
            n += batch.len();
            batch.into_iter().for_each(consume);
        }
        n
    });
    producer.join().unwrap();
    assert_eq!(consumer.join().unwrap(), 400_000);
    let after = pymalloc::stats();
    // Both threads are gone; everything the producer handed out came back.
    assert!(
        after.small_blocks_in_use <= before.small_blocks_in_use + 64,
        "blocks left in use: before {} after {}",
        before.small_blocks_in_use,
        after.small_blocks_in_use
    );
}

#[test]
fn many_to_many() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const THREADS: usize = 6;
    const ROUNDS: usize = 300;
    let mut rng = Rng::from_env("many_to_many");
    let seeds: Vec<u64> = (0..THREADS).map(|_| rng.next_u64()).collect();
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..THREADS).map(|_| mpsc::channel::<Vec<Sent>>()).unzip();
    let handles: Vec<_> = receivers
        .into_iter()
        .zip(seeds)
        .enumerate()
        .map(|(me, (rx, seed))| {
            let senders = senders.clone();
            thread::spawn(move || {
                let mut rng = Rng::new(seed);
                let mut received = 0;
                for _ in 0..ROUNDS {
                    // Send a batch to a random other thread...
                    let to = (me + 1 + rng.below(THREADS - 1)) % THREADS;
                    let batch: Vec<Sent> = (0..100).map(|_| make(&mut rng, 600)).collect();
                    senders[to].send(batch).unwrap();
                    // ...and free whatever arrived, plus some of our own.
                    while let Ok(batch) = rx.try_recv() {
                        received += batch.len();
                        batch.into_iter().for_each(consume);
                    }
                    let own: Vec<Sent> = (0..20).map(|_| make(&mut rng, 256)).collect();
                    own.into_iter().for_each(consume);
                }
                (rx, received)
            })
        })
        .collect();
    drop(senders);
    let mut total = 0;
    let mut leftovers = Vec::new();
    for h in handles {
        let (rx, received) = h.join().unwrap();
        total += received;
        leftovers.push(rx);
    }
    // Blocks still queued are freed here, by yet another thread: the main one.
    for rx in leftovers {
        for batch in rx.try_iter() {
            total += batch.len();
            batch.into_iter().for_each(consume);
        }
    }
    assert_eq!(total, THREADS * ROUNDS * 100);
}
