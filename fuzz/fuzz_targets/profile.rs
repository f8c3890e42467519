//! Profile documents and matching settings from outside: `tonecore_profile_from_json` with
//! arbitrary bytes (also mutations of a valid document), and `tonecore_match_pipeline_config`
//! and `tonecore_match_f32` with arbitrary settings.
//!
//! Checked: no call panics; a refused document returns INVALID_PROFILE or PROFILE_VERSION and
//! writes no profile; an accepted one round-trips through `tonecore_profile_to_json`; a refused
//! match config leaves the pipeline config as it was.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use std::ptr::{null, null_mut};
use tonecore::ffi::*;

#[derive(Arbitrary, Debug)]
struct Input {
    json: Vec<u8>,
    /// Splice `json` into a valid document at this position (else use it alone).
    splice: Option<u16>,
    strength: f64,
    max_gain_db: f64,
    smoothing_octaves: f64,
    target_lufs: f64,
    ceiling_dbtp: f64,
    sample_rate: u32,
    samples: Vec<f32>,
}

const VALID: &str = include_str!("../corpus/profile/seed.json");

fuzz_target!(|input: Input| {
    let mut doc = match input.splice {
        Some(at) => {
            let at = usize::from(at) % (VALID.len() + 1);
            let mut d = VALID.as_bytes()[..at].to_vec();
            d.extend_from_slice(&input.json);
            d.extend_from_slice(&VALID.as_bytes()[at..]);
            d
        }
        None => input.json.clone(),
    };
    doc.truncate(1 << 16);
    let mut profile: *mut tonecore_profile = null_mut();
    let status = unsafe { tonecore_profile_from_json(doc.as_ptr().cast(), doc.len(), &mut profile) };
    if status != tonecore_status::Ok {
        assert!(matches!(
            status,
            tonecore_status::InvalidProfile | tonecore_status::ProfileVersion
        ));
        assert!(profile.is_null());
        return;
    }
    let mut len = 0usize;
    let mut text = vec![0u8; 8192];
    let s = unsafe { tonecore_profile_to_json(profile, text.as_mut_ptr().cast(), text.len(), &mut len) };
    assert_eq!(s, tonecore_status::Ok);
    let mut again: *mut tonecore_profile = null_mut();
    assert_eq!(
        unsafe { tonecore_profile_from_json(text.as_ptr().cast(), len, &mut again) },
        tonecore_status::Ok
    );
    let mut m = std::mem::MaybeUninit::<tonecore_match_config>::uninit();
    unsafe { tonecore_match_config_init(m.as_mut_ptr()) };
    let mut m = unsafe { m.assume_init() };
    m.strength = input.strength;
    m.max_gain_db = input.max_gain_db;
    m.smoothing_octaves = input.smoothing_octaves;
    m.target_lufs = input.target_lufs;
    m.ceiling_dbtp = input.ceiling_dbtp;
    let mut c = std::mem::MaybeUninit::<tonecore_pipeline_config>::uninit();
    unsafe { tonecore_pipeline_config_init(c.as_mut_ptr()) };
    let mut c = unsafe { c.assume_init() };
    c.sample_rate = input.sample_rate;
    let before = format!("{c:?}");
    let mut gains = [0.0f64; TONECORE_PROFILE_BANDS];
    let s = unsafe {
        tonecore_match_pipeline_config(profile, again, &m, &mut c, gains.as_mut_ptr(), gains.len(), null_mut())
    };
    if s != tonecore_status::Ok {
        assert_eq!(format!("{c:?}"), before);
    } else {
        assert!(gains.iter().all(|g| g.is_finite() && g.abs() <= 24.0));
    }
    // A short match on whatever samples came (bounded: at most 1 s of stereo at 8 kHz).
    let mut x = input.samples.clone();
    x.truncate(16_000);
    x.truncate(x.len() / 2 * 2);
    let mut y = vec![0.0f32; x.len()];
    let _ = unsafe {
        tonecore_match_f32(x.as_ptr(), x.len(), y.as_mut_ptr(), y.len(), 2, 8000, profile, &m, null(), null_mut(), None, null_mut())
    };
    unsafe {
        tonecore_profile_free(again);
        tonecore_profile_free(profile);
    }
});
