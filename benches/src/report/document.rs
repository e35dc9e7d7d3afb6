//! Assembles the report files: `report.md` (machine, method, one section per
//! [`Comparison`] with its chart), one SVG per section, and `samples.tsv`
//! with every raw sample.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::chart::{self, Scale};
use super::machine::{Machine, load_average, utc_now};
use super::table::{Cell, Comparison};

/// One section of the report and how to chart it.
#[derive(Clone, Debug)]
pub struct Section {
    /// The data.
    pub comparison: Comparison,
    /// Bars relative to the baseline, or absolute.
    pub scale: Scale,
    /// File stem of its chart (`<stem>.svg`).
    pub stem: String,
}

impl Section {
    /// A section charted relative to its baseline.
    pub fn relative(comparison: Comparison, stem: &str) -> Self {
        Self {
            comparison,
            scale: Scale::Relative,
            stem: stem.to_string(),
        }
    }

    /// A section charted relative to the best contender of each row (for
    /// rows in different units, or with no baseline value).
    pub fn relative_to_best(comparison: Comparison, stem: &str) -> Self {
        Self {
            comparison,
            scale: Scale::RelativeToBest,
            stem: stem.to_string(),
        }
    }

    /// A section charted in its own unit.
    pub fn absolute(comparison: Comparison, stem: &str) -> Self {
        Self {
            comparison,
            scale: Scale::Absolute,
            stem: stem.to_string(),
        }
    }
}

/// Writes every file into `dir` (created if needed); returns the path of
/// `report.md`.
pub fn write(
    dir: &Path,
    machine: &Machine,
    quick: bool,
    sections: &[Section],
    notes: &[String],
    took: Duration,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut md = String::new();
    let _ = writeln!(md, "# pymalloc benchmark report\n");
    let _ = writeln!(
        md,
        "- date: {} UTC (finished {} UTC, {:.0} s)\n- machine: {}, {} cores, {} MiB, Linux {}\n\
         - load average (1/5/15 min): {} at start, {} at end\n- mode: {}\n- seed: {:#x}\n\
         - profile: `cargo run --release -p benches --bin report{}`\n",
        machine.date,
        utc_now(),
        took.as_secs_f64(),
        machine.cpu,
        machine.cores,
        machine.mem_mib,
        machine.kernel,
        machine.load_at_start,
        load_average(),
        if quick {
            "quick (smoke run: small sizes, few repetitions; do not quote)"
        } else {
            "full"
        },
        crate::rng::SEED,
        if quick { " -- --quick" } else { "" },
    );
    let _ = writeln!(
        md,
        "Every figure is a median over repetitions with the allocators interleaved; \
         the ± is the median absolute deviation. A load average near or above the core \
         count means other work shared the machine: compare ratios, not absolute \
         times.\n"
    );
    for note in notes {
        let _ = writeln!(md, "> {note}\n");
    }
    for s in sections {
        md.push_str(&s.comparison.to_markdown());
        let file = format!("{}.svg", s.stem);
        match chart::bar_chart(&dir.join(&file), &s.comparison, s.scale) {
            Ok(()) => {
                let _ = writeln!(md, "\n![{}]({file})\n", s.comparison.title);
            }
            Err(e) => {
                eprintln!("report: chart {e}");
                let _ = writeln!(md, "\n(chart failed: {e})\n");
            }
        }
    }
    let _ = writeln!(
        md,
        "Raw samples: `samples.tsv` (section, workload, contender, unit, value)."
    );
    let md_path = dir.join("report.md");
    std::fs::write(&md_path, md).map_err(|e| format!("{}: {e}", md_path.display()))?;
    let tsv_path = dir.join("samples.tsv");
    std::fs::write(&tsv_path, samples_tsv(sections))
        .map_err(|e| format!("{}: {e}", tsv_path.display()))?;
    Ok(md_path)
}

/// Every sample, one per line: stem, workload, contender, unit, value.
fn samples_tsv(sections: &[Section]) -> String {
    let mut out = String::from("section\tworkload\tcontender\tunit\tvalue\n");
    for s in sections {
        let c = &s.comparison;
        for row in &c.rows {
            for (name, cell) in c.contenders.iter().zip(&row.cells) {
                match cell {
                    Cell::Samples(v) => {
                        for x in v {
                            let _ =
                                writeln!(out, "{}\t{}\t{name}\t{}\t{x}", s.stem, row.name, c.unit);
                        }
                    }
                    Cell::Failed(why) => {
                        let _ =
                            writeln!(out, "{}\t{}\t{name}\t{}\t{why}", s.stem, row.name, c.unit);
                    }
                }
            }
        }
    }
    out
}
