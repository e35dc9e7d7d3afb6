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
//! **Boxes.** A box is one pymalloc block: the counts (32-bit strong
//! count with two flag bits, 32-bit weak count) directly before the value.
//! Types whose [`Trace::MAY_CONTAIN_GC`] is true (computed by the impls
//! and the derive) get 24 bytes in front of those: the intrusive
//! generation-list links and a vtable pointer (trace, finalize, drop,
//! layout) whose low bits hold the generation and flags; a collection
//! keeps its scratch count `gc_refs` in the `prev` link, as CPython does.
//! That is a 32-byte prefix, like CPython's header with its type pointer.
//! Other types, such as `Gc<u64>` or `Gc<String>`, are *untracked*
//! (CPython untracks atomic objects): no links, no list operations, no
//! collector bookkeeping; they cost what an `Rc` costs (a 16-byte prefix).
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
//! The first two of CPython's passes are fused into one (each pass reads
//! and writes every candidate's box, and traces it), which needs
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
//! boxes freed. The collector pins (one extra strong count) every candidate
//! that user code could otherwise free while the collector still looks at
//! it: all of them when a hand-written trace is to run, otherwise those
//! found unreachable, until their values are dropped. So no user code it
//! runs can free memory under it; it only ever drops *values* of boxes,
//! never frees a box that a handle can reach. A handle to a dropped value
//! reports `None` from [`Gc::try_deref`], panics on deref, and its `Weak`s
//! never upgrade again. Panics in `Drop`, finalizers and callbacks are
//! caught and re-raised after the collection completes; a panicking
//! hand-written `Trace` abandons the collection with every object kept.
//!
//! **Wrong `Trace` impls.** [`Trace`] is a safe trait, and no impl,
//! however wrong, can make the collector drop a value that is still
//! referenced. The collector never counts an edge while user code can run:
//! - Derived impls and the std impls are *exact* ([`ExactTrace`], an
//!   `unsafe` trait the derive writes): the collector traces their values
//!   itself, through code that reports exactly the handles a value owns and
//!   runs nothing else ([`ExactTrace::trace_exact`]).
//! - A hand-written impl is run once per collection (once more among the
//!   garbage if finalizers ran), *before* any count the collector uses is
//!   taken (the fused first pass's counts are thrown away), and only names
//!   parts of its value ([`Tracer::place`]: a
//!   field, or a container holding handles), borrowed for the tracer's
//!   `'a`, that is, reached from `&'a self` without a guard. The collector
//!   then traces those parts itself, through their types' exact traces,
//!   once every hand-written trace has run. So a trace that clones, drops
//!   or moves handles changes what is there to count, never how often a
//!   handle is counted. The lifetime is what keeps each part in place
//!   until then: a trace cannot name something it borrowed from a
//!   `RefCell` (the std impl of `RefCell` holds the borrow for it instead)
//!   or copied out of a `Cell` (that does not compile).
//! - A part that does not lie in the traced value (a leaked handle, another
//!   object's field reached through a `Gc`, an `Rc`'s contents) is not
//!   counted, nor is anything of an object that names overlapping parts
//!   (counted in [`GenerationStats::trace_errors`]). That is a missing edge,
//!   like one the trace forgets: the target looks referenced from outside,
//!   and may leak. It is never freed early.
//!
//! A hand-written impl among the candidates costs a collection a discovery
//! walk and a second counting pass (strong counts, then edges, instead of
//! one fused pass); the derive is the usual way. See [`Trace`] for the
//! rules.
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
//! 2. One pass: set each candidate's `gc_refs` from its strong count,
//!    trace it and count its edges into other candidates. If it met a
//!    candidate with a hand-written `Trace` (which it does not trace), its
//!    counts are thrown away: every candidate is pinned (an extra strong
//!    count, so no user code the collector runs can free it), every such
//!    trace runs to find their parts, and the counting takes two passes
//!    instead, strong counts first, then the edges.
//! 3. One pass: objects with `gc_refs > 0`, and everything they reach, are
//!    reachable; they move up a generation. The rest is tentatively
//!    garbage, pinned.
//! 4. Finalizers run once each; if any ran, passes 2 and 3 are repeated on
//!    the garbage alone, and whatever was resurrected survives.
//! 5. The garbage is marked dropped, its values dropped, its boxes freed
//!    (or kept, value gone, while handles a `Drop` moved out remain).
//!
//! The source's module docs give the details and invariants: `gc.rs` (box
//! layout, counting, release queue), `list.rs` (generation lists, the
//! flag bits, where `gc_refs` lives), `collector.rs` (per-thread state, triggers, freeze),
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
