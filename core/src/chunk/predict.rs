//! The predictors behind a block's columns: each value is stored as its difference from what
//! the values before it predict, so the columns hold small numbers that zstd codes in few bits.
//! The encoder calls `residual`, the decoder `restore`; both walk the same states in the same
//! order, so they always agree.
//!
//! Block layout 1 starts every stream from zero. Layout 2 carries every event column's state from
//! one batch to the next batch of the same page view (the tracker cuts a page view into batches
//! every few seconds, and each restart cost a whole absolute position and time), and predicts the
//! pointer with [`Trail`].

use crate::event::Move;

/// A value predicted by the one before it (first-order delta).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Delta(i64);

impl Delta {
    pub(super) fn residual(&mut self, value: i64) -> i64 {
        let residual = value.wrapping_sub(self.0);
        self.0 = value;
        residual
    }

    pub(super) fn restore(&mut self, residual: i64) -> i64 {
        self.0 = self.0.wrapping_add(residual);
        self.0
    }
}

/// A value predicted by the last one plus the last step (second-order delta): small along smooth
/// pointer trails. Layout 1 codes pointer coordinates with it.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Delta2 {
    value: i64,
    step: i64,
}

impl Delta2 {
    pub(super) fn residual(&mut self, value: i64) -> i64 {
        let step = value.wrapping_sub(self.value);
        let residual = step.wrapping_sub(self.step);
        self.value = value;
        self.step = step;
        residual
    }

    pub(super) fn restore(&mut self, residual: i64) -> i64 {
        self.step = self.step.wrapping_add(residual);
        self.value = self.value.wrapping_add(self.step);
        self.value
    }
}

/// Pointer moves closer together than this continue a trail (the tracker samples a moving pointer
/// every 50 ms); a longer silence means the pointer rested, and its next position is predicted
/// where it stopped rather than further along its old direction.
pub(super) const TRAIL_GAP_MS: i64 = 100;

/// Layout 2's pointer predictor. While the pointer moves, its next position is the last one plus
/// the last step, and the miss goes to the trail columns; after a pause (or at the start of a
/// page view) it is the last position, and the step goes to the jump columns, whose statistics
/// (large, rare) would otherwise blur the trail's.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Trail {
    t: Delta,
    x: Delta2,
    y: Delta2,
    moving: bool,
    on_trail: bool,
}

/// A pointer move, coded: the time's residual, and the position's, on the trail or as a jump.
/// The time goes to a column of its own while the pointer is on a trail (the next sample most
/// likely comes 50 ms later), apart from times after a jump (which spread over seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TrailResidual {
    pub t: i64,
    pub x: i64,
    pub y: i64,
    pub jump: bool,
    /// Whether the previous move was on a trail (see [`Trail::on_trail`]).
    pub t_on_trail: bool,
}

impl Trail {
    pub(super) fn residual(&mut self, t: i64, x: i64, y: i64) -> TrailResidual {
        let t_on_trail = self.on_trail;
        let t_residual = self.t.residual(t);
        let jump = self.start_move(t_residual);
        TrailResidual {
            t: t_residual,
            x: self.x.residual(x),
            y: self.y.residual(y),
            jump,
            t_on_trail,
        }
    }

    /// Whether the last move was on a trail, which says the column of the next move's time.
    pub(super) fn on_trail(&self) -> bool {
        self.on_trail
    }

    /// Restores a move's time from its residual; says whether its position is a jump.
    pub(super) fn restore_t(&mut self, t_residual: i64) -> (i64, bool) {
        let jump = self.start_move(t_residual);
        (self.t.restore(t_residual), jump)
    }

    /// Starts a move `dt` after the last one; returns whether it is a jump.
    fn start_move(&mut self, dt: i64) -> bool {
        let jump = self.starts_after(dt);
        if jump {
            self.x.step = 0;
            self.y.step = 0;
        }
        self.moving = true;
        self.on_trail = !jump;
        jump
    }

    /// Restores a move's position from its residuals (after [`Trail::restore_t`]).
    pub(super) fn restore_xy(&mut self, x_residual: i64, y_residual: i64) -> (i64, i64) {
        (self.x.restore(x_residual), self.y.restore(y_residual))
    }

    /// Whether a move `dt` after the last one starts a new trail.
    fn starts_after(&self, dt: i64) -> bool {
        !self.moving || dt > TRAIL_GAP_MS
    }
}

/// Layout 2's click position predictor: a click lands where the pointer is, so it is predicted
/// at the last pointer position known at its time (the last move at or before it, or the last
/// click), and only the miss (the tracker samples moves every 50 ms) is stored.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Aim {
    pointer: (i64, i64),
}

impl Aim {
    /// Follows the stream's `moves` from `*next` up to time `t`.
    pub(super) fn follow(&mut self, moves: &[Move], next: &mut usize, t: i64) {
        while let Some(event) = moves.get(*next).filter(|m| i64::from(m.t_ms) <= t) {
            self.pointer = (i64::from(event.x), i64::from(event.y));
            *next += 1;
        }
    }

    pub(super) fn residual(&mut self, x: i64, y: i64) -> (i64, i64) {
        let residual = (
            x.wrapping_sub(self.pointer.0),
            y.wrapping_sub(self.pointer.1),
        );
        self.pointer = (x, y);
        residual
    }

    pub(super) fn restore(&mut self, x_residual: i64, y_residual: i64) -> (i64, i64) {
        self.pointer = (
            self.pointer.0.wrapping_add(x_residual),
            self.pointer.1.wrapping_add(y_residual),
        );
        self.pointer
    }
}

/// Every event column's predictor state for one stream (layout 1) or one page view (layout 2).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct EventState {
    pub moves: Trail,
    pub click_t: Delta,
    /// Layout 1's click positions.
    pub click_x: Delta,
    pub click_y: Delta,
    /// Layout 2's click positions.
    pub aim: Aim,
    pub scroll_t: Delta,
    pub scroll_y: Delta,
    pub resize_t: Delta,
    pub resize_width: Delta,
    pub resize_height: Delta,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_click_is_predicted_where_the_pointer_last_was() {
        let moves = [
            Move {
                t_ms: 10,
                x: 100,
                y: 200,
            },
            Move {
                t_ms: 20,
                x: 140,
                y: 260,
            },
            Move {
                t_ms: 90,
                x: 500,
                y: 500,
            },
        ];
        let (mut aim, mut next) = (Aim::default(), 0);
        aim.follow(&moves, &mut next, 20);
        assert_eq!((aim.residual(141, 259), next), ((1, -1), 2));
        aim.follow(&moves, &mut next, 25);
        assert_eq!(
            aim.residual(141, 259),
            (0, 0),
            "a second click where the first was"
        );
        let (mut restorer, mut next) = (Aim::default(), 0);
        restorer.follow(&moves, &mut next, 20);
        assert_eq!(restorer.restore(1, -1), (141, 259));
    }

    #[test]
    fn trail_round_trips_through_pauses_and_extremes() {
        let moves = [
            (0, 100, 200),
            (50, 110, 205),
            (100, 121, 211),
            (500, 121, 211),
            (550, -4, i64::from(i32::MAX)),
            (i64::from(u32::MAX), i64::from(i32::MIN), 0),
            (3, 7, 7),
        ];
        let (mut encoder, mut decoder) = (Trail::default(), Trail::default());
        for (t, x, y) in moves {
            let residual = encoder.residual(t, x, y);
            assert_eq!(decoder.on_trail(), residual.t_on_trail);
            let (restored_t, jump) = decoder.restore_t(residual.t);
            assert_eq!(jump, residual.jump);
            assert_eq!(
                (restored_t, decoder.restore_xy(residual.x, residual.y)),
                (t, (x, y))
            );
        }
    }

    #[test]
    fn a_steady_trail_costs_nothing_and_a_pause_starts_from_rest() {
        let mut trail = Trail::default();
        let first = trail.residual(1000, 10, 10);
        assert!(first.jump, "a page view starts with a jump");
        trail.residual(1050, 20, 15);
        let steady = trail.residual(1100, 30, 20);
        assert_eq!(
            steady,
            TrailResidual {
                t: 50,
                x: 0,
                y: 0,
                jump: false,
                t_on_trail: true,
            }
        );
        let after_pause = trail.residual(1100 + TRAIL_GAP_MS + 1, 33, 20);
        assert_eq!(
            (after_pause.x, after_pause.y, after_pause.jump),
            (3, 0, true)
        );
    }
}
