//! Fallible reservation of buffers whose size comes from a caller's data (a track handed to the
//! engine or a playback stream, a render's output, the offline limiter's envelope), so that an
//! impossible size is refused with [`ProcessError::OutOfMemory`] instead of aborting the host.
//!
//! Buffers bounded by a validated configuration (blocks, FFT sizes, chunk tails) are allocated
//! the ordinary way: their maxima are checked before they are built.

use crate::ProcessError;
use std::sync::Arc;

/// `len` copies of `value` in a vector reserved fallibly.
///
/// # Errors
/// [`ProcessError::OutOfMemory`] when the allocator refuses `len` elements (or their size
/// overflows); nothing stays allocated then.
pub(crate) fn try_filled<T: Copy>(value: T, len: usize) -> Result<Vec<T>, ProcessError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| ProcessError::OutOfMemory)?;
    v.resize(len, value);
    Ok(v)
}

/// A shared copy of `x`.
///
/// Stable Rust has no fallible `Arc` allocation, so the copy's size is first reserved through a
/// fallible path and released (untouched pages: on Linux one `mmap`/`munmap` pair, nothing
/// resident). That refuses every size the allocator cannot give; a size it gives and then
/// cannot give again a moment later (another thread took the memory in between) still aborts,
/// as any allocation does.
///
/// # Errors
/// [`ProcessError::OutOfMemory`] when the allocator refuses the copy's size.
pub(crate) fn try_shared_copy<T: Copy>(x: &[T]) -> Result<Arc<[T]>, ProcessError> {
    // The Arc's header is two counters; 64 bytes covers it with its alignment.
    Vec::<u8>::new()
        .try_reserve_exact(std::mem::size_of_val(x).saturating_add(64))
        .map_err(|_| ProcessError::OutOfMemory)?;
    Ok(Arc::from(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_sizes_are_refused_and_possible_ones_filled() {
        assert_eq!(
            try_filled(0.0f32, 1 << 60).err(),
            Some(ProcessError::OutOfMemory)
        );
        assert_eq!(
            try_filled(0.0f64, usize::MAX).err(),
            Some(ProcessError::OutOfMemory)
        );
        assert_eq!(try_filled(1.5f32, 3).unwrap(), vec![1.5; 3]);
        assert_eq!(&*try_shared_copy(&[1.0f64, 2.0]).unwrap(), &[1.0, 2.0]);
    }
}
