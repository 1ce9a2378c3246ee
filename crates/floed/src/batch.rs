//! What the receive threads hand the decode thread: datagrams received
//! together, copied back to back into one buffer.

use std::net::IpAddr;

use crate::pool::Reuse;

/// Most datagrams in one batch.
pub const BATCH_DATAGRAMS: usize = 256;
/// Most bytes in one batch: with the queue's length in batches, this bounds
/// the memory the queue can hold when exporters send large datagrams
/// (IPFIX allows 64 KiB).
pub const BATCH_BYTES: usize = 512 * 1024;

/// Datagrams received together, with the time they were received.
#[derive(Default)]
pub struct Batch {
    /// Receive time (UTC ms) of the first datagram.
    pub received_ms: i64,
    pub data: Vec<u8>,
    /// (source address, start in `data`, length)
    pub items: Vec<(IpAddr, u32, u32)>,
}

impl Batch {
    /// The datagrams, with the address each came from.
    pub fn datagrams(&self) -> impl Iterator<Item = (IpAddr, &[u8])> {
        self.items
            .iter()
            .map(|(from, at, len)| (*from, &self.data[*at as usize..(*at + *len) as usize]))
    }
}

impl Reuse for Batch {
    fn fresh() -> Self {
        Batch {
            received_ms: 0,
            data: Vec::with_capacity(BATCH_DATAGRAMS * 1500),
            items: Vec::with_capacity(BATCH_DATAGRAMS),
        }
    }

    fn reset(&mut self) {
        self.data.clear();
        self.items.clear();
        // A batch that took a few large datagrams past the limit does not
        // keep that much memory while it waits.
        self.data.shrink_to(BATCH_BYTES + BATCH_DATAGRAMS * 1500);
    }
}
