//! `tonecore batch`: every audio file of a folder, `--jobs` at a time, each written atomically;
//! a failing file (an error or a panic) is reported in the summary and does not stop the
//! others.

use crate::decode::AUDIO_EXTENSIONS;
use crate::error::{cancel_flag, contain, io_reason, shown, CliError, QuietPanics, Result};
use crate::fail;
use crate::job::{self, duration, lufs, Report};
use crate::output::PendingFile;
use crate::progress::FileProgress;
use crate::say;
use crate::{cores, same_file, settings, BatchArgs};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The audio files directly in `dir`, sorted by name.
fn audio_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.exists() {
        return Err(fail!("the input folder {} does not exist", shown(dir)));
    }
    if !dir.is_dir() {
        return Err(fail!("{} is not a folder", shown(dir)));
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| fail!("cannot read the folder {}: {}", shown(dir), io_reason(&e)))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Runs the batch.
///
/// # Errors
/// Input folder missing or empty, output folder not creatable or not writable, bad options,
/// Ctrl-C. Per-file failures are not errors: they are reported and make the exit status 1.
pub fn run(a: BatchArgs) -> Result<ExitCode> {
    let files = audio_files(&a.in_dir)?;
    if files.is_empty() {
        return Err(fail!(
            "no audio files ({}) in {}",
            AUDIO_EXTENSIONS
                .iter()
                .map(|e| format!(".{e}"))
                .collect::<Vec<_>>()
                .join(" "),
            shown(&a.in_dir)
        ));
    }
    if !a.out_dir.exists() {
        std::fs::create_dir_all(&a.out_dir).map_err(|e| {
            fail!(
                "cannot create the output folder {}: {}",
                shown(&a.out_dir),
                io_reason(&e)
            )
        })?;
    }
    if !a.out_dir.is_dir() {
        return Err(fail!("the output {} is not a folder", shown(&a.out_dir)));
    }
    if same_file(&a.in_dir, &a.out_dir) {
        return Err(fail!(
            "the output folder is the input folder; choose another so no input is overwritten"
        ));
    }
    // Fails now if the folder cannot be written; the probe file is removed on drop.
    drop(PendingFile::create(&a.out_dir.join("probe"))?);
    let jobs = a
        .jobs
        .map_or(cores(), |j| j as usize)
        .min(files.len())
        .max(1);
    let settings = settings(&a.chain, Some(a.out), (cores() / jobs).max(1))?;

    // Output names; a second input with the same stem fails instead of overwriting the first.
    let mut taken: HashMap<String, usize> = HashMap::new();
    let outputs: Vec<std::result::Result<PathBuf, String>> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let stem = f.file_stem().unwrap_or_default().to_string_lossy();
            let name = format!("{stem}.wav");
            match taken.get(&name) {
                Some(&j) => Err(format!(
                    "its output {name} would overwrite the output of {}",
                    label(&files[j])
                )),
                None => {
                    taken.insert(name.clone(), i);
                    Ok(a.out_dir.join(name))
                }
            }
        })
        .collect();

    let multi = MultiProgress::with_draw_target(if a.quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let overall = multi.add(ProgressBar::new(files.len() as u64));
    overall.set_style(
        ProgressStyle::with_template(
            "{prefix:<24!} {msg:<7} [{bar:30.green/white}] {pos}/{len} files, {elapsed}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    overall.set_prefix("batch");
    overall.set_message(format!("{jobs} jobs"));

    let t0 = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Report>>>> = Mutex::new(vec![None; files.len()]);
    // A panic in one file's job (on its thread or the renderer's) prints nothing: it is that
    // file's failure in the summary.
    let quiet = QuietPanics::start();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                if cancel_flag().load(Ordering::Relaxed) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= files.len() {
                    break;
                }
                let result = match &outputs[i] {
                    Err(m) => Err(CliError::Message(m.clone())),
                    Ok(out) => {
                        let bar = FileProgress::in_multi(&multi, &label(&files[i]));
                        let r = contain(|| job::process_file(&files[i], out, &settings, &bar))
                            .unwrap_or_else(|m| Err(fail!("failed unexpectedly ({m})")));
                        bar.finish();
                        r
                    }
                };
                if !matches!(result, Err(CliError::Interrupted)) {
                    overall.inc(1);
                }
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
            });
        }
    });
    drop(quiet);
    overall.finish_and_clear();
    let wall = t0.elapsed().as_secs_f64();
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());

    // Summary table.
    let width = files
        .iter()
        .map(|f| label(f).chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 40);
    // With --match, a column of the tonal residual before>after (dB RMS from the reference).
    let matching = settings.matching.is_some();
    if let Some(m) = &settings.matching {
        say!("reference: {}: {}", m.reference.name, m.reference.source);
        say!("chain:     {}", settings.chain.description);
    }
    say!(
        "{:<width$}  {:<6}  {:>8}  {:>8}  {:>8}  {:>9}  {}{:>7}",
        "file",
        "status",
        "length",
        "in LUFS",
        "out LUFS",
        "peak dBTP",
        if matching {
            format!("{:>9}  ", "tonal dB")
        } else {
            String::new()
        },
        "time"
    );
    let (mut ok, mut failed, mut skipped, mut audio) = (0, 0, 0, 0.0);
    for (f, r) in files.iter().zip(&results) {
        let name = label(f);
        match r {
            Some(Ok(r)) => {
                ok += 1;
                audio += r.seconds();
                say!(
                    "{name:<width$}  {:<6}  {:>8}  {:>8}  {:>8}  {:>9}  {}{:>6.2}s",
                    "ok",
                    duration(r.seconds()),
                    lufs(r.before.integrated),
                    lufs(r.after.integrated),
                    lufs(r.after.true_peak),
                    match &r.matched {
                        Some(m) => format!("{:>9}  ", crate::matching::tonal_cell(m)),
                        None => String::new(),
                    },
                    r.total_secs
                );
            }
            Some(Err(CliError::Message(m))) => {
                failed += 1;
                say!("{name:<width$}  FAILED  {m}");
            }
            Some(Err(CliError::Interrupted)) | None => {
                skipped += 1;
                say!("{name:<width$}  {:<6}  (interrupted, nothing written)", "-");
            }
        }
    }
    say!(
        "{ok} of {} files written to {} ({failed} failed{}) in {wall:.2} s, {jobs} at a time with {} render thread(s) each: {:.0}x real time",
        files.len(),
        a.out_dir.display(),
        if skipped > 0 {
            format!(", {skipped} not done")
        } else {
            String::new()
        },
        if settings.threads == 0 {
            cores()
        } else {
            settings.threads
        },
        audio / wall.max(1e-9)
    );
    if cancel_flag().load(Ordering::Relaxed) {
        return Err(CliError::Interrupted);
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn label(path: &Path) -> String {
    crate::label(path)
}
