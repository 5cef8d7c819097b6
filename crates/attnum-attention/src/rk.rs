//! An explicit Runge–Kutta step as causal attention over the stage derivatives.
//!
//! Stage `i` of an explicit method reads `Y_i = y + h Σ_{j<i} a_ij k_j` and sets
//! `k_i = f(t + c_i h, Y_i)`; the step is `y + h Σ_j b_j k_j`. Row `i` of `A` is an attention
//! row over the earlier stage derivatives: causal (it never sees `j ≥ i`), and as a sum of
//! scaled softmax heads ([`crate::heads`]) it is exact. A row whose nonzero entries are all
//! positive is one head whose scale is the row sum `c_i` and whose mask hides the zero entries;
//! a row with entries of both signs needs two heads.
//!
//! ```
//! use attnum_attention::rk::RkAttention;
//! use attnum_classical::rk::named_method;
//! // RK4 is single-head attention; Kutta's third-order method has a_31 = −1 and needs two heads.
//! let rk4 = RkAttention::compile(&named_method("rk4").unwrap().tableau).unwrap();
//! assert!(rk4.is_single_head());
//! let kutta3 = RkAttention::compile(&named_method("kutta3").unwrap().tableau).unwrap();
//! assert_eq!(kutta3.head_counts(), vec![0, 1, 2, 1]);
//! ```

use attnum_classical::rk::Tableau;
use candle_core::{DType, Tensor};

use crate::tableau_heads::TableauHeads;
use crate::{AttentionError, DEVICE, Result};

/// The stage rows and the output row of an explicit method, as softmax heads.
#[derive(Debug, Clone)]
pub struct RkAttention {
    heads: TableauHeads,
}

impl RkAttention {
    /// Compile an explicit tableau.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] when the tableau is implicit (`a_ij ≠ 0` for some `j ≥ i`).
    pub fn compile(tableau: &Tableau) -> Result<Self> {
        let a = tableau.a();
        for (i, row) in a.iter().enumerate() {
            if let Some(j) = (i..row.len()).find(|&j| row[j] != 0.0) {
                return Err(AttentionError::Invalid(format!(
                    "a[{i}][{j}] = {} makes the method implicit: causal attention needs a \
                     strictly lower-triangular A",
                    row[j]
                )));
            }
        }
        Ok(Self {
            heads: TableauHeads::compile(tableau)?,
        })
    }

    /// The number of stages.
    pub fn stages(&self) -> usize {
        self.heads.stages()
    }

    /// The heads of each stage row followed by those of the output row.
    pub fn head_counts(&self) -> Vec<usize> {
        self.heads.head_counts()
    }

    /// Whether every row is at most one scaled softmax head.
    pub fn is_single_head(&self) -> bool {
        self.head_counts().iter().all(|&h| h <= 1)
    }

    /// For each stage row, the earlier stages it attends to (the mask beyond causality).
    ///
    /// # Errors
    /// A tensor error.
    pub fn masks(&self) -> Result<Vec<Vec<bool>>> {
        self.heads
            .rows()
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let w = row.weights()?.to_vec1::<f64>()?;
                Ok(w[..i].iter().map(|&x| x != 0.0).collect())
            })
            .collect()
    }

    /// The tableau the attention applies, read back from its weights.
    ///
    /// # Errors
    /// A tensor error, or a tableau error.
    pub fn tableau(&self) -> Result<Tableau> {
        let (a, b) = self.heads.entries()?;
        Ok(Tableau::new(a, b, self.heads.c().to_vec())?)
    }

    /// One step with the attention weights already evaluated.
    fn step_with(
        &self,
        (rows, output): &(Vec<Tensor>, Tensor),
        f: &mut impl FnMut(f64, &Tensor) -> candle_core::Result<Tensor>,
        t: f64,
        y: &Tensor,
        h: f64,
    ) -> candle_core::Result<Tensor> {
        let zero = Tensor::zeros(y.shape(), DType::F64, &DEVICE)?;
        let mut k = vec![zero; self.stages()];
        let mix =
            |w: &Tensor, k: &[Tensor]| w.unsqueeze(0)?.matmul(&Tensor::stack(k, 0)?)?.squeeze(0);
        for (i, w) in rows.iter().enumerate() {
            let stage_y = (y + (mix(w, &k)? * h)?)?;
            k[i] = f(t + self.heads.c()[i] * h, &stage_y)?;
        }
        y + (mix(output, &k)? * h)?
    }

    /// One step of size `h` from `(t, y)` for `y' = f(t, y)` with `y` of shape `(dim,)`.
    ///
    /// # Errors
    /// A tensor error, from the attention or from `f`.
    pub fn step(
        &self,
        f: &mut impl FnMut(f64, &Tensor) -> candle_core::Result<Tensor>,
        t: f64,
        y: &Tensor,
        h: f64,
    ) -> Result<Tensor> {
        Ok(self.step_with(&self.heads.weights()?, f, t, y, h)?)
    }

    /// Integrate from `t0` to `t1` in `steps` equal steps (the attention weights are evaluated
    /// once and detached from the parameters: no gradient flows through an integration).
    ///
    /// # Errors
    /// As [`RkAttention::step`].
    pub fn integrate(
        &self,
        f: &mut impl FnMut(f64, &Tensor) -> candle_core::Result<Tensor>,
        t0: f64,
        y0: &Tensor,
        t1: f64,
        steps: usize,
    ) -> Result<Tensor> {
        // Detached: a step-by-step autograd graph over thousands of steps is neither wanted
        // nor affordable (its recursive drop overflows the stack).
        let (rows, output) = self.heads.weights()?;
        let weights = (rows.iter().map(Tensor::detach).collect(), output.detach());
        let h = (t1 - t0) / steps as f64;
        let mut y = y0.clone();
        for n in 0..steps {
            y = self.step_with(&weights, f, t0 + n as f64 * h, &y, h)?;
        }
        Ok(y)
    }
}

/// The Kepler problem `q'' = −q/|q|³` in first-order form on tensors, `y = (q₁, q₂, p₁, p₂)`:
/// the vector test problem of the Runge–Kutta experiments.
///
/// # Errors
/// A tensor error (for instance `y` not of length 4).
pub fn kepler(_t: f64, y: &Tensor) -> candle_core::Result<Tensor> {
    let q = y.narrow(0, 0, 2)?;
    let p = y.narrow(0, 2, 2)?;
    let r3 = q.sqr()?.sum_all()?.powf(1.5)?;
    Tensor::cat(&[p, q.broadcast_div(&r3)?.neg()?], 0)
}
