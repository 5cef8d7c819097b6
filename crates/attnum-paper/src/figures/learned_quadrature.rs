//! Figure `learned_quadrature`: a softmax head with trainable node positions (`tanh` nodes,
//! uniform starts, patience 2000) — (a) the nodes of the best of the random starts for each size
//! (dots) on the Gauss–Legendre nodes (rings), (b) the validation loss of the first start for
//! each size.

use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot;

pub(super) const SIZE: (u32, u32) = (1000, 440);

/// Rows of the figure's point: learned `tanh` nodes from uniform starts in `(−0.95, 0.95)`,
/// patience 2000 (and, in `nodes`, the best start).
fn learned(t: &attnum_results::Table, r: usize) -> bool {
    let text = |c: &str| t.cell(r, c).map(ToString::to_string);
    let number = |c: &str| t.cell(r, c).and_then(attnum_results::Cell::as_f64);
    text("mode").as_deref() == Some("learned")
        && text("bound").as_deref() == Some("tanh")
        && text("start").as_deref() == Some("uniform")
        && number("spread") == Some(0.95)
        && number("training.patience") == Some(2000.0)
        && t.cell(r, "example")
            .is_none_or(|e| e.to_string() == "best")
}

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let nodes = sources.curves(
        "learned_quadrature/nodes",
        &["nodes"],
        ("learned_node", "nodes"),
        learned,
    )?;
    let gauss = sources.curves(
        "learned_quadrature/nodes",
        &["nodes"],
        ("reference_node", "nodes"),
        learned,
    )?;
    let curves = sources.curves(
        "learned_quadrature/curve",
        &["nodes"],
        ("epoch", "validation_loss"),
        learned,
    )?;
    let sizes = nodes
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(_, y)| y))
        .fold(0.0f64, f64::max);
    {
        let panels = root.split_evenly((1, 2));
        let mut chart = ChartBuilder::on(&panels[0])
            .caption(
                "(a) learned and Gauss–Legendre nodes",
                plot::font(plot::FONT_SIZE * 1.05),
            )
            .margin(8)
            .margin_top(14)
            .margin_right(22)
            .x_label_area_size(66)
            .y_label_area_size(80)
            .build_cartesian_2d(-1.05..1.05, 1.5..sizes + 0.5)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(5)
            .y_labels(sizes as usize)
            .x_label_formatter(&|x| format!("{x:.1}").replace('-', "\u{2212}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(plot::font(plot::FONT_SIZE))
            .x_desc("node")
            .y_desc("n")
            .axis_desc_style(plot::font(plot::FONT_SIZE))
            .draw()?;
        let ring = plot::PALETTE[7];
        chart
            .draw_series(
                gauss
                    .iter()
                    .flat_map(|(_, p)| p.iter().copied())
                    .map(|(x, y)| Circle::new((x, y), 11, ring.stroke_width(2))),
            )?
            .label("Gauss–Legendre")
            .legend(move |(x, y)| Circle::new((x + 6, y), 7, ring.stroke_width(2)));
        let dot = plot::PALETTE[1];
        chart
            .draw_series(
                nodes
                    .iter()
                    .flat_map(|(_, p)| p.iter().copied())
                    .map(|(x, y)| Circle::new((x, y), 5, dot.filled())),
            )?
            .label("learned (best start)")
            .legend(move |(x, y)| Circle::new((x + 6, y), 5, dot.filled()));
        plot::draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;

        let labelled: Vec<(String, Vec<(f64, f64)>)> = curves
            .iter()
            .map(|(n, p)| (format!("n = {n}"), p.clone()))
            .collect();
        plot::draw_loss_panel(
            root,
            &panels[1],
            "(b) validation loss, first start",
            &labelled,
            (500.0, (-32, 2, 8), "MSE of the integral"),
        )?;
    }
    Ok(())
}
