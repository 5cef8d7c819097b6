//! An explicit Runge–Kutta step whose stage attention is learned: row `i` of `A` is one scaled
//! softmax head over the earlier stage derivatives, `a_i· = e^{λ_i} softmax(s_i·)`, and so is the
//! output row `b` — the single-head form of [`crate::rk`], with the scores and scales trained.
//!
//! It is trained on a family of autonomous initial-value problems: a row of the input is one
//! problem `y' = M y + Q(y ⊗ y)` in ℝ² with its initial value and step, packed as
//! `(y₀ (2), h, M (4, row-major), Q (8: Q_{i,jk} row-major))`; the output for the row is the
//! increment `(y₁ − y₀)/h = Σ_j b_j k_j` (both components), so that the loss compares slopes and
//! the error of an order-`p` method is `O(hᵖ)`. `c = A 1` (autonomous problems).

use attnum_classical::rk::Tableau;
use candle_core::{D, Tensor, Var};

use crate::{AttentionError, AttentionMethod, Result, parameter};

/// Columns of one packed problem.
pub const PROBLEM_COLUMNS: usize = 15;

/// A learned explicit `s`-stage method as causal single-head attention.
#[derive(Debug, Clone)]
pub struct LearnedRkAttention {
    /// Scores of rows 2..s of `A` (row `i` has `i` entries) and of `b` (s entries).
    row_scores: Vec<Var>,
    /// `λ` of each row: `A`'s rows 2..s, then `b`.
    log_scales: Var,
    stages: usize,
}

impl LearnedRkAttention {
    /// An `s`-stage method with the given initial scores (`s(s−1)/2` for `A` row by row, then
    /// `s` for `b`) and all scales `e^λ = 1`.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for fewer than one stage or the wrong number of scores.
    pub fn new(stages: usize, scores: &[f64]) -> Result<Self> {
        let needed = stages * (stages - 1) / 2 + stages;
        if stages == 0 || scores.len() != needed {
            return Err(AttentionError::Invalid(format!(
                "{stages} stages need {needed} scores, got {}",
                scores.len()
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
            log_scales: parameter(&vec![0.0; stages])?,
            stages,
        })
    }

    /// The rows of `A` (2..s) and `b` as weight tensors `e^λ softmax(s)`.
    fn rows(&self) -> candle_core::Result<Vec<Tensor>> {
        self.row_scores
            .iter()
            .enumerate()
            .map(|(i, scores)| {
                let scale = self.log_scales.as_tensor().narrow(0, i, 1)?.exp()?;
                candle_nn::ops::softmax(scores.as_tensor(), D::Minus1)?.broadcast_mul(&scale)
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
        all.push(("log_scales".to_owned(), &self.log_scales));
        all
    }
}
