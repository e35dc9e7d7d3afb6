//! The calling thread's heap: a `const`-initialised thread-local pointer, the
//! first-use attach, and the thread-exit hook.
//!
//! The thread-local is a plain `Cell<*const Heap>` with a `const`
//! initialiser and no destructor, so reading it is one `%fs`-relative load,
//! never lazy, never registered for destruction, and valid until the thread
//! is gone, even while other thread-local destructors run. It starts at the
//! static placeholder heap (see `heap.rs`).
//!
//! Thread exit is noticed through a `pthread_key_create` destructor, whose
//! value is the thread's heap: it points the thread back at the placeholder,
//! marks the thread as exiting and abandons the heap. glibc runs key
//! destructors in at most `PTHREAD_DESTRUCTOR_ITERATIONS` (4) rounds, so a
//! heap attached by a later destructor could not count on our destructor
//! running again: once the thread is exiting, each allocation that misses
//! attaches a heap, allocates, and abandons it again at once
//! ([`alloc_attached`]). Slow, but only destructors that run after ours pay.
//!
//! Invariants: the thread-local points at the placeholder or at a heap this
//! thread holds; a heap is registered with the exit key by the thread that
//! holds it; an exiting thread holds no heap between two calls into the
//! allocator. Not compiled under loom, whose models hold heaps explicitly.

use crate::heap::Heap;
use crate::registry::{Registry, publish_once};
use crate::sync::AtomicUsize;
use core::cell::Cell;
use core::ffi::c_void;

/// The allocator's registry of heaps.
pub(crate) static REGISTRY: Registry = Registry::new();

/// The heap of threads that have none: owns nothing, hands out nothing.
static PLACEHOLDER: Heap = Heap::placeholder(&raw const PLACEHOLDER, &raw const REGISTRY);

/// The pthread key whose destructor abandons a thread's heap, plus one
/// (0 while not yet made).
static EXIT_KEY: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static CURRENT: Cell<*const Heap> = const { Cell::new(&raw const PLACEHOLDER) };
    /// Set once our key destructor has run: the thread is exiting.
    static EXITING: Cell<bool> = const { Cell::new(false) };
}

/// The calling thread's heap, or the placeholder.
#[inline(always)]
pub(crate) fn current() -> &'static Heap {
    // SAFETY: CURRENT points at the placeholder or at a heap this thread
    // holds; heaps are never unmapped.
    unsafe { &*CURRENT.with(Cell::get) }
}

/// Whether `heap` is the placeholder.
#[inline(always)]
pub(crate) fn is_placeholder(heap: &Heap) -> bool {
    core::ptr::eq(heap, &PLACEHOLDER)
}

/// Allocates with `alloc` from the calling thread's heap, which it does not
/// have yet: attaches one (adopted or new) and arranges for it to be
/// abandoned at thread exit, or, if the thread is already exiting, abandons
/// it again right after `alloc`. Null when memory runs out.
///
/// # Safety
/// The calling thread must hold no heap (its thread-local says the
/// placeholder).
#[cold]
pub(crate) unsafe fn alloc_attached(alloc: impl FnOnce(&Heap) -> *mut u8) -> *mut u8 {
    let exiting = EXITING.with(Cell::get);
    let Some(heap) = attach(exiting) else {
        return core::ptr::null_mut();
    };
    let block = alloc(heap);
    if exiting {
        CURRENT.with(|c| c.set(&raw const PLACEHOLDER));
        // SAFETY: this thread holds `heap` and no longer points at it.
        unsafe { heap.abandon() };
    }
    block
}

/// Gives the calling thread a heap (adopted or new), registered with the
/// exit key unless the thread is `exiting`. None when memory runs out.
fn attach(exiting: bool) -> Option<&'static Heap> {
    let heap = REGISTRY.attach()?;
    if !exiting && let Some(key) = exit_key() {
        // SAFETY: the key is valid; the value is only passed back to
        // `on_thread_exit`. If glibc cannot store it (it would need memory
        // for keys past the first 32), the heap simply stays with the thread.
        unsafe { libc::pthread_setspecific(key, (heap as *const Heap).cast()) };
    }
    CURRENT.with(|c| c.set(heap));
    Some(heap)
}

/// The exit key, made on first use.
fn exit_key() -> Option<libc::pthread_key_t> {
    let published = publish_once(
        &EXIT_KEY,
        || {
            let mut key: libc::pthread_key_t = 0;
            // SAFETY: plain key creation with a destructor that never unwinds.
            let rc = unsafe { libc::pthread_key_create(&mut key, Some(on_thread_exit)) };
            (rc == 0).then_some(key as usize + 1)
        },
        |lost| {
            // SAFETY: the losing key was never handed out.
            unsafe { libc::pthread_key_delete((lost - 1) as libc::pthread_key_t) };
        },
    )?;
    Some((published - 1) as libc::pthread_key_t)
}

/// The pthread key destructor: the thread is exiting.
extern "C" fn on_thread_exit(heap: *mut c_void) {
    EXITING.with(|e| e.set(true));
    CURRENT.with(|c| c.set(&raw const PLACEHOLDER));
    // SAFETY: the value stored for the key is the heap this thread holds;
    // it no longer points at it, so it will not touch it again.
    unsafe { (*heap.cast::<Heap>()).abandon() };
}
