//! Experiment `noisy_derivative`: finite differences against Savitzky–Golay filters when the
//! samples carry additive Gaussian noise.
//!
//! For each noise level σ, method and step h, the first derivative of the test function at `x0`
//! is computed from samples `f(x0 + o_i h) + σ z_i` in `replicates` independent replicates and its
//! root-mean-square error recorded, beside the model
//! `√((M_{1+p} f^{(1+p)}(x0) h^p)² + σ² Σ w_i² / h²)` (truncation and noise variance). The `best`
//! table gives, for each method and noise level, the step with the smallest measured RMS error,
//! the model there and their ratio, the noise gain `√(Σ w_i²)`, and the model's own optimum:
//! the step `h* = (σ² Σ w_i² / (p T²))^{1/(2p+2)}` with `T = |M_{1+p} f^{(1+p)}(x0)|`, its error
//! `E(h*) = √(1 + p) T (h*)^p`, and the ratio of the best measured error to `E(h*)`.
//!
//! The standard normal draws `z` come from a ChaCha8 generator seeded from the sweep's `seed` and
//! the replicate index; every method, step and noise level reuses the same draws (common random
//! numbers), so differences between methods are not sampling noise.

use attnum_attention::extract::effective_weights;
use attnum_attention::kernel::{KernelAttention, Output};
use attnum_classical::analysis;
use attnum_classical::fd::{Stencil, StencilKind};
use attnum_classical::savitzky_golay::{savitzky_golay, symmetric_window};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use attnum_results::Table;

use super::{ExperimentError, FieldError, NamedTable};
use crate::checks;
use crate::grid::LogGrid;
use crate::testfn::TestFunction;

/// A derivative method as written in the sweep file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoisyMethod {
    /// The central finite-difference stencil of this (even) accuracy order.
    Central(usize),
    /// A Savitzky–Golay filter on the symmetric window of `2 half_width + 1` points.
    SavitzkyGolay(Window),
    /// The derivative of kernel attention (Gaussian scores) at `x0` over the symmetric window, with
    /// width `σ = sigma_over_h · h`: the linear weights `a_i (x_i − x̄)/σ²`.
    KernelAttention(KernelWindow),
}

/// Kernel attention on a symmetric window.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KernelWindow {
    /// Points on each side of `x0`.
    pub half_width: usize,
    /// The kernel width in units of the step.
    pub sigma_over_h: f64,
}

/// A Savitzky–Golay window.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Points on each side of `x0`.
    pub half_width: usize,
    /// Degree of the fitted polynomial.
    pub degree: usize,
}

impl NoisyMethod {
    fn build(&self) -> Result<(String, Stencil), String> {
        match self {
            Self::Central(p) => Stencil::by_accuracy(StencilKind::Central, 1, *p)
                .map(|s| (format!("central {p}"), s))
                .map_err(|e| e.to_string()),
            Self::SavitzkyGolay(w) => {
                if w.half_width > 50 {
                    return Err(format!(
                        "half_width {} is above the supported 50",
                        w.half_width
                    ));
                }
                savitzky_golay(1, w.degree, &symmetric_window(w.half_width))
                    .map(|s| (format!("SG {}/{}", 2 * w.half_width + 1, w.degree), s))
                    .map_err(|e| e.to_string())
            }
            Self::KernelAttention(k) => {
                let width_ok = k.sigma_over_h.is_finite() && k.sigma_over_h > 0.0;
                if !(1..=50).contains(&k.half_width) || !width_ok {
                    return Err(format!(
                        "needs half_width 1 to 50 and sigma_over_h > 0, got {} and {}",
                        k.half_width, k.sigma_over_h
                    ));
                }
                let nodes = symmetric_window(k.half_width);
                let kernel =
                    KernelAttention::new(&nodes, k.sigma_over_h).map_err(|e| e.to_string())?;
                let module = kernel
                    .at(0.0, Output::Derivative)
                    .map_err(|e| e.to_string())?;
                let weights = effective_weights(&module).map_err(|e| e.to_string())?;
                Stencil::from_weights(1, &nodes, &weights)
                    .map(|s| {
                        (
                            format!("kernel {}/{}", 2 * k.half_width + 1, k.sigma_over_h),
                            s,
                        )
                    })
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// A row of `table`: one method at one noise level and step, over every replicate.
#[derive(Serialize)]
struct PointRow<'a> {
    method: &'a str,
    nodes: usize,
    /// The stencil's order (none for kernel attention, which is not consistent).
    order: Option<usize>,
    noise: f64,
    h: f64,
    rms_error: f64,
    mean_error: f64,
    model_rms: Option<f64>,
}

/// A row of `best`: one method at one noise level, at its best step and at the model's.
#[derive(Serialize)]
struct BestRow<'a> {
    method: &'a str,
    nodes: usize,
    order: Option<usize>,
    noise: f64,
    best_h: f64,
    best_rms_error: f64,
    model_rms: Option<f64>,
    model_ratio: Option<f64>,
    noise_gain: f64,
    model_optimal_h: Option<f64>,
    model_optimal_rms: Option<f64>,
    optimum_ratio: Option<f64>,
}

/// Parameters of the `noisy_derivative` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NoisyDerivative {
    /// The test function.
    pub function: TestFunction,
    /// The point.
    pub x0: f64,
    /// Standard deviations of the additive noise (≥ 0).
    pub noise: Vec<f64>,
    /// The steps.
    pub steps: LogGrid,
    /// Replicates per point (1 to 100000).
    pub replicates: usize,
    /// Seed of the noise generator.
    pub seed: u64,
    /// The methods.
    #[serde(with = "serde_yaml::with::singleton_map_recursive")]
    pub methods: Vec<NoisyMethod>,
}

/// A checked `noisy_derivative` experiment: the methods built as labelled stencils.
#[derive(Debug, Clone)]
pub struct CheckedNoisyDerivative {
    spec: NoisyDerivative,
    /// `(label, stencil)` for each method.
    methods: Vec<(String, Stencil)>,
}

impl NoisyDerivative {
    /// Check every parameter and build the methods' stencils; errors carry the field path below
    /// `experiment.noisy_derivative`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedNoisyDerivative, FieldError> {
        checks::finite("x0", self.x0)?;
        checks::non_empty("noise", &self.noise, "noise level")?;
        checks::each("noise", &self.noise, |&s| {
            if s.is_finite() && s >= 0.0 {
                Ok(s)
            } else {
                Err(FieldError::new(
                    "",
                    format!("must be a finite number ≥ 0, got {s}"),
                ))
            }
        })?;
        self.steps.validate("steps")?;
        checks::count_in("replicates", self.replicates, 1, 100_000)?;
        checks::non_empty("methods", &self.methods, "method")?;
        let methods = checks::each("methods", &self.methods, |m| {
            m.build().map_err(|e| FieldError::new("", e))
        })?;
        Ok(CheckedNoisyDerivative {
            spec: self.clone(),
            methods,
        })
    }
}

impl CheckedNoisyDerivative {
    /// Run the experiment: `table` (every point) and `best` (best step per method and noise).
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let (spec, methods) = (&self.spec, &self.methods);
        let f = spec.function;
        let exact = f.derivative(1, spec.x0);
        let max_nodes = methods.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
        let draws: Vec<Vec<f64>> = (0..spec.replicates)
            .map(|r| {
                let mut rng = ChaCha8Rng::seed_from_u64(spec.seed.wrapping_add(r as u64));
                (0..max_nodes)
                    .map(|_| StandardNormal.sample(&mut rng))
                    .collect()
            })
            .collect();
        let steps = spec.steps.values();
        let mut table = Vec::new();
        let mut best = Vec::new();
        for (label, stencil) in methods {
            // Kernel attention is not a consistent stencil: it has no order and no error model.
            let acc = analysis::accuracy(stencil);
            let order = acc.map(|a| a.order);
            let sum_w2: f64 = stencil.weights().iter().map(|w| w * w).sum();
            let leading = acc.map(|a| a.error_constant * f.derivative(1 + a.order, spec.x0));
            let clean: Vec<Vec<f64>> = steps
                .iter()
                .map(|&h| {
                    stencil
                        .offsets()
                        .iter()
                        .map(|&o| f.value(spec.x0 + o * h))
                        .collect()
                })
                .collect();
            for &sigma in &spec.noise {
                let mut best_row: Option<(f64, f64, Option<f64>)> = None;
                for (k, &h) in steps.iter().enumerate() {
                    let (mut sum, mut sum_sq) = (0.0, 0.0);
                    for z in &draws {
                        let value: f64 = stencil
                            .weights()
                            .iter()
                            .zip(&clean[k])
                            .zip(z)
                            .map(|((w, fx), zi)| w * (fx + sigma * zi))
                            .sum::<f64>()
                            / h;
                        let e = value - exact;
                        sum += e;
                        sum_sq += e * e;
                    }
                    let n = spec.replicates as f64;
                    let rms = (sum_sq / n).sqrt();
                    let model = leading.zip(order).map(|(c, p)| {
                        ((c * h.powi(p as i32)).powi(2) + sigma * sigma * sum_w2 / (h * h)).sqrt()
                    });
                    table.push(PointRow {
                        method: label,
                        nodes: stencil.len(),
                        order,
                        noise: sigma,
                        h,
                        rms_error: rms,
                        mean_error: sum / n,
                        model_rms: model,
                    });
                    if best_row.is_none_or(|(_, r, _)| rms < r) {
                        best_row = Some((h, rms, model));
                    }
                }
                let (h, rms, model) = best_row.expect("the grid has steps");
                // The minimiser of E(h)² = T² h^{2p} + σ² Σw² / h² satisfies p T² h^{2p} = σ² Σw² / h²,
                // so E(h*)² = (1 + p) T² (h*)^{2p}.
                let optimum = leading.zip(order).map(|(c, p)| {
                    let p = p as f64;
                    let h_opt = (sigma * sigma * sum_w2 / (p * c * c)).powf(1.0 / (2.0 * p + 2.0));
                    (h_opt, (1.0 + p).sqrt() * c.abs() * h_opt.powf(p))
                });
                best.push(BestRow {
                    method: label,
                    nodes: stencil.len(),
                    order,
                    noise: sigma,
                    best_h: h,
                    best_rms_error: rms,
                    model_rms: model,
                    model_ratio: model.map(|m| m / rms),
                    noise_gain: sum_w2.sqrt(),
                    model_optimal_h: optimum.map(|(h_opt, _)| h_opt),
                    model_optimal_rms: optimum.map(|(_, e)| e),
                    optimum_ratio: optimum.map(|(_, e)| rms / e),
                });
            }
        }
        Ok(vec![
            NamedTable {
                stem: "table",
                table: Table::from_rows(&table),
            },
            NamedTable {
                stem: "best",
                table: Table::from_rows(&best),
            },
        ])
    }
}
