//! Buffers handed back by the thread that emptied them, for the thread
//! that fills them to reuse: a receive batch (up to 512 KiB) and a batch's
//! flows (a block's, some 2.5 to 3.7 MB) grow to their working size once,
//! instead of being allocated, faulted in and freed on another thread
//! many times a second (page faults and `memmove` showed in floed's
//! profile).

use std::sync::Mutex;

/// A buffer a [`Pool`] can hand out again.
pub trait Reuse: Sized {
    /// Spare buffers a [`Pool`] keeps at most; more are freed.
    const KEEP: usize = 32;
    /// A new, empty buffer.
    fn fresh() -> Self;
    /// Empties the buffer, keeping at most its working capacity.
    fn reset(&mut self);
    /// Whether the buffer is worth keeping as a spare (one that never
    /// grew would make the next taker grow it from nothing).
    fn worth_keeping(&self) -> bool {
        true
    }
}

/// At most [`Reuse::KEEP`] spare buffers; more are freed.
pub struct Pool<T>(Mutex<Vec<T>>);

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Pool(Mutex::new(Vec::new()))
    }
}

impl<T: Reuse> Pool<T> {
    pub fn take(&self) -> T {
        self.0
            .lock()
            .ok()
            .and_then(|mut v| v.pop())
            .unwrap_or_else(T::fresh)
    }

    pub fn give(&self, mut b: T) {
        if !b.worth_keeping() {
            return;
        }
        b.reset();
        if let Ok(mut v) = self.0.lock() {
            if v.len() < T::KEEP {
                v.push(b);
            }
        }
    }
}
