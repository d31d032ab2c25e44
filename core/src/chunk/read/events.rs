//! A block's events, column by column: each kind restored from its residuals by the block
//! layout's predictors (see [`super::super::predict`]).

use super::{BlockStreams, Head, Layout, read};
use crate::chunk::block::Column;
use crate::chunk::predict::{Delta, Delta2, EventState};
use crate::codec::{CodecError, Reader};
use crate::event::{ClickReaction, Move, PERMYRIAD_MAX, Resize, Scroll, TargetPoint};
use crate::stream_ref::ClickRef;

pub(super) type EventCounts = [usize; 4];

fn narrow<T: TryFrom<i64>>(value: i64, what: &'static str) -> Result<T, CodecError> {
    T::try_from(value).map_err(|_| CodecError::OutOfRange {
        what,
        value: value as u64,
    })
}

#[inline(always)]
fn residual(
    readers: &mut [Reader<'_>],
    column: Column,
    what: &'static str,
) -> Result<i64, CodecError> {
    readers[column as usize].ivarint(what)
}

fn delta<T: TryFrom<i64>>(
    state: &mut Delta,
    readers: &mut [Reader<'_>],
    column: Column,
    what: &'static str,
) -> Result<T, CodecError> {
    narrow(state.restore(residual(readers, column, what)?), what)
}

/// Returns how many moves the time columns could still hold (one byte each at least): layout 2
/// splits the times between two columns.
pub(super) fn move_time_room(readers: &[Reader<'_>]) -> usize {
    let trail_times = readers
        .get(Column::MoveTrailT as usize)
        .map_or(0, Reader::remaining);
    room(readers, Column::MoveT) + trail_times
}

/// Checks that `count` events could fit in `room` bytes of their time columns (each takes a
/// byte at least), before anything is reserved or read for them.
fn check_room(count: usize, room: usize) -> Result<(), CodecError> {
    if count > room {
        return Err(CodecError::Truncated {
            what: "event column",
        });
    }
    Ok(())
}

/// Returns how many bytes are left in `column`.
pub(super) fn room(readers: &[Reader<'_>], column: Column) -> usize {
    readers[column as usize].remaining()
}

pub(super) fn decode_events(
    block: &mut BlockStreams<'_>,
    mut head: Head,
    [num_moves, num_clicks, num_scrolls, num_resizes]: EventCounts,
    readers: &mut [Reader<'_>],
    layout: Layout,
    state: &mut EventState,
) -> Result<Head, CodecError> {
    check_room(num_moves, move_time_room(readers))?;
    let start = block.moves.len();
    match layout {
        Layout::PerStream => decode_moves_per_stream(block, num_moves, readers)?,
        Layout::PerPageView | Layout::HeaderNamed => {
            decode_trail(block, num_moves, readers, state)?
        }
    }
    head.moves = start..block.moves.len();

    check_room(num_clicks, room(readers, Column::ClickT))?;
    let start = block.clicks.len();
    decode_clicks(
        block,
        num_clicks,
        head.moves.clone(),
        readers,
        layout,
        state,
    )?;
    head.clicks = start..block.clicks.len();

    check_room(num_scrolls, room(readers, Column::ScrollT))?;
    let start = block.scrolls.len();
    decode_scrolls(block, num_scrolls, readers, state)?;
    head.scrolls = start..block.scrolls.len();

    check_room(num_resizes, room(readers, Column::ResizeT))?;
    let start = block.resizes.len();
    decode_resizes(block, num_resizes, readers, state)?;
    head.resizes = start..block.resizes.len();
    Ok(head)
}

fn decode_scrolls(
    block: &mut BlockStreams<'_>,
    num_scrolls: usize,
    readers: &mut [Reader<'_>],
    state: &mut EventState,
) -> Result<(), CodecError> {
    for _ in 0..num_scrolls {
        let t_ms = delta(&mut state.scroll_t, readers, Column::ScrollT, "scroll t")?;
        let y = delta(&mut state.scroll_y, readers, Column::ScrollY, "scroll y")?;
        block.scrolls.push(Scroll { t_ms, y });
    }
    Ok(())
}

fn decode_resizes(
    block: &mut BlockStreams<'_>,
    num_resizes: usize,
    readers: &mut [Reader<'_>],
    state: &mut EventState,
) -> Result<(), CodecError> {
    for _ in 0..num_resizes {
        let t_ms = delta(&mut state.resize_t, readers, Column::ResizeT, "resize t")?;
        let width_px = delta(
            &mut state.resize_width,
            readers,
            Column::ResizeWidth,
            "resize width",
        )?;
        let height_px = delta(
            &mut state.resize_height,
            readers,
            Column::ResizeHeight,
            "resize height",
        )?;
        block.resizes.push(Resize {
            t_ms,
            width_px,
            height_px,
        });
    }
    Ok(())
}

/// A stream's clicks; layout 2 aims them from the stream's `moves` (a range of the block's).
fn decode_clicks(
    block: &mut BlockStreams<'_>,
    num_clicks: usize,
    moves: std::ops::Range<usize>,
    readers: &mut [Reader<'_>],
    layout: Layout,
    state: &mut EventState,
) -> Result<(), CodecError> {
    let mut next_move = 0;
    for _ in 0..num_clicks {
        let t = state
            .click_t
            .restore(residual(readers, Column::ClickT, "click t")?);
        let x_residual = residual(readers, Column::ClickX, "click x")?;
        let y_residual = residual(readers, Column::ClickY, "click y")?;
        let (x, y) = match layout {
            Layout::PerStream => (
                state.click_x.restore(x_residual),
                state.click_y.restore(y_residual),
            ),
            Layout::PerPageView | Layout::HeaderNamed => {
                state
                    .aim
                    .follow(&block.moves[moves.clone()], &mut next_move, t);
                state.aim.restore(x_residual, y_residual)
            }
        };
        let (t_ms, x, y) = (
            narrow(t, "click t")?,
            narrow(x, "click x")?,
            narrow(y, "click y")?,
        );
        let selector =
            block.strings[block.string(read(readers, Column::ClickSelector, "click selector")?)?];
        let inside = decode_inside(read(readers, Column::ClickInside, "click inside")?)?;
        let reaction = decode_reaction(readers)?;
        block.clicks.push(ClickRef {
            t_ms,
            x,
            y,
            selector,
            inside,
            reaction,
        });
    }
    Ok(())
}

/// A click's reaction: its column from layout 4 on; older layouts did not observe it.
fn decode_reaction(readers: &mut [Reader<'_>]) -> Result<ClickReaction, CodecError> {
    if readers.len() <= Column::ClickReaction as usize {
        return Ok(ClickReaction::NotObserved);
    }
    let code = read(readers, Column::ClickReaction, "click reaction")?;
    ClickReaction::from_code(code).ok_or(CodecError::OutOfRange {
        what: "click reaction",
        value: code,
    })
}

/// Layout 1's moves: time deltas and second-order coordinate deltas, from zero in every stream.
fn decode_moves_per_stream(
    block: &mut BlockStreams<'_>,
    num_moves: usize,
    readers: &mut [Reader<'_>],
) -> Result<(), CodecError> {
    let (mut t, [mut x, mut y]) = (Delta::default(), [Delta2::default(); 2]);
    for _ in 0..num_moves {
        let t_ms = delta(&mut t, readers, Column::MoveT, "move t")?;
        let x = narrow(
            x.restore(residual(readers, Column::MoveX, "move x")?),
            "move x",
        )?;
        let y = narrow(
            y.restore(residual(readers, Column::MoveY, "move y")?),
            "move y",
        )?;
        block.moves.push(Move { t_ms, x, y });
    }
    Ok(())
}

/// Layout 2's moves: the page view's pointer trail, each position read from the trail or the
/// jump columns as its time says.
fn decode_trail(
    block: &mut BlockStreams<'_>,
    num_moves: usize,
    readers: &mut [Reader<'_>],
    state: &mut EventState,
) -> Result<(), CodecError> {
    let [trail_t, jump_t, trail_x, trail_y, jump_x, jump_y] = readers
        .get_disjoint_mut([
            Column::MoveTrailT as usize,
            Column::MoveT as usize,
            Column::MoveX as usize,
            Column::MoveY as usize,
            Column::MoveJumpX as usize,
            Column::MoveJumpY as usize,
        ])
        .map_err(|_| CodecError::Truncated {
            what: "move columns",
        })?;
    block.moves.reserve(num_moves);
    for _ in 0..num_moves {
        let t_column = if state.moves.on_trail() {
            &mut *trail_t
        } else {
            &mut *jump_t
        };
        let (t_ms, jump) = state.moves.restore_t(t_column.ivarint("move t")?);
        let (x_column, y_column) = if jump {
            (&mut *jump_x, &mut *jump_y)
        } else {
            (&mut *trail_x, &mut *trail_y)
        };
        let (x, y) = state
            .moves
            .restore_xy(x_column.ivarint("move x")?, y_column.ivarint("move y")?);
        block.moves.push(Move {
            t_ms: narrow(t_ms, "move t")?,
            x: narrow(x, "move x")?,
            y: narrow(y, "move y")?,
        });
    }
    Ok(())
}

fn decode_inside(code: u64) -> Result<Option<TargetPoint>, CodecError> {
    if code == 0 {
        return Ok(None);
    }
    let stride = u64::from(PERMYRIAD_MAX) + 1;
    let (x, y) = ((code - 1) / stride, (code - 1) % stride);
    if x > u64::from(PERMYRIAD_MAX) {
        return Err(CodecError::OutOfRange {
            what: "click inside",
            value: code,
        });
    }
    Ok(Some(TargetPoint {
        x_permyriad: x as u16,
        y_permyriad: y as u16,
    }))
}
