//! Frees from other threads: each pool's remote list, and each heap's inbox.
//!
//! This module holds every protocol where threads meet inside a heap; each is
//! a single atomic word, changed by compare-and-swap or one read-modify-write.
//!
//! # A pool's remote list ([`RemoteFree`])
//! One word: the head of a stack of blocks freed by threads that do not hold
//! the pool's heap, with a two-bit tag in the low bits (blocks are 16-byte
//! aligned):
//!
//! | tag | meaning |
//! |---|---|
//! | `0` | nothing asked |
//! | `NOTIFY` | the holder wants to hear of the next push: the pool is full and off every list, or its heap is abandoned |
//! | `NOTIFIED` | a pusher consumed `NOTIFY` and is putting (or has put) the pool in its heap's inbox |
//!
//! A freer pushes with one CAS. If that CAS consumed `NOTIFY` it also pushes
//! the pool onto the heap's inbox, so a full pool becomes usable again without
//! its owner scanning for it (mimalloc's "delayed free", per pool). Only the
//! holder removes blocks: [`RemoteFree::take`] keeps the tag (the pool may be
//! in the inbox), [`RemoteFree::take_pending`] clears it (the holder has just
//! taken the pool out of the inbox).
//!
//! # A heap's inbox ([`Inbox`])
//! One word: the head of a stack of pools whose `NOTIFY` was consumed, and in
//! the low bits who holds the heap: `ACTIVE` (its thread), `ABANDONED`
//! (nobody: the thread exited) or `CLAIMED` (another thread, for a moment).
//! Because the state and the list share a word, a freer that finds the heap
//! abandoned claims it in the same CAS that delivers the pool, and a holder
//! can only let go when the list is empty: no notice is ever lost, with no
//! store-load fence anywhere.
//!
//! # Invariants
//! - A pool is in at most one inbox at most once: only the CAS that turns
//!   `NOTIFY` into `NOTIFIED` pushes it, and only the holder re-arms `NOTIFY`,
//!   after taking the pool out of the inbox.
//! - A freer touches a pool only before its push, or, when its push consumed
//!   `NOTIFY`, until the pool is in the inbox; after that it touches only the
//!   heap, and heaps are never unmapped. Every block on a remote list counts
//!   as used, and a pool in the inbox is never returned to its arena, so the
//!   arena cannot be unmapped under a free in flight.
//! - The thread holding a heap is the only one that reads or writes the
//!   heap's and its pools' `UnsafeCell`s; holding passes from one thread to
//!   the next only through a release/acquire pair on the inbox word.

use crate::pool::{Block, Pool};
use crate::sync::{AtomicUsize, Ordering, const_unless_loom};
use crate::{debug, sanitizer};
use core::ptr;

/// Frees `block` of `pool` from a thread that does not hold the pool's heap:
/// one CAS onto the pool's remote list; when that consumed `NOTIFY`, one more
/// to deliver the pool to its heap's inbox; and when the heap turns out to be
/// abandoned, a pass over its inbox before letting go again.
///
/// # Safety
/// `block` is a live block of `pool`, owned by the caller, not used again.
#[inline(never)]
pub(crate) unsafe fn free(pool: *mut Pool, block: *mut Block) {
    // SAFETY: the block is live, so the pool's header is initialised and its
    // `heap` fixed; heaps are never unmapped. The pool stays mapped until our
    // push (the block counts as used) and, if we consumed NOTIFY, until the
    // pool is in the inbox (a pending pool is never given back).
    unsafe {
        let heap = &*(*pool).heap;
        let size = (*pool).block_size as usize;
        sanitizer::free_begin(block.cast(), size);
        debug::on_free_remote(pool, block);
        sanitizer::block_freed(block.cast(), size);
        if (*pool).shared.remote.push(block) && heap.inbox.deliver(pool) == Delivery::Claimed {
            heap.let_go(Holder::Claimed);
        }
    }
}

/// The ordering of a remote push. Release publishes the freed block and its
/// link to the holder; acquire, when the push consumes `NOTIFY`, orders the
/// holder's last use of the pool's inbox link (before it armed `NOTIFY`)
/// before the pusher writes that link again. The test-only
/// `--cfg pymalloc_loom_weak` weakens it, so that the loom teeth test can
/// show the models catch a missing release.
#[cfg(not(pymalloc_loom_weak))]
const PUBLISH: Ordering = Ordering::AcqRel;
#[cfg(pymalloc_loom_weak)]
const PUBLISH: Ordering = Ordering::Relaxed;

const TAG_MASK: usize = 0b11;
/// The holder wants to hear of the next remote free into this pool.
const NOTIFY: usize = 0b01;
/// A freer consumed `NOTIFY`: the pool is in (or entering) the heap's inbox.
const NOTIFIED: usize = 0b10;

/// What [`RemoteFree::arm`] found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Arm {
    /// `NOTIFY` is set: the next remote free will put the pool in the inbox.
    Armed,
    /// The pool is already in (or entering) the inbox; it will be looked at.
    Pending,
    /// Blocks are waiting on the remote list: take them first.
    Blocks,
}

/// The remote-free list of one pool.
pub(crate) struct RemoteFree(AtomicUsize);

impl RemoteFree {
    const_unless_loom! {
        /// An empty list with no tag.
        pub(crate) fn new() -> Self {
            Self(AtomicUsize::new(0))
        }
    }

    /// Pushes `block`, freed by a thread that does not hold the pool's heap.
    /// Returns true when this push consumed `NOTIFY`: the caller must then
    /// deliver the pool to its heap's inbox.
    ///
    /// # Safety
    /// `block` is a block of this pool that the caller owns and will not
    /// touch again.
    #[inline]
    pub(crate) unsafe fn push(&self, block: *mut Block) -> bool {
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            // SAFETY: the caller owns `block`; it is published by the CAS.
            unsafe { Block::set_next(block, untag(cur)) };
            let tag = match cur & TAG_MASK {
                NOTIFY => NOTIFIED,
                t => t,
            };
            // See `PUBLISH`.
            match self.0.compare_exchange_weak(
                cur,
                block.expose_provenance() | tag,
                PUBLISH,
                Ordering::Relaxed,
            ) {
                Ok(_) => return cur & TAG_MASK == NOTIFY,
                Err(now) => cur = now,
            }
        }
    }

    /// Whether blocks are waiting (a hint; the holder takes them later).
    #[inline]
    pub(crate) fn has_blocks(&self) -> bool {
        self.0.load(Ordering::Relaxed) & !TAG_MASK != 0
    }

    /// Whether the pool is in (or entering) its heap's inbox.
    #[inline]
    pub(crate) fn is_pending(&self) -> bool {
        self.0.load(Ordering::Relaxed) & TAG_MASK == NOTIFIED
    }

    /// The waiting blocks, left in place. Only the holder removes blocks and
    /// pushes only prepend, so the holder may walk the snapshot.
    #[cfg(all(debug_assertions, not(loom)))]
    pub(crate) fn peek(&self) -> *mut Block {
        untag(self.0.load(Ordering::Acquire))
    }

    /// Takes every waiting block, keeping the tag. Holder only.
    #[inline]
    pub(crate) fn take(&self) -> *mut Block {
        untag(self.0.fetch_and(TAG_MASK, Ordering::Acquire))
    }

    /// Takes every waiting block and clears the tag. Holder only, and only
    /// right after taking this pool out of the inbox.
    #[inline]
    pub(crate) fn take_pending(&self) -> *mut Block {
        untag(self.0.swap(0, Ordering::Acquire))
    }

    /// Asks to hear of the next remote free. Holder only.
    pub(crate) fn arm(&self) -> Arm {
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            if cur & !TAG_MASK != 0 {
                return Arm::Blocks;
            }
            match cur {
                NOTIFY => return Arm::Armed,
                NOTIFIED => return Arm::Pending,
                _ => {}
            }
            // Release: what the holder did with the pool (its inbox link
            // above all) happens-before the push that consumes `NOTIFY`.
            match self
                .0
                .compare_exchange_weak(0, NOTIFY, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return Arm::Armed,
                Err(now) => cur = now,
            }
        }
    }
}

#[inline(always)]
fn untag(word: usize) -> *mut Block {
    ptr::with_exposed_provenance_mut(word & !TAG_MASK)
}

/// Who holds a heap, kept in the low bits of its inbox word.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(usize)]
pub(crate) enum Holder {
    /// Its thread is alive and allocating from it.
    Active = 1,
    /// Its thread exited; nobody holds it.
    Abandoned = 2,
    /// Another thread holds it for a moment to take in remote frees.
    Claimed = 3,
}

const HOLDER_MASK: usize = 0b11;

/// What [`Inbox::deliver`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Delivery {
    /// The pool is in the inbox of a held heap; its holder will see it.
    Queued,
    /// The heap was abandoned and the caller now holds it (`Claimed`): it
    /// must collect the inbox and then [`Inbox::let_go`].
    Claimed,
}

/// A heap's inbox: pools with news from other threads, and the heap's holder.
pub(crate) struct Inbox(AtomicUsize);

impl Inbox {
    const_unless_loom! {
        /// An empty inbox of a heap held by the thread that creates it.
        pub(crate) fn new() -> Self {
            Self(AtomicUsize::new(Holder::Active as usize))
        }
    }

    /// Delivers `pool`, whose `NOTIFY` the caller consumed. Claims the heap
    /// if it is abandoned.
    ///
    /// # Safety
    /// The caller's push consumed `NOTIFY` on `pool` (so it is in no inbox),
    /// and `pool` belongs to this inbox's heap.
    pub(crate) unsafe fn deliver(&self, pool: *mut Pool) -> Delivery {
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            // SAFETY: the pool is in no inbox, so nobody else writes its
            // link; the CAS below publishes it.
            unsafe { (*pool).shared.next_pending.set(untag_pool(cur)) };
            let claim = cur & HOLDER_MASK == Holder::Abandoned as usize;
            let holder = if claim {
                Holder::Claimed as usize
            } else {
                cur & HOLDER_MASK
            };
            // Release publishes the pool's link; Acquire, when claiming,
            // takes over everything the last holder wrote.
            match self.0.compare_exchange_weak(
                cur,
                pool.expose_provenance() | holder,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) if claim => return Delivery::Claimed,
                Ok(_) => return Delivery::Queued,
                Err(now) => cur = now,
            }
        }
    }

    /// Whether pools are waiting (a hint for the holder's slow path).
    #[inline]
    pub(crate) fn has_pools(&self) -> bool {
        self.0.load(Ordering::Relaxed) & !HOLDER_MASK != 0
    }

    /// Takes every waiting pool, linked through `next_pending`. Holder only.
    pub(crate) fn take(&self) -> *mut Pool {
        untag_pool(self.0.fetch_and(HOLDER_MASK, Ordering::Acquire))
    }

    /// Who holds the heap now (racy unless the caller is the holder).
    pub(crate) fn holder(&self) -> Holder {
        match self.0.load(Ordering::Relaxed) & HOLDER_MASK {
            1 => Holder::Active,
            2 => Holder::Abandoned,
            _ => Holder::Claimed,
        }
    }

    /// Takes an abandoned heap for a new thread. Returns false when the heap
    /// is held by someone.
    pub(crate) fn try_adopt(&self) -> bool {
        let mut cur = self.0.load(Ordering::Relaxed);
        while cur & HOLDER_MASK == Holder::Abandoned as usize {
            let new = (cur & !HOLDER_MASK) | Holder::Active as usize;
            // Acquire: everything the last holder wrote is visible.
            match self
                .0
                .compare_exchange_weak(cur, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => cur = now,
            }
        }
        false
    }

    /// The holder (`held` is how it holds) lets go, leaving the heap
    /// abandoned. Fails, changing nothing, while pools wait in the inbox: the
    /// holder must take them in and try again.
    pub(crate) fn let_go(&self, held: Holder) -> bool {
        // Release: everything the holder wrote happens-before the next
        // holder's acquire.
        self.0
            .compare_exchange(
                held as usize,
                Holder::Abandoned as usize,
                Ordering::Release,
                Ordering::Relaxed,
            )
            .is_ok()
    }
}

#[inline(always)]
fn untag_pool(word: usize) -> *mut Pool {
    ptr::with_exposed_provenance_mut(word & !HOLDER_MASK)
}
