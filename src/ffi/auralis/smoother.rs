//! `tonecore_auralis_smoother`: the host's attack/release gain smoother as plain data.

use super::functions::finite;
use crate::auralis::level::GainSmoother;
use crate::ffi::{disjoint, guard, guard_rt, out_param, slice_out, tonecore_status, Failure};

/// The host's attack/release gain smoother, as plain data the caller owns (and serialises).
/// Initialise it with `tonecore_auralis_smoother_init`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct tonecore_auralis_smoother {
    /// Smoothing factor when the gain rises (finite).
    pub attack_alpha: f64,
    /// Smoothing factor when the gain falls (finite).
    pub release_alpha: f64,
    /// The gain reached so far (starts at 1).
    pub current_gain: f64,
    /// The gain the ramp heads for (starts at 1).
    pub target_gain: f64,
}

impl From<tonecore_auralis_smoother> for GainSmoother {
    fn from(s: tonecore_auralis_smoother) -> Self {
        Self {
            attack_alpha: s.attack_alpha,
            release_alpha: s.release_alpha,
            current_gain: s.current_gain,
            target_gain: s.target_gain,
        }
    }
}

impl From<GainSmoother> for tonecore_auralis_smoother {
    fn from(s: GainSmoother) -> Self {
        Self {
            attack_alpha: s.attack_alpha,
            release_alpha: s.release_alpha,
            current_gain: s.current_gain,
            target_gain: s.target_gain,
        }
    }
}

pub(super) unsafe fn read_smoother(
    s: *const tonecore_auralis_smoother,
) -> Result<GainSmoother, Failure> {
    let s = out_param(s.cast_mut())?.read_unaligned();
    finite(s.attack_alpha, "attack_alpha must be finite")?;
    finite(s.release_alpha, "release_alpha must be finite")?;
    Ok(s.into())
}

/// Initialises `*smoother_out` at unity gain (current = target = 1) with the two smoothing
/// factors (host defaults 0.01 and 0.001).
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (a factor not finite). Thread class: any-thread.
///
/// `smoother_out` is borrowed for the call only.
///
/// # Safety
/// `smoother_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_smoother_init(
    attack_alpha: f64,
    release_alpha: f64,
    smoother_out: *mut tonecore_auralis_smoother,
) -> tonecore_status {
    guard(|| {
        let out = out_param(smoother_out)?;
        finite(attack_alpha, "attack_alpha must be finite")?;
        finite(release_alpha, "release_alpha must be finite")?;
        out.write(GainSmoother::new(attack_alpha, release_alpha).into());
        Ok(())
    })
}

/// Sets the smoother's target with the host's clamp `max(0, min(10, target))` (Python's
/// `min`/`max`: NaN becomes 10).
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (a factor in the struct not finite).
/// Thread class: any-thread, audio-safe (the caller serialises access to the struct).
///
/// `smoother` is borrowed for the call only.
///
/// # Safety
/// `smoother` must point to a readable and writable struct.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_smoother_set_target(
    smoother: *mut tonecore_auralis_smoother,
    target: f64,
) -> tonecore_status {
    guard_rt(|| {
        let mut s = read_smoother(smoother)?;
        s.set_target(target);
        smoother.write_unaligned(s.into());
        Ok(())
    })
}

/// Writes the smoother's ramp for `output_len` samples — `g[j] = T + (c − T)·(1 − α)^(j+1)`
/// computed in double (α = attack when `T > c`, else release), stored as float — and advances
/// `current_gain` to `g[output_len − 1]`; a constant `c` (and no change) when `|c − T| < 1e-6`;
/// nothing for a length of 0.
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (a factor not finite); nothing is written on
/// error. Thread class: any-thread, audio-safe (the caller serialises access to the struct).
///
/// `smoother` and `output` are borrowed for the call only.
///
/// # Safety
/// `smoother` readable and writable; `output` valid for `output_len` floats.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_smoother_process(
    smoother: *mut tonecore_auralis_smoother,
    output: *mut f32,
    output_len: usize,
) -> tonecore_status {
    guard_rt(|| {
        let mut s = read_smoother(smoother)?;
        let y = slice_out(output, output_len)?;
        disjoint(smoother, 1, output, output_len)?;
        s.process(y);
        smoother.write_unaligned(s.into());
        Ok(())
    })
}
