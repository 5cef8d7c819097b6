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

use super::{FieldError, NamedTable};

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

impl AttentionEquivalence {
    /// Check every parameter; errors carry the field path below `experiment.attention_equivalence`.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.derivatives.is_empty() {
            return Err(("derivatives".into(), "needs at least one order".into()));
        }
        for (i, &d) in self.derivatives.iter().enumerate() {
            if !(1..=4).contains(&d) {
                return Err((
                    format!("derivatives[{i}]"),
                    format!("must be 1 to 4, got {d}"),
                ));
            }
        }
        if self.accuracies.is_empty() {
            return Err(("accuracies".into(), "needs at least one order".into()));
        }
        for (i, &p) in self.accuracies.iter().enumerate() {
            if !(2..=40).contains(&p) || p % 2 == 1 {
                return Err((
                    format!("accuracies[{i}]"),
                    format!("central stencils have even orders 2 to 40, got {p}"),
                ));
            }
        }
        let sg = &self.savitzky_golay;
        if !(1..=4).contains(&sg.derivative) || sg.degree < sg.derivative || sg.degree > 12 {
            return Err((
                "savitzky_golay.degree".into(),
                format!(
                    "needs derivative 1 to 4 and degree between it and 12, got derivative {} \
                     and degree {}",
                    sg.derivative, sg.degree
                ),
            ));
        }
        for (i, &m) in sg.half_widths.iter().enumerate() {
            if 2 * m < sg.degree + 1 || m > 50 {
                return Err((
                    format!("savitzky_golay.half_widths[{i}]"),
                    format!(
                        "needs 2m + 1 > degree + 1 and m ≤ 50, got m = {m} for degree {}",
                        sg.degree
                    ),
                ));
            }
        }
        if !(40.0..=700.0).contains(&self.hard_sharpness) {
            return Err((
                "hard_sharpness".into(),
                format!(
                    "βh² must be between 40 and 700, got {}",
                    self.hard_sharpness
                ),
            ));
        }
        Ok(())
    }

    /// Run the experiment: one row per method and construction.
    ///
    /// # Panics
    /// If called on a spec that [`AttentionEquivalence::validate`] rejects.
    pub fn run(&self) -> Vec<NamedTable> {
        let mut table = Table::new(&[
            "family",
            "derivative",
            "accuracy",
            "degree",
            "nodes",
            "construction",
            "residual",
        ]);
        let mut push = |family: &str,
                        d: usize,
                        p: Option<f64>,
                        q: usize,
                        n: usize,
                        c: &str,
                        r: Option<f64>| {
            table.push_row(vec![
                family.into(),
                d.into(),
                p.into(),
                q.into(),
                n.into(),
                c.into(),
                r.into(),
            ]);
        };
        for &d in &self.derivatives {
            for &p in &self.accuracies {
                let fd = Stencil::by_accuracy(StencilKind::Central, d, p).expect("validated");
                let (n, degree) = (fd.len(), fd.len() - 1);
                let reference = fd.weights();
                for c in [Construction::NormalEquations, Construction::Orthonormal] {
                    let w = weights_of(LinearAttention::build(c, d, degree, fd.offsets(), 1.0));
                    let r = w.map(|w| relative_distance(&w, reference));
                    push("central", d, Some(p as f64), degree, n, c.name(), r);
                }
                let hard =
                    HardMultiHeadAttention::compile(&fd, fd.offsets(), 1.0, self.hard_sharpness);
                let r = weights_of(hard).map(|w| relative_distance(&w, reference));
                push("central", d, Some(p as f64), degree, n, "hard_heads", r);
                let r = weights_of(SoftmaxHeads::compile(reference))
                    .map(|w| relative_distance(&w, reference));
                push("central", d, Some(p as f64), degree, n, "softmax_heads", r);
            }
        }
        let sg = &self.savitzky_golay;
        for &m in &sg.half_widths {
            let window = symmetric_window(m);
            let reference = savitzky_golay(sg.derivative, sg.degree, &window).expect("validated");
            for c in [Construction::NormalEquations, Construction::Orthonormal] {
                let w = weights_of(LinearAttention::build(
                    c,
                    sg.derivative,
                    sg.degree,
                    &window,
                    1.0,
                ));
                let r = w.map(|w| relative_distance(&w, reference.weights()));
                push(
                    "savitzky_golay",
                    sg.derivative,
                    None,
                    sg.degree,
                    window.len(),
                    c.name(),
                    r,
                );
            }
        }
        vec![NamedTable {
            stem: "table",
            table,
        }]
    }
}
