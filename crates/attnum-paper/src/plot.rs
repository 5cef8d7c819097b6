//! Shared drawing conventions for the paper's figures: palette, fonts, log axes labelled with
//! powers of ten.

use plotters::coord::Shift;
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

/// A log–log chart whose axes are drawn by [`draw_decade_axes`].
pub type LogLogChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<LogCoord<f64>, LogCoord<f64>>>;

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

/// Axis frame, tick marks and power-of-ten labels at every `step`-th decade of both axes.
pub fn draw_decade_axes<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &LogLogChart<'_, DB>,
    x_decades: (i32, i32, usize),
    y_decades: (i32, i32, usize),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let x_range = chart.x_range();
    let y_range = chart.y_range();
    let corner = |x: f64, y: f64| chart.backend_coord(&(x, y));
    let (x0, y0) = corner(x_range.start, y_range.start);
    let (x1, y1) = corner(x_range.end, y_range.end);
    root.draw(&Rectangle::new([(x0, y1), (x1, y0)], BLACK.stroke_width(1)))?;
    let (lo, hi, step) = x_decades;
    for e in (lo..=hi).step_by(step) {
        let (x, _) = corner(10f64.powi(e), y_range.start);
        root.draw(&PathElement::new(vec![(x, y0), (x, y0 - 6)], BLACK))?;
        root.draw(&PathElement::new(vec![(x, y1), (x, y1 + 6)], BLACK))?;
        power_of_ten(root, (x, y0), e, true)?;
    }
    let (lo, hi, step) = y_decades;
    for e in (lo..=hi).step_by(step) {
        let (_, y) = corner(x_range.start, 10f64.powi(e));
        root.draw(&PathElement::new(vec![(x0, y), (x0 + 6, y)], BLACK))?;
        root.draw(&PathElement::new(vec![(x1, y), (x1 - 6, y)], BLACK))?;
        power_of_ten(root, (x0, y), e, false)?;
    }
    Ok(())
}

/// Write `text` centred below the x axis of `chart` (in the label area) and, rotated, left of its
/// y axis: call with `None` to leave an axis unlabelled.
pub fn draw_axis_titles<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &LogLogChart<'_, DB>,
    x_title: Option<&str>,
    y_title: Option<&str>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let x_range = chart.x_range();
    let y_range = chart.y_range();
    let (x0, y0) = chart.backend_coord(&(x_range.start, y_range.start));
    let (x1, y1) = chart.backend_coord(&(x_range.end, y_range.end));
    if let Some(title) = x_title {
        // A one-letter title is a mathematical symbol (h, x): set it in italic.
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

/// A log–log chart over the given decades with room for the labels of [`draw_decade_axes`].
pub fn log_log_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x_decades: (i32, i32),
    y_decades: (i32, i32),
) -> Result<LogLogChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let x = 10f64.powi(x_decades.0)..10f64.powi(x_decades.1);
    let y = 10f64.powi(y_decades.0)..10f64.powi(y_decades.1);
    ChartBuilder::on(area)
        .caption(caption, font(FONT_SIZE * 1.05))
        .margin(8)
        .margin_top(14)
        .margin_right(22)
        .x_label_area_size(66)
        .y_label_area_size(100)
        .build_cartesian_2d(x.log_scale(), y.log_scale())
}

/// Draw labelled curves in palette order on a log–log chart, with a legend at `legend`.
pub fn draw_labelled_curves<'a, DB: DrawingBackend + 'a>(
    chart: &mut LogLogChart<'a, DB>,
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
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font(font(FONT_SIZE * 0.75))
        .draw()
}
