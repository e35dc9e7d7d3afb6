//! The intrusive, circular, doubly linked lists that hold tracked boxes: the
//! three generations, the permanent (frozen) generation, and the collector's
//! scratch lists during one collection.
//!
//! Every tracked box starts with a [`Links`] record (see `gc.rs` for the whole
//! box layout); a list is a sentinel `Links` (with a null vtable) whose `next`
//! and `prev` point into the ring. Moving an object between lists, or a whole
//! list onto the end of another, is O(1) and allocates nothing, which is what
//! lets a collection run without allocating per object.
//!
//! # Invariants
//! - A box is in exactly one list iff its `prev` is non-null, or it is a
//!   candidate of the running collection (`COLLECTING` set, or about to be:
//!   see the next point). A box that is not in a list (under construction,
//!   queued for release, or dropped by the collector and kept alive only by
//!   stray handles) has a null `prev`; its `next` is then free for the
//!   release queue to use.
//! - During a collection, as in CPython, the `prev` of a candidate holds its
//!   trial-deletion count `gc_refs` (see [`Links::refs`]) from the first
//!   pass until the reachability scan puts a pointer back: the list being
//!   counted or scanned is only singly linked (through `next`) meanwhile
//!   (the `unreachable` and `garbage` lists stay doubly linked), and only
//!   the collector edits it (user code runs only with every candidate
//!   pinned). Every list can always be walked through `next`, which is
//!   how a collection that is abandoned midway puts the `prev`s back
//!   ([`relink`]). So [`is_linked`], [`remove`], [`remove_for_free`] and
//!   [`move_back`] are not for such a candidate: its `prev` is a count
//!   (null when zero).
//! - Sentinels live in the thread-local collector state, whose storage lasts
//!   as long as the thread, so pointers to them never dangle. A sentinel whose
//!   `next` is null has not been initialised yet and is treated as empty.
//! - Only the owning thread touches a list (every type here is `!Send`).
//! - The low bits of `Links::vtable` (the vtable is aligned to 128) hold
//!   the flags: persistent state (generation, `FINALIZED`) and the
//!   per-collection scratch state (`NEWBORN`, `COLLECTING`, `UNREACHABLE`,
//!   `PINNED`), which is zero outside a collection.
//! - A box's generation bits are 0, 1 or 2 exactly when it is in that
//!   generation's list (or, during a collection, in the collector's lists as
//!   a candidate); every other box says [`OUTSIDE`]. The first pass of a
//!   collection relies on this to recognise candidates without a pass of
//!   its own.

use std::cell::Cell;
use std::ptr;

use crate::gc::VTable;

/// Mask of the generation number in the flags: 0, 1, 2, or [`OUTSIDE`].
pub(crate) const GEN_MASK: usize = 0b11;
/// The "generation" of frozen boxes (the permanent generation) and of boxes
/// in no generation list at all (not yet linked, queued for release, or
/// dropped by the collector). Never a candidate of any collection.
pub(crate) const OUTSIDE: usize = 3;
/// Set on boxes linked into generation 0 while a collection runs (user code
/// created or resurrected them): they are not candidates of that
/// collection even though their generation is 0. Cleared when it ends.
pub(crate) const NEWBORN: usize = 1 << 2;
/// Set while the box is a candidate of the running collection and has been
/// reached by its first pass.
pub(crate) const COLLECTING: usize = 1 << 3;
/// Set while the box sits in the tentatively-unreachable list.
pub(crate) const UNREACHABLE: usize = 1 << 4;
/// Set once the box's finalizer has run (PEP 442: at most once per object).
pub(crate) const FINALIZED: usize = 1 << 5;
/// Set while the collector holds one extra strong count of the box (its
/// pin), so that no user code it runs can free it (`collect.rs`).
pub(crate) const PINNED: usize = 1 << 6;
/// Every flag bit: what the vtable's alignment leaves free.
pub(crate) const FLAGS: usize = 127;
/// The bits that survive a collection (everything but the scratch state).
pub(crate) const PERSISTENT: usize = GEN_MASK | FINALIZED;

/// The collector's part of a tracked box's header, placed just before the
/// reference-count [`Header`](crate::gc::Header). Also used as a sentinel.
#[repr(C)]
pub(crate) struct Links {
    /// Next box in the ring (or in the release queue, when not in a list).
    pub(crate) next: Cell<*const Links>,
    /// Previous box in the ring; null when the box is in no list. A
    /// candidate's `gc_refs` during a collection (see the invariants).
    pub(crate) prev: Cell<*const Links>,
    /// How to trace, finalize, drop and free the value (null for
    /// sentinels), with the flags in its low bits; see the constants above.
    pub(crate) vtable: Cell<*const VTable>,
}

impl Links {
    /// A sentinel that has not been linked to itself yet (reads as empty).
    pub(crate) const fn sentinel() -> Links {
        Links {
            next: Cell::new(ptr::null()),
            prev: Cell::new(ptr::null()),
            vtable: Cell::new(ptr::null()),
        }
    }

    /// The vtable and the flags, as one word: the flags are `word() &
    /// FLAGS`.
    #[inline(always)]
    pub(crate) fn word(&self) -> usize {
        self.vtable.get().addr()
    }

    /// Replaces the flags with `flags`, keeping the vtable.
    #[inline(always)]
    pub(crate) fn set_flags(&self, flags: usize) {
        debug_assert!(flags & !FLAGS == 0);
        self.vtable
            .set(self.vtable.get().map_addr(|a| (a & !FLAGS) | flags));
    }

    /// The vtable of a box (not a sentinel).
    #[inline(always)]
    pub(crate) fn vtable(&self) -> &'static VTable {
        // SAFETY: a box's vtable field holds the address of its type's
        // `VTable`, a promoted constant (so `'static`), plus flag bits,
        // which the alignment of `VTable` keeps out of the address.
        unsafe { &*self.vtable.get().map_addr(|a| a & !FLAGS) }
    }

    /// `gc_refs`, the trial-deletion count, which a candidate keeps in its
    /// `prev` from the moment the first pass of a collection reaches it
    /// (or `reset_refs` sets it, for a recount) until the reachability
    /// scan is done with it. (Before it is reached, edges into it are
    /// already taken from the pointer there.) Signed: below zero once
    /// every edge is counted means some trace reported an edge that does
    /// not exist.
    #[inline(always)]
    pub(crate) fn refs(&self) -> isize {
        self.prev.get().addr() as isize
    }

    /// Sets `gc_refs` (see [`Links::refs`]).
    #[inline(always)]
    pub(crate) fn set_refs(&self, refs: isize) {
        self.prev.set(ptr::without_provenance(refs as usize));
    }
}

/// Makes `head` an empty ring if it has never been initialised.
///
/// # Safety
/// `head` must point to a live sentinel that stays where it is.
#[inline]
pub(crate) unsafe fn init(head: *const Links) {
    // SAFETY: the caller guarantees `head` is live (for both calls).
    unsafe {
        if (*head).next.get().is_null() {
            init_empty(head);
        }
    }
}

/// Makes `head` an empty ring, forgetting its members: each must be marked
/// unlinked ([`mark_unlinked`]) by the caller.
///
/// # Safety
/// `head` must point to a live sentinel that stays where it is.
#[inline]
pub(crate) unsafe fn init_empty(head: *const Links) {
    // SAFETY: the caller guarantees `head` is live.
    let h = unsafe { &*head };
    h.next.set(head);
    h.prev.set(head);
}

/// Marks a box that a ring being taken apart held as in no list, as
/// [`remove`] leaves it.
///
/// # Safety
/// `node` must be live, and its former ring reset with [`init_empty`].
#[inline]
pub(crate) unsafe fn mark_unlinked(node: *const Links) {
    // SAFETY: the caller guarantees `node` is live.
    unsafe {
        (*node).prev.set(ptr::null());
        (*node).next.set(ptr::null());
    }
}

/// Whether the (initialised or not) list `head` holds no boxes.
///
/// # Safety
/// `head` must point to a live sentinel.
#[inline]
pub(crate) unsafe fn is_empty(head: *const Links) -> bool {
    // SAFETY: the caller guarantees `head` is live.
    let next = unsafe { (*head).next.get() };
    next.is_null() || next == head
}

/// Whether `node` is currently in some list.
///
/// # Safety
/// `node` must point to live `Links`.
#[inline]
pub(crate) unsafe fn is_linked(node: *const Links) -> bool {
    // SAFETY: the caller guarantees `node` is live.
    unsafe { !(*node).prev.get().is_null() }
}

/// Appends `node` (in no list) at the tail of the initialised list `head`.
///
/// # Safety
/// `head` must be an initialised live sentinel, `node` live and unlinked.
#[inline]
pub(crate) unsafe fn push_back(head: *const Links, node: *const Links) {
    // SAFETY: the caller guarantees both are live; the ring invariant makes
    // `head.prev` a live node of the same list.
    unsafe {
        let tail = (*head).prev.get();
        (*node).prev.set(tail);
        (*node).next.set(head);
        (*tail).next.set(node);
        (*head).prev.set(node);
    }
}

/// Takes `node` out of whatever list holds it and marks it unlinked.
///
/// # Safety
/// `node` must be live and linked.
#[inline]
pub(crate) unsafe fn remove(node: *const Links) {
    // SAFETY: the caller guarantees `node` is live and linked, so its
    // neighbours are live members of the same ring.
    unsafe {
        let prev = (*node).prev.get();
        let next = (*node).next.get();
        (*prev).next.set(next);
        (*next).prev.set(prev);
        (*node).prev.set(ptr::null());
        (*node).next.set(ptr::null());
    }
}

/// Takes `node` out of its list without marking it unlinked: for a box
/// whose value is about to be dropped and memory freed, which nothing will
/// ask about again (it has no strong handles).
///
/// # Safety
/// `node` must be live and linked, and must never be treated as linked
/// again.
#[inline]
pub(crate) unsafe fn remove_for_free(node: *const Links) {
    // SAFETY: as for `remove`.
    unsafe {
        let prev = (*node).prev.get();
        let next = (*node).next.get();
        (*prev).next.set(next);
        (*next).prev.set(prev);
    }
}

/// Moves the linked `node` to the tail of the initialised list `head`.
///
/// # Safety
/// As for [`remove`] and [`push_back`].
#[inline]
pub(crate) unsafe fn move_back(head: *const Links, node: *const Links) {
    // SAFETY: forwarded from the caller.
    unsafe {
        remove(node);
        push_back(head, node);
    }
}

/// Moves every box of `from` to the tail of `to`, leaving `from` empty.
///
/// # Safety
/// Both must be live sentinels; `to` must be initialised.
pub(crate) unsafe fn splice_back(from: *const Links, to: *const Links) {
    // SAFETY: the caller guarantees both sentinels are live; `is_empty`
    // excludes the uninitialised case, after which the ring invariant makes
    // every pointer followed here a live node.
    unsafe {
        if is_empty(from) {
            return;
        }
        let first = (*from).next.get();
        let last = (*from).prev.get();
        let tail = (*to).prev.get();
        (*tail).next.set(first);
        (*first).prev.set(tail);
        (*last).next.set(to);
        (*to).prev.set(last);
        (*from).next.set(from);
        (*from).prev.set(from);
    }
}

/// Puts back the `prev` pointers of the (initialised) ring `head` from its
/// `next` pointers, after a collection used them for `gc_refs`.
///
/// # Safety
/// `head` must be a live sentinel whose ring is consistent through `next`.
pub(crate) unsafe fn relink(head: *const Links) {
    // SAFETY: forwarded from the caller; the ring keeps every node live.
    unsafe {
        let mut pred = head;
        let mut cur = (*head).next.get();
        while cur != head {
            (*cur).prev.set(pred);
            pred = cur;
            cur = (*cur).next.get();
        }
        (*head).prev.set(pred);
    }
}

/// Counts the boxes of a list (initialised or not) by walking it.
///
/// # Safety
/// `head` must be a live sentinel.
pub(crate) unsafe fn len(head: *const Links) -> usize {
    // SAFETY: forwarded from the caller; the ring invariant keeps every
    // visited node live.
    unsafe {
        if is_empty(head) {
            return 0;
        }
        let mut n = 0;
        let mut cur = (*head).next.get();
        while cur != head {
            n += 1;
            cur = (*cur).next.get();
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize) -> Vec<Links> {
        (0..n).map(|_| Links::sentinel()).collect()
    }

    #[test]
    fn push_remove_splice() {
        let a = Box::new(Links::sentinel());
        let b = Box::new(Links::sentinel());
        let ns = nodes(5);
        let (ha, hb): (*const Links, *const Links) = (&*a, &*b);
        // SAFETY: every sentinel and node is a live Box that does not move.
        unsafe {
            assert!(is_empty(ha));
            init(ha);
            init(hb);
            assert!(is_empty(ha));
            for n in &ns[..3] {
                push_back(ha, n);
            }
            for n in &ns[3..] {
                push_back(hb, n);
            }
            assert_eq!((len(ha), len(hb)), (3, 2));
            assert!(is_linked(&ns[1]));
            remove(&ns[1]);
            assert!(!is_linked(&ns[1]));
            assert_eq!(len(ha), 2);
            move_back(hb, &ns[0]);
            assert_eq!((len(ha), len(hb)), (1, 3));
            splice_back(hb, ha);
            assert_eq!((len(ha), len(hb)), (4, 0));
            assert!(is_empty(hb));
            // Order after the splice: ns[2], ns[3], ns[4], ns[0].
            let order: Vec<*const Links> = {
                let mut v = Vec::new();
                let mut cur = (*ha).next.get();
                while cur != ha {
                    v.push(cur);
                    cur = (*cur).next.get();
                }
                v
            };
            let want: Vec<*const Links> = [2, 3, 4, 0]
                .iter()
                .map(|&i| &ns[i] as *const Links)
                .collect();
            assert_eq!(order, want);
            splice_back(hb, ha); // empty source is a no-op
            assert_eq!(len(ha), 4);
        }
    }

    #[test]
    fn flags_live_beside_the_vtable() {
        #[repr(align(128))]
        struct Aligned;
        let vtable = Aligned;
        let l = Links::sentinel();
        l.vtable.set((&raw const vtable).cast());
        l.set_flags(2 | FINALIZED);
        assert_eq!(l.word() & GEN_MASK, 2);
        assert_eq!(l.word() & PERSISTENT, 2 | FINALIZED);
        assert_eq!(l.word() & !FLAGS, (&raw const vtable).addr());
        l.set_flags((l.word() & FINALIZED) | COLLECTING);
        assert_eq!(l.word() & FLAGS, FINALIZED | COLLECTING);
        assert_eq!(l.vtable.get().addr() & !FLAGS, (&raw const vtable).addr());
        l.set_refs(-3);
        assert_eq!(l.refs(), -3);
    }

    #[test]
    fn relink_restores_prev_from_next() {
        let head = Box::new(Links::sentinel());
        let ns = nodes(4);
        let h: *const Links = &*head;
        // SAFETY: every sentinel and node is live and does not move.
        unsafe {
            init(h);
            for n in &ns {
                push_back(h, n);
            }
            for n in &ns {
                n.set_refs(7);
            }
            (*h).prev.set(ptr::null());
            relink(h);
            assert_eq!((*h).prev.get(), &ns[3] as *const Links);
            assert_eq!(ns[0].prev.get(), h);
            for w in ns.windows(2) {
                assert_eq!(w[1].prev.get(), &w[0] as *const Links);
            }
            remove(&ns[2]);
            assert_eq!(len(h), 3);
        }
    }
}
