//! `tonecore_auralis_level_matcher`: the host's real-time RMS level matcher
//! (`RealtimeLevelMatcher`) as plain data.

use super::functions::{channels_of, finite};
use super::smoother::{read_smoother, tonecore_auralis_smoother};
use crate::auralis::level::RealtimeLevelMatcher;
use crate::dsp::Sample;
use crate::ffi::{
    disjoint, guard, guard_rt, out_param, slice_in, slice_out, tonecore_status, Failure,
};

/// The host's real-time RMS level matcher, as plain data the caller owns (and serialises).
/// Initialise it with `tonecore_auralis_level_matcher_init`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct tonecore_auralis_level_matcher {
    /// Non-zero when matching is applied (set by `_set_reference_*`; the caller may clear it).
    pub enabled: u32,
    /// Non-zero once a reference is set.
    pub has_reference: u32,
    /// RMS of the reference audio (meaningful when `has_reference`).
    pub reference_rms: f64,
    /// Smoothing of the target RMS per block (finite; default 0.01).
    pub target_rms_alpha: f64,
    /// The smoothed target RMS (starts at 0).
    pub current_target_rms: f64,
    /// Post-gain peak normalisation level (finite; default 0.95).
    pub peak: f64,
    /// The gain smoother (default attack 0.02, release 0.005).
    pub smoother: tonecore_auralis_smoother,
}

impl From<RealtimeLevelMatcher> for tonecore_auralis_level_matcher {
    fn from(m: RealtimeLevelMatcher) -> Self {
        Self {
            enabled: m.enabled.into(),
            has_reference: m.reference_rms.is_some().into(),
            reference_rms: m.reference_rms.unwrap_or(0.0),
            target_rms_alpha: m.target_rms_alpha,
            current_target_rms: m.current_target_rms,
            peak: m.peak,
            smoother: m.smoother.into(),
        }
    }
}

unsafe fn read_matcher(
    m: *const tonecore_auralis_level_matcher,
) -> Result<RealtimeLevelMatcher, Failure> {
    let m = out_param(m.cast_mut())?.read_unaligned();
    finite(m.target_rms_alpha, "target_rms_alpha must be finite")?;
    finite(m.peak, "peak must be finite")?;
    let smoother = read_smoother(&m.smoother)?;
    Ok(RealtimeLevelMatcher {
        enabled: m.enabled != 0,
        reference_rms: (m.has_reference != 0).then_some(m.reference_rms),
        target_rms_alpha: m.target_rms_alpha,
        current_target_rms: m.current_target_rms,
        peak: m.peak,
        smoother,
    })
}

/// Initialises `*matcher_out` as the host constructs it: disabled, no reference, target RMS
/// smoothing 0.01, peak 0.95, smoother attack 0.02 / release 0.005 at unity gain.
///
/// Returns `NULL_POINTER`. Thread class: any-thread.
///
/// `matcher_out` is borrowed for the call only.
///
/// # Safety
/// `matcher_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_level_matcher_init(
    matcher_out: *mut tonecore_auralis_level_matcher,
) -> tonecore_status {
    guard(|| {
        out_param(matcher_out)?.write(RealtimeLevelMatcher::default().into());
        Ok(())
    })
}

unsafe fn set_reference<T: Sample>(
    matcher: *mut tonecore_auralis_level_matcher,
    reference: *const T,
    reference_len: usize,
) -> tonecore_status {
    guard_rt(|| {
        let mut m = read_matcher(matcher)?;
        m.set_reference(slice_in(reference, reference_len)?);
        matcher.write_unaligned(m.into());
        Ok(())
    })
}

/// Sets the matcher's reference RMS, `sqrt(mean(x²))` over all `reference_len` values
/// (accumulated in double; NaN for an empty reference, as numpy's mean of nothing), and enables
/// it.
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (a factor or the peak in the struct not finite);
/// the struct is unchanged on error. Thread class: any-thread, audio-safe.
///
/// `matcher` and `reference` are borrowed for the call only.
///
/// # Safety
/// `matcher` readable and writable; `reference` valid for `reference_len` floats.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_level_matcher_set_reference_f32(
    matcher: *mut tonecore_auralis_level_matcher,
    reference: *const f32,
    reference_len: usize,
) -> tonecore_status {
    set_reference(matcher, reference, reference_len)
}

/// Double-precision [`tonecore_auralis_level_matcher_set_reference_f32`].
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (a factor or the peak in the struct not finite);
/// the struct is unchanged on error. Thread class: any-thread, audio-safe.
///
/// `matcher` and `reference` are borrowed for the call only.
///
/// # Safety
/// With doubles: `matcher` readable and writable; `reference` valid for `reference_len` floats.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_level_matcher_set_reference_f64(
    matcher: *mut tonecore_auralis_level_matcher,
    reference: *const f64,
    reference_len: usize,
) -> tonecore_status {
    set_reference(matcher, reference, reference_len)
}

unsafe fn match_level<T: Sample>(
    matcher: *mut tonecore_auralis_level_matcher,
    input: *const T,
    input_len: usize,
    channels: usize,
    output: *mut T,
    output_len: usize,
    applied_out: *mut u32,
) -> tonecore_status {
    guard_rt(|| {
        let applied_out = out_param(applied_out)?;
        let mut m = read_matcher(matcher)?;
        let x = slice_in(input, input_len)?;
        let y = slice_out(output, output_len)?;
        disjoint(input, input_len, output, output_len)?;
        disjoint(matcher, 1, output, output_len)?;
        channels_of(input_len, channels)?;
        if y.len() < x.len() {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        let applied = m.process(x, channels, y);
        if !applied {
            y[..x.len()].copy_from_slice(x);
        }
        matcher.write_unaligned(m.into());
        applied_out.write(applied.into());
        Ok(())
    })
}

/// Runs one interleaved block through the host's level matcher. When enabled with a non-zero
/// reference and the block's RMS over all channels is not 0 (and the block not empty):
/// `current_target_rms += (reference_rms − current_target_rms)·target_rms_alpha`, the smoother's
/// target becomes `current_target_rms / rms` (clamped to [0, 10]), every frame is multiplied by
/// the smoother's float ramp (one gain per frame), and when the peak of the result exceeds
/// `peak` (compared in the sample type) it is scaled by `peak / max` linearly; `*applied_out`
/// is 1. Otherwise `output` is a copy of `input`, the struct is unchanged and `*applied_out` is
/// 0. NaN samples propagate (the smoother's target then becomes 10, as in the host).
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (struct factors not finite), `INVALID_CHANNELS`,
/// `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`; nothing is written on error.
/// Thread class: any-thread, audio-safe (the caller serialises access to the struct).
///
/// `matcher`, `input`, `output` and `applied_out` are borrowed for the call only.
///
/// # Safety
/// `matcher` readable and writable; buffers valid for their lengths; `applied_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_level_matcher_process_f32(
    matcher: *mut tonecore_auralis_level_matcher,
    input: *const f32,
    input_len: usize,
    channels: usize,
    output: *mut f32,
    output_len: usize,
    applied_out: *mut u32,
) -> tonecore_status {
    match_level(
        matcher,
        input,
        input_len,
        channels,
        output,
        output_len,
        applied_out,
    )
}

/// Double-precision [`tonecore_auralis_level_matcher_process_f32`] (the ramp is still float, as
/// in the host, so the gains applied to double samples are float-rounded).
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (struct factors not finite), `INVALID_CHANNELS`,
/// `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`; nothing is written on error.
/// Thread class: any-thread, audio-safe (the caller serialises access to the struct).
///
/// `matcher`, `input`, `output` and `applied_out` are borrowed for the call only.
///
/// # Safety
/// With doubles: `matcher` readable and writable; buffers valid for their lengths; `applied_out`
/// writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_level_matcher_process_f64(
    matcher: *mut tonecore_auralis_level_matcher,
    input: *const f64,
    input_len: usize,
    channels: usize,
    output: *mut f64,
    output_len: usize,
    applied_out: *mut u32,
) -> tonecore_status {
    match_level(
        matcher,
        input,
        input_len,
        channels,
        output,
        output_len,
        applied_out,
    )
}
