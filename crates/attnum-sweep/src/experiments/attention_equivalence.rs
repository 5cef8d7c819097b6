//! Experiment `attention_equivalence`: how exactly each attention construction reproduces the
//! classical weights it compiles, across stencil widths, quadrature rules and tableaus.
//!
//! Stencils: central finite differences for each derivative and accuracy order, compiled four
//! ways — linear attention with Taylor keys and the normal equations, linear attention with
//! orthonormal (Legendre–QR) keys, hard multi-head attention at sharpness `βh²`, and scaled
//! softmax heads — and Savitzky–Golay filters by the two linear constructions. The residual is
//! `max_i |w_i − w_i^ref| / max_i |w_i^ref|` against Fornberg's weights (against the
//! Savitzky–Golay weights for the filters), with the weights read off the module by
//! [`attnum_attention::extract::effective_weights`].

use attnum_attention::AttentionMethod;
use attnum_attention::classify::relative_distance;
use attnum_attention::extract::effective_weights;
use attnum_attention::hard::HardMultiHeadAttention;
use attnum_attention::heads::SoftmaxHeads;
use attnum_attention::linear::{Construction, LinearAttention};
use attnum_classical::fd::{Stencil, StencilKind};
use attnum_classical::savitzky_golay::{savitzky_golay, symmetric_window};
use serde::{Deserialize, Serialize};
use attnum_results::Table;

use super::{ExperimentError, FieldError, NamedTable};
use crate::checks;

/// A row of `table`: one method compiled by one construction.
#[derive(Serialize)]
struct EquivalenceRow {
    family: &'static str,
    derivative: usize,
    /// The stencil's accuracy order (none for a Savitzky–Golay filter).
    accuracy: Option<f64>,
    degree: usize,
    nodes: usize,
    construction: &'static str,
    /// `max_i |w_i − w_i^ref| / max_i |w_i^ref|` (none when the construction fails).
    residual: Option<f64>,
}

/// Parameters of the `attention_equivalence` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttentionEquivalence {
    /// Derivative orders of the central stencils (1 to 4).
    pub derivatives: Vec<usize>,
    /// Even accuracy orders of the central stencils (2 to 40).
    pub accuracies: Vec<usize>,
    /// Savitzky–Golay filters: derivative, degree and half-widths.
    pub savitzky_golay: SavitzkyGolayFilters,
    /// Sharpness of the hard heads as `βh²` (at least 40, so that `e^{−βh²}` is below rounding).
    pub hard_sharpness: f64,
}

/// A family of Savitzky–Golay filters of one degree on growing symmetric windows.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SavitzkyGolayFilters {
    /// Derivative order.
    pub derivative: usize,
    /// Polynomial degree (≥ the derivative order).
    pub degree: usize,
    /// Half-widths `m` of the windows `−m..=m` (each with `2m + 1 > degree + 1`).
    pub half_widths: Vec<usize>,
}

/// The weights a module applies; a construction that fails in floating point (a singular
/// Gram matrix) has no weights.
fn weights_of(module: attnum_attention::Result<impl AttentionMethod>) -> Option<Vec<f64>> {
    module.and_then(|m| effective_weights(&m)).ok()
}

/// A checked `attention_equivalence` experiment: the central stencils and the Savitzky–Golay
/// filters built.
#[derive(Debug, Clone)]
pub struct CheckedAttentionEquivalence {
    /// `(derivative, accuracy, stencil)` for every derivative and accuracy, derivative-major.
    central: Vec<(usize, usize, Stencil)>,
    /// The filters' derivative and degree.
    savitzky_golay: SavitzkyGolayFilters,
    /// `(window, filter)` for each half-width.
    filters: Vec<(Vec<f64>, Stencil)>,
    /// `βh²` of the hard heads, in [40, 700].
    hard_sharpness: f64,
}

impl AttentionEquivalence {
    /// Check every parameter and build the stencils and filters; errors carry the field path
    /// below `experiment.attention_equivalence`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedAttentionEquivalence, FieldError> {
        checks::non_empty("derivatives", &self.derivatives, "order")?;
        checks::each("derivatives", &self.derivatives, |&d| {
            checks::count_in("", d, 1, 4)
        })?;
        checks::non_empty("accuracies", &self.accuracies, "order")?;
        checks::each("accuracies", &self.accuracies, |&p| {
            if !(2..=40).contains(&p) || p % 2 == 1 {
                return Err(FieldError::new(
                    "",
                    format!("central stencils have even orders 2 to 40, got {p}"),
                ));
            }
            Ok(p)
        })?;
        let sg = &self.savitzky_golay;
        if !(1..=4).contains(&sg.derivative) || sg.degree < sg.derivative || sg.degree > 12 {
            return Err(FieldError::new(
                "savitzky_golay.degree",
                format!(
                    "needs derivative 1 to 4 and degree between it and 12, got derivative {} \
                     and degree {}",
                    sg.derivative, sg.degree
                ),
            ));
        }
        let filters = checks::each("savitzky_golay.half_widths", &sg.half_widths, |&m| {
            if 2 * m < sg.degree + 1 || m > 50 {
                return Err(FieldError::new(
                    "",
                    format!(
                        "needs 2m + 1 > degree + 1 and m ≤ 50, got m = {m} for degree {}",
                        sg.degree
                    ),
                ));
            }
            let window = symmetric_window(m);
            let filter = savitzky_golay(sg.derivative, sg.degree, &window)
                .map_err(|e| FieldError::new("", e.to_string()))?;
            Ok((window, filter))
        })?;
        if !(40.0..=700.0).contains(&self.hard_sharpness) {
            return Err(FieldError::new(
                "hard_sharpness",
                format!(
                    "βh² must be between 40 and 700, got {}",
                    self.hard_sharpness
                ),
            ));
        }
        let mut central = Vec::new();
        for (i, &d) in self.derivatives.iter().enumerate() {
            for &p in &self.accuracies {
                let stencil = Stencil::by_accuracy(StencilKind::Central, d, p)
                    .map_err(|e| FieldError::new(format!("derivatives[{i}]"), e.to_string()))?;
                central.push((d, p, stencil));
            }
        }
        Ok(CheckedAttentionEquivalence {
            central,
            savitzky_golay: sg.clone(),
            filters,
            hard_sharpness: self.hard_sharpness,
        })
    }
}

impl CheckedAttentionEquivalence {
    /// Run the experiment: one row per method and construction.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let mut rows = Vec::new();
        for &(derivative, p, ref fd) in &self.central {
            let reference = fd.weights();
            let central = |construction: &'static str, weights: Option<Vec<f64>>| EquivalenceRow {
                family: "central",
                derivative,
                accuracy: Some(p as f64),
                degree: fd.len() - 1,
                nodes: fd.len(),
                construction,
                residual: weights.map(|w| relative_distance(&w, reference)),
            };
            for c in [Construction::NormalEquations, Construction::Orthonormal] {
                let module = LinearAttention::build(c, derivative, fd.len() - 1, fd.offsets(), 1.0);
                rows.push(central(c.name(), weights_of(module)));
            }
            let hard = HardMultiHeadAttention::compile(fd, fd.offsets(), 1.0, self.hard_sharpness);
            rows.push(central("hard_heads", weights_of(hard)));
            rows.push(central("softmax_heads", weights_of(SoftmaxHeads::compile(reference))));
        }
        let sg = &self.savitzky_golay;
        for (window, reference) in &self.filters {
            for c in [Construction::NormalEquations, Construction::Orthonormal] {
                let module = LinearAttention::build(c, sg.derivative, sg.degree, window, 1.0);
                rows.push(EquivalenceRow {
                    family: "savitzky_golay",
                    derivative: sg.derivative,
                    accuracy: None,
                    degree: sg.degree,
                    nodes: window.len(),
                    construction: c.name(),
                    residual: weights_of(module)
                        .map(|w| relative_distance(&w, reference.weights())),
                });
            }
        }
        Ok(vec![NamedTable {
            stem: "table",
            table: Table::from_rows(&rows),
        }])
    }
}
