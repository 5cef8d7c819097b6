//! Figure `hard_attention`: the error of multi-head hard attention against the stencil it
//! compiles, against the sharpness `βh²`, with keys at the stencil's nodes and on a wide grid;
//! dashed, the leading-order leak `e^{−βh²} Σ_j c_j Σ_{neighbours} (f_i − f_j)`. The x range and
//! the wide grid's extent come from the sweep's configuration.

use attnum_results::Cell;
use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot;

pub(super) const SIZE: (u32, u32) = (1000, 440);

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let sharpness = "experiment.hard_attention.sharpness";
    let largest = sources.config_f64("hard_attention", &format!("{sharpness}.to"))?;
    let half_width = sources.config_f64(
        "hard_attention",
        "experiment.hard_attention.wide_half_width",
    )?;
    let panels_of_keys = [
        ("stencil", "keys at the stencil's nodes".to_owned()),
        (
            "wide",
            format!("keys on the grid −{half_width}..{half_width}"),
        ),
    ];
    let panels = root.split_evenly((1, panels_of_keys.len()));
    for (j, (keys, title)) in panels_of_keys.iter().enumerate() {
        let of_keys = |t: &attnum_results::Table, r: usize| matches!(t.cell(r, "keys"), Some(Cell::Text(k)) if k == keys);
        let key = "hard_attention/table";
        let measured = sources.curves(key, &["stencil"], ("beta_h2", "error"), of_keys)?;
        let theory = sources.curves(
            key,
            &["stencil"],
            ("beta_h2", "leading_prediction"),
            |t, r| {
                of_keys(t, r)
                    && t.cell(r, "leading_prediction")
                        .and_then(Cell::as_f64)
                        .is_some_and(|p| p > 1e-17)
            },
        )?;
        let mut chart = plot::semilog_chart(&panels[j], title, 0.0..largest, (-17, 1))?;
        plot::draw_measured_over_predictions(
            &mut chart,
            &measured,
            &theory,
            SeriesLabelPosition::UpperRight,
        )?;
        let ticks: Vec<f64> = (0..=4).map(|k| largest * k as f64 / 4.0).collect();
        plot::draw_semilog_axes(root, &chart, &ticks, 0, (-16, 0, 2))?;
        plot::draw_axis_titles(
            root,
            &chart,
            Some("βh²"),
            (j == 0).then_some("|attention − stencil|"),
        )?;
    }
    Ok(())
}
