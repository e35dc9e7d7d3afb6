//! SVG charts of a [`Comparison`]: horizontal grouped bars, one group per
//! workload, one bar per contender, either normalised to the baseline
//! (baseline = 1.0, a line marks it), to the best of each row, or in the
//! section's own unit.

use std::path::Path;

use plotters::prelude::*;

use super::table::{Comparison, format_value};

/// Bar colours, one per contender (cycled past four).
const COLORS: [RGBColor; 6] = [
    RGBColor(120, 120, 120),
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
];

/// What the bars show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Each median divided by the baseline's.
    Relative,
    /// Each median divided by the lowest median of its row.
    RelativeToBest,
    /// The medians themselves, in the comparison's unit.
    Absolute,
}

/// Draws `cmp` to an SVG file at `path`.
pub fn bar_chart(path: &Path, cmp: &Comparison, scale: Scale) -> Result<(), String> {
    draw(path, cmp, scale).map_err(|e| format!("{}: {e}", path.display()))
}

/// The drawing itself; errors as plotters reports them.
fn draw(path: &Path, cmp: &Comparison, scale: Scale) -> Result<(), Box<dyn std::error::Error>> {
    let rows = cmp.rows.len().max(1);
    let k = cmp.contenders.len().max(1);
    let values: Vec<Vec<Option<f64>>> = cmp
        .rows
        .iter()
        .map(|row| match scale {
            Scale::Relative => cmp.ratios(row),
            Scale::RelativeToBest => {
                let medians: Vec<Option<f64>> = row.cells.iter().map(|c| c.median()).collect();
                let best = medians
                    .iter()
                    .flatten()
                    .copied()
                    .filter(|&m| m > 0.0)
                    .fold(f64::INFINITY, f64::min);
                medians
                    .into_iter()
                    .map(|m| m.filter(|_| best.is_finite()).map(|m| m / best))
                    .collect()
            }
            Scale::Absolute => row.cells.iter().map(|c| c.median()).collect(),
        })
        .collect();
    let max = values
        .iter()
        .flatten()
        .flatten()
        .copied()
        .fold(0.0f64, f64::max);
    // Room on the right for the value labels and the legend.
    let x_max = if max > 0.0 { max * 1.45 } else { 1.0 };
    let height = 130 + rows * (k * 14 + 14);
    let root = SVGBackend::new(path, (960, height as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let x_desc = match scale {
        Scale::Relative => format!(
            "relative to {} (= 1.0); lower is better",
            cmp.contenders[cmp.baseline]
        ),
        Scale::RelativeToBest => {
            "relative to the best of each row (= 1.0); lower is better".to_string()
        }
        Scale::Absolute => format!("{}; lower is better", cmp.unit),
    };
    let names: Vec<String> = cmp.rows.iter().map(|r| r.name.clone()).collect();
    let label = move |y: &f64| {
        let i = y.round();
        if (y - i).abs() > 1e-6 || i < 0.0 || i as usize >= names.len() {
            return String::new();
        }
        names[names.len() - 1 - i as usize].clone()
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(&cmp.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(230)
        .build_cartesian_2d(0f64..x_max, -0.5f64..(rows as f64 - 0.5))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE)
        .y_labels(rows)
        .y_label_formatter(&label)
        .x_desc(x_desc)
        .label_style(("sans-serif", 13))
        .draw()?;
    let band = 0.8;
    let h = band / k as f64;
    for (c, name) in cmp.contenders.iter().enumerate() {
        let color = COLORS[c % COLORS.len()];
        let mut bars = Vec::new();
        let mut texts = Vec::new();
        for (r, row_values) in values.iter().enumerate() {
            let Some(v) = row_values[c] else { continue };
            let centre = (rows - 1 - r) as f64;
            let top = centre + band / 2.0 - c as f64 * h;
            bars.push(Rectangle::new(
                [(0.0, top), (v, top - h * 0.85)],
                color.filled(),
            ));
            texts.push(Text::new(
                format!(" {}", format_value(v)),
                (v, top - h * 0.1),
                ("sans-serif", 10).into_font().color(&BLACK),
            ));
        }
        chart
            .draw_series(bars)?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        chart.draw_series(texts)?;
    }
    if scale != Scale::Absolute {
        let top = rows as f64 - 0.5;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(1.0, -0.5), (1.0, top)],
            BLACK.stroke_width(1),
        )))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()?;
    root.present()?;
    Ok(())
}
