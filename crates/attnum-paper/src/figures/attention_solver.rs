//! Figure `attention_solver`: the method of lines as attention — (a) Burgers with `sin 2πx` at
//! the recorded times by WENO5 attention, through and past the shock, with the linear
//! fifth-order upwind stencil at the last time dashed; (b) the square wave after its advection,
//! WENO5 against the upwind stencil, with the initial data (the exact solution after one period)
//! in black; (c) the error against the grid step for smooth advection and Burgers before the
//! shock, attention (markers) and the classical scheme (dashed).

use attnum_results::{Cell, Table};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot;

pub(super) const SIZE: (u32, u32) = (1300, 440);

const PROFILES: &str = "attention_solver/profiles";
const CONVERGENCE: &str = "attention_solver/convergence";

fn text_is(t: &Table, r: usize, column: &str, value: &str) -> bool {
    matches!(t.cell(r, column), Some(Cell::Text(v)) if v == value)
}

/// A linear chart of profiles on `[0, 1] × range`: `solid` in palette order, `dashed` in black.
fn profile_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    range: std::ops::Range<f64>,
    solid: &[(String, Vec<(f64, f64)>)],
    dashed: &[(String, Vec<(f64, f64)>)],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, plot::font(plot::FONT_SIZE * 1.05))
        .margin(8)
        .margin_top(14)
        .margin_right(22)
        .x_label_area_size(66)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..1.0, range)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(6)
        .y_labels(7)
        .x_label_formatter(&|x| format!("{x:.1}"))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .label_style(plot::font(plot::FONT_SIZE))
        .x_desc("x")
        .y_desc("u")
        .axis_desc_style(plot::font(plot::FONT_SIZE))
        .draw()?;
    // The reference curves are black, dashed.
    let style = plot::PALETTE[plot::PALETTE.len() - 1].stroke_width(2);
    for (label, points) in dashed {
        chart
            .draw_series(DashedLineSeries::new(points.iter().copied(), 7, 5, style))?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    }
    for (k, (label, points)) in solid.iter().enumerate() {
        let style = plot::PALETTE[k % plot::PALETTE.len()].stroke_width(2);
        chart
            .draw_series(LineSeries::new(points.iter().copied(), style))?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    }
    plot::draw_legend(&mut chart, SeriesLabelPosition::LowerLeft)
}

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let of = |case: &'static str, reconstruction: &'static str| {
        move |t: &Table, r: usize| {
            text_is(t, r, "case", case) && text_is(t, r, "reconstruction", reconstruction)
        }
    };
    let times = |curves: Vec<(String, Vec<(f64, f64)>)>| -> Vec<(String, Vec<(f64, f64)>)> {
        curves
            .into_iter()
            .map(|(t, points)| {
                let label = t
                    .parse::<f64>()
                    .map_or(t.clone(), |t| format!("t = {t:.2}"));
                (label, points)
            })
            .collect()
    };
    let burgers = times(sources.signed_curves(
        PROFILES,
        &["time"],
        ("x", "u"),
        of("burgers", "weno5"),
    )?);
    let burgers_upwind = sources.signed_curves(
        PROFILES,
        &["time"],
        ("x", "u"),
        of("burgers", "upwind5"),
    )?;
    let square = sources.signed_curves(PROFILES, &["time"], ("x", "u"), of("square", "weno5"))?;
    let square_upwind =
        sources.signed_curves(PROFILES, &["time"], ("x", "u"), of("square", "upwind5"))?;
    let last = |curves: &[(String, Vec<(f64, f64)>)]| curves.last().map(|(_, p)| p.clone());
    let missing = || sources.error("no profiles in `attention_solver/profiles`".into());

    let areas = root.split_evenly((1, 3));
    let upwind_last = last(&burgers_upwind).ok_or_else(missing)?;
    profile_panel(
        &areas[0],
        "(a) Burgers, WENO5 attention",
        -1.45..1.45,
        &burgers,
        &[("upwind5, last t".into(), upwind_last)],
    )?;
    let initial = square.first().map(|(_, p)| p.clone()).ok_or_else(missing)?;
    let square_final = last(&square).ok_or_else(missing)?;
    let square_upwind_final = last(&square_upwind).ok_or_else(missing)?;
    profile_panel(
        &areas[1],
        "(b) square wave, one period",
        -0.3..1.3,
        &[
            ("WENO5".into(), square_final),
            ("upwind5".into(), square_upwind_final),
        ],
        &[("exact".into(), initial)],
    )?;

    let attention = sources.curves(CONVERGENCE, &["case"], ("dx", "error"), |_, _| true)?;
    let classical =
        sources.curves(CONVERGENCE, &["case"], ("dx", "classical_error"), |_, _| true)?;
    {
        let mut chart = plot::log_log_chart(&areas[2], "(c) error against Δx", (-3, 0), (-10, 0))?;
        plot::draw_measured_over_predictions(
            &mut chart,
            &attention,
            &classical,
            SeriesLabelPosition::LowerRight,
        )?;
        plot::draw_decade_axes(root, &chart, (-3, 0, 1), (-10, 0, 2))?;
        plot::draw_axis_titles(root, &chart, Some("Δx"), Some("max error"))?;
    }
    Ok(())
}
