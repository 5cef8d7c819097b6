//! Experiment `hard_attention`: multi-head attention with one Gaussian-score head per stencil
//! node, at finite sharpness `β`, against the stencil it compiles.
//!
//! For `f = sin` around `x₀` with step `h`, the output of the heads is compared with the
//! classical stencil value `h^(−d) Σ_j w_j f(x₀ + o_j h)`. Two sets of keys: only the stencil's
//! nodes, and a wide grid `−m..=m`. The leading-order prediction is
//! `e^{−βh²} Σ_j (w_j/h^d) Σ_{i: |κ_i − o_j| = 1} (f_i − f_j)`: each head leaks weight
//! `e^{−βh²}` to each neighbouring key.

use attnum_attention::AttentionMethod;
use attnum_attention::hard::HardMultiHeadAttention;
use attnum_attention::samples;
use attnum_classical::fd::{Stencil, StencilKind};
use serde::{Deserialize, Serialize};
use attnum_results::Table;

use super::{Context, ExperimentError, FieldError, NamedTable};
use crate::checks::{self, Interval};
use crate::grid::LinearGrid;

/// Predictions below this are within three decades of the rounding floor of the stencils here
/// (about 1e-12 for a second derivative at h = 0.01): the ratio is left empty.
const RATIO_FLOOR: f64 = 1e-9;

/// A row of `table`: one stencil with one set of keys at one sharpness.
#[derive(Serialize)]
struct HardRow {
    stencil: String,
    derivative: usize,
    accuracy: usize,
    /// `stencil` (only the stencil's nodes) or `wide`.
    keys: &'static str,
    beta_h2: f64,
    error: f64,
    leading_prediction: f64,
    /// None where the prediction is below [`RATIO_FLOOR`].
    prediction_ratio: Option<f64>,
}

/// Parameters of the `hard_attention` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HardAttention {
    /// Central stencils, as `[derivative, accuracy]` pairs.
    pub stencils: Vec<[usize; 2]>,
    /// Half-width `m` of the wide key grid `−m..=m` (at least the widest stencil's).
    pub wide_half_width: usize,
    /// Sharpness values `βh²` (0 < βh² ≤ 700).
    pub sharpness: LinearGrid,
    /// The point `x₀`.
    pub point: f64,
    /// The step `h`.
    pub step: f64,
}

/// A checked `hard_attention` experiment: its stencils built, its key grid and sharpness values.
#[derive(Debug, Clone)]
pub struct CheckedHardAttention {
    /// `(derivative, accuracy, stencil)` for each requested central stencil.
    stencils: Vec<(usize, usize, Stencil)>,
    /// The wide key grid `−m..=m`.
    wide: Vec<f64>,
    /// The sharpness values `βh²`, each in (0, 700].
    sharpness: Vec<f64>,
    point: f64,
    step: f64,
}

impl HardAttention {
    /// Check every parameter and build the stencils; errors carry the field path below
    /// `experiment.hard_attention`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedHardAttention, FieldError> {
        checks::non_empty("stencils", &self.stencils, "stencil")?;
        let stencils = checks::each("stencils", &self.stencils, |&[d, p]| {
            Stencil::by_accuracy(StencilKind::Central, d, p)
                .map(|s| (d, p, s))
                .map_err(|e| FieldError::new("", e.to_string()))
        })?;
        for (i, (_, _, s)) in stencils.iter().enumerate() {
            if s.offsets()
                .iter()
                .any(|o| o.abs() > self.wide_half_width as f64)
            {
                return Err(FieldError::new(
                    "wide_half_width",
                    format!("must cover stencil {i} ({} nodes)", s.len()),
                ));
            }
        }
        if self.wide_half_width > 100 {
            return Err(FieldError::new("wide_half_width", "must be at most 100"));
        }
        self.sharpness.validate("sharpness")?;
        if self.sharpness.min() <= 0.0 || self.sharpness.max() > 700.0 {
            return Err(FieldError::new("sharpness", "βh² must lie in (0, 700]"));
        }
        let point = checks::in_interval("point", self.point, Interval::closed(-100.0, 100.0))?;
        let step = checks::in_interval("step", self.step, Interval::open_closed(0.0, 1.0))?;
        let m = self.wide_half_width as i64;
        Ok(CheckedHardAttention {
            stencils,
            wide: (-m..=m).map(|k| k as f64).collect(),
            sharpness: self.sharpness.values(),
            point,
            step,
        })
    }
}

impl CheckedHardAttention {
    /// Run the experiment: one row per stencil, key set and sharpness.
    ///
    /// # Errors
    /// Heads that cannot be compiled or a tensor operation that fails.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let mut rows = Vec::new();
        let (x0, h) = (self.point, self.step);
        for &(d, p, ref stencil) in &self.stencils {
            let classical = stencil.apply(f64::sin, x0, h);
            let scale = h.powi(-(d as i32));
            for (keys_name, keys) in [
                ("stencil", stencil.offsets().to_vec()),
                ("wide", self.wide.clone()),
            ] {
                let f: Vec<f64> = keys.iter().map(|k| (x0 + k * h).sin()).collect();
                let sample = |o: f64| (x0 + o * h).sin();
                // Σ_j c_j Σ_{neighbouring keys i} (f_i − f_j).
                let leak: f64 = stencil
                    .offsets()
                    .iter()
                    .zip(stencil.weights())
                    .map(|(&o, &w)| {
                        let neighbours: f64 = [o - 1.0, o + 1.0]
                            .iter()
                            .filter(|k| keys.contains(k))
                            .map(|&k| sample(k) - sample(o))
                            .sum();
                        w * scale * neighbours
                    })
                    .sum();
                let values = samples(&f).context("the samples as a tensor")?;
                for &beta_h2 in &self.sharpness {
                    let what = || {
                        format!("hard heads of central d={d} p={p} on the {keys_name} keys at βh² = {beta_h2}")
                    };
                    let module =
                        HardMultiHeadAttention::compile(stencil, &keys, h, beta_h2 / (h * h))
                            .with_context(what)?;
                    let out = module
                        .forward(&values)
                        .and_then(|t| t.to_vec1::<f64>())
                        .with_context(what)?[0];
                    let error = (out - classical).abs();
                    let prediction = ((-beta_h2).exp() * leak).abs();
                    rows.push(HardRow {
                        stencil: format!("central d={d} p={p}"),
                        derivative: d,
                        accuracy: p,
                        keys: keys_name,
                        beta_h2,
                        error,
                        leading_prediction: prediction,
                        prediction_ratio: (prediction > RATIO_FLOOR).then(|| error / prediction),
                    });
                }
            }
        }
        Ok(vec![NamedTable {
            stem: "table",
            table: Table::from_rows(&rows),
        }])
    }
}
