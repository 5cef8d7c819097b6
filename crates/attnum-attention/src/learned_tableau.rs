//! An explicit Runge–Kutta step whose stage attention is learned: row `i` of `A` is one scaled
//! softmax head over the earlier stage derivatives, `a_i· = e^{λ_i} softmax(s_i·)`, and so is the
//! output row `b` — the single-head form of [`crate::rk`], with the scores and scales trained.
//! With [`OutputWeights::Unit`] the output row is an unscaled softmax, `b = softmax(s_b)`, so
//! that `Σ b_i = 1` — the first-order condition — holds for every value of the parameters.
//!
//! It is trained on a family of autonomous initial-value problems: a row of the input is one
//! problem `y' = M y + Q(y ⊗ y)` in ℝ² with its initial value and step, packed as
//! `(y₀ (2), h, M (4, row-major), Q (8: Q_{i,jk} row-major))`; the output for the row is the
//! increment `(y₁ − y₀)/h = Σ_j b_j k_j` (both components), so that the loss compares slopes and
//! the error of an order-`p` method is `O(hᵖ)`. `c = A 1` (autonomous problems).
//!
//! [`IncrementLoss`] is the mean squared error of the increments with its exact gradient by
//! reverse accumulation through the stages, for training with
//! [`crate::learned_rule::train_closed_form`] (`tests/learned_rk.rs` checks both against candle).

use attnum_classical::rk::Tableau;
use candle_core::{D, Tensor, Var};

use crate::learn::{Epoch, TrainSettings};
use crate::{AttentionError, AttentionMethod, Result, parameter};

/// How the output row `b` is parametrised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputWeights {
    /// `b = e^λ softmax(s_b)`: any positive weights.
    Scaled,
    /// `b = softmax(s_b)`: positive weights with `Σ b_i = 1` by construction.
    Unit,
}

/// Columns of one packed problem.
pub const PROBLEM_COLUMNS: usize = 15;

/// A learned explicit `s`-stage method as causal single-head attention.
#[derive(Debug, Clone)]
pub struct LearnedRkAttention {
    /// Scores of rows 2..s of `A` (row `i` has `i` entries) and of `b` (s entries).
    row_scores: Vec<Var>,
    /// `λ` of each scaled row: `A`'s rows 2..s, then `b` when it is scaled (none for one stage
    /// with unit output weights).
    log_scales: Option<Var>,
    output: OutputWeights,
    stages: usize,
}

impl LearnedRkAttention {
    /// An `s`-stage method with the given initial scores (`s(s−1)/2` for `A` row by row, then
    /// `s` for `b`) and all scales `e^λ = 1`.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for fewer than one stage or the wrong number of scores.
    pub fn new(stages: usize, scores: &[f64]) -> Result<Self> {
        Self::with_output(stages, OutputWeights::Scaled, scores)
    }

    /// An `s`-stage method with output weights parametrised by `output`, the given initial
    /// scores (`s(s−1)/2` for `A` row by row, then `s` for `b`) and all scales `e^λ = 1`.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for fewer than one stage or the wrong number of scores.
    pub fn with_output(stages: usize, output: OutputWeights, scores: &[f64]) -> Result<Self> {
        let scales = vec![0.0; scaled_rows(stages, output)];
        Self::from_parameters(stages, output, scores, &scales)
    }

    /// An `s`-stage method from its raw parameters: the scores as in
    /// [`LearnedRkAttention::with_output`] and the log-scales of the scaled rows (`A`'s rows
    /// 2..s, then `b` when scaled).
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for fewer than one stage or wrong lengths.
    pub fn from_parameters(
        stages: usize,
        output: OutputWeights,
        scores: &[f64],
        log_scales: &[f64],
    ) -> Result<Self> {
        let needed = score_count(stages);
        if stages == 0 || scores.len() != needed || log_scales.len() != scaled_rows(stages, output)
        {
            return Err(AttentionError::Invalid(format!(
                "{stages} stages need {needed} scores and {} log-scales, got {} and {}",
                scaled_rows(stages, output),
                scores.len(),
                log_scales.len()
            )));
        }
        let mut rest = scores;
        let mut row_scores = Vec::with_capacity(stages);
        for width in (1..stages).chain([stages]) {
            let (row, tail) = rest.split_at(width);
            row_scores.push(parameter(row)?);
            rest = tail;
        }
        Ok(Self {
            row_scores,
            log_scales: if log_scales.is_empty() {
                None
            } else {
                Some(parameter(log_scales)?)
            },
            output,
            stages,
        })
    }

    /// The rows of `A` (2..s) and `b` as weight tensors `e^λ softmax(s)`.
    fn rows(&self) -> candle_core::Result<Vec<Tensor>> {
        self.row_scores
            .iter()
            .enumerate()
            .map(|(i, scores)| {
                let weights = candle_nn::ops::softmax(scores.as_tensor(), D::Minus1)?;
                match &self.log_scales {
                    Some(scales) if i < scaled_rows(self.stages, self.output) => {
                        weights.broadcast_mul(&scales.as_tensor().narrow(0, i, 1)?.exp()?)
                    }
                    _ => Ok(weights),
                }
            })
            .collect()
    }

    /// The current method as a Butcher tableau (`c = A 1`).
    ///
    /// # Errors
    /// A tensor error.
    pub fn tableau(&self) -> Result<Tableau> {
        let s = self.stages;
        let rows: Vec<Vec<f64>> = self
            .rows()?
            .iter()
            .map(|r| r.to_vec1())
            .collect::<candle_core::Result<_>>()?;
        let mut a = vec![vec![0.0; s]; s];
        for i in 1..s {
            a[i][..i].copy_from_slice(&rows[i - 1]);
        }
        let c = a.iter().map(|row| row.iter().sum()).collect();
        Ok(Tableau::new(a, rows[s - 1].clone(), c)?)
    }
}

/// The number of scores of an `s`-stage method: `s(s−1)/2` for `A`, `s` for `b`.
pub fn score_count(stages: usize) -> usize {
    stages * stages.saturating_sub(1) / 2 + stages
}

/// The number of scaled rows: `A`'s rows 2..s, and `b` when it is scaled.
pub fn scaled_rows(stages: usize, output: OutputWeights) -> usize {
    stages.saturating_sub(1) + usize::from(output == OutputWeights::Scaled)
}

/// `f(y) = M y + Q(y ⊗ y)` for a batch: `y` `(B, 2)`, `m` `(B, 2, 2)`, `q` `(B, 2, 4)`.
fn quadratic_field(y: &Tensor, m: &Tensor, q: &Tensor) -> candle_core::Result<Tensor> {
    let linear = m.broadcast_mul(&y.unsqueeze(1)?)?.sum(2)?;
    let (batch, _) = y.dims2()?;
    let outer = y
        .unsqueeze(2)?
        .broadcast_mul(&y.unsqueeze(1)?)?
        .reshape((batch, 1, 4))?;
    linear + q.broadcast_mul(&outer)?.sum(2)?
}

/// The exact right-hand side of one packed problem, for reference integrations.
pub fn problem_field(problem: &[f64], y: &[f64], dy: &mut [f64]) {
    let (m, q) = (&problem[3..7], &problem[7..15]);
    let outer = [y[0] * y[0], y[0] * y[1], y[1] * y[0], y[1] * y[1]];
    for i in 0..2 {
        dy[i] = m[2 * i] * y[0]
            + m[2 * i + 1] * y[1]
            + (0..4).map(|j| q[4 * i + j] * outer[j]).sum::<f64>();
    }
}

impl AttentionMethod for LearnedRkAttention {
    fn inputs(&self) -> usize {
        PROBLEM_COLUMNS
    }

    /// Packed problems `(B, 15)` → increments `(y₁ − y₀)/h` flattened to `(2B,)`.
    fn forward(&self, problems: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, _) = problems.dims2()?;
        let y0 = problems.narrow(1, 0, 2)?;
        let h = problems.narrow(1, 2, 1)?;
        let m = problems.narrow(1, 3, 4)?.reshape((batch, 2, 2))?;
        let q = problems.narrow(1, 7, 8)?.reshape((batch, 2, 4))?;
        let rows = self.rows()?;
        let mut k: Vec<Tensor> = vec![quadratic_field(&y0, &m, &q)?];
        for row in rows.iter().take(self.stages - 1) {
            // Y_i = y₀ + h Σ_j a_ij k_j: attention of row i over the earlier stages.
            let earlier = Tensor::stack(&k, 1)?; // (B, i, 2)
            let mixed = earlier
                .broadcast_mul(&row.unsqueeze(0)?.unsqueeze(2)?)?
                .sum(1)?;
            let stage = (&y0 + mixed.broadcast_mul(&h)?)?;
            k.push(quadratic_field(&stage, &m, &q)?);
        }
        let all = Tensor::stack(&k, 1)?;
        all.broadcast_mul(&rows[self.stages - 1].unsqueeze(0)?.unsqueeze(2)?)?
            .sum(1)?
            .flatten_all()
    }

    fn is_linear_in_values(&self) -> bool {
        false
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        let mut all: Vec<(String, &Var)> = self
            .row_scores
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let name = if i + 1 == self.stages {
                    "b.scores".to_owned()
                } else {
                    format!("a{}.scores", i + 2)
                };
                (name, v)
            })
            .collect();
        if let Some(scales) = &self.log_scales {
            all.push(("log_scales".to_owned(), scales));
        }
        all
    }
}

/// The parameters of a [`LearnedRkAttention`] as plain numbers, for [`IncrementLoss`] and
/// [`train_exact`].
#[derive(Debug, Clone, PartialEq)]
pub struct RkParameters {
    /// Stages `s`.
    pub stages: usize,
    /// How `b` is parametrised.
    pub output: OutputWeights,
    /// Scores of `A`'s rows 2..s, row by row, then of `b`.
    pub scores: Vec<f64>,
    /// Log-scales of the scaled rows (`A`'s rows 2..s, then `b` when scaled).
    pub log_scales: Vec<f64>,
}

/// `softmax(s)` as candle computes it (shifted by the largest score).
fn softmax(scores: &[f64]) -> Vec<f64> {
    let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = scores.iter().map(|s| (s - top).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

impl RkParameters {
    /// An `s`-stage method with the given scores and all scales 1.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] as [`LearnedRkAttention::with_output`].
    pub fn new(stages: usize, output: OutputWeights, scores: &[f64]) -> Result<Self> {
        if stages == 0 || scores.len() != score_count(stages) {
            return Err(AttentionError::Invalid(format!(
                "{stages} stages need {} scores, got {}",
                score_count(stages),
                scores.len()
            )));
        }
        Ok(Self {
            stages,
            output,
            scores: scores.to_vec(),
            log_scales: vec![0.0; scaled_rows(stages, output)],
        })
    }

    /// The rows of `A` (2..s) and `b` as weights.
    pub fn rows(&self) -> Vec<Vec<f64>> {
        let mut rest = &self.scores[..];
        let scaled = scaled_rows(self.stages, self.output);
        (1..self.stages)
            .chain([self.stages])
            .enumerate()
            .map(|(i, width)| {
                let (row, tail) = rest.split_at(width);
                rest = tail;
                let scale = if i < scaled {
                    self.log_scales[i].exp()
                } else {
                    1.0
                };
                softmax(row).into_iter().map(|a| a * scale).collect()
            })
            .collect()
    }

    /// The method as a Butcher tableau (`c = A 1`).
    ///
    /// # Errors
    /// A tableau error (never for finite parameters).
    pub fn tableau(&self) -> Result<Tableau> {
        let s = self.stages;
        let rows = self.rows();
        let mut a = vec![vec![0.0; s]; s];
        for i in 1..s {
            a[i][..i].copy_from_slice(&rows[i - 1]);
        }
        let c = a.iter().map(|row| row.iter().sum()).collect();
        Ok(Tableau::new(a, rows[s - 1].clone(), c)?)
    }

    /// The candle module with these parameters.
    ///
    /// # Errors
    /// As [`LearnedRkAttention::from_parameters`].
    pub fn module(&self) -> Result<LearnedRkAttention> {
        LearnedRkAttention::from_parameters(
            self.stages,
            self.output,
            &self.scores,
            &self.log_scales,
        )
    }

    /// Scores then log-scales: the order of [`AttentionMethod::parameters`].
    fn flat(&self) -> Vec<f64> {
        self.scores
            .iter()
            .chain(&self.log_scales)
            .copied()
            .collect()
    }

    fn set_flat(&mut self, values: &[f64]) {
        let (scores, scales) = values.split_at(self.scores.len());
        self.scores.copy_from_slice(scores);
        self.log_scales.copy_from_slice(scales);
    }
}

/// One packed problem's field, its Jacobian-transpose product, and the increments.
struct Problem<'a>(&'a [f64]);

impl Problem<'_> {
    fn field(&self, y: [f64; 2]) -> [f64; 2] {
        let mut dy = [0.0; 2];
        problem_field(self.0, &y, &mut dy);
        dy
    }

    /// `J(y)ᵀ v` with `J_il = M_il + Σ_k Q_i,lk y_k + Σ_j Q_i,jl y_j`.
    fn jacobian_transpose(&self, y: [f64; 2], v: [f64; 2]) -> [f64; 2] {
        let (m, q) = (&self.0[3..7], &self.0[7..15]);
        [0, 1].map(|l| {
            (0..2)
                .map(|i| {
                    let jil = m[2 * i + l]
                        + (0..2)
                            .map(|k| q[4 * i + 2 * l + k] * y[k] + q[4 * i + 2 * k + l] * y[k])
                            .sum::<f64>();
                    jil * v[i]
                })
                .sum()
        })
    }
}

/// The mean squared error of a learned step's increments `Σ_j b_j k_j` against the targets
/// `(y(h) − y₀)/h` (both components of every problem), as candle's `mse` of the module.
#[derive(Debug, Clone)]
pub struct IncrementLoss {
    /// Packed problems, [`PROBLEM_COLUMNS`] numbers each.
    problems: Vec<f64>,
    /// Two target components per problem.
    targets: Vec<f64>,
}

impl IncrementLoss {
    /// The loss on packed problems (`count × 15`, row-major) and their targets (`2 count`).
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for lengths that do not match.
    pub fn new(problems: Vec<f64>, targets: Vec<f64>) -> Result<Self> {
        let count = problems.len() / PROBLEM_COLUMNS;
        if count == 0 || count * PROBLEM_COLUMNS != problems.len() || targets.len() != 2 * count {
            return Err(AttentionError::Invalid(format!(
                "{} numbers are not rows of {PROBLEM_COLUMNS} with two targets each ({} targets)",
                problems.len(),
                targets.len()
            )));
        }
        Ok(Self { problems, targets })
    }

    /// The loss on a candle dataset of packed problems.
    ///
    /// # Errors
    /// A tensor error, or lengths that do not match.
    pub fn from_dataset(data: &crate::learn::Dataset) -> Result<Self> {
        Self::new(
            data.inputs.flatten_all()?.to_vec1()?,
            data.targets.to_vec1()?,
        )
    }

    /// The loss at `params`.
    pub fn loss(&self, params: &RkParameters) -> f64 {
        self.evaluate(params, false).0
    }

    /// The loss at `params` and its gradient in the order of [`AttentionMethod::parameters`]
    /// (scores row by row, then log-scales).
    pub fn loss_and_gradient(&self, params: &RkParameters) -> (f64, Vec<f64>) {
        self.evaluate(params, true)
    }

    fn evaluate(&self, params: &RkParameters, gradient: bool) -> (f64, Vec<f64>) {
        let s = params.stages;
        let rows = params.rows();
        let (a_rows, b) = rows.split_at(s - 1);
        let b = &b[0];
        let count = self.targets.len() / 2;
        let mut loss = 0.0;
        // ∂L/∂(row weights), row by row as `rows`.
        let mut d_rows: Vec<Vec<f64>> = rows.iter().map(|r| vec![0.0; r.len()]).collect();
        let mut k = vec![[0.0; 2]; s];
        let mut stage_values = vec![[0.0; 2]; s];
        for (problem, target) in self
            .problems
            .chunks(PROBLEM_COLUMNS)
            .zip(self.targets.chunks(2))
        {
            let p = Problem(problem);
            let (y0, h) = ([problem[0], problem[1]], problem[2]);
            stage_values[0] = y0;
            k[0] = p.field(y0);
            for i in 1..s {
                let mut y = y0;
                for (j, a) in a_rows[i - 1].iter().enumerate() {
                    y[0] += h * a * k[j][0];
                    y[1] += h * a * k[j][1];
                }
                stage_values[i] = y;
                k[i] = p.field(y);
            }
            let mut r = [-target[0], -target[1]];
            for (kj, bj) in k.iter().zip(b) {
                r[0] += bj * kj[0];
                r[1] += bj * kj[1];
            }
            loss += r[0] * r[0] + r[1] * r[1];
            if !gradient {
                continue;
            }
            // Reverse accumulation: g = ∂L/∂(increment) = 2r / (2 count).
            let g = [r[0] / count as f64, r[1] / count as f64];
            let mut dk: Vec<[f64; 2]> = b.iter().map(|bj| [bj * g[0], bj * g[1]]).collect();
            for (j, kj) in k.iter().enumerate() {
                d_rows[s - 1][j] += g[0] * kj[0] + g[1] * kj[1];
            }
            for i in (1..s).rev() {
                let dy = p.jacobian_transpose(stage_values[i], dk[i]);
                for (j, a) in a_rows[i - 1].iter().enumerate() {
                    d_rows[i - 1][j] += h * (dy[0] * k[j][0] + dy[1] * k[j][1]);
                    dk[j][0] += h * a * dy[0];
                    dk[j][1] += h * a * dy[1];
                }
            }
        }
        let loss = loss / (2 * count) as f64;
        if !gradient {
            return (loss, Vec::new());
        }
        // Through w = S softmax(s): ∂L/∂s_j = w_j (g_j − Σ_i a_i g_i), ∂L/∂λ = Σ_i g_i w_i.
        let scaled = scaled_rows(s, params.output);
        let mut d_scores = Vec::with_capacity(params.scores.len());
        let mut d_scales: Vec<f64> = Vec::with_capacity(scaled);
        for (i, (w, g)) in rows.iter().zip(&d_rows).enumerate() {
            let total: f64 = w.iter().sum();
            let mean: f64 = w.iter().zip(g).map(|(w, g)| w * g).sum::<f64>() / total;
            d_scores.extend(w.iter().zip(g).map(|(w, g)| w * (g - mean)));
            if i < scaled {
                d_scales.push(w.iter().zip(g).map(|(w, g)| w * g).sum());
            }
        }
        d_scores.extend(d_scales);
        (loss, d_scores)
    }
}

/// A training run of [`train_exact`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedStep {
    /// The loss curve, one entry per epoch that ran.
    pub curve: Vec<Epoch>,
    /// The parameters after the last epoch that ran (the parameters passed to [`train_exact`]
    /// end at the epoch with the smallest validation loss instead).
    pub last: RkParameters,
}

/// [`crate::learn::train`] for a learned step on [`IncrementLoss`]es, by
/// [`crate::learned_rule::train_closed_form`]: `params` end at the epoch with the smallest
/// validation loss (what early stopping returns). Returns the loss curve and the last iterate.
///
/// # Errors
/// [`AttentionError::Invalid`] when the loss becomes non-finite.
pub fn train_exact(
    params: &mut RkParameters,
    train: &IncrementLoss,
    validation: &IncrementLoss,
    settings: &TrainSettings,
) -> Result<TrainedStep> {
    let mut work = params.clone();
    let mut check = params.clone();
    let run = crate::learned_rule::train_closed_form(
        params.flat(),
        |theta| {
            work.set_flat(theta);
            train.loss_and_gradient(&work)
        },
        |theta| {
            check.set_flat(theta);
            validation.loss(&check)
        },
        settings,
    )?;
    params.set_flat(&run.best);
    let mut last = params.clone();
    last.set_flat(&run.last);
    Ok(TrainedStep {
        curve: run.curve,
        last,
    })
}
