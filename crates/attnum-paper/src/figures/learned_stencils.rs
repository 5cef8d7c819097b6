//! Figure `learned_stencils`: the effective stencils (Jacobians averaged over the test functions,
//! then over the seeds) after scale-aware training — token heads, linear attention, the
//! least-squares stencil and a transformer (2 heads, 1 block) — next to the five-point central
//! difference (dashed): (a) for `h f'(x₀)`, (b) for `h² f''(x₀)`.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot;

pub(super) const SIZE: (u32, u32) = (1000, 440);

/// `(label, curve)` pairs drawn in one panel.
type Labelled = Vec<(String, Vec<(f64, f64)>)>;

/// One panel: weights against offsets on linear axes, the central difference dashed.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    y: std::ops::Range<f64>,
    learned: &Labelled,
    central: &[(f64, f64)],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, plot::font(plot::FONT_SIZE * 1.05))
        .margin(8)
        .margin_top(14)
        .margin_right(22)
        .x_label_area_size(66)
        .y_label_area_size(90)
        .build_cartesian_2d(-2.3..2.3, y)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(5)
        .y_labels(6)
        .x_label_formatter(&|x| format!("{x:.0}").replace('-', "\u{2212}"))
        .y_label_formatter(&|v| format!("{v:.1}").replace('-', "\u{2212}"))
        .label_style(plot::font(plot::FONT_SIZE))
        .x_desc("offset (units of h)")
        .y_desc("weight")
        .axis_desc_style(plot::font(plot::FONT_SIZE))
        .draw()?;
    let black = plot::PALETTE[7].stroke_width(2);
    chart
        .draw_series(DashedLineSeries::new(central.iter().copied(), 9, 6, black))?
        .label("central difference")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], black));
    for (k, (label, points)) in learned.iter().enumerate() {
        let colour = plot::PALETTE[k % 7];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
    }
    plot::draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    use super::learned_derivative::{mean_over_seeds, method_label, number, text};
    let scale_aware = |t: &attnum_results::Table, r: usize, derivative: f64| {
        number(t, r, "derivative") == Some(derivative)
            && number(t, r, "training_steps.to") == Some(0.5)
    };
    let mut panels: Vec<(Labelled, Vec<(f64, f64)>)> = Vec::new();
    for derivative in [1.0, 2.0] {
        let mut learned: Labelled = Vec::new();
        let stencils = sources.signed_curves(
            "learned_derivative/stencil",
            &["method"],
            ("offset", "weight"),
            |t, r| scale_aware(t, r, derivative),
        )?;
        for method in ["model", "linear_attention", "least_squares"] {
            if let Some((_, p)) = stencils.iter().find(|(m, _)| m == method) {
                learned.push((method_label(method), mean_over_seeds(p)));
            }
        }
        let transformer = sources.signed_curves(
            "learned_architectures/stencil",
            &[],
            ("offset", "weight"),
            |t, r| {
                scale_aware(t, r, derivative)
                    && text(t, r, "method") == "model"
                    && number(t, r, "model.transformer.heads") == Some(2.0)
                    && number(t, r, "model.transformer.blocks") == Some(1.0)
            },
        )?;
        for (_, p) in transformer {
            learned.push(("transformer, 2 heads, 1 block".into(), mean_over_seeds(&p)));
        }
        let central = stencils
            .iter()
            .find(|(m, _)| m == "central")
            .map(|(_, p)| mean_over_seeds(p))
            .unwrap_or_default();
        panels.push((learned, central));
    }
    {
        let areas = root.split_evenly((1, 2));
        panel(
            &areas[0],
            "(a) first derivative",
            -1.0..1.0,
            &panels[0].0,
            &panels[0].1,
        )?;
        panel(
            &areas[1],
            "(b) second derivative",
            -3.0..2.0,
            &panels[1].0,
            &panels[1].1,
        )?;
    }
    Ok(())
}
