//! `Gc<T>` and `Weak<T>`: the box layout, reference counting, and the release
//! path (including the queue that keeps long chains from recursing).
//!
//! # Box layout
//! Every box is one block from [`pymalloc::PyMalloc`]:
//!
//! ```text
//! tracked   (T may hold a Gc): [pad][Links: next prev vtable+flags][Header: strong weak][T]
//! untracked (T cannot):                        [pad][layout][Header: strong weak][T]
//! ```
//!
//! `Links` is 24 bytes (`list.rs`: the flags live in the low bits of the
//! vtable pointer, and a collection keeps its scratch count in `prev`, as
//! CPython does) and `Header` 8 (two `u32` counts), so the header always
//! sits 8 bytes and the links 32 bytes before the value, which is
//! CPython's 32-byte header with its type pointer; a handle stores only
//! the value pointer (fat for unsized `T`) and finds the rest by
//! subtraction. An untracked box is the size of an `RcBox`: its `layout`
//! word sits where a tracked box has its vtable pointer, and its low bits
//! read as the flags of a box in no list, so the collector reads the
//! flags of either kind at the same place ([`flags_word`]).
//!
//! `Header::strong` holds the strong count in units of [`ONE`] and two flags
//! in its low bits: [`TRACKED`] (the box has `Links`) and [`DROPPED`] (the
//! value has been dropped, or is being dropped; during a collection with no
//! finalizer still to run it is also set on boxes as they are found
//! unreachable, and taken back from any found reachable after all, before
//! anything but the collector's own code runs). An untracked box's
//! `layout` word holds the allocation's layout, for the last `Weak` to
//! free it once the value is gone (or if `new_cyclic` never writes it).
//! `Header::weak` counts the `Weak`s plus one for all the strong handles
//! together, as in `Rc`.
//!
//! The counts are 32 bits, so a box has at most about 2^30 strong and 2^32
//! weak handles (eight gigabytes of handles); going past aborts, as an
//! overflowing `Rc` count does.
//!
//! # Invariants
//! - The allocation stays alive while `strong > 0` or `weak > 0`; it is freed
//!   exactly when both reach zero. The collector never frees a box that still
//!   has handles: it may only drop the *value* (setting `DROPPED` first), so a
//!   stray handle can always read the header and report the value as gone.
//! - The value is initialised iff the box was completed by `Gc::new` /
//!   `Gc::new_cyclic` and `DROPPED` is clear, except for the collector's
//!   provisional marks above, which no other code can observe.
//! - A tracked box with a nonzero strong count and an intact value is in one
//!   of the collector's lists, except while its finalizer runs on the release
//!   path after it was queued (its generation then says `OUTSIDE`);
//!   `Links::vtable` is set at allocation and never changes.
//! - Releases nest through the thread-local `releasing` flag: a box whose
//!   count reaches zero while another release is running is unlinked and
//!   pushed onto an intrusive queue (through `Links::next`) instead of being
//!   dropped recursively. Untracked values hold no `Gc`, so they never nest
//!   (with a wrong `MAY_CONTAIN_GC` they recurse, which at worst overflows
//!   the stack: an abort, not undefined behaviour).

use std::alloc::{GlobalAlloc, Layout, handle_alloc_error};
use std::any::type_name;
use std::borrow::Borrow;
use std::cell::Cell;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop};
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::ptr::{self, NonNull};

use pymalloc::PyMalloc;

use crate::collector::{self, State};
use crate::list::{self, FINALIZED, FLAGS, Links};
use crate::trace::{self, AnyPass, CountPass, Erased, ErasedTrace, Pass, ReachPass, Trace};

/// The reference counts, just before the value in every box.
#[repr(C)]
pub(crate) struct Header {
    /// Strong count times [`ONE`], plus [`TRACKED`] and [`DROPPED`].
    pub(crate) strong: Cell<u32>,
    /// Weak count, plus one while any strong handle exists.
    pub(crate) weak: Cell<u32>,
}

/// Flag: the box has `Links` and takes part in cycle collection.
pub(crate) const TRACKED: u32 = 1;
/// Flag: the value has been dropped (or its drop has begun; see the module
/// docs for the collector's provisional marks).
pub(crate) const DROPPED: u32 = 2;
/// One strong reference, in `Header::strong` units.
pub(crate) const ONE: u32 = 4;
/// The largest strong word (with no flag set) a new handle may be added
/// to. What is left above it is headroom for the counts that code here
/// holds for a while (the collector's pin, the temporary handle a
/// finalizer runs with).
const STRONG_LIMIT: u32 = !(ONE - 1) - 4 * ONE;

const HEADER_SIZE: usize = mem::size_of::<Header>();
/// Distance from the start of an untracked box's layout word to the value.
const UNTRACKED_PREFIX: usize = mem::size_of::<usize>() + HEADER_SIZE;
/// Distance from the start of `Links` to the value.
pub(crate) const TRACKED_PREFIX: usize = mem::size_of::<Links>() + HEADER_SIZE;

const _: () = assert!(HEADER_SIZE == 8 && UNTRACKED_PREFIX == 16 && TRACKED_PREFIX == 32);

/// How the collector handles one concrete value type without knowing it.
/// Aligned so that a box's pointer to it has room for the flags
/// (`list.rs`).
#[repr(align(128))]
pub(crate) struct VTable {
    /// `T::trace`, for `Mode::Discover` ([`trace::discover`]): names the
    /// parts of a value whose type is not exact.
    pub(crate) discover: ErasedTrace,
    /// `T`'s exact trace for the first pass of a collection
    /// (`Mode::Count`); does nothing if `T` is not exact (the collector
    /// traces the places `discover` named instead).
    pub(crate) count: ErasedTrace,
    /// The same for the reachability pass (`Mode::Reachable`).
    pub(crate) reach: ErasedTrace,
    /// The same for any other mode (`AnyPass`).
    pub(crate) any: ErasedTrace,
    /// Drops the value in place.
    pub(crate) drop_value: unsafe fn(*mut u8),
    /// Calls `T::finalize`, if `T` has a finalizer.
    pub(crate) finalize: Option<unsafe fn(*const u8)>,
    /// The layout of the whole allocation.
    pub(crate) layout: Layout,
    /// Offset of the value from the start of the allocation.
    pub(crate) value_offset: usize,
    /// For debug output.
    pub(crate) type_name: fn() -> &'static str,
    /// [`INEXACT`] and [`FINALIZER`], which the first pass of a collection
    /// ORs over its candidates in one load.
    pub(crate) flags: u8,
}

/// [`VTable::flags`]: `T::EXACT` is false, so a collection that examines
/// the box first runs its `trace` to find its places (`collect.rs`).
pub(crate) const INEXACT: u8 = 1;
/// [`VTable::flags`]: `T` has a finalizer.
pub(crate) const FINALIZER: u8 = 2;

/// Offset of the value and layout of a box holding `size`/`align` bytes.
const fn geometry(size: usize, align: usize, tracked: bool) -> (usize, Layout) {
    let align = if align > mem::align_of::<usize>() {
        align
    } else {
        mem::align_of::<usize>()
    };
    let prefix = if tracked {
        TRACKED_PREFIX
    } else {
        UNTRACKED_PREFIX
    };
    let offset = (prefix + align - 1) & !(align - 1);
    let total = (offset + size + align - 1) & !(align - 1);
    match Layout::from_size_align(total, align) {
        Ok(layout) => (offset, layout),
        Err(_) => panic!("cyclegc: value too large for a Gc box"),
    }
}

/// Per-type constants: whether `T` is tracked, and its box geometry.
struct BoxOf<T>(PhantomData<T>);

impl<T: Trace + 'static> BoxOf<T> {
    /// CPython untracks containers that cannot refer to other containers;
    /// a type with a finalizer is tracked so that the finalizer can run.
    const TRACKED: bool = T::MAY_CONTAIN_GC || T::FINALIZE;
    const GEOMETRY: (usize, Layout) =
        geometry(mem::size_of::<T>(), mem::align_of::<T>(), Self::TRACKED);
    const VTABLE: VTable = VTable {
        discover: trace::discover::<T>,
        count: Erased::<T>::PASSES[CountPass::INDEX],
        reach: Erased::<T>::PASSES[ReachPass::INDEX],
        any: Erased::<T>::PASSES[AnyPass::INDEX],
        drop_value: drop_value::<T>,
        finalize: if T::FINALIZE {
            Some(finalize_value::<T>)
        } else {
            None
        },
        layout: Self::GEOMETRY.1,
        value_offset: Self::GEOMETRY.0,
        type_name: type_name::<T>,
        flags: if T::EXACT.is_exact() { 0 } else { INEXACT }
            | if T::FINALIZE { FINALIZER } else { 0 },
    };
}

/// # Safety
/// `value` must point to an initialised `T` that is never used again.
unsafe fn drop_value<T>(value: *mut u8) {
    // SAFETY: guaranteed by the caller.
    unsafe { ptr::drop_in_place(value.cast::<T>()) }
}

/// # Safety
/// `value` must point to a live, initialised `T`.
unsafe fn finalize_value<T: Trace>(value: *const u8) {
    // SAFETY: guaranteed by the caller.
    unsafe { (*value.cast::<T>()).finalize() }
}

/// The header of the box whose value starts at `value`.
#[inline]
pub(crate) fn header_of(value: *const u8) -> *const Header {
    value.wrapping_sub(HEADER_SIZE).cast()
}

/// The layout word of the untracked box whose value starts at `value`
/// (see [`untracked_word`]).
#[inline]
fn layout_word_of(value: *const u8) -> *mut usize {
    value
        .wrapping_sub(UNTRACKED_PREFIX)
        .cast::<usize>()
        .cast_mut()
}

/// The word 16 bytes before the value of the box whose header is `header`:
/// for a tracked box, its vtable pointer with the flags in the low bits;
/// for an untracked one, its layout word, whose low bits say `OUTSIDE` and
/// no other flag ([`untracked_word`]). So the collector's per-edge tests
/// (a candidate? reached?) read the flags of any box without first asking
/// whether it is tracked.
///
/// # Safety
/// `header` must be the header of a live box.
#[inline(always)]
pub(crate) unsafe fn flags_word(header: *const Header) -> usize {
    // SAFETY: both kinds of box have a word there, inside the allocation
    // (a tracked box's `Links::vtable`, an untracked box's layout word),
    // written at allocation; reading a pointer's bytes as an integer only
    // drops its provenance, and the word is used as flags alone.
    unsafe { header.cast::<usize>().sub(1).read() }
}

/// The links of the box with `header`, if it is tracked (an untracked box
/// has none, and cannot be part of a cycle).
///
/// # Safety
/// `header` must be the header of a live box; the links returned live as
/// long as it.
#[inline(always)]
pub(crate) unsafe fn tracked_links(header: *const Header) -> Option<*const Links> {
    // SAFETY: guaranteed by the caller.
    let tracked = unsafe { (*header).strong.get() } & TRACKED != 0;
    // A tracked box has links before its header.
    tracked.then(|| links_of_header(header))
}

/// The links of the tracked box whose header is `header`.
#[inline]
pub(crate) fn links_of_header(header: *const Header) -> *const Links {
    header
        .cast::<u8>()
        .wrapping_sub(mem::size_of::<Links>())
        .cast()
}

/// The header of the tracked box whose links are `links`.
#[inline]
pub(crate) fn header_of_links(links: *const Links) -> *const Header {
    links
        .cast::<u8>()
        .wrapping_add(mem::size_of::<Links>())
        .cast()
}

/// The value of the tracked box whose links are `links`.
#[inline]
pub(crate) fn value_of_links(links: *const Links) -> *mut u8 {
    links.cast::<u8>().wrapping_add(TRACKED_PREFIX).cast_mut()
}

/// Allocates a box for `T` with the given initial strong word (count plus
/// flags other than `TRACKED`) and one weak count; the value is left
/// uninitialised and the box is not yet in any list.
///
/// # Safety
/// The caller must initialise the value before handing out a `Gc`.
unsafe fn allocate<T: Trace + 'static>(strong: u32) -> NonNull<T> {
    let (offset, layout) = BoxOf::<T>::GEOMETRY;
    // SAFETY: the layout has a nonzero size (it includes the header).
    let base = unsafe { GlobalAlloc::alloc(&PyMalloc, layout) };
    if base.is_null() {
        handle_alloc_error(layout);
    }
    // SAFETY: `offset` is within the fresh allocation, and the prefix before
    // it holds the header (and links when tracked), all suitably aligned
    // because `offset` is a multiple of the box alignment (at least 8).
    unsafe {
        let value = base.add(offset);
        let strong = if BoxOf::<T>::TRACKED {
            strong | TRACKED
        } else {
            layout_word_of(value).write(untracked_word(layout));
            if strong < ONE {
                // Under construction (`new_cyclic`): nothing can read the
                // count, and a panic must be able to free the box without
                // the value.
                DROPPED
            } else {
                strong
            }
        };
        header_of(value).cast_mut().write(Header {
            strong: Cell::new(strong),
            weak: Cell::new(1),
        });
        if BoxOf::<T>::TRACKED {
            // A promoted constant: one address for as long as the program
            // runs.
            let vtable: &'static VTable = &BoxOf::<T>::VTABLE;
            let links = value.sub(TRACKED_PREFIX).cast::<Links>();
            links.write(Links {
                next: Cell::new(ptr::null()),
                prev: Cell::new(ptr::null()),
                vtable: Cell::new(ptr::from_ref(vtable).map_addr(|a| a | list::OUTSIDE)),
            });
        }
        NonNull::new_unchecked(value.cast::<T>())
    }
}

/// Frees the allocation of a tracked box (value already dropped or never
/// written).
///
/// # Safety
/// Both counts must be zero and nothing may use the box again.
unsafe fn dealloc_tracked(links: *const Links) {
    // SAFETY: the vtable was set at allocation; the base is `value_offset`
    // bytes before the value of the same allocation.
    unsafe {
        let vt = (*links).vtable();
        let base = value_of_links(links).sub(vt.value_offset);
        GlobalAlloc::dealloc(&PyMalloc, base, vt.layout);
    }
}

/// The word before the header of an untracked box, written at
/// allocation: the allocation's layout, for the last `Weak` to free the
/// box once the value is gone (without forming a reference to a value that
/// is no longer valid: an untracked box has no vtable to ask instead), in
/// the bits above the flags; in the flag bits, `OUTSIDE`, which is what
/// [`flags_word`] tells the collector.
const fn untracked_word(layout: Layout) -> usize {
    debug_assert!(layout.size() < 1 << (usize::BITS - 16));
    list::OUTSIDE | ((layout.align().trailing_zeros() as usize) << 8) | (layout.size() << 16)
}

/// Frees the allocation of the box holding `value` once its counts are zero.
///
/// # Safety
/// Both counts must be zero and nothing may use the box again; an untracked
/// box's layout word must hold [`untracked_word`].
unsafe fn dealloc_box<T: ?Sized>(value: NonNull<T>) {
    // SAFETY: the header is just before the value; for a tracked box the
    // vtable knows the layout, for an untracked one the layout word does,
    // and the value sits at the offset `geometry` gives for that alignment.
    unsafe {
        let header = header_of(value.as_ptr().cast());
        let strong = (*header).strong.get();
        if strong & TRACKED != 0 {
            dealloc_tracked(links_of_header(header));
        } else {
            debug_assert!(strong & DROPPED != 0);
            let word = *layout_word_of(value.as_ptr().cast());
            let layout = Layout::from_size_align_unchecked(word >> 16, 1 << ((word >> 8) & 63));
            let offset = geometry(0, layout.align(), false).0;
            GlobalAlloc::dealloc(&PyMalloc, value.as_ptr().cast::<u8>().sub(offset), layout);
        }
    }
}

/// Drops one weak count of a box whose value is gone, freeing it at zero.
///
/// # Safety
/// The strong count must be zero and the box live.
unsafe fn drop_weak_count<T: ?Sized>(value: NonNull<T>) {
    // SAFETY: the box is live (weak > 0 until this decrement).
    unsafe {
        let header = &*header_of(value.as_ptr().cast());
        let weak = header.weak.get() - 1;
        header.weak.set(weak);
        if weak == 0 {
            dealloc_box(value);
        }
    }
}

#[cold]
#[inline(never)]
fn count_overflow() -> ! {
    // Like `Rc`: an overflowing count could only come from leaking handles
    // in a loop; continuing would risk a use after free.
    std::process::abort()
}

#[cold]
#[inline(never)]
#[track_caller]
fn dropped_value() -> ! {
    panic!(
        "cyclegc: dereferenced a Gc whose value was already dropped by the cycle collector \
         (the object was in a garbage cycle; Drop impls run by that collection, and handles they \
         kept, see the values dropped before them); \
         use Gc::try_deref to test for this"
    )
}

/// A reference-counted pointer whose cycles are found and freed by a
/// CPython-style generational collector (one per thread).
///
/// Cloning is a count increment; dropping the last `Gc` drops the value
/// at once, exactly like `Rc`. Values that can hold other `Gc`s (see
/// [`Trace::MAY_CONTAIN_GC`]) are additionally tracked by the collector,
/// which frees unreachable cycles. `Gc` is `!Send` and `!Sync`.
///
/// ```
/// use cyclegc::{Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace)]
/// struct Node { next: RefCell<Option<Gc<Node>>> }
///
/// let a = Gc::new(Node { next: RefCell::new(None) });
/// let b = Gc::new(Node { next: RefCell::new(Some(a.clone())) });
/// *a.next.borrow_mut() = Some(b.clone());
/// drop((a, b));
/// assert_eq!(cyclegc::collect(), 2); // the cycle is found and freed
/// ```
pub struct Gc<T: ?Sized + 'static> {
    ptr: NonNull<T>,
    _owns: PhantomData<T>,
}

impl<T: Trace + 'static> Gc<T> {
    /// Moves `value` into a new box allocated from pymalloc.
    ///
    /// If `T` can hold a `Gc`, the box joins generation 0, and this call may
    /// first run an automatic collection (CPython collects when tracked
    /// allocations minus deallocations exceed threshold 0). A panic from a
    /// `Drop` or finalizer run by that collection propagates from here.
    #[inline]
    pub fn new(value: T) -> Gc<T> {
        let st = BoxOf::<T>::TRACKED.then(collector::before_tracked_alloc);
        // SAFETY: the value is written before the handle is created, and a
        // tracked box is linked only once its value is initialised.
        unsafe {
            let ptr = allocate::<T>(ONE);
            ptr.as_ptr().write(value);
            if let Some(st) = st {
                collector::track_new(st, links_of_header(header_of(ptr.as_ptr().cast())));
            }
            Gc::from_inner(ptr)
        }
    }

    /// Builds a value that holds a [`Weak`] to itself, like
    /// `Rc::new_cyclic`. The `Weak` does not upgrade until this returns.
    ///
    /// ```
    /// use cyclegc::{Gc, Trace, Weak};
    ///
    /// #[derive(Trace)]
    /// struct Me { this: Weak<Me> }
    ///
    /// let me = Gc::new_cyclic(|w| Me { this: w.clone() });
    /// assert!(Gc::ptr_eq(&me.this.upgrade().unwrap(), &me));
    /// ```
    pub fn new_cyclic<F: FnOnce(&Weak<T>) -> T>(data_fn: F) -> Gc<T> {
        let st = BoxOf::<T>::TRACKED.then(collector::before_tracked_alloc);
        // SAFETY: the box starts with a zero strong count, so the `Weak`
        // cannot upgrade (or read the value) until the value is written; if
        // `data_fn` panics, dropping that `Weak` frees the box without
        // touching the value.
        unsafe {
            let ptr = allocate::<T>(0);
            let weak = Weak { ptr };
            let value = data_fn(&weak);
            ptr.as_ptr().write(value);
            let header = &*header_of(ptr.as_ptr().cast());
            header.strong.set(if BoxOf::<T>::TRACKED {
                ONE | TRACKED
            } else {
                ONE
            });
            // The weak count of one becomes the strong handles' shared one.
            mem::forget(weak);
            if let Some(st) = st {
                collector::track_new(st, links_of_header(header));
            }
            Gc::from_inner(ptr)
        }
    }
}

impl<T: ?Sized + 'static> Gc<T> {
    #[inline]
    fn from_inner(ptr: NonNull<T>) -> Gc<T> {
        Gc {
            ptr,
            _owns: PhantomData,
        }
    }

    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: a live handle keeps the box allocated (strong > 0).
        unsafe { &*header_of(self.ptr.as_ptr().cast()) }
    }

    /// The header pointer, for the tracer.
    #[inline]
    pub(crate) fn header_ptr(&self) -> *const Header {
        header_of(self.ptr.as_ptr().cast())
    }

    /// The links of a tracked box, or `None` for an untracked one.
    #[inline]
    pub(crate) fn links(&self) -> Option<*const Links> {
        // SAFETY: this handle keeps its box alive.
        unsafe { tracked_links(self.header_ptr()) }
    }

    /// The value, or `None` once the collector has dropped it (because the
    /// object was part of garbage: a `Drop` run by that collection can see the
    /// values dropped before its own, and keep a handle to them).
    ///
    /// ```
    /// let g = cyclegc::Gc::new(5);
    /// assert_eq!(cyclegc::Gc::try_deref(&g), Some(&5));
    /// ```
    #[inline]
    pub fn try_deref(this: &Gc<T>) -> Option<&T> {
        if this.header().strong.get() & DROPPED != 0 {
            None
        } else {
            // SAFETY: the value is initialised and not dropped, and this
            // handle keeps the box alive for the borrow.
            Some(unsafe { this.ptr.as_ref() })
        }
    }

    /// A new [`Weak`] pointer to this box.
    #[inline]
    pub fn downgrade(this: &Gc<T>) -> Weak<T> {
        let header = this.header();
        let weak = header.weak.get().wrapping_add(1);
        if weak == 0 {
            count_overflow();
        }
        header.weak.set(weak);
        Weak { ptr: this.ptr }
    }

    /// The number of `Gc` handles to this box (like `Rc::strong_count`).
    /// User code that a collection runs (traces, finalizers, drops) sees
    /// one more on the objects the collector still examines: its pin.
    #[inline]
    pub fn strong_count(this: &Gc<T>) -> usize {
        (this.header().strong.get() / ONE) as usize
    }

    /// The number of [`Weak`] pointers to this box.
    #[inline]
    pub fn weak_count(this: &Gc<T>) -> usize {
        (this.header().weak.get() - 1) as usize
    }

    /// Whether two handles point to the same box (compares addresses only).
    #[inline]
    pub fn ptr_eq(this: &Gc<T>, other: &Gc<T>) -> bool {
        ptr::addr_eq(this.ptr.as_ptr(), other.ptr.as_ptr())
    }

    /// The size in bytes of the block this box occupies, headers included
    /// (before rounding to the allocator's size class); like CPython's
    /// `sys.getsizeof`. An untracked box is the size of an `Rc`'s:
    ///
    /// ```
    /// use cyclegc::Gc;
    /// // 16 bytes (a spare word, the two counts), then the value: the
    /// // size of an `RcBox<u64>`.
    /// assert_eq!(Gc::allocation_size(&Gc::new(7u64)), 24);
    /// ```
    pub fn allocation_size(this: &Gc<T>) -> usize {
        match this.links() {
            // SAFETY: a tracked box's vtable lives as long as the box.
            Some(links) => unsafe { (*links).vtable().layout.size() },
            None => {
                // SAFETY: the handle keeps the box alive; the metadata is
                // intact even if the value was dropped.
                let value = unsafe { this.ptr.as_ref() };
                geometry(mem::size_of_val(value), mem::align_of_val(value), false)
                    .1
                    .size()
            }
        }
    }

    /// The address of the value.
    #[inline]
    pub fn as_ptr(this: &Gc<T>) -> *const T {
        this.ptr.as_ptr()
    }

    /// Implementation detail of [`unsize!`](crate::unsize).
    ///
    /// # Safety
    /// `coerce` must return its argument unsized (same address, metadata
    /// describing the same value), as an unsizing coercion does.
    #[doc(hidden)]
    pub unsafe fn __unsize<U: ?Sized + 'static>(
        this: Gc<T>,
        coerce: impl FnOnce(*const T) -> *const U,
    ) -> Gc<U> {
        let this = ManuallyDrop::new(this);
        let ptr = coerce(this.ptr.as_ptr());
        assert!(
            ptr::addr_eq(ptr, this.ptr.as_ptr()),
            "cyclegc::unsize!: the coercion moved the pointer"
        );
        // SAFETY: same address as a live box value, so non-null; the strong
        // count of `this` moves to the new handle. The box's own vtable (for
        // tracked boxes) still describes the concrete type.
        Gc::from_inner(unsafe { NonNull::new_unchecked(ptr.cast_mut()) })
    }
}

impl<T: ?Sized + 'static> Clone for Gc<T> {
    #[inline]
    fn clone(&self) -> Gc<T> {
        let header = self.header();
        let strong = header.strong.get();
        if strong > STRONG_LIMIT {
            count_overflow();
        }
        header.strong.set(strong + ONE);
        Gc::from_inner(self.ptr)
    }
}

impl<T: ?Sized + 'static> Deref for Gc<T> {
    type Target = T;

    /// # Panics
    /// If the collector has dropped the value (see [`Gc::try_deref`]).
    #[inline]
    #[track_caller]
    fn deref(&self) -> &T {
        if self.header().strong.get() & DROPPED != 0 {
            dropped_value();
        }
        // SAFETY: not dropped, hence initialised; the handle keeps the box
        // alive for the borrow.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: ?Sized + 'static> Drop for Gc<T> {
    #[inline]
    fn drop(&mut self) {
        let header = self.header();
        let strong = header.strong.get() - ONE;
        header.strong.set(strong);
        if strong < ONE {
            // SAFETY: this was the last strong handle.
            unsafe { release(self.ptr) }
        }
    }
}

/// The last strong handle of the box holding `value` is gone.
///
/// # Safety
/// The strong count must have just reached zero.
#[inline(never)]
unsafe fn release<T: ?Sized>(value: NonNull<T>) {
    let header = header_of(value.as_ptr().cast());
    // SAFETY: the box is alive (its weak count is at least one).
    unsafe {
        if (*header).strong.get() & DROPPED != 0 {
            // The collector dropped the value already; only the memory is
            // left, kept by handles that a Drop run by the collection kept.
            drop_weak_count(value);
        } else if (*header).strong.get() & TRACKED != 0 {
            release_tracked_typed(value);
        } else {
            release_untracked(value);
        }
    }
}

/// Finishes freeing a box after its value's drop, even if that drop panics.
struct FreeAfterDrop<T: ?Sized>(NonNull<T>);

impl<T: ?Sized> Drop for FreeAfterDrop<T> {
    fn drop(&mut self) {
        // SAFETY: the strong count is zero and the value has been dropped.
        unsafe { drop_weak_count(self.0) }
    }
}

/// Drops an untracked value (which holds no `Gc`, so cannot nest) and frees
/// its box once no `Weak` remains.
///
/// # Safety
/// The strong count must be zero and the value intact.
unsafe fn release_untracked<T: ?Sized>(value: NonNull<T>) {
    // SAFETY: strong is zero, so this is the only access to the value; the
    // layout word was written at allocation.
    unsafe {
        let header = &*header_of(value.as_ptr().cast());
        header.strong.set(DROPPED);
        let free = FreeAfterDrop(value);
        ptr::drop_in_place(value.as_ptr());
        drop(free);
    }
}

/// Resets the thread's `releasing` flag when the outermost release ends,
/// including by a panic.
struct ReleasingScope<'a>(&'a State);

impl Drop for ReleasingScope<'_> {
    fn drop(&mut self) {
        self.0.releasing.set(false);
    }
}

/// Releases a tracked box whose strong count reached zero: runs its
/// finalizer once (PEP 442, it may resurrect), unlinks it, drops the value
/// and frees the memory. A release that would nest inside another is queued
/// instead, so dropping a long chain uses constant stack.
///
/// # Safety
/// The strong count must be zero, the value intact, the box not queued.
pub(crate) unsafe fn release_tracked(links: *const Links) {
    let st = collector::state();
    // SAFETY: forwarded from the caller.
    unsafe {
        if st.releasing.get() {
            if list::is_linked(links) {
                st.unlink_dying(links);
            }
            st.queue_release(links);
            return;
        }
        st.releasing.set(true);
        let _scope = ReleasingScope(st);
        release_one(st, links);
        while let Some(next) = st.pop_release() {
            release_one(st, next);
        }
    }
}

/// [`release_tracked`] with the common case (no finalizer to run, not
/// nested) specialised for the static type: a direct drop instead of a
/// call through the vtable.
///
/// # Safety
/// As for [`release_tracked`].
#[inline]
unsafe fn release_tracked_typed<T: ?Sized>(value: NonNull<T>) {
    let header = header_of(value.as_ptr().cast());
    let links = links_of_header(header);
    let st = collector::state();
    // SAFETY: forwarded from the caller; the box is alive with an intact
    // value and its vtable describes the concrete type.
    unsafe {
        let l = &*links;
        if st.releasing.get() || (l.vtable().finalize.is_some() && l.word() & FINALIZED == 0) {
            return release_tracked(links);
        }
        st.releasing.set(true);
        let scope = ReleasingScope(st);
        // A box whose last handle just went is in a list: every path that
        // unlinks a box with handles (queueing, the collector's drop phase)
        // either has no handles left or marks the value DROPPED.
        debug_assert!(list::is_linked(links));
        list::remove_for_free(links);
        st.counts[0].set(st.counts[0].get().saturating_sub(1));
        (*header).strong.set((*header).strong.get() | DROPPED);
        let free = FreeAfterDrop(value);
        ptr::drop_in_place(value.as_ptr());
        drop(free);
        while let Some(next) = st.pop_release() {
            release_one(st, next);
        }
        drop(scope);
    }
}

/// Processes releases left queued (by a panic or by the collector).
pub(crate) fn drain_release_queue(st: &State) {
    if st.releasing.get() {
        return;
    }
    st.releasing.set(true);
    let _scope = ReleasingScope(st);
    while let Some(next) = st.pop_release() {
        // SAFETY: queued boxes have a zero count and an intact value.
        unsafe { release_one(st, next) }
    }
}

/// Frees a tracked box after its value's drop, even if that drop panics.
struct FreeTracked(*const Links);

impl Drop for FreeTracked {
    fn drop(&mut self) {
        // SAFETY: the strong count is zero and the value has been dropped.
        unsafe {
            let header = &*header_of_links(self.0);
            let weak = header.weak.get() - 1;
            header.weak.set(weak);
            if weak == 0 {
                dealloc_tracked(self.0);
            }
        }
    }
}

/// # Safety
/// As for [`release_tracked`]; `releasing` must be set.
unsafe fn release_one(st: &State, links: *const Links) {
    // SAFETY: the box is alive (weak > 0) with an intact value; the vtable
    // describes its concrete type.
    unsafe {
        let l = &*links;
        let header = &*header_of_links(links);
        let vt = l.vtable();
        let value = value_of_links(links);
        let mut panic = None;
        if let Some(finalize) = vt.finalize
            && l.word() & FINALIZED == 0
        {
            // PEP 442 on the reference-counting path: finalize once, with a
            // temporary strong count so that `Weak::upgrade` can resurrect.
            l.set_flags((l.word() & FLAGS) | FINALIZED);
            header.strong.set(header.strong.get() + ONE);
            panic = catch_unwind(AssertUnwindSafe(|| finalize(value))).err();
            let strong = header.strong.get() - ONE;
            header.strong.set(strong);
            if strong & DROPPED != 0 {
                // A collection run by the finalizer dropped the value. Our
                // temporary count was an outside reference, so only an
                // `unsafe impl ExactTrace` that reports handles it does not
                // own can do that: this branch is a last defence. Dropping
                // the value again, or linking the box back into a
                // generation, would be a double drop or a trace of a
                // dropped value.
                if strong < ONE {
                    drop(FreeTracked(links));
                }
                if let Some(payload) = panic {
                    resume_unwind(payload);
                }
                return;
            }
            if strong >= ONE {
                if !list::is_linked(links) {
                    st.link_young(links);
                }
                if let Some(payload) = panic {
                    resume_unwind(payload);
                }
                return;
            }
        }
        if list::is_linked(links) {
            st.unlink_dying(links);
        }
        header.strong.set(header.strong.get() | DROPPED);
        let free = FreeTracked(links);
        (vt.drop_value)(value);
        drop(free);
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
    }
}

/// Frees a box the collector has dropped the value of, once its counts
/// allow: called with the collector's pin still counted.
///
/// Returns whether the memory could be freed (false when stray handles
/// remain; their drops free it later).
///
/// # Safety
/// The value must be dropped, `DROPPED` set, the box unlinked, and the
/// collector must hold one strong count.
pub(crate) unsafe fn unpin_dropped(links: *const Links) -> bool {
    // SAFETY: the collector's pin keeps the box alive until here.
    unsafe {
        let header = &*header_of_links(links);
        let strong = header.strong.get() - ONE;
        header.strong.set(strong);
        if strong >= ONE {
            return false;
        }
        drop(FreeTracked(links));
        true
    }
}

/// A non-owning pointer to a `Gc` box, like `std::rc::Weak`.
///
/// It never keeps the value alive, is not an edge for the collector, and
/// never upgrades once the value has been dropped, including by the
/// collector.
///
/// ```
/// let g = cyclegc::Gc::new(String::from("x"));
/// let w = cyclegc::Gc::downgrade(&g);
/// assert_eq!(w.upgrade().as_deref().map(String::as_str), Some("x"));
/// drop(g);
/// assert!(w.upgrade().is_none());
/// ```
pub struct Weak<T: ?Sized + 'static> {
    ptr: NonNull<T>,
}

const DANGLING: usize = usize::MAX;

impl<T: 'static> Weak<T> {
    /// A `Weak` that points to nothing and never upgrades.
    pub const fn new() -> Weak<T> {
        Weak {
            ptr: NonNull::without_provenance(std::num::NonZero::<usize>::MAX),
        }
    }
}

impl<T: 'static> Default for Weak<T> {
    fn default() -> Weak<T> {
        Weak::new()
    }
}

impl<T: ?Sized + 'static> Weak<T> {
    #[inline]
    fn header(&self) -> Option<&Header> {
        if self.ptr.as_ptr().cast::<u8>().addr() == DANGLING {
            None
        } else {
            // SAFETY: a non-dangling `Weak` keeps the box allocated.
            Some(unsafe { &*header_of(self.ptr.as_ptr().cast()) })
        }
    }

    /// A strong handle, or `None` if the value has been dropped (by the last
    /// `Gc` going away or by the collector).
    #[inline]
    pub fn upgrade(&self) -> Option<Gc<T>> {
        let header = self.header()?;
        let strong = header.strong.get();
        if strong < ONE || strong & DROPPED != 0 {
            return None;
        }
        if strong > STRONG_LIMIT {
            count_overflow();
        }
        header.strong.set(strong + ONE);
        Some(Gc::from_inner(self.ptr))
    }

    /// The number of strong handles (zero once the value is gone).
    pub fn strong_count(&self) -> usize {
        match self.header() {
            Some(h) if h.strong.get() & DROPPED == 0 => (h.strong.get() / ONE) as usize,
            _ => 0,
        }
    }

    /// The number of `Weak`s to the box; zero once the value is gone (as
    /// for `std::rc::Weak`, which says zero when no strong handle is left).
    pub fn weak_count(&self) -> usize {
        match self.header() {
            Some(h) if h.strong.get() >= ONE && h.strong.get() & DROPPED == 0 => {
                (h.weak.get() - 1) as usize
            }
            _ => 0,
        }
    }

    /// Whether two `Weak`s point to the same box.
    pub fn ptr_eq(&self, other: &Weak<T>) -> bool {
        ptr::addr_eq(self.ptr.as_ptr(), other.ptr.as_ptr())
    }
}

impl<T: ?Sized + 'static> Clone for Weak<T> {
    #[inline]
    fn clone(&self) -> Weak<T> {
        if let Some(h) = self.header() {
            let weak = h.weak.get().wrapping_add(1);
            if weak == 0 {
                count_overflow();
            }
            h.weak.set(weak);
        }
        Weak { ptr: self.ptr }
    }
}

impl<T: ?Sized + 'static> Drop for Weak<T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(h) = self.header() {
            let weak = h.weak.get() - 1;
            h.weak.set(weak);
            if weak == 0 {
                // SAFETY: weak reached zero, which implies no strong handle
                // (they share one weak count); the value is dropped or was
                // never written.
                unsafe { dealloc_box(self.ptr) }
            }
        }
    }
}

impl<T: ?Sized + 'static> fmt::Debug for Weak<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(Weak)")
    }
}

impl<T: ?Sized + fmt::Debug + 'static> fmt::Debug for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Gc::try_deref(self) {
            Some(v) => fmt::Debug::fmt(v, f),
            None => f.write_str("<dropped by the cycle collector>"),
        }
    }
}

impl<T: ?Sized + fmt::Display + 'static> fmt::Display for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Gc::try_deref(self) {
            Some(v) => fmt::Display::fmt(v, f),
            None => f.write_str("<dropped by the cycle collector>"),
        }
    }
}

impl<T: ?Sized + 'static> fmt::Pointer for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&Gc::as_ptr(self), f)
    }
}

impl<T: ?Sized + PartialEq + 'static> PartialEq for Gc<T> {
    #[inline]
    fn eq(&self, other: &Gc<T>) -> bool {
        **self == **other
    }
}

impl<T: ?Sized + Eq + 'static> Eq for Gc<T> {}

impl<T: ?Sized + PartialOrd + 'static> PartialOrd for Gc<T> {
    #[inline]
    fn partial_cmp(&self, other: &Gc<T>) -> Option<Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: ?Sized + Ord + 'static> Ord for Gc<T> {
    #[inline]
    fn cmp(&self, other: &Gc<T>) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: ?Sized + Hash + 'static> Hash for Gc<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl<T: ?Sized + 'static> Borrow<T> for Gc<T> {
    fn borrow(&self) -> &T {
        self
    }
}

impl<T: ?Sized + 'static> AsRef<T> for Gc<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: Trace + Default + 'static> Default for Gc<T> {
    fn default() -> Gc<T> {
        Gc::new(T::default())
    }
}

impl<T: Trace + 'static> From<T> for Gc<T> {
    fn from(value: T) -> Gc<T> {
        Gc::new(value)
    }
}

/// Converts a `Gc<T>` into a `Gc<U>` where `U` is an unsized view of `T`
/// (`dyn Trait`, or a slice from an array), as `Rc<T> as Rc<dyn Trait>`
/// would on nightly. The collector keeps using `T`'s own trace, finalizer
/// and drop.
///
/// ```
/// use cyclegc::Gc;
/// use std::fmt::Display;
///
/// let g: Gc<dyn Display> = cyclegc::unsize!(Gc::new(42) => dyn Display);
/// assert_eq!(g.to_string(), "42");
/// let s: Gc<[u8]> = cyclegc::unsize!(Gc::new([1u8, 2, 3]) => [u8]);
/// assert_eq!(s.len(), 3);
/// ```
#[macro_export]
macro_rules! unsize {
    ($gc:expr => $target:ty) => {
        match $gc {
            gc => {
                // SAFETY: the closure is a plain coercion of a raw pointer,
                // which can only be an unsizing one (it keeps the address,
                // the provenance, and describes the same value).
                unsafe {
                    $crate::Gc::__unsize(gc, |p| {
                        let unsized_ptr: *const $target = p;
                        unsized_ptr
                    })
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_matches_rc_for_untracked() {
        let (off, layout) = geometry(8, 8, false);
        assert_eq!((off, layout.size(), layout.align()), (16, 24, 8));
        let (off, layout) = geometry(8, 8, true);
        assert_eq!((off, layout.size()), (32, 40));
        let (off, layout) = geometry(1, 64, true);
        assert_eq!((off, layout.size(), layout.align()), (64, 128, 64));
        let (off, layout) = geometry(0, 1, false);
        assert_eq!((off, layout.size(), layout.align()), (16, 16, 8));
    }

    #[test]
    fn header_positions() {
        assert_eq!(mem::size_of::<Links>(), 24);
        let v = 0x1000usize as *const u8;
        assert_eq!(header_of(v) as usize, 0x1000 - 8);
        assert_eq!(layout_word_of(v) as usize, 0x1000 - 16);
        assert_eq!(links_of_header(header_of(v)) as usize, 0x1000 - 32);
        assert_eq!(
            value_of_links(links_of_header(header_of(v))) as usize,
            0x1000
        );
    }

    /// Run by `the_strong_count_stops_below_the_pins_headroom` in a child
    /// process: a handle added at the limit aborts.
    #[test]
    #[ignore = "run in a child process"]
    fn strong_count_overflow_child() {
        if std::env::var_os("CYCLEGC_OVERFLOW_CHILD").is_none() {
            return;
        }
        let g = Gc::new(1u8);
        let flags = g.header().strong.get() & (ONE - 1);
        g.header().strong.set(STRONG_LIMIT | flags);
        // The last handle the limit allows.
        mem::forget(g.clone());
        assert_eq!(Gc::strong_count(&g), (STRONG_LIMIT / ONE + 1) as usize);
        eprintln!("one more");
        mem::forget(g.clone());
        unreachable!("cloned past the limit");
    }

    #[test]
    fn the_strong_count_stops_below_the_pins_headroom() {
        // The pin and a finalizer's temporary handle fit above the most
        // handles there can be.
        assert!(
            ((STRONG_LIMIT | (ONE - 1)) + ONE)
                .checked_add(2 * ONE)
                .is_some()
        );
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "gc::tests::strong_count_overflow_child",
            ])
            .args(["--nocapture", "--test-threads=1"])
            .env("CYCLEGC_OVERFLOW_CHILD", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("one more"),
            "child did not get there: {stderr}"
        );
        assert!(!stderr.contains("cloned past the limit"), "{stderr}");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(6), "the child did not abort");
    }

    /// The collector reads the flags of either kind of box at the same
    /// place; an untracked box's say it is in no list, whatever its layout.
    #[test]
    fn flags_word_of_both_kinds() {
        let untracked = Gc::new([7u64; 5]);
        // SAFETY: the handle keeps the box alive (and below).
        let word = unsafe { flags_word(untracked.header_ptr()) };
        assert_eq!(word & list::FLAGS, list::OUTSIDE);
        let big = Gc::new([1u8; 100_000]);
        // SAFETY: as above.
        let word = unsafe { flags_word(big.header_ptr()) };
        assert_eq!(word & list::FLAGS, list::OUTSIDE);
        let tracked = Gc::new(std::cell::RefCell::new(None::<Gc<u8>>));
        let links = tracked.links().unwrap();
        // SAFETY: the handles keep both boxes alive.
        unsafe {
            assert_eq!(flags_word(tracked.header_ptr()), (*links).word());
            assert_eq!((*links).word() & list::FLAGS, 0, "generation 0");
        }
    }

    #[test]
    fn weak_new_never_upgrades() {
        let w: Weak<u32> = Weak::new();
        assert!(w.upgrade().is_none());
        assert_eq!(w.strong_count(), 0);
        assert_eq!(w.weak_count(), 0);
        let w2 = w.clone();
        assert!(w.ptr_eq(&w2));
    }
}
