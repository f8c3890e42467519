//! The contract every real-time stage keeps — [`Equalizer`](super::Equalizer),
//! [`PeakLimiter`](super::PeakLimiter) and the whole [`Pipeline`](super::Pipeline): sizing
//! queries, one processing call in either layout behind one block check, and `reset`. A new stage
//! implements [`Processor`]; the C layer and the Python wrappers reach every stage through it.

use crate::dsp::{Layout, Sample};
use crate::ProcessError;

/// A real-time stage: built once by its constructor (which allocates everything), then
/// `process*` and `reset` never allocate, lock, block or free. Planar buffers hold
/// `channels × frames` samples channel after channel; interleaved ones frame after frame.
///
/// Thread class: audio-thread (one thread at a time; parameters change through each stage's
/// own control handle).
pub trait Processor<T: Sample> {
    /// Channels processed.
    fn channels(&self) -> usize;

    /// Largest block one call accepts, in frames (`usize::MAX`: any length).
    fn max_block(&self) -> usize;

    /// Delay from input to output in frames.
    fn latency_frames(&self) -> usize;

    /// Processes `input` (laid out as `layout`, `frames = input.len() / channels`) into
    /// `output[.. input.len()]`. Non-finite samples (and finite ones beyond ±2^20, +120 dBFS)
    /// are replaced by zero and counted. Real-time safe.
    ///
    /// # Errors
    /// What [`check_block`] refuses; nothing is processed or written then.
    fn process_layout(
        &mut self,
        input: &[T],
        output: &mut [T],
        layout: Layout,
    ) -> Result<(), ProcessError>;

    /// [`process_layout`](Self::process_layout) for planar buffers.
    ///
    /// # Errors
    /// As `process_layout`.
    fn process(&mut self, input: &[T], output: &mut [T]) -> Result<(), ProcessError> {
        self.process_layout(input, output, Layout::Planar)
    }

    /// [`process_layout`](Self::process_layout) for interleaved frames (`c0 c1 … c0 c1 …`).
    ///
    /// # Errors
    /// As `process_layout`.
    fn process_interleaved(&mut self, input: &[T], output: &mut [T]) -> Result<(), ProcessError> {
        self.process_layout(input, output, Layout::Interleaved)
    }

    /// Clears the signal state; keeps the parameters and applies them at once (no ramps).
    /// Real-time safe.
    fn reset(&mut self);
}

/// The block check every stage runs before touching anything: `input` samples must be a whole
/// number of `channels`-sample frames, at most `max_block` of them, and `output` must hold as
/// many samples. Returns the frame count.
///
/// # Errors
/// [`ProcessError::InputShape`], [`ProcessError::BlockTooLarge`], [`ProcessError::OutputTooSmall`]
/// (checked in that order).
pub fn check_block(
    channels: usize,
    max_block: usize,
    input: usize,
    output: usize,
) -> Result<usize, ProcessError> {
    if channels == 0 || input % channels != 0 {
        return Err(ProcessError::InputShape);
    }
    let frames = input / channels;
    if frames > max_block {
        return Err(ProcessError::BlockTooLarge);
    }
    if output < input {
        return Err(ProcessError::OutputTooSmall);
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_check_refuses_in_order() {
        assert_eq!(check_block(2, 4, 8, 8), Ok(4));
        assert_eq!(check_block(2, 4, 0, 0), Ok(0));
        assert_eq!(check_block(2, 4, 7, 100), Err(ProcessError::InputShape));
        assert_eq!(check_block(0, 4, 0, 0), Err(ProcessError::InputShape));
        assert_eq!(check_block(2, 4, 10, 100), Err(ProcessError::BlockTooLarge));
        assert_eq!(check_block(2, 4, 8, 7), Err(ProcessError::OutputTooSmall));
        assert_eq!(check_block(3, usize::MAX, 9, 9), Ok(3));
    }
}
