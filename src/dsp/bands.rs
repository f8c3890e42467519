//! Band layouts, the bin→band map and per-bin gain curves built from band gains.

use super::Sample;
use crate::ConfigError;

/// Lowest and highest band gain accepted, in dB. Gains outside are clamped to this range.
pub const GAIN_RANGE_DB: (f64, f64) = (-24.0, 24.0);

/// The 25 critical-band edges Python hosts use, in Hz, after the first edge.
const CRITICAL_EDGES: [f64; 25] = [
    100.0, 200.0, 300.0, 400.0, 510.0, 630.0, 770.0, 920.0, 1080.0, 1270.0, 1480.0, 1720.0, 2000.0,
    2320.0, 2700.0, 3150.0, 3700.0, 4400.0, 5300.0, 6400.0, 7700.0, 9500.0, 12000.0, 15500.0,
    20000.0,
];

/// Why a band layout or a set of band gains was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandError {
    /// Fewer than two edges (no band).
    TooFewEdges,
    /// An edge is negative, NaN or infinite.
    InvalidEdge,
    /// Edges are not strictly ascending.
    NotAscending,
    /// The number of gains differs from the number of bands.
    GainCount,
    /// A gain is NaN or infinite.
    NonFiniteGain,
    /// The sample rate is zero, NaN or infinite.
    InvalidSampleRate,
    /// The FFT size is odd or below 2.
    InvalidFftSize,
}

/// The band layer's errors as construction errors (beside the error they convert, so `error`
/// stays the lowest layer).
impl From<BandError> for ConfigError {
    fn from(e: BandError) -> Self {
        match e {
            BandError::TooFewEdges | BandError::InvalidEdge | BandError::NotAscending => {
                Self::InvalidBands
            }
            BandError::GainCount => Self::GainCount,
            BandError::NonFiniteGain => Self::NonFiniteGain,
            BandError::InvalidSampleRate => Self::InvalidSampleRate,
            BandError::InvalidFftSize => Self::InvalidFftSize,
        }
    }
}

impl BandError {
    /// A static, human-readable description.
    pub const fn message(self) -> &'static str {
        match self {
            Self::TooFewEdges => "a band layout needs at least two edges",
            Self::InvalidEdge => "band edges must be finite and non-negative",
            Self::NotAscending => "band edges must be strictly ascending",
            Self::GainCount => "the number of gains must equal the number of bands",
            Self::NonFiniteGain => "gains must be finite",
            Self::InvalidSampleRate => "the sample rate must be finite and positive",
            Self::InvalidFftSize => "fft_size must be even, at least 2 and at most 2^24",
        }
    }
}

impl std::fmt::Display for BandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for BandError {}

/// How band gains become a per-bin curve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CurveMode {
    /// Every bin takes its band's gain (steps at the band edges).
    Step,
    /// Gains in dB interpolated linearly over log-frequency between band centres (flat beyond
    /// the first and last centre): the curve passes through each band's gain at its centre.
    #[default]
    Smooth,
}

/// Ascending band edges in Hz: band `b` spans `[edges[b], edges[b+1])`; everything above the
/// last edge belongs to the last band, everything below the first to the first.
#[derive(Clone, Debug, PartialEq)]
pub struct BandLayout {
    edges: Vec<f64>,
}

impl BandLayout {
    /// A layout from user edges (at least two, finite, non-negative, strictly ascending).
    ///
    /// # Errors
    /// The [`BandError`] the edges violate.
    pub fn from_edges(edges: &[f64]) -> Result<Self, BandError> {
        if edges.len() < 2 {
            return Err(BandError::TooFewEdges);
        }
        if edges.iter().any(|e| !e.is_finite() || *e < 0.0) {
            return Err(BandError::InvalidEdge);
        }
        if edges.windows(2).any(|w| w[0] >= w[1]) {
            return Err(BandError::NotAscending);
        }
        Ok(Self {
            edges: edges.to_vec(),
        })
    }

    /// The 25 critical bands with the first edge at 20 Hz.
    pub fn critical() -> Self {
        Self::critical_from(20.0)
    }

    /// The 25 critical bands with a chosen first edge (hosts use 0 or 20 Hz); it must be below
    /// 100 Hz and non-negative, otherwise 20 Hz is used.
    pub fn critical_from(first_edge_hz: f64) -> Self {
        let first = if (0.0..100.0).contains(&first_edge_hz) {
            first_edge_hz
        } else {
            20.0
        };
        let mut edges = Vec::with_capacity(26);
        edges.push(first);
        edges.extend_from_slice(&CRITICAL_EDGES);
        Self { edges }
    }

    /// ISO 266 octave bands: 10 bands centred on 1000·2^k Hz, k = −5..4 (nominal 31.5 Hz to
    /// 16 kHz), edges a half octave either side.
    pub fn octave() -> Self {
        Self::fractional_octave(1, -5, 4)
    }

    /// ISO 266 third-octave bands: 31 bands centred on 1000·2^(k/3) Hz, k = −17..13 (nominal
    /// 20 Hz to 20 kHz), edges a sixth of an octave either side.
    pub fn third_octave() -> Self {
        Self::fractional_octave(3, -17, 13)
    }

    /// Sixth-octave bands: 61 bands centred on 1000·2^(k/6) Hz, k = −34..26 (19.7 Hz to
    /// 20.2 kHz), edges a twelfth of an octave either side: the grid of reference profiles.
    pub fn sixth_octave() -> Self {
        Self::fractional_octave(6, -34, 26)
    }

    fn fractional_octave(per_octave: i32, first: i32, last: i32) -> Self {
        let step = 1.0 / per_octave as f64;
        let edges = (first..=last + 1)
            .map(|k| 1000.0 * 2f64.powf((k as f64 - 0.5) * step))
            .collect();
        Self { edges }
    }

    /// The band edges in Hz (`bands() + 1` values).
    pub fn edges(&self) -> &[f64] {
        &self.edges
    }

    /// Number of bands.
    pub fn bands(&self) -> usize {
        self.edges.len() - 1
    }

    /// Band centres: the geometric mean of each band's edges (the arithmetic mean for a band
    /// starting at 0 Hz, where the geometric mean would be 0).
    pub fn centers(&self) -> Vec<f64> {
        self.edges
            .windows(2)
            .map(|w| {
                if w[0] > 0.0 {
                    (w[0] * w[1]).sqrt()
                } else {
                    0.5 * w[1]
                }
            })
            .collect()
    }

    /// Frequency of bin `k` for `(sample_rate, fft_size)`: `k·(sr//2)/(N/2)` Hz, as numpy's
    /// `linspace(0, sr//2, N/2+1)` computes it (the last bin is exactly `sr//2`).
    pub fn bin_frequency(sample_rate: u32, fft_size: usize, k: usize) -> f64 {
        let half = fft_size / 2;
        let nyquist = (sample_rate / 2) as f64;
        if k == half {
            nyquist
        } else {
            k as f64 * (nyquist / half as f64)
        }
    }

    /// Band index of every bin `0..=N/2`: `searchsorted(edges, f, 'right') − 1` clipped to
    /// `0..bands`.
    ///
    /// # Errors
    /// [`BandError::InvalidSampleRate`] for 0; [`BandError::InvalidFftSize`] for an odd size or
    /// one outside 2…[`MAX_FFT_SIZE`](super::MAX_FFT_SIZE) (checked before allocating).
    pub fn bin_map(&self, sample_rate: u32, fft_size: usize) -> Result<Vec<u32>, BandError> {
        check_grid(sample_rate, fft_size)?;
        let last = (self.bands() - 1) as u32;
        Ok((0..=fft_size / 2)
            .map(|k| {
                let f = Self::bin_frequency(sample_rate, fft_size, k);
                let right = self.edges.partition_point(|&e| e <= f);
                (right.saturating_sub(1) as u32).min(last)
            })
            .collect())
    }

    /// Checks and clamps band gains in dB to [`GAIN_RANGE_DB`].
    ///
    /// # Errors
    /// Wrong count or non-finite gains.
    pub fn clamp_gains(&self, gains_db: &[f64]) -> Result<Vec<f64>, BandError> {
        if gains_db.len() != self.bands() {
            return Err(BandError::GainCount);
        }
        if gains_db.iter().any(|g| !g.is_finite()) {
            return Err(BandError::NonFiniteGain);
        }
        Ok(gains_db
            .iter()
            .map(|g| g.clamp(GAIN_RANGE_DB.0, GAIN_RANGE_DB.1))
            .collect())
    }

    /// The per-bin curve in dB for `(sample_rate, fft_size)`, `N/2 + 1` values, in one
    /// vectorized pass over the bins. Gains are clamped to [`GAIN_RANGE_DB`].
    ///
    /// # Errors
    /// Wrong gain count, non-finite gains, invalid sample rate or FFT size.
    pub fn curve_db(
        &self,
        gains_db: &[f64],
        sample_rate: u32,
        fft_size: usize,
        mode: CurveMode,
    ) -> Result<Vec<f64>, BandError> {
        let gains = self.clamp_gains(gains_db)?;
        check_grid(sample_rate, fft_size)?;
        let bins = fft_size / 2 + 1;
        Ok(match mode {
            CurveMode::Step => self
                .bin_map(sample_rate, fft_size)?
                .into_iter()
                .map(|b| gains[b as usize])
                .collect(),
            CurveMode::Smooth => {
                let nodes = Nodes::new(&self.centers(), &gains);
                (0..bins)
                    .map(|k| nodes.at(Self::bin_frequency(sample_rate, fft_size, k)))
                    .collect()
            }
        })
    }

    /// [`curve_db`](Self::curve_db) as linear gains `10^(dB/20)`, written into `out`
    /// (`N/2 + 1` values).
    ///
    /// # Errors
    /// As `curve_db`.
    pub fn curve_linear<T: Sample>(
        &self,
        gains_db: &[f64],
        sample_rate: u32,
        fft_size: usize,
        mode: CurveMode,
    ) -> Result<Vec<T>, BandError> {
        Ok(self
            .curve_db(gains_db, sample_rate, fft_size, mode)?
            .into_iter()
            .map(|db| T::of_f64(db_to_linear(db)))
            .collect())
    }
}

/// `10^(db/20)`.
pub fn db_to_linear(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

fn check_grid(sample_rate: u32, fft_size: usize) -> Result<(), BandError> {
    if sample_rate == 0 {
        return Err(BandError::InvalidSampleRate);
    }
    if fft_size < 2 || fft_size % 2 != 0 || fft_size > super::MAX_FFT_SIZE {
        return Err(BandError::InvalidFftSize);
    }
    Ok(())
}

/// Interpolation nodes: (log2 frequency, dB) pairs, linear between nodes and flat outside.
#[derive(Clone, Debug)]
pub(crate) struct Nodes {
    log_f: Vec<f64>,
    db: Vec<f64>,
}

impl Nodes {
    /// Nodes at `centers` (Hz, ascending, a centre of 0 Hz is moved to 1 Hz) with values `db`.
    pub(crate) fn new(centers: &[f64], db: &[f64]) -> Self {
        Self {
            log_f: centers.iter().map(|&c| c.max(1.0).log2()).collect(),
            db: db.to_vec(),
        }
    }

    pub(crate) fn values_mut(&mut self) -> &mut [f64] {
        &mut self.db
    }

    pub(crate) fn value(&self, i: usize) -> f64 {
        self.db[i]
    }

    /// The interpolated dB value at frequency `f` Hz.
    pub(crate) fn at(&self, f: f64) -> f64 {
        let x = f.max(1.0).log2();
        let n = self.log_f.len();
        if x <= self.log_f[0] {
            return self.db[0];
        }
        if x >= self.log_f[n - 1] {
            return self.db[n - 1];
        }
        let i = self.log_f.partition_point(|&l| l <= x) - 1;
        let t = (x - self.log_f[i]) / (self.log_f[i + 1] - self.log_f[i]);
        self.db[i] + t * (self.db[i + 1] - self.db[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_layout_has_25_bands_with_geometric_centres() {
        let l = BandLayout::critical();
        assert_eq!(l.bands(), 25);
        assert_eq!(l.edges()[0], 20.0);
        assert_eq!(l.edges()[25], 20000.0);
        assert!((l.centers()[1] - (100.0f64 * 200.0).sqrt()).abs() < 1e-12);
        assert_eq!(BandLayout::critical_from(0.0).centers()[0], 50.0);
    }

    #[test]
    fn iso_layouts_match_nominal_centres() {
        let oct = BandLayout::octave();
        assert_eq!(oct.bands(), 10);
        let nominal = [
            31.5, 63.0, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0,
        ];
        for (c, n) in oct.centers().iter().zip(nominal) {
            assert!((c / n - 1.0).abs() < 0.03, "{c} vs {n}");
        }
        let third = BandLayout::third_octave();
        assert_eq!(third.bands(), 31);
        assert!((third.centers()[17] - 1000.0).abs() < 1e-9);
        assert!((third.centers()[0] / 20.0 - 1.0).abs() < 0.03);
        assert!((third.centers()[30] / 20000.0 - 1.0).abs() < 0.03);
    }

    #[test]
    fn bin_map_is_searchsorted_right_minus_one_clipped() {
        let l = BandLayout::from_edges(&[100.0, 200.0, 400.0]).unwrap();
        // sr 800 → bins at 0, 100, 200, 300, 400 Hz for N = 8.
        assert_eq!(l.bin_map(800, 8).unwrap(), vec![0, 0, 1, 1, 1]);
        assert_eq!(l.bin_map(0, 8), Err(BandError::InvalidSampleRate));
        assert_eq!(l.bin_map(800, 7), Err(BandError::InvalidFftSize));
    }

    #[test]
    fn smooth_curve_passes_through_centres_and_step_is_piecewise_constant() {
        let l = BandLayout::from_edges(&[100.0, 200.0, 400.0, 800.0]).unwrap();
        let gains = [3.0, -6.0, 12.0];
        let nodes = Nodes::new(&l.centers(), &gains);
        for (c, g) in l.centers().iter().zip(gains) {
            assert!((nodes.at(*c) - g).abs() < 1e-12);
        }
        let step = l.curve_db(&gains, 1600, 16, CurveMode::Step).unwrap();
        assert_eq!(
            step,
            vec![3.0, 3.0, -6.0, -6.0, 12.0, 12.0, 12.0, 12.0, 12.0]
        );
    }

    #[test]
    fn bad_gains_are_refused_and_large_ones_clamped() {
        let l = BandLayout::octave();
        assert_eq!(l.clamp_gains(&[0.0; 9]), Err(BandError::GainCount));
        let mut g = [0.0; 10];
        g[3] = f64::NAN;
        assert_eq!(l.clamp_gains(&g), Err(BandError::NonFiniteGain));
        g[3] = 100.0;
        assert_eq!(l.clamp_gains(&g).unwrap()[3], GAIN_RANGE_DB.1);
        assert_eq!(BandLayout::from_edges(&[1.0]), Err(BandError::TooFewEdges));
        assert_eq!(
            BandLayout::from_edges(&[2.0, 1.0]),
            Err(BandError::NotAscending)
        );
        assert_eq!(
            BandLayout::from_edges(&[-1.0, 1.0]),
            Err(BandError::InvalidEdge)
        );
    }
}
