//! Per-band energies against an independent naive-DFT computation.

mod common;

use common::{naive_rdft, noise};
use tonecore::dsp::bands::BandLayout;
use tonecore::spectral::{band_energies, BandEnergyConfig};
use tonecore::ProcessError;

#[test]
fn band_energies_match_a_naive_reference() {
    let (n, hop, sr) = (256usize, 100usize, 8000u32);
    let layout = BandLayout::from_edges(&[0.0, 300.0, 1000.0, 2500.0, 4000.0]).unwrap();
    let len = 1000;
    let x = noise(2 * len, 17);
    let frames = 1 + (len - n) / hop;
    let mut out = vec![0.0; frames * 4];
    let cfg = |threads| BandEnergyConfig {
        sample_rate: sr,
        layout: layout.clone(),
        fft_size: n,
        hop,
        threads,
    };
    for threads in [1, 0] {
        assert_eq!(
            band_energies(&x, 2, &cfg(threads), &mut out).unwrap(),
            frames
        );
        let w: Vec<f64> = (0..n)
            .map(|i| {
                0.5 + 0.5
                    * (std::f64::consts::PI * ((2 * i) as f64 + 1.0 - n as f64) / (n - 1) as f64)
                        .cos()
            })
            .collect();
        let cg = w.iter().sum::<f64>() / n as f64;
        for k in 0..frames {
            let frame: Vec<f64> = (0..n)
                .map(|i| 0.5 * (x[k * hop + i] + x[len + k * hop + i]) * w[i])
                .collect();
            let spec = naive_rdft(&frame);
            let mut sums = [0.0f64; 4];
            let mut counts = [0usize; 4];
            for (bin, s) in spec.iter().enumerate() {
                let f = bin as f64 * (sr / 2) as f64 / (n / 2) as f64;
                let b = layout
                    .edges()
                    .partition_point(|&e| e <= f)
                    .saturating_sub(1)
                    .min(3);
                sums[b] += 20.0 * (s.norm() / cg + 1e-10).log10();
                counts[b] += 1;
            }
            for b in 0..4 {
                let want = sums[b] / counts[b] as f64;
                assert!((out[k * 4 + b] - want).abs() < 1e-9, "frame {k} band {b}");
            }
        }
    }
    let mut bad = x.clone();
    bad[10] = f64::NAN;
    let before = out.clone();
    assert_eq!(
        band_energies(&bad, 2, &cfg(1), &mut out).unwrap_err(),
        ProcessError::NonFinite.into()
    );
    assert_eq!(out, before);
}
