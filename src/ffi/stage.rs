//! The C side of the stage contract ([`Processor`]): what every audio stage object
//! (`tonecore_equalizer`, `tonecore_limiter`, `tonecore_pipeline`) exports — `_process_*` in both
//! layouts and sample formats, `_reset`, `_latency` — goes through one generic path here, so each
//! exported function is one call. A new stage object holds an [`AudioStage`] and implements
//! [`StageObject`]; its family implements [`StageFamily`].

use super::format::{either, FormatAccess, FormatSample, PerFormat};
use super::{audio_block, guard_rt, object_ref, out_param, tonecore_status, Guarded};
use crate::cache::CachedSample;
use crate::dsp::Layout;
use crate::pipeline::Processor;
use crate::typed::Family;

/// A family of per-format objects that are stages.
pub(crate) trait StageFamily: Family {
    /// The object as its stage.
    fn stage<T: CachedSample>(object: &mut Self::Of<T>) -> &mut impl Processor<T>;
}

/// The audio half of a stage object: its processor for the format it was made for, behind the
/// audio-thread guard, with the sizes the C calls check and report without taking the guard.
pub(crate) struct AudioStage<F: StageFamily> {
    channels: usize,
    latency: usize,
    audio: Guarded<PerFormat<F>>,
}

impl<F: StageFamily> AudioStage<F> {
    /// Wraps a processor made for one format.
    pub(crate) fn new(mut audio: PerFormat<F>) -> Self {
        let (channels, latency) = either!(&mut audio, a => {
            let s = F::stage(a);
            (s.channels(), s.latency_frames())
        });
        Self {
            channels,
            latency,
            audio: Guarded::new(audio),
        }
    }

    /// The guarded processor, for the object's other audio-thread calls.
    pub(crate) fn audio(&self) -> &Guarded<PerFormat<F>> {
        &self.audio
    }
}

/// A C object whose audio half is an [`AudioStage`].
pub(crate) trait StageObject {
    /// The family of its processors.
    type Family: StageFamily;
    /// Its audio half.
    fn stage(&self) -> &AudioStage<Self::Family>;
}

/// `_process_*`: one block of `T` in `layout`.
///
/// # Safety
/// `object` NULL or live; `input`/`output` valid for their lengths.
pub(crate) unsafe fn process<O: StageObject, T: FormatSample>(
    object: *mut O,
    input: *const T,
    input_len: usize,
    output: *mut T,
    output_len: usize,
    layout: Layout,
) -> tonecore_status {
    guard_rt(|| {
        let s = object_ref(object)?.stage();
        let (x, y) = audio_block(input, input_len, output, output_len, s.channels)?;
        s.audio.with(|a| {
            O::Family::stage(a.of::<T>()?).process_layout(x, y, layout)?;
            Ok(())
        })
    })
}

/// `_reset`.
///
/// # Safety
/// `object` NULL or live.
pub(crate) unsafe fn reset<O: StageObject>(object: *mut O) -> tonecore_status {
    guard_rt(|| {
        object_ref(object)?.stage().audio.with(|a| {
            either!(a, a => O::Family::stage(a).reset());
            Ok(())
        })
    })
}

/// `_latency`.
///
/// # Safety
/// `object` NULL or live; `frames_out` NULL or writable.
pub(crate) unsafe fn latency<O: StageObject>(
    object: *const O,
    frames_out: *mut usize,
) -> tonecore_status {
    guard_rt(|| {
        let s = object_ref(object)?.stage();
        out_param(frames_out)?.write(s.latency);
        Ok(())
    })
}
