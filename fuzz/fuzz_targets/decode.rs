//! The command's decode path (cli/src/decode.rs, compiled in here) over any file bytes: seeded
//! with WAV (PCM, EXTENSIBLE, hostile headers), FLAC, MP3 and Ogg Vorbis files, so the fuzzer
//! mutates their headers.
//!
//! Checked: no panic gets out of `open`/`read_all` (the command's silent panic hook is installed,
//! so a panic symphonia raises and the decoder contains is not a crash); a decoded track has 1 to
//! 64 channels, a rate the engine takes, whole frames and finite samples; an error is one line.
#![no_main]

#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../../cli/src/error.rs"]
mod error;

#[path = "../../cli/src/declared.rs"]
mod declared;

#[allow(dead_code)]
#[path = "../../cli/src/decode.rs"]
mod decode;

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One scratch file per fuzzing process (the decoder reads paths).
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        error::install_panic_hook();
        std::env::temp_dir().join(format!("tonecore-fuzz-decode-{}", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    std::fs::write(path, data).expect("scratch file");
    match decode::open(path).and_then(|s| s.read_all(&|_| {})) {
        Ok(t) => {
            assert!((1..=64).contains(&t.channels), "{} channels", t.channels);
            assert!(
                (tonecore::dsp::loudness::MIN_SAMPLE_RATE
                    ..=tonecore::dsp::loudness::MAX_SAMPLE_RATE)
                    .contains(&t.rate),
                "{} Hz",
                t.rate
            );
            assert_eq!(t.samples.len() % t.channels, 0);
            assert!(t.samples.iter().all(|x| x.is_finite()));
        }
        Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
    }
});
