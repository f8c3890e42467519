use super::{free_object, guard, object_ref, out_param, slice_in, tonecore_status, Guarded};
use crate::dsp::loudness::{integrated, measure, LoudnessMeter, LoudnessReport};
use crate::dsp::Sample;

/// A loudness measurement (ITU-R BS.1770-4 / EBU R128). `-inf` (or 0 LU for the range) where the
/// signal is too short or too quiet for a value.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct tonecore_loudness_report {
    /// Gated integrated loudness, LUFS.
    pub integrated: f64,
    /// Largest momentary loudness (400 ms windows every 100 ms), LUFS.
    pub momentary_max: f64,
    /// Largest short-term loudness (3 s windows every 100 ms), LUFS.
    pub short_term_max: f64,
    /// Loudness range (EBU Tech 3342), LU.
    pub range: f64,
    /// Largest true peak over all channels, dBTP.
    pub true_peak: f64,
}

impl From<LoudnessReport> for tonecore_loudness_report {
    fn from(r: LoudnessReport) -> Self {
        Self {
            integrated: r.integrated,
            momentary_max: r.momentary_max,
            short_term_max: r.short_term_max,
            range: r.range,
            true_peak: r.true_peak,
        }
    }
}

unsafe fn measure_ffi<T: Sample>(
    input: *const T,
    input_len: usize,
    channels: usize,
    sample_rate: u32,
    report_out: *mut tonecore_loudness_report,
) -> tonecore_status {
    guard(|| {
        let out = out_param(report_out)?;
        let x = slice_in(input, input_len)?;
        let report = measure(x, channels, sample_rate)?;
        out.write(report.into());
        Ok(())
    })
}

/// Measures a whole planar buffer (`channels` rows of `input_len / channels` samples) at
/// `sample_rate` Hz: integrated loudness, momentary and short-term maxima, loudness range and
/// true peak. Channel weights: 1 channel = one front channel (not dual-mono), 2 = L R,
/// 5 = L R C Ls Rs, 6 = L R C LFE Ls Rs (LFE not counted); more channels are not counted.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS` (0 or > 64), `INVALID_SAMPLE_RATE` (outside
/// 8000–2822400 Hz),
/// `INVALID_LENGTH` (not a whole number of frames), `NON_FINITE` (NaN, Inf or beyond ±2^20
/// refused); nothing is
/// written on error. `input` is borrowed for the call only.
/// Thread class: any-thread (allocates).
///
/// # Safety
/// `input` must point to `input_len` readable floats; `report_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_loudness_measure_f32(
    input: *const f32,
    input_len: usize,
    channels: usize,
    sample_rate: u32,
    report_out: *mut tonecore_loudness_report,
) -> tonecore_status {
    measure_ffi(input, input_len, channels, sample_rate, report_out)
}

/// Double-precision [`tonecore_loudness_measure_f32`]: `input` holds doubles.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `INVALID_SAMPLE_RATE`, `INVALID_LENGTH`,
/// `NON_FINITE`; nothing is written on error. `input` is borrowed for the call only.
/// Thread class: any-thread (allocates).
///
/// # Safety
/// `input` must point to `input_len` readable doubles; `report_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_loudness_measure_f64(
    input: *const f64,
    input_len: usize,
    channels: usize,
    sample_rate: u32,
    report_out: *mut tonecore_loudness_report,
) -> tonecore_status {
    measure_ffi(input, input_len, channels, sample_rate, report_out)
}

unsafe fn integrated_ffi<T: Sample>(
    input: *const T,
    input_len: usize,
    channels: usize,
    sample_rate: u32,
    lufs_out: *mut f64,
) -> tonecore_status {
    guard(|| {
        let out = out_param(lufs_out)?;
        let x = slice_in(input, input_len)?;
        out.write(integrated(x, channels, sample_rate)?);
        Ok(())
    })
}

/// Only the gated integrated loudness (LUFS, `-inf` for silence) of a planar buffer: several
/// times cheaper than `tonecore_loudness_measure_f32`, which also computes the short-term
/// history, loudness range and the oversampled true peak. Channel weights as there.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `INVALID_SAMPLE_RATE`, `INVALID_LENGTH`,
/// `NON_FINITE`; nothing is written on error. `input` is borrowed for the call only.
/// Thread class: any-thread (allocates).
///
/// # Safety
/// `input` must point to `input_len` readable floats; `lufs_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_loudness_integrated_f32(
    input: *const f32,
    input_len: usize,
    channels: usize,
    sample_rate: u32,
    lufs_out: *mut f64,
) -> tonecore_status {
    integrated_ffi(input, input_len, channels, sample_rate, lufs_out)
}

/// Double-precision [`tonecore_loudness_integrated_f32`]: `input` holds doubles.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `INVALID_SAMPLE_RATE`, `INVALID_LENGTH`,
/// `NON_FINITE`; nothing is written on error. `input` is borrowed for the call only.
/// Thread class: any-thread (allocates).
///
/// # Safety
/// `input` must point to `input_len` readable doubles; `lufs_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_loudness_integrated_f64(
    input: *const f64,
    input_len: usize,
    channels: usize,
    sample_rate: u32,
    lufs_out: *mut f64,
) -> tonecore_status {
    integrated_ffi(input, input_len, channels, sample_rate, lufs_out)
}

/// A streaming loudness meter: add planar blocks of any size, read the report at any time.
/// Single-threaded object (concurrent calls return `CONCURRENT_USE`); not for the audio thread.
pub struct tonecore_loudness_meter {
    channels: usize,
    meter: Guarded<LoudnessMeter>,
}

/// Creates a meter for `channels` planar channels at `sample_rate` Hz in `*meter_out` (written
/// only on success); the caller owns it and frees it with `tonecore_loudness_meter_free`.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `INVALID_SAMPLE_RATE` (outside 8000–2822400 Hz).
/// Thread class: control-thread.
///
/// # Safety
/// `meter_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_loudness_meter_new(
    channels: usize,
    sample_rate: u32,
    meter_out: *mut *mut tonecore_loudness_meter,
) -> tonecore_status {
    guard(|| {
        let out = out_param(meter_out)?;
        let meter = LoudnessMeter::new(channels, sample_rate)?;
        out.write(Box::into_raw(Box::new(tonecore_loudness_meter {
            channels,
            meter: Guarded::new(meter),
        })));
        Ok(())
    })
}

/// Frees a meter; NULL is a no-op.
///
/// Thread class: control-thread (frees); no other call on this meter may be running or follow.
///
/// # Safety
/// `meter` NULL or live; no call on it may be running or follow.
#[no_mangle]
pub unsafe extern "C" fn tonecore_loudness_meter_free(meter: *mut tonecore_loudness_meter) {
    free_object(meter);
}

unsafe fn add_ffi<T: Sample>(
    meter: *mut tonecore_loudness_meter,
    input: *const T,
    input_len: usize,
) -> tonecore_status {
    guard(|| {
        let m = object_ref(meter)?;
        let x = slice_in(input, input_len)?;
        if input_len % m.channels != 0 {
            return Err(tonecore_status::InvalidChannels.into());
        }
        m.meter.with(|meter| Ok(meter.add(x)?))
    })
}

/// Adds planar samples (`channels` rows of `input_len / channels`).
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS` (not a whole number of frames), `NON_FINITE`
/// (refused; nothing added), `CONCURRENT_USE`, `POISONED`, `PANIC`. `input` is borrowed for the
/// call only. Thread class: control-thread.
///
/// # Safety
/// `input` must point to `input_len` readable floats; `meter` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_loudness_meter_add_f32(
    meter: *mut tonecore_loudness_meter,
    input: *const f32,
    input_len: usize,
) -> tonecore_status {
    add_ffi(meter, input, input_len)
}

/// Double-precision [`tonecore_loudness_meter_add_f32`]: `input` holds doubles.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `NON_FINITE` (refused; nothing added),
/// `CONCURRENT_USE`, `POISONED`, `PANIC`. `input` is borrowed for the call only.
/// Thread class: control-thread.
///
/// # Safety
/// `input` must point to `input_len` readable doubles; `meter` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_loudness_meter_add_f64(
    meter: *mut tonecore_loudness_meter,
    input: *const f64,
    input_len: usize,
) -> tonecore_status {
    add_ffi(meter, input, input_len)
}

/// Writes the measurement so far to `*report_out`.
///
/// Returns `NULL_POINTER`, `CONCURRENT_USE`. Thread class: control-thread.
///
/// `meter` and `report_out` are borrowed for the call only.
///
/// # Safety
/// `meter` live; `report_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_loudness_meter_report(
    meter: *mut tonecore_loudness_meter,
    report_out: *mut tonecore_loudness_report,
) -> tonecore_status {
    guard(|| {
        let m = object_ref(meter)?;
        let out = out_param(report_out)?;
        let report = m.meter.with(|meter| Ok(meter.report()))?;
        out.write(report.into());
        Ok(())
    })
}

/// Forgets everything measured.
///
/// Returns `NULL_POINTER`, `CONCURRENT_USE`. Thread class: control-thread.
///
/// `meter` is borrowed for the call only.
///
/// # Safety
/// `meter` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_loudness_meter_reset(
    meter: *mut tonecore_loudness_meter,
) -> tonecore_status {
    guard(|| {
        let m = object_ref(meter)?;
        m.meter.with(|meter| {
            meter.reset();
            Ok(())
        })
    })
}
