//! The report's data model and its markdown rendering.
//!
//! A [`Comparison`] is one section: contenders as columns (allocators now,
//! GC crates later), workloads as rows, each cell the repeated samples of one
//! contender on one workload, or why there are none (a peer that crashed,
//! say). Lower is better for every metric in it. Ratios are taken against a
//! *baseline* column (the system allocator; later `Rc`), and the *subject*
//! column (pymalloc; later cyclegc) is also compared with its best peer.
//! Columns that are the subject again in another setup (cyclegc with
//! pymalloc as the global allocator) are its *variants*: shown, but not
//! counted among its peers.

use std::fmt::Write;

use super::stats::{geomean, median, relative_mad};

/// One contender's result on one workload.
#[derive(Clone, Debug)]
pub enum Cell {
    /// Repeated measurements.
    Samples(Vec<f64>),
    /// No measurement, and why (e.g. "stack overflow").
    Failed(String),
}

impl Cell {
    /// The median, when there are samples.
    pub fn median(&self) -> Option<f64> {
        match self {
            Cell::Samples(s) => median(s),
            Cell::Failed(_) => None,
        }
    }
}

/// One workload: a cell per contender.
#[derive(Clone, Debug)]
pub struct Row {
    /// Workload name.
    pub name: String,
    /// What one unit is (e.g. "alloc+free"), or a size note.
    pub detail: String,
    /// One cell per contender, in the comparison's column order.
    pub cells: Vec<Cell>,
}

/// One section of the report.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Section heading.
    pub title: String,
    /// A paragraph under the heading: what was measured, how.
    pub description: String,
    /// Unit of every cell (e.g. "ns/op", "ms", "MiB").
    pub unit: String,
    /// Column names.
    pub contenders: Vec<String>,
    /// Column that ratios are taken against.
    pub baseline: usize,
    /// Column the report is about, compared with its best peer (none while
    /// a section has only peers).
    pub subject: Option<usize>,
    /// Columns that are the subject in another setup (cyclegc with pymalloc
    /// as the global allocator): left out of [`Comparison::vs_best_peer`].
    pub variants: Vec<usize>,
    /// The workloads.
    pub rows: Vec<Row>,
}

impl Comparison {
    /// `cell / baseline` for each contender of `row` (when both exist).
    pub fn ratios(&self, row: &Row) -> Vec<Option<f64>> {
        let base = row.cells[self.baseline].median().filter(|&b| b > 0.0);
        row.cells
            .iter()
            .map(|c| Some(c.median()? / base?))
            .collect()
    }

    /// The subject's median divided by the best (lowest) other contender's,
    /// and that contender's name; the subject's variants are not others.
    pub fn vs_best_peer(&self, row: &Row) -> Option<(f64, &str)> {
        let subject_col = self.subject?;
        let subject = row.cells[subject_col].median()?;
        let (i, best) = row
            .cells
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != subject_col && !self.variants.contains(i))
            .filter_map(|(i, c)| Some((i, c.median()?)))
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        (best > 0.0).then(|| (subject / best, self.contenders[i].as_str()))
    }

    /// The section as markdown: medians with their spread, then ratios.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "## {}\n\n{}\n", self.title, self.description);
        let _ = writeln!(
            s,
            "Medians in {} (± median absolute deviation, given from 3 samples on); lower is \
             better.\n",
            self.unit
        );
        let _ = writeln!(s, "| workload | unit | {} |", self.contenders.join(" | "));
        let _ = writeln!(s, "|---|---|{}", "---:|".repeat(self.contenders.len()));
        for row in &self.rows {
            let cells: Vec<String> = row.cells.iter().map(format_cell).collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                row.name,
                row.detail,
                cells.join(" | ")
            );
        }
        let base = &self.contenders[self.baseline];
        let subject = self.subject.map(|i| self.contenders[i].as_str());
        match subject {
            Some(subject) => {
                let aside = match &self.variants[..] {
                    [] => String::new(),
                    v => {
                        let names: Vec<&str> =
                            v.iter().map(|&i| self.contenders[i].as_str()).collect();
                        format!(" ({} aside)", names.join(", "))
                    }
                };
                let _ = writeln!(
                    s,
                    "\nRelative to {base} (= 1.00; below 1 is better), and {subject} against \
                     the best of the others{aside}:\n"
                );
                let _ = writeln!(
                    s,
                    "| workload | {} | {subject} / best peer |",
                    self.contenders.join(" | ")
                );
                let _ = writeln!(s, "|---|{}---|", "---:|".repeat(self.contenders.len()));
            }
            None => {
                let _ = writeln!(s, "\nRelative to {base} (= 1.00; below 1 is better):\n");
                let _ = writeln!(s, "| workload | {} |", self.contenders.join(" | "));
                let _ = writeln!(s, "|---|{}", "---:|".repeat(self.contenders.len()));
            }
        }
        let mut per_column: Vec<Vec<f64>> = vec![Vec::new(); self.contenders.len()];
        for row in &self.rows {
            let ratios = self.ratios(row);
            for (col, r) in per_column.iter_mut().zip(&ratios) {
                col.extend(*r);
            }
            let cells: Vec<String> = ratios
                .iter()
                .map(|r| r.map_or("—".to_string(), |r| format!("{r:.2}")))
                .collect();
            let peer = match subject {
                Some(_) => {
                    let p = self
                        .vs_best_peer(row)
                        .map_or("—".to_string(), |(r, name)| format!("{r:.2} ({name})"));
                    format!(" {p} |")
                }
                None => String::new(),
            };
            let _ = writeln!(s, "| {} | {} |{peer}", row.name, cells.join(" | "));
        }
        let geo: Vec<String> = per_column
            .iter()
            .map(|c| geomean(c).map_or("—".to_string(), |g| format!("**{g:.2}**")))
            .collect();
        let tail = if subject.is_some() { " |" } else { "" };
        let _ = writeln!(s, "| *geometric mean* | {} |{tail}", geo.join(" | "));
        s
    }
}

/// A cell as "median ±spread%", or the failure.
fn format_cell(cell: &Cell) -> String {
    match cell {
        Cell::Samples(samples) => match (median(samples), relative_mad(samples)) {
            (Some(m), Some(mad)) if samples.len() >= 3 => {
                format!("{} ±{:.0}%", format_value(m), mad * 100.0)
            }
            (Some(m), _) => format_value(m),
            _ => "—".to_string(),
        },
        Cell::Failed(why) => format!("*{why}*"),
    }
}

/// Three significant figures or so, without exponent notation.
pub fn format_value(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Comparison {
        Comparison {
            title: "t".into(),
            description: "d".into(),
            unit: "ns/op".into(),
            contenders: vec!["system".into(), "pymalloc".into(), "mimalloc".into()],
            baseline: 0,
            subject: Some(1),
            variants: Vec::new(),
            rows: vec![Row {
                name: "w".into(),
                detail: "alloc+free".into(),
                cells: vec![
                    Cell::Samples(vec![20.0, 22.0, 18.0]),
                    Cell::Samples(vec![10.0]),
                    Cell::Failed("stack overflow".into()),
                ],
            }],
        }
    }

    #[test]
    fn ratios_peer_and_markdown() {
        let c = sample();
        let r = c.ratios(&c.rows[0]);
        assert_eq!(r, vec![Some(1.0), Some(0.5), None]);
        assert_eq!(c.vs_best_peer(&c.rows[0]), Some((0.5, "system")));
        let md = c.to_markdown();
        assert!(
            md.contains("| w | alloc+free | 20.0 ±10% | 10.0 | *stack overflow* |"),
            "{md}"
        );
        assert!(md.contains("0.50 (system)"), "{md}");
    }

    /// A variant of the subject is shown but never its best peer.
    #[test]
    fn variants_are_not_peers() {
        let mut c = sample();
        c.contenders.push("pymalloc+x".into());
        c.rows[0].cells.push(Cell::Samples(vec![5.0]));
        assert_eq!(c.vs_best_peer(&c.rows[0]), Some((2.0, "pymalloc+x")));
        c.variants = vec![3];
        assert_eq!(c.vs_best_peer(&c.rows[0]), Some((0.5, "system")));
        let md = c.to_markdown();
        assert!(md.contains("| 0.25 | 0.50 (system) |"), "{md}");
        assert!(
            md.contains("the best of the others (pymalloc+x aside):"),
            "{md}"
        );
    }
}
