//! The paper's figures and the one scaffold they are drawn in.
//!
//! A figure is a module here with `SIZE` (its canvas in SVG pixels) and
//! `fn draw(&Sources, &Canvas) -> Drawn` that draws on a white canvas from the results tables;
//! its name, written once in [`figures!`] below, is the module's name, the file stem of
//! `results/figures/NAME.pdf` and what `\includegraphics{NAME}` finds. The scaffold registers the
//! fonts, creates and presents the canvas, records the tables the drawing read (the caption's
//! provenance line) and turns every failure into an error naming the figure. A figure reads its
//! tables and its sweep's configuration only through [`Sources`].

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{PaperError, Result};
use crate::results::{Curve, Results};

/// The canvas a figure draws on.
pub type Canvas<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// What a drawing returns: nothing, or why it failed.
pub type Drawn = std::result::Result<(), DrawError>;

/// Why a drawing failed: its results (a missing table, column or configuration value) or
/// plotters.
#[derive(Debug)]
pub enum DrawError {
    /// The results lack what the figure needs.
    Results(PaperError),
    /// Plotters could not draw.
    Plot(String),
}

impl From<PaperError> for DrawError {
    fn from(e: PaperError) -> Self {
        Self::Results(e)
    }
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        Self::Plot(e.to_string())
    }
}

/// A figure of the paper.
pub struct Figure {
    /// File stem under `results/figures/`.
    pub name: &'static str,
    /// Canvas size in SVG pixels.
    size: (u32, u32),
    /// The drawing.
    body: fn(&Sources<'_>, &Canvas<'_>) -> Drawn,
}

impl Figure {
    /// Draw the figure from `results` as SVG.
    ///
    /// # Errors
    /// A missing table, column or configuration value, or a plotters failure, naming the figure.
    pub fn draw(&self, results: &Results) -> Result<String> {
        crate::figure::register_fonts();
        let sources = Sources {
            results,
            figure: self.name,
        };
        let mut svg = String::new();
        let drawn = {
            let canvas = SVGBackend::with_string(&mut svg, self.size).into_drawing_area();
            canvas
                .fill(&WHITE)
                .map_err(DrawError::from)
                .and_then(|()| (self.body)(&sources, &canvas))
                .and_then(|()| canvas.present().map_err(DrawError::from))
        };
        match drawn {
            Ok(()) => Ok(svg),
            Err(DrawError::Results(e)) => Err(e),
            Err(DrawError::Plot(message)) => Err(sources.error(message)),
        }
    }
}

/// What one figure may read: the results tables (recorded as its sources) and the sweeps'
/// configurations from their manifests.
pub struct Sources<'a> {
    results: &'a Results,
    figure: &'static str,
}

impl Sources<'_> {
    /// An error about this figure.
    pub fn error(&self, message: String) -> PaperError {
        PaperError::Figure {
            name: self.figure.to_owned(),
            message,
        }
    }

    /// The table `SWEEP/STEM`.
    pub fn table(&self, key: &str) -> Result<&attnum_results::Table> {
        self.results.table_for_figure(self.figure, key)
    }

    /// [`Results::curves`] of table `key`: rows grouped by `label_columns`, points `(x, |y|)`.
    pub fn curves(
        &self,
        key: &str,
        label_columns: &[&str],
        columns: (&str, &str),
        keep: impl Fn(&attnum_results::Table, usize) -> bool,
    ) -> Result<Vec<Curve>> {
        self.results
            .curves(self.figure, key, label_columns, columns, keep)
    }

    /// [`Results::signed_curves`] of table `key`: points `(x, y)`, signs kept.
    pub fn signed_curves(
        &self,
        key: &str,
        label_columns: &[&str],
        columns: (&str, &str),
        keep: impl Fn(&attnum_results::Table, usize) -> bool,
    ) -> Result<Vec<Curve>> {
        self.results
            .signed_curves(self.figure, key, label_columns, columns, keep)
    }

    /// The value at `path` (keys and array indices separated by `.`) of sweep `sweep`'s parsed
    /// configuration, as recorded in its manifest, e.g.
    /// `config("hard_attention", "experiment.hard_attention.wide_half_width")`.
    pub fn config(&self, sweep: &str, path: &str) -> Result<&serde_json::Value> {
        let manifest = self
            .results
            .manifests
            .get(sweep)
            .ok_or_else(|| self.error(format!("sweep `{sweep}` has no manifest")))?;
        path.split('.')
            .try_fold(&manifest.config, |value, step| {
                match step.parse::<usize>() {
                    Ok(index) => value.get(index),
                    Err(_) => value.get(step),
                }
            })
            .ok_or_else(|| self.error(format!("`{sweep}` has no configuration value `{path}`")))
    }

    /// [`Sources::config`] as a number.
    pub fn config_f64(&self, sweep: &str, path: &str) -> Result<f64> {
        self.config(sweep, path)?
            .as_f64()
            .ok_or_else(|| self.error(format!("`{sweep}`: `{path}` is not a number")))
    }
}

/// Declares the figure modules and lists them in [`FIGURES`], in the order they are drawn.
macro_rules! figures {
    ($($name:ident),* $(,)?) => {
        $(mod $name;)*

        /// Every figure of the paper.
        pub const FIGURES: &[Figure] = &[
            $(Figure {
                name: stringify!($name),
                size: $name::SIZE,
                body: $name::draw,
            },)*
        ];
    };
}

figures![
    fd_convergence,
    rk_convergence,
    noisy_derivative,
    attention_equivalence,
    kernel_attention,
    hard_attention,
    quadrature_attention,
    rk_attention,
    attention_solver,
    expressivity_logits,
    expressivity_looped,
    learned_derivative,
    learned_architectures,
    learned_stencils,
    learned_noise,
    learned_order,
    learned_quadrature,
    learned_theory,
];
