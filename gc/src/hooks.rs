//! What the outside world sees of collections: per-generation statistics,
//! callbacks at the start and end of each collection, and the debug switch
//! that logs each collection's figures to stderr.
//!
//! # Invariants
//! - Callbacks live in their own thread local (it has a destructor, unlike
//!   the collector state); it is only reached through `try_with`, so a
//!   collection during thread teardown simply skips callbacks.
//! - A callback runs with no borrow of the registry held, so it may add or
//!   remove callbacks (including itself) or call any other API; a nested
//!   collection is a no-op. Its panic is caught and re-raised once the
//!   collection has finished.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use crate::collect::{Panic, keep_first};
use crate::collector::{State, state};

/// Counters for one generation since the thread started.
/// CPython: one entry of `gc.get_stats()`.
///
/// More counters may be added; the struct is `#[non_exhaustive]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct GenerationStats {
    /// Collections of this generation (CPython: `collections`).
    pub collections: usize,
    /// Objects found unreachable and dropped (CPython: `collected`).
    pub collected: usize,
    /// Unreachable objects whose value was dropped but whose memory could
    /// not be freed because handles to them survived the drop (a `Drop`
    /// that moved a handle out of the garbage); the memory goes when those
    /// handles do. CPython: `uncollectable`.
    pub uncollectable: usize,
    /// Wrong `Trace` impls seen (no CPython equivalent): objects whose
    /// hand-written trace named overlapping parts of their value (their
    /// edges were not counted in that collection, which may keep garbage),
    /// and collections abandoned because an `unsafe impl ExactTrace`
    /// reported more references than an object has (nothing is dropped by
    /// such a collection).
    pub trace_errors: usize,
    /// Collections that had an object with a hand-written `Trace` impl
    /// (one that is not [`ExactTrace`](crate::ExactTrace); derived impls
    /// over std types are) among their candidates, and so ran those traces
    /// first and counted in two passes instead of one. Zero for a program
    /// whose traced types are all exact (no CPython equivalent).
    pub inexact: usize,
}

impl GenerationStats {
    pub(crate) const ZERO: GenerationStats = GenerationStats {
        collections: 0,
        collected: 0,
        uncollectable: 0,
        trace_errors: 0,
        inexact: 0,
    };
}

/// Per-generation statistics. CPython: `gc.get_stats()`.
///
/// ```
/// let before = cyclegc::stats()[2].collections;
/// cyclegc::collect();
/// assert_eq!(cyclegc::stats()[2].collections, before + 1);
/// ```
pub fn stats() -> [GenerationStats; 3] {
    let st = state();
    [st.stats[0].get(), st.stats[1].get(), st.stats[2].get()]
}

/// Which end of a collection a callback is told about.
/// CPython: the `phase` argument, `"start"` or `"stop"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Before the collection looks at any object.
    Start,
    /// After it has finished.
    Stop,
}

/// The figures passed to a callback. CPython: the `info` dict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CollectionInfo {
    /// Start or stop.
    pub phase: Phase,
    /// The oldest generation collected (CPython: `generation`).
    pub generation: usize,
    /// Objects examined (the tracked objects of generations
    /// `0..=generation`).
    pub candidates: usize,
    /// Objects found unreachable and dropped; 0 at the start
    /// (CPython: `collected`).
    pub collected: usize,
    /// See [`GenerationStats::uncollectable`]; 0 at the start
    /// (CPython: `uncollectable`).
    pub uncollectable: usize,
    /// Time since the start; zero at the start (CPython 3.13 `duration`).
    pub duration: Duration,
}

/// Identifies a registered callback, for [`remove_callback`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallbackId(u64);

type Callback = Box<dyn FnMut(&CollectionInfo)>;

struct Registry {
    next_id: u64,
    /// A callback is `None` while it runs.
    entries: Vec<(u64, Option<Callback>)>,
}

thread_local! {
    static CALLBACKS: RefCell<Registry> = const { RefCell::new(Registry { next_id: 0, entries: Vec::new() }) };
}

/// Registers a function called at the start and at the end of every
/// collection on this thread. CPython: `gc.callbacks.append(f)`.
///
/// While any callback is registered (or the debug log is on), each
/// collection first counts its candidates by walking their lists, for the
/// start figures.
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// let seen = Rc::new(Cell::new(0));
/// let s = seen.clone();
/// let id = cyclegc::add_callback(move |info| {
///     if info.phase == cyclegc::Phase::Stop {
///         s.set(s.get() + 1);
///     }
/// });
/// cyclegc::collect();
/// assert_eq!(seen.get(), 1);
/// assert!(cyclegc::remove_callback(id));
/// ```
pub fn add_callback<F: FnMut(&CollectionInfo) + 'static>(callback: F) -> CallbackId {
    let id = CALLBACKS.with(|r| {
        let mut r = r.borrow_mut();
        let id = r.next_id;
        r.next_id += 1;
        r.entries.push((id, Some(Box::new(callback))));
        id
    });
    let st = state();
    st.callback_count.set(st.callback_count.get() + 1);
    CallbackId(id)
}

/// Unregisters a callback; returns whether it was registered.
/// CPython: `gc.callbacks.remove(f)`.
pub fn remove_callback(id: CallbackId) -> bool {
    let removed = CALLBACKS
        .try_with(|r| {
            let mut r = r.borrow_mut();
            let index = r.entries.iter().position(|e| e.0 == id.0)?;
            Some(r.entries.remove(index))
        })
        .ok()
        .flatten();
    let found = removed.is_some();
    // The callback (which may own handles) is dropped here, after the
    // registry borrow has ended.
    drop(removed);
    if found {
        let st = state();
        st.callback_count.set(st.callback_count.get() - 1);
    }
    found
}

/// Turns the per-collection log on stderr on or off.
/// CPython: `gc.set_debug(gc.DEBUG_STATS)` / `gc.set_debug(0)`.
pub fn set_debug(enabled: bool) {
    state().debug.set(enabled);
}

/// Whether collections are logged. CPython: `gc.get_debug()`.
pub fn debug() -> bool {
    state().debug.get()
}

/// Logs (when debugging) and runs the callbacks for one phase. The first
/// callback panic is kept in `panic` to be re-raised later.
pub(crate) fn report(st: &State, info: CollectionInfo, panic: &mut Panic) {
    if st.debug.get() {
        log(st, &info);
    }
    if st.callback_count.get() == 0 {
        return;
    }
    let ids: Vec<u64> = CALLBACKS
        .try_with(|r| r.borrow().entries.iter().map(|e| e.0).collect())
        .unwrap_or_default();
    for id in ids {
        let taken = CALLBACKS
            .try_with(|r| {
                r.borrow_mut()
                    .entries
                    .iter_mut()
                    .find(|e| e.0 == id)
                    .and_then(|e| e.1.take())
            })
            .ok()
            .flatten();
        let Some(mut callback) = taken else { continue };
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback(&info))) {
            keep_first(panic, payload);
        }
        let mut leftover = Some(callback);
        let _ = CALLBACKS.try_with(|r| {
            if let Some(entry) = r.borrow_mut().entries.iter_mut().find(|e| e.0 == id) {
                entry.1 = leftover.take();
            }
        });
        // Removed while running: dropped here, outside any borrow. Its
        // captures' `Drop` is user code: caught like the callback's panics.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(leftover))) {
            keep_first(panic, payload);
        }
    }
}

/// Writes one line to stderr, ignoring errors: `eprintln!` panics when the
/// write fails (a closed pipe), and a collection must not unwind from its
/// logging.
pub(crate) fn log_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{args}");
}

fn log(st: &State, info: &CollectionInfo) {
    match info.phase {
        Phase::Start => log_line(format_args!(
            "cyclegc: collecting generation {} ({} candidates); objects in each generation: {} {} {}; frozen: {}",
            info.generation,
            info.candidates,
            st.len(0),
            st.len(1),
            st.len(2),
            st.len(3),
        )),
        Phase::Stop => log_line(format_args!(
            "cyclegc: done generation {}: {} unreachable, {} uncollectable, {:.6}s elapsed",
            info.generation,
            info.collected,
            info.uncollectable,
            info.duration.as_secs_f64(),
        )),
    }
}
