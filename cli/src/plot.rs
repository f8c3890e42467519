//! The PNG plots: average spectrum before/after (top) and the EQ response (bottom); for a match,
//! the long-term spectra of track, output and reference on the profile grid (top) and the match
//! EQ (bottom). Drawn with plotters' bitmap backend. Text is drawn from the public-domain 8×8 bitmap font of the
//! `font8x8` crate, so no system font (or font library) is needed.

use crate::error::{io_reason, shown, Result};
use crate::fail;
use crate::output::PendingFile;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::fs::File;
use std::io::BufWriter;

const W: u32 = 1200;
const H: u32 = 820;
/// Text scale: 8×8 glyphs drawn at 2 px per font pixel.
const S: i32 = 2;
const GLYPH: i32 = 8 * S;

const BEFORE: RGBColor = RGBColor(110, 120, 135);
const AFTER: RGBColor = RGBColor(225, 110, 20);
const EQ: RGBColor = RGBColor(30, 90, 200);
const REFERENCE: RGBColor = RGBColor(60, 170, 80);
const GRID: RGBColor = RGBColor(225, 225, 225);
const AXIS: RGBColor = RGBColor(90, 90, 90);
const INK: RGBColor = RGBColor(20, 20, 20);

/// What to draw.
pub struct PlotData<'a> {
    /// The first line.
    pub title: String,
    /// The second line (the chain).
    pub subtitle: String,
    /// Legend labels of the two spectra.
    pub legend: [String; 2],
    /// Frequencies (Hz) of the spectrum and EQ curves.
    pub freqs: &'a [f64],
    /// Spectrum of the input, dB.
    pub before_db: &'a [f64],
    /// Spectrum of the output, dB.
    pub after_db: &'a [f64],
    /// The EQ's designed response, dB.
    pub eq_db: &'a [f64],
    /// Band centres (Hz) and gains (dB) to mark.
    pub bands: Vec<(f64, f64)>,
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn text(area: &Area<'_>, s: &str, (x, y): (i32, i32), color: &RGBColor) -> Result<()> {
    for (i, ch) in s.chars().enumerate() {
        let code = ch as usize;
        let glyph = if code < 128 {
            font8x8::legacy::BASIC_LEGACY[code]
        } else {
            font8x8::legacy::BASIC_LEGACY[b'?' as usize]
        };
        let x0 = x + i as i32 * GLYPH;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits >> col & 1 == 1 {
                    let px = x0 + col * S;
                    let py = y + row as i32 * S;
                    // One pixel wider than the font pixel: a bolder, more legible stroke.
                    area.draw(&Rectangle::new(
                        [(px, py), (px + S, py + S - 1)],
                        color.filled(),
                    ))
                    .map_err(draw_err)?;
                }
            }
        }
    }
    Ok(())
}

fn text_width(s: &str) -> i32 {
    s.chars().count() as i32 * GLYPH
}

fn draw_err<E: std::fmt::Debug>(e: E) -> crate::error::CliError {
    fail!("cannot draw the plot: {e:?}")
}

const TICKS_HZ: [(f64, &str); 10] = [
    (20.0, "20"),
    (50.0, "50"),
    (100.0, "100"),
    (200.0, "200"),
    (500.0, "500"),
    (1000.0, "1k"),
    (2000.0, "2k"),
    (5000.0, "5k"),
    (10000.0, "10k"),
    (20000.0, "20k"),
];

/// What to draw for a match.
pub struct MatchPlotData<'a> {
    /// The first line.
    pub title: String,
    /// The second line.
    pub subtitle: String,
    /// Centres of the profile grid's bands, Hz.
    pub centers: &'a [f64],
    /// The track's long-term spectrum per band, dB (`None`: absent band).
    pub track_db: &'a [Option<f64>],
    /// The output's.
    pub output_db: &'a [Option<f64>],
    /// The reference's.
    pub reference_db: &'a [Option<f64>],
    /// Legend labels: track, output, reference.
    pub legend: [String; 3],
    /// Frequencies (Hz) of the EQ curve.
    pub freqs: &'a [f64],
    /// The match EQ's designed response, dB.
    pub eq_db: &'a [f64],
    /// Band centres (Hz) and gains (dB) to mark.
    pub bands: Vec<(f64, f64)>,
}

/// One panel: frame, grid, curves, axis labels. `curves` are (values, colour, width); a
/// non-finite value leaves a gap.
#[allow(clippy::too_many_arguments)]
fn panel(
    root: &Area<'_>,
    rect: (i32, i32, i32, i32),
    (fmin, fmax): (f64, f64),
    (ymin, ymax, ystep): (f64, f64, f64),
    freqs: &[f64],
    curves: &[(&[f64], RGBColor, u32)],
    marks: &[(f64, f64)],
    label: &str,
) -> Result<()> {
    let (x0, y0, x1, y1) = rect;
    let area = root
        .clone()
        .shrink((x0, y0), ((x1 - x0) as u32, (y1 - y0) as u32));
    let mut chart = ChartBuilder::on(&area)
        .build_cartesian_2d((fmin..fmax).log_scale(), ymin..ymax)
        .map_err(draw_err)?;
    // Grid.
    let mut y = ymin;
    while y <= ymax + 1e-9 {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(fmin, y), (fmax, y)],
                if y.abs() < 1e-9 { AXIS } else { GRID },
            )))
            .map_err(draw_err)?;
        let (_, py) = chart.backend_coord(&(fmin, y));
        let l = format!("{y:.0}");
        text(root, &l, (x0 - 10 - text_width(&l), py - GLYPH / 2), &INK)?;
        y += ystep;
    }
    for &(f, l) in TICKS_HZ
        .iter()
        .filter(|(f, _)| *f >= fmin * 0.9999 && *f <= fmax * 1.0001)
    {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(f, ymin), (f, ymax)],
                GRID,
            )))
            .map_err(draw_err)?;
        let (px, _) = chart.backend_coord(&(f, ymin));
        text(root, l, (px - text_width(l) / 2, y1 + 8), &INK)?;
    }
    // Curves, clipped to the range, broken where a value is missing.
    for (values, color, width) in curves {
        let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for (&f, &v) in freqs.iter().zip(values.iter()) {
            if v.is_finite() && (fmin..=fmax).contains(&f) {
                segments
                    .last_mut()
                    .expect("one")
                    .push((f, v.clamp(ymin, ymax)));
            } else if !segments.last().expect("one").is_empty() {
                segments.push(Vec::new());
            }
        }
        for pts in segments.into_iter().filter(|p| !p.is_empty()) {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    pts,
                    ShapeStyle::from(color).stroke_width(*width),
                )))
                .map_err(draw_err)?;
        }
    }
    for &(f, g) in marks.iter().filter(|(f, _)| (fmin..=fmax).contains(f)) {
        let (px, py) = chart.backend_coord(&(f, g.clamp(ymin, ymax)));
        root.draw(&Rectangle::new(
            [(px - 4, py - 4), (px + 4, py + 4)],
            EQ.filled(),
        ))
        .map_err(draw_err)?;
    }
    // Frame and label.
    root.draw(&Rectangle::new([(x0, y0), (x1, y1)], AXIS.stroke_width(1)))
        .map_err(draw_err)?;
    text(root, label, (x0, y0 - GLYPH - 8), &INK)?;
    Ok(())
}

/// Draws `data` and writes it as a PNG into `pending`, then moves it onto its name.
///
/// # Errors
/// The folder cannot be written; drawing or encoding failed.
pub fn write_png(
    (pending, file): (PendingFile, File),
    rate: u32,
    data: &PlotData<'_>,
) -> Result<()> {
    let mut buf = vec![0u8; (W * H * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        text(&root, &data.title, (24, 14), &INK)?;
        text(&root, &data.subtitle, (24, 14 + GLYPH + 8), &AXIS)?;
        let fmax = (rate as f64 / 2.0).min(20_000.0);
        let (l, r) = (90, W as i32 - 30);

        // Spectrum panel: the top 80 dB of both curves, in 10 dB steps.
        let peak = data
            .before_db
            .iter()
            .chain(data.after_db)
            .cloned()
            .filter(|v| v.is_finite())
            .fold(-120.0f64, f64::max);
        let top = (peak / 10.0).ceil() * 10.0 + 10.0;
        panel(
            &root,
            (l, 110, r, 470),
            (20.0, fmax),
            (top - 90.0, top, 10.0),
            data.freqs,
            &[(data.before_db, BEFORE, 2), (data.after_db, AFTER, 2)],
            &[],
            "average spectrum, dB re. full-scale sine (1/6-octave mean)",
        )?;
        legend(
            &root,
            r,
            &[(&data.legend[0], BEFORE), (&data.legend[1], AFTER)],
        )?;

        // EQ panel: symmetric range in 3 dB (or 6 dB) steps.
        let most = data
            .eq_db
            .iter()
            .chain(data.bands.iter().map(|(_, g)| g))
            .fold(0.0f64, |m, v| m.max(v.abs()));
        let step = if most > 12.0 { 6.0 } else { 3.0 };
        let span = ((most + 1.0) / step).ceil().max(2.0) * step;
        panel(
            &root,
            (l, 540, r, H as i32 - 50),
            (20.0, fmax),
            (-span, span, step),
            data.freqs,
            &[(data.eq_db, EQ, 2)],
            &data.bands,
            "EQ response, dB (designed kernel; squares: band gains)",
        )?;
        text(&root, "Hz", (r - text_width("Hz"), H as i32 - 20), &AXIS)?;
        root.present().map_err(draw_err)?;
    }
    encode(pending, file, &buf)
}

/// The legend at the top right of the upper panel, whose right edge is `right`.
fn legend(root: &Area<'_>, right: i32, entries: &[(&String, RGBColor)]) -> Result<()> {
    let lx = right
        - 24
        - 52
        - entries
            .iter()
            .map(|(l, _)| text_width(l))
            .max()
            .unwrap_or(0);
    for (i, (name, color)) in entries.iter().enumerate() {
        let y = 126 + i as i32 * (GLYPH + 8);
        root.draw(&Rectangle::new(
            [(lx - 8, y - 4), (right - 8, y + GLYPH + 4)],
            WHITE.filled(),
        ))
        .map_err(draw_err)?;
        root.draw(&Rectangle::new(
            [(lx, y + GLYPH / 2 - 2), (lx + 40, y + GLYPH / 2 + 1)],
            color.filled(),
        ))
        .map_err(draw_err)?;
        text(root, name, (lx + 52, y), &INK)?;
    }
    Ok(())
}

/// Draws a match (`data`) and writes it as a PNG into `pending`, then moves it onto its name.
///
/// # Errors
/// The folder cannot be written; drawing or encoding failed.
pub fn write_match_png(
    (pending, file): (PendingFile, File),
    rate: u32,
    data: &MatchPlotData<'_>,
) -> Result<()> {
    let mut buf = vec![0u8; (W * H * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        text(&root, &data.title, (24, 14), &INK)?;
        text(&root, &data.subtitle, (24, 14 + GLYPH + 8), &AXIS)?;
        // The grid runs from 19.7 Hz to 20.2 kHz.
        let range = (18.0, (rate as f64 / 2.0).min(22_000.0));
        let (l, r) = (90, W as i32 - 30);
        let values = |bands: &[Option<f64>]| -> Vec<f64> {
            bands.iter().map(|b| b.unwrap_or(f64::NAN)).collect()
        };
        let (track, output, reference) = (
            values(data.track_db),
            values(data.output_db),
            values(data.reference_db),
        );
        // The three curves in 10 dB steps (at most 80 dB of them), with room for the legend.
        let finite = || {
            track
                .iter()
                .chain(&output)
                .chain(&reference)
                .cloned()
                .filter(|v| v.is_finite())
        };
        let high = (finite().fold(-120.0f64, f64::max) / 10.0).ceil() * 10.0;
        let low = ((finite().fold(0.0f64, f64::min) / 10.0).floor() * 10.0 - 10.0)
            .clamp(high - 80.0, high - 30.0);
        let top = high + (0.3 * (high - low) / 10.0).ceil().max(1.0) * 10.0;
        panel(
            &root,
            (l, 110, r, 470),
            range,
            (low, top, 10.0),
            data.centers,
            &[
                (&reference, REFERENCE, 5),
                (&track, BEFORE, 2),
                (&output, AFTER, 2),
            ],
            &[],
            "long-term spectrum, sixth-octave bands, dB re. own power per Hz",
        )?;
        legend(
            &root,
            r,
            &[
                (&data.legend[0], BEFORE),
                (&data.legend[1], AFTER),
                (&data.legend[2], REFERENCE),
            ],
        )?;
        let most = data
            .eq_db
            .iter()
            .chain(data.bands.iter().map(|(_, g)| g))
            .fold(0.0f64, |m, v| m.max(v.abs()));
        let step = if most > 12.0 { 6.0 } else { 3.0 };
        let span = ((most + 1.0) / step).ceil().max(2.0) * step;
        panel(
            &root,
            (l, 540, r, H as i32 - 50),
            range,
            (-span, span, step),
            data.freqs,
            &[(data.eq_db, EQ, 2)],
            &data.bands,
            "match EQ, dB (designed kernel; squares: band gains)",
        )?;
        text(&root, "Hz", (r - text_width("Hz"), H as i32 - 20), &AXIS)?;
        root.present().map_err(draw_err)?;
    }
    encode(pending, file, &buf)
}

/// Encodes the RGB image `buf` as a PNG into `file` and moves it onto its name.
fn encode(pending: PendingFile, file: File, buf: &[u8]) -> Result<()> {
    let name = shown(pending.dest());
    let mut encoder = png::Encoder::new(BufWriter::new(file), W, H);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
    let png_err = |e: png::EncodingError| match e {
        png::EncodingError::IoError(e) => fail!("cannot write {name}: {}", io_reason(&e)),
        e => fail!("cannot write {name}: {e}"),
    };
    let mut writer = encoder.write_header().map_err(png_err)?;
    writer.write_image_data(buf).map_err(png_err)?;
    writer.finish().map_err(png_err)?;
    pending.commit()
}
