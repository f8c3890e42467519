//! The processing chain a person asks for on the command line: EQ presets and band specs, level
//! target, limiter ceiling — turned into a [`PipelineConfig`].

use crate::error::Result;
use crate::fail;
use clap::ValueEnum;
use tonecore::dsp::bands::{BandLayout, GAIN_RANGE_DB};
use tonecore::dsp::level::{LevelMode, LevelSettings};
use tonecore::dsp::limiter::LimiterSettings;
use tonecore::pipeline::{EqSettings, PipelineConfig};

/// A named set of critical-band gains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// All bands 0 dB (the EQ stage is bypassed).
    Flat,
    /// Fuller lows, softer top.
    Warm,
    /// More air and detail above 1.5 kHz.
    Bright,
    /// Voices forward: less low-mid mud, more 1–4 kHz.
    VocalPresence,
    /// Up to +6 dB below 300 Hz.
    BassBoost,
    /// Equal-loudness compensation for quiet listening (ISO 226).
    Loudness,
}

/// The 25 critical-band centres (Hz), rounded, as the help text lists them.
pub const CRITICAL_CENTRES: [u32; 25] = [
    45, 141, 245, 346, 452, 567, 696, 842, 997, 1171, 1371, 1595, 1855, 2154, 2503, 2916, 3414,
    4035, 4829, 5824, 7020, 8553, 10677, 13638, 17607,
];

impl Preset {
    /// Every preset, in help order.
    pub const ALL: [Preset; 6] = [
        Preset::Flat,
        Preset::Warm,
        Preset::Bright,
        Preset::VocalPresence,
        Preset::BassBoost,
        Preset::Loudness,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Flat => "flat",
            Self::Warm => "warm",
            Self::Bright => "bright",
            Self::VocalPresence => "vocal-presence",
            Self::BassBoost => "bass-boost",
            Self::Loudness => "loudness",
        }
    }

    /// One line on what it does.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Flat => "no change (the EQ stage is bypassed)",
            Self::Warm => "fuller lows, softer top: +3 dB below 150 Hz easing to 0 by 840 Hz, falling to -3 dB above 10 kHz",
            Self::Bright => "air and detail: 0 dB up to 1.4 kHz, rising to +4 dB from 4.8 kHz up",
            Self::VocalPresence => "voices forward: -2 dB at 45 Hz, -1.5 dB at 350 Hz (mud), +3.5 dB at 2.5-2.9 kHz",
            Self::BassBoost => "+6 dB at 45 Hz, +5 dB at 141 Hz, +3 dB at 245 Hz, flat from 570 Hz up",
            Self::Loudness => "Fletcher-Munson-style: the ISO 226:2003 60-phon minus 80-phon equal-loudness contours (re. 1 kHz), what a mix made loud lacks at 20 dB lower volume",
        }
    }

    /// Gains in dB for the 25 critical bands ([`CRITICAL_CENTRES`]).
    pub fn gains(self) -> [f64; 25] {
        match self {
            Self::Flat => [0.0; 25],
            Self::Warm => [
                3.0, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, -0.5, -0.5, -1.0, -1.0,
                -1.5, -1.5, -2.0, -2.0, -2.5, -2.5, -3.0, -3.0, -3.0,
            ],
            Self::Bright => [
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5,
                3.0, 3.5, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0,
            ],
            Self::VocalPresence => [
                -2.0, -1.0, -1.0, -1.5, -1.0, -0.5, 0.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5,
                3.5, 3.0, 2.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0,
            ],
            Self::BassBoost => [
                6.0, 5.0, 3.0, 1.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            ],
            // ISO 226:2003 contours Lp(60 phon) − Lp(80 phon), each re. its 1 kHz value,
            // interpolated in log-frequency at the band centres (held above 12.5 kHz).
            Self::Loudness => [
                8.5, 5.1, 3.3, 2.2, 1.5, 0.9, 0.5, 0.2, 0.0, -0.2, -0.4, -0.5, -0.6, -0.6, -0.6,
                -0.6, -0.7, -0.7, -0.7, -0.5, -0.1, 0.6, 1.9, 3.2, 3.2,
            ],
        }
    }
}

/// The band layouts `--layout` offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Layout {
    /// 25 critical bands, 20 Hz–20 kHz.
    Critical,
    /// 10 ISO octave bands, 31.5 Hz–16 kHz.
    Octave,
    /// 31 ISO third-octave bands, 20 Hz–20 kHz.
    ThirdOctave,
}

/// The EQ phases `--phase` offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum EqPhase {
    /// Symmetric kernel: no phase distortion; rings before transients it boosts.
    #[default]
    Linear,
    /// The same magnitude at minimum phase: no pre-ringing (the phase of an analogue EQ).
    Minimum,
}

impl EqPhase {
    /// The library's phase.
    pub fn phase(self) -> tonecore::pipeline::Phase {
        match self {
            Self::Linear => tonecore::pipeline::Phase::Linear,
            Self::Minimum => tonecore::pipeline::Phase::Minimum,
        }
    }
}

impl Layout {
    /// The band layout.
    pub fn bands(self) -> BandLayout {
        match self {
            Self::Critical => BandLayout::critical(),
            Self::Octave => BandLayout::octave(),
            Self::ThirdOctave => BandLayout::third_octave(),
        }
    }

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Octave => "octave",
            Self::ThirdOctave => "third-octave",
        }
    }
}

/// The help text listing every preset with its gains.
pub fn presets_help() -> String {
    let mut s = String::from(
        "EQ presets (--eq-preset NAME): gains in dB for the 25 critical bands centred at\n",
    );
    let centres: Vec<String> = CRITICAL_CENTRES.iter().map(|c| c.to_string()).collect();
    s.push_str(&format!("  {} Hz\n", centres.join(" ")));
    for p in Preset::ALL {
        s.push_str(&format!("  {:<15} {}\n", p.name(), p.describe()));
        if p != Preset::Flat {
            let g: Vec<String> = p
                .gains()
                .iter()
                .map(|&g| {
                    if g == 0.0 {
                        "0".into()
                    } else {
                        format!("{g:+}")
                    }
                })
                .collect();
            s.push_str(&format!("  {:<15} [{}]\n", "", g.join(" ")));
        }
    }
    s
}

/// Parses a frequency: `1000`, `1k`, `2.5k`, `1000Hz`, `2.5kHz`.
fn parse_freq(text: &str) -> Option<f64> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix("hz").unwrap_or(&t);
    let (num, scale) = match t.strip_suffix('k') {
        Some(n) => (n, 1000.0),
        None => (t, 1.0),
    };
    let v: f64 = num.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v * scale)
}

/// Applies `--eq BAND=DB` specs to `layout`: BAND is a frequency inside the band (e.g. `1k`),
/// DB the gain (−24…+24). Returns the gains (0 dB for bands not named).
///
/// # Errors
/// Malformed spec, a frequency outside every band, a gain out of range, a band named twice.
pub fn parse_eq(specs: &[String], layout: &BandLayout, layout_name: &str) -> Result<Vec<f64>> {
    let mut gains = vec![0.0; layout.bands()];
    let mut set = vec![None::<&str>; layout.bands()];
    let edges = layout.edges();
    let (lo, hi) = (edges[0], edges[edges.len() - 1]);
    let (gmin, gmax) = GAIN_RANGE_DB;
    for spec in specs {
        let (band, db) = spec.split_once('=').ok_or_else(|| {
            fail!(
                "--eq {spec}: expected BAND=DB, a frequency inside the band and a gain, e.g. 1k=+3"
            )
        })?;
        let f = parse_freq(band).ok_or_else(|| {
            fail!("--eq {spec}: '{band}' is not a frequency (write e.g. 100, 1k or 2.5kHz)")
        })?;
        let g: f64 = db
            .trim()
            .trim_end_matches("dB")
            .trim_end_matches("db")
            .trim()
            .parse()
            .ok()
            .filter(|g: &f64| g.is_finite())
            .ok_or_else(|| {
                fail!("--eq {spec}: '{db}' is not a gain in dB (write e.g. +3 or -2.5)")
            })?;
        if !(lo..=hi).contains(&f) {
            return Err(fail!(
                "--eq {spec}: unknown band: no {layout_name} band contains {} (they cover {} to {})",
                hz(f),
                hz(lo),
                hz(hi)
            ));
        }
        if !(gmin..=gmax).contains(&g) {
            return Err(fail!(
                "--eq {spec}: gain {g:+} dB is outside the EQ's range of {gmin:+} to {gmax:+} dB"
            ));
        }
        let b = (edges.partition_point(|&e| e <= f).max(1) - 1).min(layout.bands() - 1);
        if let Some(prev) = set[b] {
            return Err(fail!(
                "--eq {spec}: the band {}–{} is already set by --eq {prev}",
                hz(edges[b]),
                hz(edges[b + 1])
            ));
        }
        set[b] = Some(spec);
        gains[b] = g;
    }
    Ok(gains)
}

/// A frequency for messages: `250 Hz`, `1.5 kHz`.
pub fn hz(f: f64) -> String {
    if f >= 1000.0 {
        let k = format!("{:.2}", f / 1000.0);
        format!("{} kHz", k.trim_end_matches('0').trim_end_matches('.'))
    } else {
        format!("{f:.0} Hz")
    }
}

/// What the user asked for, resolved.
#[derive(Clone, Debug)]
pub struct Chain {
    /// The pipeline's configuration.
    pub config: PipelineConfig,
    /// The band layout of the EQ.
    pub layout: BandLayout,
    /// The EQ gains (dB, one per band).
    pub gains: Vec<f64>,
    /// One line describing the chain, e.g. `EQ warm > level -14.0 LUFS > limiter -1.0 dBTP`.
    pub description: String,
}

/// How the level target was given.
#[derive(Clone, Debug)]
pub enum Target {
    /// No level matching.
    None,
    /// `--target-lufs`.
    Lufs(f64),
}

/// Builds the chain from the parsed options.
///
/// # Errors
/// Bad `--eq` specs; a preset with a layout other than critical.
pub fn build(
    eq: &[String],
    preset: Option<Preset>,
    layout: Layout,
    target: &Target,
    ceiling_db: f64,
    true_peak: bool,
) -> Result<Chain> {
    let bands = layout.bands();
    let (gains, eq_text) = match preset {
        Some(p) => {
            if layout != Layout::Critical {
                return Err(fail!(
                    "--eq-preset {} is a set of critical-band gains; drop --layout {} or give the bands with --eq",
                    p.name(),
                    layout.name()
                ));
            }
            (p.gains().to_vec(), format!("EQ {}", p.name()))
        }
        None => {
            let g = parse_eq(eq, &bands, layout.name())?;
            let named: Vec<String> = eq.iter().map(|s| s.trim().to_string()).collect();
            (
                g,
                format!("EQ {} ({} bands)", named.join(","), layout.name()),
            )
        }
    };
    let flat = gains.iter().all(|&g| g == 0.0);
    let mut parts = Vec::new();
    if !flat {
        parts.push(eq_text);
    }
    let level = match target {
        Target::None => None,
        Target::Lufs(t) => {
            parts.push(format!("level {t:.1} LUFS"));
            Some(*t)
        }
    };
    let unit = if true_peak { "dBTP" } else { "dBFS" };
    parts.push(format!("limiter {ceiling_db:.1} {unit}"));
    let config = PipelineConfig {
        eq: (!flat).then(|| EqSettings {
            gains_db: gains.clone(),
            layout: bands.clone(),
            mode: Default::default(),
        }),
        level: level.map(|t| LevelSettings {
            mode: LevelMode::Integrated,
            target_lufs: t,
            ..LevelSettings::default()
        }),
        limiter: Some(LimiterSettings {
            ceiling_db,
            true_peak,
            ..LimiterSettings::default()
        }),
        ..PipelineConfig::default()
    };
    Ok(Chain {
        config,
        layout: bands,
        gains,
        description: parts.join(" > "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_parse() {
        assert_eq!(parse_freq("1k"), Some(1000.0));
        assert_eq!(parse_freq("2.5kHz"), Some(2500.0));
        assert_eq!(parse_freq("250"), Some(250.0));
        assert_eq!(parse_freq("250 Hz"), Some(250.0));
        assert_eq!(parse_freq("abc"), None);
        assert_eq!(parse_freq("-5"), None);
    }

    #[test]
    fn eq_specs_select_the_band_that_contains_the_frequency() {
        let layout = BandLayout::critical();
        let g = parse_eq(&["1k=+3".into(), "50=-2.5".into()], &layout, "critical").unwrap();
        // 1 kHz lies in 920–1080 Hz (band 8), 50 Hz in 20–100 Hz (band 0).
        assert_eq!(g[8], 3.0);
        assert_eq!(g[0], -2.5);
        assert_eq!(g.iter().filter(|&&x| x != 0.0).count(), 2);
    }

    #[test]
    fn eq_spec_errors_are_one_line_and_name_the_problem() {
        let layout = BandLayout::critical();
        let err = |s: &str| {
            parse_eq(&[s.into()], &layout, "critical")
                .unwrap_err()
                .to_string()
        };
        assert!(err("1k=+40").contains("outside"));
        assert!(err("30k=+3").contains("unknown band"));
        assert!(err("5=+3").contains("unknown band"));
        assert!(err("1k").contains("expected BAND=DB"));
        assert!(err("x=1").contains("not a frequency"));
        assert!(err("1k=loud").contains("not a gain"));
        let dup = parse_eq(&["1k=1".into(), "1.05k=2".into()], &layout, "critical");
        assert!(dup.unwrap_err().to_string().contains("already set"));
        for e in [err("1k=+40"), err("30k=+3")] {
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn presets_are_within_range_and_critical_centres_match_the_layout() {
        let centres = BandLayout::critical().centers();
        for (c, &r) in centres.iter().zip(&CRITICAL_CENTRES) {
            assert!((c - r as f64).abs() < 0.5, "{c} vs {r}");
        }
        for p in Preset::ALL {
            assert!(p.gains().iter().all(|g| g.abs() <= 24.0));
        }
        assert!(Preset::Flat.gains().iter().all(|&g| g == 0.0));
    }

    #[test]
    fn frequencies_print_short() {
        assert_eq!(hz(250.0), "250 Hz");
        assert_eq!(hz(1000.0), "1 kHz");
        assert_eq!(hz(2500.0), "2.5 kHz");
        assert_eq!(hz(20000.0), "20 kHz");
    }

    #[test]
    fn presets_need_critical_bands() {
        let r = build(
            &[],
            Some(Preset::Warm),
            Layout::Octave,
            &Target::None,
            -1.0,
            true,
        );
        assert!(r.unwrap_err().to_string().contains("critical-band"));
        let c = build(
            &[],
            Some(Preset::Flat),
            Layout::Critical,
            &Target::None,
            -1.0,
            true,
        )
        .unwrap();
        assert!(c.config.eq.is_none());
        assert_eq!(c.description, "limiter -1.0 dBTP");
    }
}
