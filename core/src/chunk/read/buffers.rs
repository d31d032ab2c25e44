//! The buffers of a block's heads and events, kept by each thread between blocks.

use super::{BlockStreams, Head};
use crate::event::{Move, Resize, Scroll};

/// The buffers of a block's heads and events that borrow nothing from it, given back after the
/// block is read so that a thread's next block reuses their memory rather than the allocator
/// handing out (and the kernel zeroing) fresh pages for every block.
struct EventBuffers {
    heads: Vec<Head>,
    moves: Vec<Move>,
    scrolls: Vec<Scroll>,
    resizes: Vec<Resize>,
}

thread_local! {
    static EVENT_BUFFERS: std::cell::RefCell<EventBuffers> = const {
        std::cell::RefCell::new(EventBuffers {
            heads: Vec::new(),
            moves: Vec::new(),
            scrolls: Vec::new(),
            resizes: Vec::new(),
        })
    };
}

/// The most bytes of buffer a thread keeps per kind between blocks.
const KEPT_BUFFER_BYTES: usize = 16 << 20;

/// Returns `buffer` emptied if it is small enough to keep, or an empty one.
fn keepable<T>(mut buffer: Vec<T>) -> Vec<T> {
    if buffer.capacity() * std::mem::size_of::<T>() > KEPT_BUFFER_BYTES {
        return Vec::new();
    }
    buffer.clear();
    buffer
}

impl BlockStreams<'_> {
    /// Starts a block with this thread's kept buffers.
    pub(super) fn with_kept_buffers() -> Self {
        let kept = EVENT_BUFFERS.with(|cell| {
            let mut kept = cell.borrow_mut();
            EventBuffers {
                heads: std::mem::take(&mut kept.heads),
                moves: std::mem::take(&mut kept.moves),
                scrolls: std::mem::take(&mut kept.scrolls),
                resizes: std::mem::take(&mut kept.resizes),
            }
        });
        BlockStreams {
            heads: kept.heads,
            moves: kept.moves,
            scrolls: kept.scrolls,
            resizes: kept.resizes,
            ..BlockStreams::default()
        }
    }

    /// Gives the block's buffers back to this thread for its next block.
    pub fn recycle(self) {
        EVENT_BUFFERS.with(|cell| {
            *cell.borrow_mut() = EventBuffers {
                heads: keepable(self.heads),
                moves: keepable(self.moves),
                scrolls: keepable(self.scrolls),
                resizes: keepable(self.resizes),
            };
        });
    }
}
