//! An implicit Runge–Kutta step as a looped (weight-tied) transformer over the stage tokens.
//!
//! The stages of an implicit method satisfy `k_i = f(t + c_i h, y + h Σ_j a_ij k_j)`, a fixed
//! point. Its Picard iteration is a transformer block applied `K` times with the same weights:
//! the tokens are the `s` stage derivatives, each starting at `f(t, y)`; the block's attention
//! row `i` mixes *all* stage tokens with the weights `a_ij` (no causal mask: `A` is full), each
//! row a sum of scaled softmax heads ([`crate::heads`]); the residual stream adds `y`, with the
//! step `h` as the output scale; and `f`, applied token by token, takes the place of the MLP.
//! After the last block the output row `b` reads the tokens: `y + h Σ_i b_i k_i`. With `K`
//! blocks this is [`Tableau::picard_step`]; as `K` grows it reaches the collocation step
//! whenever the sweep map contracts (`h L ‖A‖∞ < 1`).
//!
//! Like [`crate::rk`], the module does not learn or approximate `f`: `f` is given, and the
//! attention holds only the tableau. Steps are batched: many starting points, one per row, go
//! through the loop at once.
//!
//! ```
//! use attnum_attention::looped::{LoopedRk, kepler_tokens};
//! use attnum_classical::rk::Tableau;
//! use candle_core::{Device, Tensor};
//! let gauss = Tableau::gauss_legendre(2).unwrap();
//! let looped = LoopedRk::compile(&gauss).unwrap();
//! // Row 1 of A has a negative entry (1/4 − √3/6): two heads; row 2 and b are positive: one.
//! assert_eq!(looped.head_counts(), vec![2, 1, 1]);
//! let y = Tensor::new(&[[0.5, 0.0, 0.0, 3f64.sqrt()]], &Device::Cpu).unwrap();
//! let out = looped.steps(&mut kepler_tokens, &[0.0], &y, 0.1, 3).unwrap();
//! assert_eq!(out.dims(), &[1, 4]);
//! ```

use attnum_classical::rk::Tableau;
use candle_core::{Tensor, Var};

use crate::tableau_heads::TableauHeads;
use crate::{AttentionError, Result};

/// The block's attention rows (one per stage, over all stages) and the output row `b`.
#[derive(Debug, Clone)]
pub struct LoopedRk {
    heads: TableauHeads,
}

impl LoopedRk {
    /// Compile any tableau, explicit or implicit: each row of `A` and `b` becomes zero, one or
    /// two scaled softmax heads over the `s` stage tokens.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for a non-finite entry (a [`Tableau`] has none).
    pub fn compile(tableau: &Tableau) -> Result<Self> {
        Ok(Self {
            heads: TableauHeads::compile(tableau)?,
        })
    }

    /// The number of stage tokens `s`.
    pub fn stages(&self) -> usize {
        self.heads.stages()
    }

    /// The heads of each row of `A`, then those of `b`.
    pub fn head_counts(&self) -> Vec<usize> {
        self.heads.head_counts()
    }

    /// The trainable parameters, by name (`a{i}.head{h}.scores`, …, `b.head{h}.scale`; rows
    /// numbered from 1).
    pub fn parameters(&self) -> Vec<(String, &Var)> {
        self.heads.parameters()
    }

    /// The tableau the attention applies, read back from its weights.
    ///
    /// # Errors
    /// A tensor error, or a tableau error.
    pub fn tableau(&self) -> Result<Tableau> {
        let (a, b) = self.heads.entries()?;
        Ok(Tableau::general(a, b, self.heads.c().to_vec())?)
    }

    /// `A` as an `(s, s)` tensor of attention weights and `b` as `(1, s)`.
    fn weights(&self) -> candle_core::Result<(Tensor, Tensor)> {
        let (rows, output) = self.heads.weights()?;
        Ok((Tensor::stack(&rows, 0)?, output.unsqueeze(0)?))
    }

    /// One step of size `h` with `sweeps` applications of the block, for a batch of starting
    /// points: `t` has one time per row of `y` (`(batch, dim)`), and the result is `(batch,
    /// dim)`. `f(times, tokens)` must act row by row: it gets `(rows, dim)` tokens with one time
    /// each and returns the `(rows, dim)` derivatives.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] when `t` and `y` disagree; a tensor error from the attention
    /// or from `f`.
    pub fn steps(
        &self,
        f: &mut impl FnMut(&[f64], &Tensor) -> candle_core::Result<Tensor>,
        t: &[f64],
        y: &Tensor,
        h: f64,
        sweeps: usize,
    ) -> Result<Tensor> {
        let (batch, dim) = y.dims2()?;
        if t.len() != batch {
            return Err(AttentionError::Invalid(format!(
                "{} times for {batch} starting points",
                t.len()
            )));
        }
        let s = self.stages();
        let (a, b) = self.weights()?;
        // Every token starts at f(t, y): the embedding is one evaluation, copied to s tokens.
        let mut k = f(t, y)?.unsqueeze(1)?.broadcast_as((batch, s, dim))?;
        let times: Vec<f64> = t
            .iter()
            .flat_map(|&tb| self.heads.c().iter().map(move |&ci| tb + ci * h))
            .collect();
        let residual = y.unsqueeze(1)?;
        for _ in 0..sweeps {
            // Attention over all stage tokens, scaled by h, added to y by the residual stream;
            // then f token by token.
            let mixed = a.broadcast_matmul(&k)?;
            let stage_y = residual.broadcast_add(&(mixed * h)?)?;
            k = f(&times, &stage_y.reshape((batch * s, dim))?)?.reshape((batch, s, dim))?;
        }
        Ok((y + (b.broadcast_matmul(&k)?.squeeze(1)? * h)?)?)
    }

    /// One step from a single point `y` (`(dim,)`): [`LoopedRk::steps`] with a batch of one.
    ///
    /// # Errors
    /// As [`LoopedRk::steps`].
    pub fn step(
        &self,
        f: &mut impl FnMut(&[f64], &Tensor) -> candle_core::Result<Tensor>,
        t: f64,
        y: &Tensor,
        h: f64,
        sweeps: usize,
    ) -> Result<Tensor> {
        Ok(self
            .steps(f, &[t], &y.unsqueeze(0)?, h, sweeps)?
            .squeeze(0)?)
    }
}

/// The Kepler problem `q'' = −q/|q|³` token by token: rows `(q₁, q₂, p₁, p₂)` of a `(rows, 4)`
/// tensor, the times unused.
///
/// # Errors
/// A tensor error (for instance tokens not of width 4).
pub fn kepler_tokens(_times: &[f64], y: &Tensor) -> candle_core::Result<Tensor> {
    let q = y.narrow(1, 0, 2)?;
    let p = y.narrow(1, 2, 2)?;
    let r3 = q.sqr()?.sum_keepdim(1)?.powf(1.5)?;
    Tensor::cat(&[p, q.broadcast_div(&r3)?.neg()?], 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEVICE;

    #[test]
    fn times_and_points_must_agree() {
        let looped = LoopedRk::compile(&Tableau::gauss_legendre(1).unwrap()).unwrap();
        let y = Tensor::zeros((2, 4), candle_core::DType::F64, &DEVICE).unwrap();
        let err = looped
            .steps(&mut kepler_tokens, &[0.0], &y, 0.1, 1)
            .unwrap_err();
        assert!(
            err.to_string().contains("1 times for 2 starting points"),
            "{err}"
        );
    }
}
