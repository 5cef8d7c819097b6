//! Experiment `learned_theory`: the stencil a learner linear in the samples converges to on the
//! random trigonometric training family of `learned_derivative` — the kriging stencil of
//! `attnum_classical::kriging` — and how its moment defects vanish as `Kh → 0`.
//!
//! For each derivative, step distribution (one step `h`, or `h` log-uniform in
//! `[h/step_ratio, h]`), noise level and largest step `h` of a log grid, the table `defects` holds
//! the moment defects `δ_j = Σ_i w_i o_i^j/j! − [j = m]` against `Kh`, with the leading flat-limit
//! term `c_j h^{q_j}` where it is proved (one step, no noise: `flat_limit`); `weights` the
//! stencils themselves; `flat_limit` the constants `c_j` and powers `q_j`. The table `training`
//! is the kriging stencil at the training settings of `learned_derivative` (its weights and
//! defects), and `risk` the population RMS error of `f^{(m)}(x₀)` at the evaluation step of the
//! kriging, central and Savitzky–Golay stencils, for comparison with the measured errors. It
//! trains nothing: every number is a closed form or a least-squares solve.

use attnum_classical::fd::Stencil;
use attnum_classical::kriging::{
    KrigingStencil, StepDistribution, TrigonometricFamily, flat_limit, kriging_stencil,
    mean_squared_error,
};
use attnum_classical::savitzky_golay::savitzky_golay;
use attnum_results::Table;
use serde::{Deserialize, Serialize};

use super::{Context, ExperimentError, FieldError, NamedTable};
use crate::checks::{self, Interval};
use crate::grid::LogGrid;

/// Parameters of the `learned_theory` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedTheory {
    /// Sample offsets in units of `h`, symmetric about 0 (`−r..=r`).
    pub offsets: Vec<f64>,
    /// Highest frequency `K` of the trigonometric family (1 to 5).
    pub max_frequency: usize,
    /// Derivatives `m` (1 or 2).
    pub derivatives: Vec<usize>,
    /// The largest step `h` (one step, or the top of the log-uniform range).
    pub steps: LogGrid,
    /// Ratio of the log-uniform range: `h` in `[h/step_ratio, h]` (2 to 10⁶).
    pub step_ratio: u32,
    /// Noise standard deviations on the samples.
    pub noise: Vec<f64>,
    /// Gauss–Legendre nodes in `ln h` for the log-uniform expectation (8 to 512).
    pub nodes: usize,
    /// The training settings of `learned_derivative` at which the stencil is reported.
    pub training: TrainingSettings,
}

/// The training settings of `learned_derivative`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSettings {
    /// The fixed training step.
    pub fixed_step: f64,
    /// The log-uniform training range `[from, to]`.
    pub log_uniform: [f64; 2],
    /// The step at which the errors are reported.
    pub evaluation_step: f64,
}

/// A checked `learned_theory` experiment.
#[derive(Debug, Clone)]
pub struct CheckedLearnedTheory {
    spec: LearnedTheory,
    family: TrigonometricFamily,
    steps: Vec<f64>,
}

impl LearnedTheory {
    /// Check every parameter; errors carry the field path below `experiment.learned_theory`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedLearnedTheory, FieldError> {
        checks::count_in("offsets", self.offsets.len(), 3, 9)?;
        let r = (self.offsets.len() / 2) as f64;
        let symmetric = self.offsets.len() % 2 == 1
            && self
                .offsets
                .iter()
                .enumerate()
                .all(|(i, &o)| o == i as f64 - r);
        if !symmetric {
            return Err(FieldError::new(
                "offsets",
                "must be -r, ..., r (symmetric, unit spacing)",
            ));
        }
        if !(1..=5).contains(&self.max_frequency) {
            return Err(FieldError::new(
                "max_frequency",
                format!("must be in 1..=5, got {}", self.max_frequency),
            ));
        }
        let family = TrigonometricFamily::new(self.max_frequency)
            .map_err(|e| FieldError::new("max_frequency", e.to_string()))?;
        checks::non_empty("derivatives", &self.derivatives, "derivative")?;
        checks::each("derivatives", &self.derivatives, |&m| {
            if (1..=2).contains(&m) {
                flat_limit(family, &self.offsets, m)
                    .map(|_| ())
                    .map_err(|e| FieldError::new("", e.to_string()))
            } else {
                Err(FieldError::new("", format!("must be 1 or 2, got {m}")))
            }
        })?;
        self.steps.validate("steps")?;
        let steps = self.steps.values();
        checks::each("steps", &steps, |&h| {
            checks::in_interval("", h, Interval::open_closed(0.0, 1.0))
        })?;
        checks::count_in("step_ratio", self.step_ratio as usize, 2, 1_000_000)?;
        checks::each("noise", &self.noise, |&s| {
            checks::in_interval("", s, Interval::closed(0.0, 1.0))
        })?;
        checks::count_in("nodes", self.nodes, 8, 512)?;
        let t = self.training;
        let step =
            |field: &str, h: f64| checks::in_interval(field, h, Interval::open_closed(0.0, 1.0));
        step("training.fixed_step", t.fixed_step)?;
        step("training.log_uniform[0]", t.log_uniform[0])?;
        step("training.log_uniform[1]", t.log_uniform[1])?;
        if t.log_uniform[1] <= t.log_uniform[0] {
            return Err(FieldError::new(
                "training.log_uniform[1]",
                "must exceed log_uniform[0]",
            ));
        }
        step("training.evaluation_step", t.evaluation_step)?;
        Ok(CheckedLearnedTheory {
            spec: self.clone(),
            family,
            steps,
        })
    }
}

/// A row of `defects`: one moment defect of one kriging stencil.
#[derive(Serialize)]
struct DefectRow {
    derivative: usize,
    distribution: &'static str,
    noise: f64,
    step: f64,
    kh: f64,
    defect: usize,
    value: f64,
    /// The leading flat-limit term `c_j h^{q_j}` (one step, no noise; 0 by symmetry for the
    /// defects of the other parity); null otherwise.
    prediction: Option<f64>,
}

/// A row of `weights` and `training`: one weight of one kriging stencil.
#[derive(Serialize)]
struct WeightRow {
    derivative: usize,
    distribution: &'static str,
    noise: f64,
    step: f64,
    offset: f64,
    weight: f64,
}

/// A row of `flat_limit`: `δ_j ≈ c_j h^{q_j}`.
#[derive(Serialize)]
struct LimitRow {
    derivative: usize,
    defect: usize,
    constant: f64,
    power: usize,
}

/// A row of `risk`: the population RMS error of `f^{(m)}(x₀)` of a stencil at the evaluation step.
#[derive(Serialize)]
struct RiskRow {
    derivative: usize,
    /// The training steps of the kriging stencil (`fixed`, `log_uniform`), or `classical`.
    distribution: &'static str,
    method: &'static str,
    /// The noise on the training samples (kriging) and on the evaluated samples (all).
    noise: f64,
    evaluation_step: f64,
    rms_error: f64,
    defect_0: f64,
    defect_1: f64,
    defect_2: f64,
    defect_3: f64,
    defect_4: f64,
}

impl RiskRow {
    fn new(
        derivative: usize,
        distribution: &'static str,
        method: &'static str,
        noise: f64,
        evaluation_step: f64,
        rms_error: f64,
        d: [f64; 5],
    ) -> Self {
        Self {
            derivative,
            distribution,
            method,
            noise,
            evaluation_step,
            rms_error,
            defect_0: d[0],
            defect_1: d[1],
            defect_2: d[2],
            defect_3: d[3],
            defect_4: d[4],
        }
    }
}

impl CheckedLearnedTheory {
    fn stencil(
        &self,
        m: usize,
        steps: StepDistribution,
        noise: f64,
    ) -> Result<KrigingStencil, ExperimentError> {
        kriging_stencil(self.family, &self.spec.offsets, m, steps, noise).with_context(|| {
            format!("the kriging stencil of derivative {m} for {steps:?}, σ = {noise}")
        })
    }

    /// The moment defects `D_0 … D_4` of a stencil, summed from its weights.
    fn defects_of(&self, m: usize, weights: &[f64]) -> [f64; 5] {
        let mut out = [0.0; 5];
        for (j, d) in out.iter_mut().enumerate() {
            let factorial: f64 = (1..=j).map(|i| i as f64).product();
            *d = weights
                .iter()
                .zip(&self.spec.offsets)
                .map(|(w, o)| w * o.powi(j as i32))
                .sum::<f64>()
                / factorial
                - f64::from(u8::from(j == m));
        }
        out
    }

    /// Run the experiment: the tables of the module documentation.
    ///
    /// # Errors
    /// A kriging stencil the loss does not determine, or a classical stencil that cannot be built.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let spec = &self.spec;
        let k = spec.max_frequency as f64;
        let mut defects = Vec::new();
        let mut weights = Vec::new();
        let mut limits = Vec::new();
        let mut training = Vec::new();
        let mut risk = Vec::new();
        for &m in &spec.derivatives {
            let limit = flat_limit(self.family, &spec.offsets, m)
                .with_context(|| format!("the flat limit of derivative {m}"))?;
            for &(defect, constant, power) in &limit {
                limits.push(LimitRow {
                    derivative: m,
                    defect,
                    constant,
                    power,
                });
            }
            for &noise in &spec.noise {
                for &h in &self.steps {
                    for (distribution, steps) in [
                        ("fixed", StepDistribution::Fixed(h)),
                        (
                            "log_uniform",
                            StepDistribution::LogUniform {
                                from: h / f64::from(spec.step_ratio),
                                to: h,
                                nodes: spec.nodes,
                            },
                        ),
                    ] {
                        let s = self.stencil(m, steps, noise)?;
                        let proved = distribution == "fixed" && noise == 0.0;
                        for (j, &value) in s.defects.iter().enumerate() {
                            let prediction = proved.then(|| {
                                limit
                                    .iter()
                                    .find(|l| l.0 == j)
                                    .map_or(0.0, |&(_, c, q)| c * h.powi(q as i32))
                            });
                            defects.push(DefectRow {
                                derivative: m,
                                distribution,
                                noise,
                                step: h,
                                kh: k * h,
                                defect: j,
                                value,
                                prediction,
                            });
                        }
                        for (&offset, &weight) in spec.offsets.iter().zip(&s.weights) {
                            weights.push(WeightRow {
                                derivative: m,
                                distribution,
                                noise,
                                step: h,
                                offset,
                                weight,
                            });
                        }
                    }
                }
            }
            // At the training settings of `learned_derivative`, for every noise level.
            let t = spec.training;
            let h0 = t.evaluation_step;
            let central = Stencil::on_offsets(m, &spec.offsets)
                .with_context(|| format!("the central stencil of derivative {m}"))?;
            let smoothing = savitzky_golay(m, 2, &spec.offsets)
                .with_context(|| format!("the Savitzky–Golay filter of derivative {m}"))?;
            for &noise in &spec.noise {
                let rms = |w: &[f64]| {
                    mean_squared_error(self.family, &spec.offsets, w, m, h0, noise).sqrt()
                };
                for (distribution, steps, step) in [
                    ("fixed", StepDistribution::Fixed(t.fixed_step), t.fixed_step),
                    (
                        "log_uniform",
                        StepDistribution::LogUniform {
                            from: t.log_uniform[0],
                            to: t.log_uniform[1],
                            nodes: spec.nodes,
                        },
                        t.log_uniform[1],
                    ),
                ] {
                    let s = self.stencil(m, steps, noise)?;
                    for (&offset, &weight) in spec.offsets.iter().zip(&s.weights) {
                        training.push(WeightRow {
                            derivative: m,
                            distribution,
                            noise,
                            step,
                            offset,
                            weight,
                        });
                    }
                    // The solved defects (full relative accuracy) where the stencil has them.
                    let mut d = self.defects_of(m, &s.weights);
                    for (x, y) in d.iter_mut().zip(&s.defects) {
                        *x = *y;
                    }
                    risk.push(RiskRow::new(
                        m,
                        distribution,
                        "kriging",
                        noise,
                        h0,
                        rms(&s.weights),
                        d,
                    ));
                }
                for (method, w) in [
                    ("central", central.weights()),
                    ("savitzky_golay", smoothing.weights()),
                ] {
                    let d = self.defects_of(m, w);
                    risk.push(RiskRow::new(m, "classical", method, noise, h0, rms(w), d));
                }
            }
        }
        Ok(vec![
            NamedTable {
                stem: "defects",
                table: Table::from_rows(&defects),
            },
            NamedTable {
                stem: "weights",
                table: Table::from_rows(&weights),
            },
            NamedTable {
                stem: "flat_limit",
                table: Table::from_rows(&limits),
            },
            NamedTable {
                stem: "training",
                table: Table::from_rows(&training),
            },
            NamedTable {
                stem: "risk",
                table: Table::from_rows(&risk),
            },
        ])
    }
}
