//! Shared drawing conventions for the paper's figures: palette, fonts, log axes labelled with
//! powers of ten, log–log and semi-log (linear x) charts.

use plotters::coord::Shift;
use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::figure::FONT_FAMILY;

/// The Okabe–Ito palette (distinguishable with the common colour-vision deficiencies).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

/// Base font size of figure text, in SVG pixels (figures are scaled to the text width).
pub const FONT_SIZE: f64 = 24.0;

/// The figure font at `size`.
pub fn font(size: f64) -> TextStyle<'static> {
    (FONT_FAMILY, size).into_font().color(&BLACK)
}

/// The italic figure font at `size`, for mathematical symbols.
pub fn italic(size: f64) -> TextStyle<'static> {
    (FONT_FAMILY, size, FontStyle::Italic)
        .into_font()
        .color(&BLACK)
}

/// A chart with a logarithmic y axis and the x axis `X`.
pub type Chart<'a, DB, X> = ChartContext<'a, DB, Cartesian2d<X, LogCoord<f64>>>;

/// A theoretical curve: legend label (empty: none), points, palette index.
pub type TheoryCurve<'a> = (&'a str, &'a [(f64, f64)], usize);

/// A log–log chart whose axes are drawn by [`draw_decade_axes`].
pub type LogLogChart<'a, DB> = Chart<'a, DB, LogCoord<f64>>;

/// A chart with a linear x axis and a logarithmic y axis, drawn by [`draw_semilog_axes`].
pub type SemiLogChart<'a, DB> = Chart<'a, DB, RangedCoordf64>;

/// Draw "10" with a raised exponent centred at `anchor` (backend pixels), hanging below it when
/// `below`, or right-aligned to its left otherwise.
fn power_of_ten<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    exponent: i32,
    below: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let base = font(FONT_SIZE);
    let small = font(FONT_SIZE * 0.72);
    let exp = exponent.to_string().replace('-', "\u{2212}");
    let (w_base, h_base) = root.estimate_text_size("10", &base)?;
    let (w_exp, _) = root.estimate_text_size(&exp, &small)?;
    let (w_base, w_exp, h_base) = (w_base as i32, w_exp as i32, h_base as i32);
    let total = w_base + w_exp;
    let (left, top) = if below {
        (x - total / 2, y + 10)
    } else {
        (x - total - 8, y - h_base / 2)
    };
    let top_left = Pos::new(HPos::Left, VPos::Top);
    root.draw(&Text::new("10".to_owned(), (left, top), base.pos(top_left)))?;
    root.draw(&Text::new(
        exp,
        (left + w_base + 1, top - h_base / 3),
        small.pos(top_left),
    ))?;
    Ok(())
}

/// The frame of the plotting area of `chart`.
fn draw_frame<DB: DrawingBackend, X: Ranged<ValueType = f64>>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart<'_, DB, X>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (x_range, y_range) = (chart.x_range(), chart.y_range());
    let (x0, y0) = chart.backend_coord(&(x_range.start, y_range.start));
    let (x1, y1) = chart.backend_coord(&(x_range.end, y_range.end));
    root.draw(&Rectangle::new([(x0, y1), (x1, y0)], BLACK.stroke_width(1)))
}

/// Tick marks on both vertical sides and power-of-ten labels at every `step`-th decade of y.
fn draw_y_decades<DB: DrawingBackend, X: Ranged<ValueType = f64>>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart<'_, DB, X>,
    (lo, hi, step): (i32, i32, usize),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let x_range = chart.x_range();
    let (x0, _) = chart.backend_coord(&(x_range.start, 1.0));
    let (x1, _) = chart.backend_coord(&(x_range.end, 1.0));
    for e in (lo..=hi).step_by(step) {
        let (_, y) = chart.backend_coord(&(x_range.start, 10f64.powi(e)));
        root.draw(&PathElement::new(vec![(x0, y), (x0 + 6, y)], BLACK))?;
        root.draw(&PathElement::new(vec![(x1, y), (x1 - 6, y)], BLACK))?;
        power_of_ten(root, (x0, y), e, false)?;
    }
    Ok(())
}

/// Tick marks on both horizontal sides of `chart` at x positions `xs`, each labelled below by
/// `label(x)` (`None`: a power of ten is drawn by the caller).
fn draw_x_ticks<DB: DrawingBackend, X: Ranged<ValueType = f64>>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart<'_, DB, X>,
    xs: &[f64],
    mut label: impl FnMut(
        &DrawingArea<DB, Shift>,
        (i32, i32),
        f64,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let y_range = chart.y_range();
    for &x in xs {
        let (px, y0) = chart.backend_coord(&(x, y_range.start));
        let (_, y1) = chart.backend_coord(&(x, y_range.end));
        root.draw(&PathElement::new(vec![(px, y0), (px, y0 - 6)], BLACK))?;
        root.draw(&PathElement::new(vec![(px, y1), (px, y1 + 6)], BLACK))?;
        label(root, (px, y0), x)?;
    }
    Ok(())
}

/// Axis frame, tick marks and power-of-ten labels at every `step`-th decade of both axes.
pub fn draw_decade_axes<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &LogLogChart<'_, DB>,
    (lo, hi, step): (i32, i32, usize),
    y_decades: (i32, i32, usize),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    draw_frame(root, chart)?;
    let xs: Vec<f64> = (lo..=hi).step_by(step).map(|e| 10f64.powi(e)).collect();
    draw_x_ticks(root, chart, &xs, |root, anchor, x| {
        power_of_ten(root, anchor, x.log10().round() as i32, true)
    })?;
    draw_y_decades(root, chart, y_decades)
}

/// Axis frame, ticks at `x_ticks` labelled with `decimals` decimals, and power-of-ten labels at
/// every `step`-th decade of y.
pub fn draw_semilog_axes<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &SemiLogChart<'_, DB>,
    x_ticks: &[f64],
    decimals: usize,
    y_decades: (i32, i32, usize),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    draw_frame(root, chart)?;
    draw_x_ticks(root, chart, x_ticks, |root, (x, y), value| {
        let text = format!("{value:.decimals$}").replace('-', "\u{2212}");
        let style = font(FONT_SIZE).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(text, (x, y + 10), style))
    })?;
    draw_y_decades(root, chart, y_decades)
}

/// Write `text` centred below the x axis of `chart` (in the label area) and, rotated, left of its
/// y axis: call with `None` to leave an axis unlabelled.
pub fn draw_axis_titles<DB: DrawingBackend, X: Ranged<ValueType = f64>>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart<'_, DB, X>,
    x_title: Option<&str>,
    y_title: Option<&str>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let x_range = chart.x_range();
    let y_range = chart.y_range();
    let (x0, y0) = chart.backend_coord(&(x_range.start, y_range.start));
    let (x1, y1) = chart.backend_coord(&(x_range.end, y_range.end));
    if let Some(title) = x_title {
        // A one-letter title is a mathematical symbol (h, x, z): set it in italic.
        let face = if title.chars().count() == 1 {
            italic(FONT_SIZE)
        } else {
            font(FONT_SIZE)
        };
        let style = face.pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(
            title.to_owned(),
            ((x0 + x1) / 2, y0 + 30),
            style,
        ))?;
    }
    if let Some(title) = y_title {
        let style = font(FONT_SIZE)
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        root.draw(&Text::new(
            title.to_owned(),
            (x0 - 58, (y0 + y1) / 2),
            style,
        ))?;
    }
    Ok(())
}

/// The caption, margins and label areas shared by every chart (room for the labels of
/// [`draw_decade_axes`] and [`draw_semilog_axes`]).
fn chart_builder<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(caption, font(FONT_SIZE * 1.05))
        .margin(8)
        .margin_top(14)
        .margin_right(22)
        .x_label_area_size(66)
        .y_label_area_size(100);
    builder
}

/// A log–log chart over the given decades with room for the labels of [`draw_decade_axes`].
pub fn log_log_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x_decades: (i32, i32),
    y_decades: (i32, i32),
) -> Result<LogLogChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let x = 10f64.powi(x_decades.0)..10f64.powi(x_decades.1);
    let y = 10f64.powi(y_decades.0)..10f64.powi(y_decades.1);
    chart_builder(area, caption).build_cartesian_2d(x.log_scale(), y.log_scale())
}

/// A chart over `x` (linear) and the given decades of y, with room for the labels of
/// [`draw_semilog_axes`].
pub fn semilog_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x: std::ops::Range<f64>,
    y_decades: (i32, i32),
) -> Result<SemiLogChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let y = 10f64.powi(y_decades.0)..10f64.powi(y_decades.1);
    chart_builder(area, caption).build_cartesian_2d(x, y.log_scale())
}

/// Draw theoretical predictions as dashed curves, each in the palette colour of the measured
/// curve it predicts (`colour` indexes the palette); call before [`draw_labelled_curves`], which
/// draws the legend for both. An empty label keeps a curve out of the legend.
pub fn draw_theory_curves<'a, DB: DrawingBackend + 'a, X: Ranged<ValueType = f64>>(
    chart: &mut Chart<'a, DB, X>,
    curves: &[TheoryCurve<'_>],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for &(label, points, colour) in curves {
        let colour = PALETTE[colour % PALETTE.len()];
        let style = colour.stroke_width(2);
        let series =
            chart.draw_series(DashedLineSeries::new(points.iter().copied(), 9, 6, style))?;
        // An unlabelled prediction stays out of the legend (the caption explains the dashes).
        if !label.is_empty() {
            series
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 9, y)], style));
        }
    }
    Ok(())
}

/// Draw labelled curves in palette order, with a legend at `legend`.
pub fn draw_labelled_curves<'a, DB: DrawingBackend + 'a, X: Ranged<ValueType = f64>>(
    chart: &mut Chart<'a, DB, X>,
    curves: &[(&str, &[(f64, f64)])],
    legend: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for (k, (label, points)) in curves.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(*label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(2))
            });
    }
    draw_legend(chart, legend)
}

/// Draw measured curves as markers in palette order, with a legend at `legend`: where a dashed
/// prediction of [`draw_theory_curves`] agrees with its measurement, a line would cover the dashes,
/// while the dashes stay visible between markers.
pub fn draw_measured_points<'a, DB: DrawingBackend + 'a, X: Ranged<ValueType = f64>>(
    chart: &mut Chart<'a, DB, X>,
    curves: &[(&str, &[(f64, f64)])],
    legend: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for (k, (label, points)) in curves.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&p| Circle::new(p, MARKER_RADIUS, colour.stroke_width(2))),
            )?
            .label(*label)
            .legend(move |(x, y)| Circle::new((x + 12, y), MARKER_RADIUS, colour.stroke_width(2)));
    }
    draw_legend(chart, legend)
}

/// The figures' usual pairing: each prediction dashed, unlabelled, and its measurement as labelled
/// markers in the same palette colour (curve `k` of each list shares colour `k`).
pub fn draw_measured_over_predictions<'a, DB: DrawingBackend + 'a, X: Ranged<ValueType = f64>>(
    chart: &mut Chart<'a, DB, X>,
    measured: &[crate::results::Curve],
    predicted: &[crate::results::Curve],
    legend: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let dashed: Vec<TheoryCurve<'_>> = predicted
        .iter()
        .enumerate()
        .map(|(k, (_, points))| ("", points.as_slice(), k))
        .collect();
    draw_theory_curves(chart, &dashed)?;
    let shown: Vec<(&str, &[(f64, f64)])> = measured
        .iter()
        .map(|(label, points)| (label.as_str(), points.as_slice()))
        .collect();
    draw_measured_points(chart, &shown, legend)
}

/// Radius in pixels of a measured point drawn by [`draw_measured_points`].
const MARKER_RADIUS: i32 = 3;

/// The legend of the series drawn on `chart` so far, at `position`, in the figures' one style.
pub fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font(font(FONT_SIZE * 0.75))
        .draw()
}

/// Draw curves in given palette colours without a legend (the legend of another panel names
/// them).
pub fn draw_indexed_curves<'a, DB: DrawingBackend + 'a, X: Ranged<ValueType = f64>>(
    chart: &mut Chart<'a, DB, X>,
    curves: &[(usize, Vec<(f64, f64)>)],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for (index, points) in curves {
        let colour = PALETTE[index % PALETTE.len()];
        chart.draw_series(LineSeries::new(
            points.iter().copied(),
            colour.stroke_width(2),
        ))?;
    }
    Ok(())
}

/// A panel of loss curves against the epoch: a semi-log chart over `y_decades` with a legend,
/// ticks every `tick_step` epochs and the y title `y_title`.
pub fn draw_loss_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    curves: &[(String, Vec<(f64, f64)>)],
    (tick_step, y_decades, y_title): (f64, (i32, i32, usize), &str),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let epochs = curves
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(x, _)| x))
        .fold(1.0f64, f64::max);
    let mut chart = semilog_chart(area, caption, 0.0..epochs, (y_decades.0, y_decades.1))?;
    let shown: Vec<(&str, &[(f64, f64)])> = curves
        .iter()
        .map(|(l, p)| (l.as_str(), p.as_slice()))
        .collect();
    draw_labelled_curves(&mut chart, &shown, SeriesLabelPosition::UpperRight)?;
    let ticks: Vec<f64> = (0..)
        .map(|k| f64::from(k) * tick_step)
        .take_while(|&t| t <= epochs)
        .collect();
    draw_semilog_axes(root, &chart, &ticks, 0, y_decades)?;
    draw_axis_titles(root, &chart, Some("epoch"), Some(y_title))
}

/// The axes of a log–log panel: the decades `(first, last, step between labels)` of x and of y,
/// which are also the chart's ranges, and the axis titles.
pub struct LogLogAxes<'t> {
    /// Decades of x.
    pub x: (i32, i32, usize),
    /// Decades of y.
    pub y: (i32, i32, usize),
    /// Title of the x axis.
    pub x_title: &'t str,
    /// Title of the y axis.
    pub y_title: &'t str,
}

/// A panel of labelled curves on a log–log chart: the dashed predictions `theory` first
/// ([`draw_theory_curves`]), then `curves` with a legend at `legend`, the decade axes and titles.
pub fn draw_log_log_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    theory: &[TheoryCurve<'_>],
    curves: &[(String, Vec<(f64, f64)>)],
    legend: SeriesLabelPosition,
    axes: &LogLogAxes<'_>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = log_log_chart(area, caption, (axes.x.0, axes.x.1), (axes.y.0, axes.y.1))?;
    if !theory.is_empty() {
        draw_theory_curves(&mut chart, theory)?;
    }
    let shown: Vec<(&str, &[(f64, f64)])> = curves
        .iter()
        .map(|(l, p)| (l.as_str(), p.as_slice()))
        .collect();
    draw_labelled_curves(&mut chart, &shown, legend)?;
    draw_decade_axes(root, &chart, axes.x, axes.y)?;
    draw_axis_titles(root, &chart, Some(axes.x_title), Some(axes.y_title))
}
