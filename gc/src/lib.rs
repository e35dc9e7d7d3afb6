//! `Gc<T>`: reference counting plus CPython's generational cycle collector.
//!
//! Wrap graph-shaped data in [`Gc`] and it behaves like `Rc`: cloning is a
//! count increment and the value is dropped the moment its last handle
//! goes. Cycles, which `Rc` leaks, are found and freed by a collector that
//! works like CPython's `gc` module: one per thread, three generations,
//! automatic thresholds, PEP 442 finalizers, freezing, callbacks and
//! statistics. Boxes are allocated from [`pymalloc`]'s pools, whatever the
//! program's global allocator is.
//!
//! ```
//! use cyclegc::{Gc, Trace};
//! use std::cell::RefCell;
//!
//! #[derive(Trace)]
//! struct Person { name: String, friends: RefCell<Vec<Gc<Person>>> }
//!
//! let ann = Gc::new(Person { name: "Ann".into(), friends: RefCell::default() });
//! let bob = Gc::new(Person { name: "Bob".into(), friends: RefCell::default() });
//! ann.friends.borrow_mut().push(bob.clone());
//! bob.friends.borrow_mut().push(ann.clone());
//! drop((ann, bob));                  // a cycle: reference counting cannot free it
//! assert_eq!(cyclegc::collect(), 2); // the collector does
//! ```
//!
//! # Design
//!
//! **Boxes.** A box is one pymalloc block: a 16-byte header (strong count
//! with two flag bits, weak count) directly before the value, exactly as in
//! `Rc`. Types whose [`Trace::MAY_CONTAIN_GC`] is true (computed by the impls
//! and the derive) get 32 more bytes in front: the intrusive generation-list
//! links, a vtable pointer (trace, finalize, drop, layout) and a word
//! holding the generation, flags and the collector's scratch count
//! `gc_refs`. Other types, such as `Gc<u64>` or `Gc<String>`, are
//! *untracked* (CPython untracks atomic objects): no links, no list
//! operations, no collector bookkeeping; they cost what an `Rc` costs.
//!
//! **Reference counting.** Dropping the last handle of a tracked box
//! unlinks it, runs its finalizer if any, drops the value and frees the
//! memory. A release that would nest inside another (the value being dropped
//! held the last handle of the next one) is pushed onto an intrusive queue
//! threaded through the links instead, so dropping a ten-million-node chain
//! needs no stack. The queue is only touched when a drop would nest.
//!
//! **Collection.** CPython's trial deletion (see [Collection steps](#collection-steps)):
//! copy each candidate's strong count into `gc_refs`, subtract one for every
//! edge reported by tracing the candidates, then everything still above zero
//! is referenced from outside, and everything reachable from it survives.
//! The first two of CPython's passes are fused into one (a collection is
//! bound by memory bandwidth, so passes are what cost), which needs
//! candidates to be recognisable by their generation bits alone. The
//! candidate list itself is the work list (reachable objects found later are
//! appended to it), so traversal never recurses and allocates nothing: one
//! indirect call per object (its vtable's trace), no hashing. Survivors move
//! up a generation; references from older generations count as outside
//! references, so a young collection costs O(young objects) no matter how
//! large the old generations are. Generation sizes are not maintained on the
//! hot paths; [`object_counts`] walks the lists, as CPython's
//! `gc_list_size` does.
//!
//! **Finalization and safety.** Unreachable objects get their
//! [`Trace::finalize`] run once (PEP 442) while everything is intact; if any
//! finalizer ran, reachability is checked again and resurrected objects
//! survive. The rest are marked dropped, their values dropped, and their
//! boxes freed. The collector pins every candidate (one extra strong count)
//! until it is found reachable or its value is dropped, so no user code it
//! runs can free memory under it; it only ever drops *values* of boxes, never frees a box that a handle
//! can reach. A handle to a dropped value reports `None` from
//! [`Gc::try_deref`], panics on deref, and its `Weak`s never upgrade again.
//! Panics in `Drop`, finalizers and callbacks are caught and re-raised after
//! the collection completes; a panicking `Trace` abandons the collection
//! with every object kept.
//!
//! **Wrong `Trace` impls.** [`Trace`] is a safe trait. A missing edge makes
//! the target look externally referenced: it leaks. A handle the value does
//! not own (one in a thread-local, in another object reached through a
//! `Gc`, or leaked) could make an object that is still referenced look
//! unreachable if it were counted, so the collector only counts a handle a
//! hand-written impl reports if it lies in memory the traced object owns:
//! in its value, or in what a std container in it keeps out of line (a
//! `Vec`'s buffer, a `Box`'s value). Any other report is left out, like a
//! missing edge. Before any value is dropped, the garbage is traced once
//! more and checked: every garbage object's handles must be exactly the
//! edges reported into it, each handle reported once, with no handle made
//! or dropped meanwhile. Extra edges that drive a count below zero, a
//! handle traced twice, and traces that differ from one pass to the next
//! or that clone or drop handles all fail that check (or the counting
//! before it): the collection is abandoned with everything kept (counted
//! in [`GenerationStats::trace_errors`]); the final check also requires,
//! at each report, that the target's handle count is the one it had when
//! found unreachable, which catches a clone that lives only while it is
//! reported. **Known limit**: a trace that *moves* an existing handle
//! while it runs (its own, or one taken from outside and put back, through
//! a `Cell` or `RefCell`), so that one handle is reported from two places
//! or from memory it does not stay in, passes both checks and can make the
//! collector drop a value still referenced
//! from outside. That outside handle outlives the drops (safe code cannot
//! destroy a handle while a borrow derived from it lives), so a collection
//! with an inexact object among its candidates that finds a garbage box
//! still referenced after dropping the garbage **aborts the process**,
//! naming the type, before control returns to the caller. The abort comes
//! after the drops, so a `Drop` of other garbage reading the value through
//! a reference taken earlier, or a reference held as a function argument
//! across the collection, is undefined behaviour in that case. A `Drop`
//! that keeps a handle to garbage cannot be told from it and aborts too in
//! such a collection; with exact traces only it is merely counted as
//! `uncollectable` (the handle sees the value as dropped). See [`Trace`]
//! for the rules (trace each owned `Gc` once, where it lives; never
//! trace through a `Gc` into another object; mutate nothing).
//!
//! **Exact traces.** The check above is a second trace of the garbage,
//! about a quarter of a young collection's time. It is skipped when every
//! object the collection examines has an *exact* trace ([`ExactTrace`],
//! an `unsafe` trait): `#[derive(Trace)]` writes it, and the std impls
//! have it, so a derived type whose traced fields are std containers, `Gc`s
//! and other derived types is exact ([`Trace::EXACT`] says; hand-written
//! impls are not unless their author vouches with `unsafe impl`). The
//! collector then traces such a value only through the code written under
//! that `unsafe` ([`ExactTrace::trace_exact`]), never its `Trace::trace`,
//! and that code reports exactly the handles the value owns and runs no
//! other code, so the counts cannot be wrong; a collection that examines
//! one inexact object still checks ([`GenerationStats::checked`] counts
//! those).
//!
//! **Per thread.** Each thread has its own collector state (a const thread
//! local, no locking). `Gc` is `!Send` and `!Sync`. When a thread exits, a
//! final full collection frees its cycles; a second one, after every
//! thread-local has been destroyed, frees those whose last root was a
//! thread-local.
//!
//! ## Collection steps
//! 1. Generations `0..=g` are spliced (O(1)) onto the collector's list,
//!    oldest first.
//! 2. One pass: pin each candidate (an extra strong count, so no user code
//!    the collector runs can free it), set `gc_refs` from its strong count,
//!    trace it and count its edges into other candidates.
//! 3. One pass: objects with `gc_refs > 0`, and everything they reach, are
//!    reachable; they are unpinned and move up a generation. The rest is
//!    tentatively garbage.
//! 4. Finalizers run once each; if any ran, passes 2 and 3 are repeated on
//!    the garbage alone, and whatever was resurrected survives.
//! 5. Unless every candidate's `Trace` is exact ("Exact traces"), the
//!    garbage is traced once more and checked against its counts (see
//!    "Wrong `Trace` impls"). It is marked dropped, its values dropped, its
//!    boxes freed (or kept, value gone, while stray handles remain).
//!
//! The source's module docs give the details and invariants: `gc.rs` (box
//! layout, counting, release queue), `list.rs` (generation lists and the
//! `word` bits), `collector.rs` (per-thread state, triggers, freeze),
//! `collect.rs` (one collection), `trace.rs`, `hooks.rs`, `referents.rs`.
//!
//! # CPython's `gc` module, side by side
//!
//! | `cyclegc` | CPython `gc` |
//! |---|---|
//! | [`collect()`] | `gc.collect()` |
//! | [`collect_generation(n)`](collect_generation) | `gc.collect(n)` |
//! | [`enable()`] / [`disable()`] / [`is_enabled()`] | `gc.enable()` / `gc.disable()` / `gc.isenabled()` |
//! | [`threshold()`] / [`set_threshold(t0, t1, t2)`](set_threshold) | `gc.get_threshold()` / `gc.set_threshold()` |
//! | [`count()`] | `gc.get_count()` |
//! | [`object_counts()`] | `len(gc.get_objects(generation=i))` |
//! | [`stats()`] → [`GenerationStats`] | `gc.get_stats()` (`collections`, `collected`, `uncollectable`) |
//! | [`freeze()`] / [`unfreeze()`] / [`freeze_count()`] | `gc.freeze()` / `gc.unfreeze()` / `gc.get_freeze_count()` |
//! | [`is_tracked(&gc)`](is_tracked) | `gc.is_tracked(obj)` |
//! | [`is_finalized(&gc)`](is_finalized) | `gc.is_finalized(obj)` |
//! | [`referents(&gc)`](referents) | `gc.get_referents(obj)` |
//! | [`add_callback`] / [`remove_callback`] with [`CollectionInfo`] | `gc.callbacks` (phase `"start"`/`"stop"`, `info`) |
//! | [`set_debug(bool)`](set_debug) / [`debug()`] | `gc.set_debug(gc.DEBUG_STATS)` / `gc.get_debug()` |
//! | [`Trace::trace`] | `tp_traverse` |
//! | [`Trace::finalize`], [`Finalize`] | `tp_finalize` (PEP 442) |
//! | [`Trace::MAY_CONTAIN_GC`] | untracking of atomic objects |
//! | `Gc::strong_count` | `sys.getrefcount` |
//! | `Gc::allocation_size` | `sys.getsizeof` |
//!
//! Not provided: `gc.garbage` and `DEBUG_SAVEALL` (nothing is ever
//! uncollectable in the CPython sense: every finalizer runs),
//! `get_referrers` and `get_objects`.

#![warn(missing_docs)]

extern crate self as cyclegc;

mod collect;
mod collector;
mod exact;
mod gc;
mod hooks;
mod list;
mod referents;
mod trace;

pub use collector::{
    collect, collect_generation, count, disable, enable, freeze, freeze_count, is_enabled,
    is_finalized, is_tracked, object_counts, set_threshold, threshold, unfreeze,
};
pub use cyclegc_derive::Trace;
pub use exact::{Exact, ExactTrace};
pub use gc::{Gc, Weak};
pub use hooks::{
    CallbackId, CollectionInfo, GenerationStats, Phase, add_callback, debug, remove_callback,
    set_debug, stats,
};
pub use referents::{AnyGc, referents};
pub use trace::{DynTrace, Finalize, Pass, Trace, Tracer};
