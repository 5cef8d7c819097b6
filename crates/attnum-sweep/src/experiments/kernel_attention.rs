//! Experiment `kernel_attention`: the derivative of Gaussian-score softmax attention (the
//! Nadaraya–Watson estimator `m`) against the theory of the paper, in five parts.
//!
//! * `bias`: `f = sin` on a fine grid far from its ends; `m'(q)` tends to `e^{−σ²/2} cos q`,
//!   so the error against `cos q` is the smoothing bias `(1 − e^{−σ²/2})|cos q| ≈ σ²/2 |cos q|`.
//! * `aliasing`: `σ` fixed and the spacing `h` growing towards `σ`; the deviation from the
//!   continuum limit against the three-term Poisson-summation prediction.
//! * `boundary`: `f(x) = x` on a fine grid that ends at 0, queried at distance `zσ` from the end;
//!   the error of `m'` against the truncated-Gaussian formula `−λ(z)(z + λ(z))`, `λ = φ/Φ`.
//! * `refinement`: `σ` fixed and `h → 0`: the error stalls at the bias.
//! * `s1`: the seed conversation's method S1 (a central difference of `m` on 10 points in
//!   `[−5, 5]` with `σ = 1`, for `f(x) = x² + 2x − 3` at `x = 1`) for several `σ` and numbers of
//!   points, with the exact decomposition of its error into a variance and a skewness term.
//!
//! Every derivative is the closed form `σ⁻² Cov_a(x, f)`; the `bias` rows also record its
//! difference from reverse-mode autograd.

use std::f64::consts::PI;

use attnum_attention::kernel::KernelAttention;
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use attnum_results::Table;

use super::{Context, ExperimentError, FieldError, NamedTable};
use crate::checks::{self, Interval};
use crate::grid::{LinearGrid, LogGrid};

/// A row of `bias`: the derivative at the query for one width `σ`.
#[derive(Serialize)]
struct BiasRow {
    sigma: f64,
    h: f64,
    derivative: f64,
    error: f64,
    /// `(1 − e^{−σ²/2})|cos q|`.
    bias_model: f64,
    model_ratio: f64,
    /// The closed form against reverse-mode autograd.
    autograd_difference: f64,
}

/// A row of `aliasing`: the deviation from the continuum limit at one `σ/h`.
#[derive(Serialize)]
struct AliasingRow {
    sigma_over_h: f64,
    h: f64,
    deviation: f64,
    poisson_prediction: f64,
    /// None where the deviation is below [`RATIO_FLOOR`].
    prediction_ratio: Option<f64>,
    /// `(σ(2π/h − 1))²/2`.
    alias_exponent: f64,
}

/// A row of `boundary`: the error at distance `zσ` from the end of the grid.
#[derive(Serialize)]
struct BoundaryRow {
    z: f64,
    error: f64,
    /// `−λ(z)(z + λ(z))`.
    continuum_prediction: f64,
    prediction_ratio: f64,
}

/// A row of `refinement`: the error at one `σ/h` for a fixed `σ`.
#[derive(Serialize)]
struct RefinementRow {
    sigma_over_h: f64,
    h: f64,
    error: f64,
    bias_model: f64,
}

/// A row of `s1`: the method S1 for one width and number of points, and the terms of its error.
#[derive(Serialize)]
struct S1Row {
    sigma: f64,
    points: usize,
    s1: f64,
    s1_error: f64,
    derivative: f64,
    variance_term: f64,
    skewness_term: f64,
}

/// Parameters of the `kernel_attention` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KernelAttentionSpec {
    /// Query point `q` of the `sin` parts (bias, aliasing, refinement).
    pub query: f64,
    /// Kernel widths of the bias part, with `nodes_per_sigma` nodes per `σ`.
    pub bias: BiasPart,
    /// The aliasing part.
    pub aliasing: AliasingPart,
    /// The boundary part.
    pub boundary: BoundaryPart,
    /// The refinement part.
    pub refinement: RefinementPart,
    /// The S1 part.
    pub s1: S1Part,
}

/// Bias: widths on a log grid, spacing `σ / nodes_per_sigma`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BiasPart {
    /// The widths `σ`.
    pub sigmas: LogGrid,
    /// Grid points per `σ` (4 to 100).
    pub nodes_per_sigma: usize,
}

/// Aliasing: one width, spacings given by `σ/h`, the query `offset·h` past a node.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AliasingPart {
    /// The width `σ`.
    pub sigma: f64,
    /// The ratios `σ/h` (0.2 to 5).
    pub sigma_over_h: LinearGrid,
    /// Position of the query between two nodes, as a fraction of `h` in `[0, 1)`.
    pub offset: f64,
}

/// Boundary: one width, a fine grid, distances to the end in units of `σ`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BoundaryPart {
    /// The width `σ`.
    pub sigma: f64,
    /// Grid points per `σ` (4 to 1000).
    pub nodes_per_sigma: usize,
    /// Distances `z = (end − q)/σ` (0 to 8).
    pub distances: LinearGrid,
}

/// Refinement: one width, spacings given by `σ/h`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RefinementPart {
    /// The width `σ`.
    pub sigma: f64,
    /// The ratios `σ/h` (0.2 to 1000).
    pub sigma_over_h: LogGrid,
}

/// S1: the conversation's set-up and the widths and point counts to vary.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct S1Part {
    /// Coefficients `c_0, c_1, c_2` of the quadratic `f(x) = c_0 + c_1 x + c_2 x²`.
    pub quadratic: [f64; 3],
    /// The interval of the equispaced points.
    pub interval: [f64; 2],
    /// The query point.
    pub query: f64,
    /// The step of the central difference.
    pub step: f64,
    /// Kernel widths (each > 0).
    pub sigmas: Vec<f64>,
    /// Numbers of points (each ≥ 2).
    pub point_counts: Vec<usize>,
}

/// Deviations below this are too close to rounding for their ratio to a prediction to mean
/// anything (the ratio is left empty).
const RATIO_FLOOR: f64 = 1e-12;

/// Half-width of the grids in units of `σ`: beyond it the Gaussian weights are below 1e-31.
const HALF_WIDTH_SIGMAS: f64 = 12.0;

fn tensor(values: &[f64]) -> Result<Tensor, ExperimentError> {
    Tensor::from_slice(values, values.len(), &Device::Cpu)
        .with_context(|| format!("{} values as a vector", values.len()))
}

/// Gaussian-score attention of width `sigma` over `nodes`.
fn kernel(nodes: &[f64], sigma: f64) -> Result<KernelAttention, ExperimentError> {
    KernelAttention::new(nodes, sigma).with_context(|| {
        format!("Gaussian-score attention with σ = {sigma} on {} nodes", nodes.len())
    })
}

/// `m'(q)` in closed form for samples of `f` at `nodes`.
fn derivative(
    nodes: &[f64],
    f: impl Fn(f64) -> f64,
    sigma: f64,
    q: f64,
) -> Result<f64, ExperimentError> {
    let values: Vec<f64> = nodes.iter().map(|&x| f(x)).collect();
    let derivative = kernel(nodes, sigma)?
        .derivative(&tensor(&[q])?, &tensor(&values)?)
        .and_then(|d| d.to_vec1::<f64>())
        .with_context(|| format!("m'({q}) with σ = {sigma} on {} nodes", nodes.len()))?;
    Ok(derivative[0])
}

/// Nodes `q − offset·h + j h` covering `q ± HALF_WIDTH_SIGMAS σ`.
fn grid_around(q: f64, h: f64, sigma: f64, offset: f64) -> Vec<f64> {
    let j = (HALF_WIDTH_SIGMAS * sigma / h).ceil() as i64 + 1;
    (-j..=j).map(|k| q + (k as f64 - offset) * h).collect()
}

/// The three-term (`k = −1, 0, 1`) Poisson-summation value of `m'(q)` for `f = sin` on the grid
/// `a + jh`: `m = Im P / Q` with `P = e^{iq}(A₀ + A₁e^{iθ} + A₋₁e^{−iθ})`,
/// `Q = 1 + 2B cos θ`, `θ = 2π(a − q)/h`, `A_k = e^{−σ²(2πk/h − 1)²/2}`, `B = e^{−2π²σ²/h²}`.
fn poisson_derivative(sigma: f64, h: f64, q: f64, a: f64) -> f64 {
    let amp = |k: f64| (-(sigma * (2.0 * PI * k / h - 1.0)).powi(2) / 2.0).exp();
    let (a0, a1, am1) = (amp(0.0), amp(1.0), amp(-1.0));
    let b = (-2.0 * (PI * sigma / h).powi(2)).exp();
    let theta = 2.0 * PI * (a - q) / h;
    let dtheta = -2.0 * PI / h;
    // P = e^{iq} S, S = a0 + a1 e^{iθ} + am1 e^{−iθ}; Im P and its derivative.
    let (s_re, s_im) = (a0 + (a1 + am1) * theta.cos(), (a1 - am1) * theta.sin());
    let (ds_re, ds_im) = (
        -(a1 + am1) * theta.sin() * dtheta,
        (a1 - am1) * theta.cos() * dtheta,
    );
    let im_p = q.sin() * s_re + q.cos() * s_im;
    let d_im_p = q.cos() * s_re + q.sin() * ds_re - q.sin() * s_im + q.cos() * ds_im;
    let den = 1.0 + 2.0 * b * theta.cos();
    let d_den = -2.0 * b * theta.sin() * dtheta;
    (d_im_p * den - im_p * d_den) / (den * den)
}

/// `−λ(z)(z + λ(z))`, `λ = φ/Φ`: the continuum error of `m'` for `f(x) = x` at distance `zσ` from
/// the end of a half-infinite grid.
pub(crate) fn boundary_error(z: f64) -> f64 {
    let phi = (-z * z / 2.0).exp() / (2.0 * PI).sqrt();
    let cdf = 0.5 * libm::erfc(-z / std::f64::consts::SQRT_2);
    let lambda = phi / cdf;
    -lambda * (z + lambda)
}

/// A checked `kernel_attention` experiment (its parameters are numbers and grids: checking
/// builds nothing, but only a checked one runs, and every kernel it builds then has nodes and a
/// positive width).
#[derive(Debug, Clone)]
pub struct CheckedKernelAttention(KernelAttentionSpec);

impl KernelAttentionSpec {
    /// Check every parameter; errors carry the field path below `experiment.kernel_attention`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedKernelAttention, FieldError> {
        let positive = |field: &str, v: f64, max: f64| {
            checks::in_interval(field, v, Interval::open_closed(0.0, max))
        };
        checks::in_interval("query", self.query, Interval::closed(-100.0, 100.0))?;
        self.bias.sigmas.validate("bias.sigmas")?;
        for (field, v) in [
            ("bias.sigmas.from", self.bias.sigmas.from),
            ("bias.sigmas.to", self.bias.sigmas.to),
        ] {
            positive(field, v, 10.0)?;
            if v < 1e-4 {
                return Err(FieldError::new(field, format!("must be at least 1e-4, got {v}")));
            }
        }
        if !(4..=100).contains(&self.bias.nodes_per_sigma) {
            return Err(FieldError::new(
                "bias.nodes_per_sigma",
                format!("must be 4 to 100, got {}", self.bias.nodes_per_sigma),
            ));
        }
        positive("aliasing.sigma", self.aliasing.sigma, 10.0)?;
        self.aliasing
            .sigma_over_h
            .validate("aliasing.sigma_over_h")?;
        if self.aliasing.sigma_over_h.min() < 0.2 || self.aliasing.sigma_over_h.max() > 5.0 {
            return Err(FieldError::new(
                "aliasing.sigma_over_h",
                "the ratios must lie in [0.2, 5]",
            ));
        }
        checks::in_interval(
            "aliasing.offset",
            self.aliasing.offset,
            Interval::closed_open(0.0, 1.0),
        )?;
        positive("boundary.sigma", self.boundary.sigma, 10.0)?;
        if !(4..=1000).contains(&self.boundary.nodes_per_sigma) {
            return Err(FieldError::new(
                "boundary.nodes_per_sigma",
                format!("must be 4 to 1000, got {}", self.boundary.nodes_per_sigma),
            ));
        }
        self.boundary.distances.validate("boundary.distances")?;
        if self.boundary.distances.min() < 0.0 || self.boundary.distances.max() > 8.0 {
            return Err(FieldError::new(
                "boundary.distances",
                "the distances must lie in [0, 8]",
            ));
        }
        positive("refinement.sigma", self.refinement.sigma, 10.0)?;
        self.refinement
            .sigma_over_h
            .validate("refinement.sigma_over_h")?;
        let r = &self.refinement.sigma_over_h;
        if r.from.min(r.to) < 0.2 || r.from.max(r.to) > 1000.0 {
            return Err(FieldError::new(
                "refinement.sigma_over_h",
                "the ratios must lie in [0.2, 1000]",
            ));
        }
        let s1 = &self.s1;
        if s1.quadratic.iter().any(|c| !c.is_finite()) {
            return Err(FieldError::new("s1.quadratic", "coefficients must be finite"));
        }
        if !(s1.interval.iter().all(|x| x.is_finite()) && s1.interval[0] < s1.interval[1]) {
            return Err(FieldError::new(
                "s1.interval",
                format!("must be finite and increasing, got {:?}", s1.interval),
            ));
        }
        checks::finite("s1.query", s1.query)?;
        positive("s1.step", s1.step, 1.0)?;
        if s1.sigmas.is_empty() || s1.point_counts.is_empty() {
            return Err(FieldError::new("s1.sigmas", "needs widths and point counts"));
        }
        checks::each("s1.sigmas", &s1.sigmas, |&s| positive("", s, 100.0))?;
        checks::each("s1.point_counts", &s1.point_counts, |&n| {
            checks::count_in("", n, 2, 100_000)
        })?;
        Ok(CheckedKernelAttention(self.clone()))
    }
}

impl CheckedKernelAttention {

    /// Run the experiment: tables `bias`, `aliasing`, `boundary`, `refinement` and `s1`.
    ///
    /// # Errors
    /// An attention that cannot be built or a tensor operation that fails.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let spec = &self.0;
        let q = spec.query;
        let mut bias = Vec::new();
        for sigma in spec.bias.sigmas.values() {
            let h = sigma / spec.bias.nodes_per_sigma as f64;
            let nodes = grid_around(q, h, sigma, 0.25);
            let d = derivative(&nodes, f64::sin, sigma, q)?;
            let values: Vec<f64> = nodes.iter().map(|x| x.sin()).collect();
            let auto = kernel(&nodes, sigma)?
                .derivative_by_autograd(&[q], &tensor(&values)?)
                .with_context(|| format!("m'({q}) by autograd with σ = {sigma}"))?[0];
            let model = (1.0 - (-sigma * sigma / 2.0).exp()) * q.cos().abs();
            bias.push(BiasRow {
                sigma,
                h,
                derivative: d,
                error: (d - q.cos()).abs(),
                bias_model: model,
                model_ratio: (d - q.cos()).abs() / model,
                autograd_difference: (d - auto).abs(),
            });
        }

        let mut aliasing = Vec::new();
        let sigma = spec.aliasing.sigma;
        let limit = (-sigma * sigma / 2.0).exp() * q.cos();
        for ratio in spec.aliasing.sigma_over_h.values() {
            let h = sigma / ratio;
            let nodes = grid_around(q, h, sigma, spec.aliasing.offset);
            let d = derivative(&nodes, f64::sin, sigma, q)?;
            let predicted = (poisson_derivative(sigma, h, q, nodes[0]) - limit).abs();
            let deviation = (d - limit).abs();
            aliasing.push(AliasingRow {
                sigma_over_h: ratio,
                h,
                deviation,
                poisson_prediction: predicted,
                prediction_ratio: (deviation > RATIO_FLOOR).then(|| deviation / predicted),
                alias_exponent: (sigma * (2.0 * PI / h - 1.0)).powi(2) / 2.0,
            });
        }

        let mut boundary = Vec::new();
        let b = &spec.boundary;
        let h = b.sigma / b.nodes_per_sigma as f64;
        let count = (HALF_WIDTH_SIGMAS * 2.0 * b.nodes_per_sigma as f64).ceil() as i64;
        let nodes: Vec<f64> = (-count..=0).map(|j| j as f64 * h).collect();
        for z in b.distances.values() {
            let d = derivative(&nodes, |x| x, b.sigma, -z * b.sigma)?;
            let predicted = boundary_error(z);
            boundary.push(BoundaryRow {
                z,
                error: d - 1.0,
                continuum_prediction: predicted,
                prediction_ratio: (d - 1.0) / predicted,
            });
        }

        let mut refinement = Vec::new();
        let sigma = spec.refinement.sigma;
        let model = (1.0 - (-sigma * sigma / 2.0).exp()) * q.cos().abs();
        for ratio in spec.refinement.sigma_over_h.values() {
            let h = sigma / ratio;
            let nodes = grid_around(q, h, sigma, 0.25);
            let d = derivative(&nodes, f64::sin, sigma, q)?;
            refinement.push(RefinementRow {
                sigma_over_h: ratio,
                h,
                error: (d - q.cos()).abs(),
                bias_model: model,
            });
        }

        Ok(vec![
            NamedTable {
                stem: "bias",
                table: Table::from_rows(&bias),
            },
            NamedTable {
                stem: "aliasing",
                table: Table::from_rows(&aliasing),
            },
            NamedTable {
                stem: "boundary",
                table: Table::from_rows(&boundary),
            },
            NamedTable {
                stem: "refinement",
                table: Table::from_rows(&refinement),
            },
            NamedTable {
                stem: "s1",
                table: Table::from_rows(&spec.s1.run()?),
            },
        ])
    }
}

impl S1Part {
    /// One row per width and number of points: S1, the closed-form `m'`, and the terms of
    /// `m' − f' = f'(q)(V/σ² − 1) + c₂ Σ a_i (x_i − x̄)(x_i − q)²/σ²` (`V = Var_a(x)`).
    ///
    /// # Errors
    /// An attention that cannot be built or a tensor operation that fails.
    fn run(&self) -> Result<Vec<S1Row>, ExperimentError> {
        let [c0, c1, c2] = self.quadratic;
        let f = |x: f64| c0 + c1 * x + c2 * x * x;
        let q = self.query;
        let exact = c1 + 2.0 * c2 * q;
        let mut rows = Vec::new();
        let [lo, hi] = self.interval;
        for &sigma in &self.sigmas {
            for &n in &self.point_counts {
                let nodes: Vec<f64> = (0..n)
                    .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
                    .collect();
                let attention = kernel(&nodes, sigma)?;
                let values: Vec<f64> = nodes.iter().map(|&x| f(x)).collect();
                let s1 = attention
                    .central_difference(q, self.step, &tensor(&values)?)
                    .with_context(|| format!("S1 at {q} with σ = {sigma} on {n} points"))?;
                let a = attention
                    .weights(&tensor(&[q])?)
                    .and_then(|w| w.flatten_all()?.to_vec1::<f64>())
                    .with_context(|| format!("the weights at {q} with σ = {sigma} on {n} points"))?;
                let mean: f64 = a.iter().zip(&nodes).map(|(a, x)| a * x).sum();
                let variance: f64 = a
                    .iter()
                    .zip(&nodes)
                    .map(|(a, x)| a * (x - mean).powi(2))
                    .sum();
                let skew: f64 = a
                    .iter()
                    .zip(&nodes)
                    .map(|(a, x)| a * (x - mean) * (x - q).powi(2))
                    .sum::<f64>()
                    * c2
                    / (sigma * sigma);
                rows.push(S1Row {
                    sigma,
                    points: n,
                    s1,
                    s1_error: s1 - exact,
                    derivative: derivative(&nodes, f, sigma, q)?,
                    variance_term: exact * (variance / (sigma * sigma) - 1.0),
                    skewness_term: skew,
                });
            }
        }
        Ok(rows)
    }
}

