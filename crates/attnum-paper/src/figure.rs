//! Figure output: plotters draws SVG, which is converted to a vector PDF with embedded fonts.
//!
//! The route is plotters' `SVGBackend` → `usvg` (with a font database holding only the fonts
//! embedded in this crate, never the system's) → `krilla` + `krilla-svg`. The result depends on
//! nothing installed on the machine and is byte-identical run to run.

use std::sync::{Arc, Once};

use krilla::Document;
use krilla::geom::Size;
use krilla::page::PageSettings;
use krilla_svg::{SurfaceExt, SvgSettings};
use plotters::style::FontStyle;

use crate::error::{PaperError, Result};

/// The font family of every figure: CMU Serif (Computer Modern with Greek), the face of the
/// paper's text.
pub const FONT_FAMILY: &str = "CMU Serif";

/// CMU Serif roman (SIL Open Font License, see `fonts/`).
static FONT_REGULAR: &[u8] = include_bytes!("../fonts/cmunrm.ttf");
/// CMU Serif italic, for mathematical symbols in labels.
static FONT_ITALIC: &[u8] = include_bytes!("../fonts/cmunti.ttf");

/// Register the embedded fonts with plotters (once per process).
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT_REGULAR)
            .unwrap_or_else(|_| panic!("embedded font {FONT_FAMILY} regular is valid"));
        plotters::style::register_font(FONT_FAMILY, FontStyle::Italic, FONT_ITALIC)
            .unwrap_or_else(|_| panic!("embedded font {FONT_FAMILY} italic is valid"));
    });
}

/// Convert an SVG document (as drawn by plotters) to a one-page PDF of the same size in points.
pub fn svg_to_pdf(name: &str, svg: &str) -> Result<Vec<u8>> {
    let figure_err = |message: String| PaperError::Figure {
        name: name.to_owned(),
        message,
    };
    let mut fonts = usvg::fontdb::Database::new();
    fonts.load_font_data(FONT_REGULAR.to_vec());
    fonts.load_font_data(FONT_ITALIC.to_vec());
    fonts.set_serif_family(FONT_FAMILY);
    fonts.set_sans_serif_family(FONT_FAMILY);
    let options = usvg::Options {
        font_family: FONT_FAMILY.to_owned(),
        fontdb: Arc::new(fonts),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| figure_err(e.to_string()))?;
    let size = Size::from_wh(tree.size().width(), tree.size().height())
        .ok_or_else(|| figure_err("the figure has zero size".into()))?;
    let mut document = Document::new();
    let mut page = document.start_page_with(PageSettings::new(size));
    let mut surface = page.surface();
    surface
        .draw_svg(&tree, size, SvgSettings::default())
        .ok_or_else(|| figure_err("krilla could not draw the SVG".into()))?;
    surface.finish();
    page.finish();
    document
        .finish()
        .map_err(|e| figure_err(format!("PDF serialisation failed: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;

    fn tiny_svg() -> String {
        register_fonts();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (200, 100)).into_drawing_area();
            root.fill(&WHITE).unwrap();
            root.draw(&Text::new(
                "h = 10",
                (10, 40),
                (FONT_FAMILY, 20).into_font(),
            ))
            .unwrap();
            root.present().unwrap();
        }
        svg
    }

    #[test]
    fn pdf_embeds_the_cmu_serif_font_and_is_deterministic() {
        let svg = tiny_svg();
        let a = svg_to_pdf("t", &svg).unwrap();
        let b = svg_to_pdf("t", &svg).unwrap();
        assert_eq!(a, b, "byte-identical output");
        assert!(a.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&a);
        assert!(text.contains("/FontFile"), "font program embedded");
        assert!(
            text.contains("CMUSerif-Roman"),
            "the embedded font is CMU Serif"
        );
    }

    #[test]
    fn broken_svg_is_an_error() {
        let err = svg_to_pdf("broken", "<svg").unwrap_err().to_string();
        assert!(err.contains("broken"), "{err}");
    }
}
