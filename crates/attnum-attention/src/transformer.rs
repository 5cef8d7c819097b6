//! A small transformer over `(position, value)` tokens: multi-head self-attention, a
//! feed-forward layer, LayerNorm written from primitives, residual connections and seeded
//! dropout, stacked in blocks; the answer is read from a query token.
//!
//! The tokens are `z_i = (1, o_i, f_i, 0)` for the samples and `z_q = (1, 0, 0, 1)` for the
//! query (the last feature marks it), embedded by a trainable `4 × d` matrix. Each block is
//! pre-normalised:
//!
//! ```text
//! x ← x + Dropout(MultiHead(LN(x)))          heads of width d/H, scores ⟨q, k⟩/√(d/H)
//! x ← x + Dropout(W₂ GELU(W₁ LN(x) + b₁) + b₂)   hidden width 2d
//! ```
//!
//! and the output is `⟨x_q, w_out⟩` for the query token after the last block. There is no final
//! LayerNorm: it would make the output invariant to the scale of the query's state, while a
//! derivative scales with the function.

use candle_core::{Tensor, Var};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::fused;
use crate::learn::normal;
use crate::{AttentionError, AttentionMethod, DEVICE, Result};

/// The size of a [`TokenTransformer`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransformerShape {
    /// Model width `d` (a multiple of `heads`).
    pub width: usize,
    /// Attention heads per block `H`.
    pub heads: usize,
    /// Number of blocks.
    pub blocks: usize,
    /// Dropout probability in training (0 for none).
    pub dropout: f64,
}

/// LayerNorm over the last dimension with a trainable gain and bias.
#[derive(Debug, Clone)]
struct LayerNorm {
    gain: Var,
    bias: Var,
}

impl LayerNorm {
    const EPSILON: f64 = 1e-5;

    fn new(width: usize) -> candle_core::Result<Self> {
        Ok(Self {
            gain: Var::from_tensor(&Tensor::ones(width, candle_core::DType::F64, &DEVICE)?)?,
            bias: Var::from_tensor(&Tensor::zeros(width, candle_core::DType::F64, &DEVICE)?)?,
        })
    }

    /// `(x − mean) / √(var + ε) · gain + bias` over the last dimension (one fused kernel).
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        fused::layer_norm(
            x,
            self.gain.as_tensor(),
            self.bias.as_tensor(),
            Self::EPSILON,
        )
    }
}

/// One pre-normalised transformer block.
#[derive(Debug, Clone)]
struct Block {
    attention_norm: LayerNorm,
    query: Var,
    key: Var,
    value: Var,
    output: Var,
    feed_forward_norm: LayerNorm,
    hidden: Var,
    hidden_bias: Var,
    back: Var,
    back_bias: Var,
}

/// A matrix `rows × columns` with entries `N(0, 1/rows)` (variance-preserving).
fn matrix(rng: &mut ChaCha8Rng, rows: usize, columns: usize) -> candle_core::Result<Var> {
    let values = normal(rng, rows * columns, 1.0 / (rows as f64).sqrt());
    Var::from_tensor(&Tensor::from_vec(values, (rows, columns), &DEVICE)?)
}

fn zeros(width: usize) -> candle_core::Result<Var> {
    Var::from_tensor(&Tensor::zeros(width, candle_core::DType::F64, &DEVICE)?)
}

/// `x` `(batch, tokens, k)` times `w` `(k, m)`, as one matrix product.
fn project(x: &Tensor, w: &Var) -> candle_core::Result<Tensor> {
    project_tensor(x, w.as_tensor())
}

/// [`project`] for a matrix that is not a parameter itself.
fn project_tensor(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    let (batch, tokens, k) = x.dims3()?;
    let m = w.dim(1)?;
    x.reshape((batch * tokens, k))?
        .matmul(w)?
        .reshape((batch, tokens, m))
}

/// `x` with each entry zeroed with probability `p` and the rest scaled by `1/(1 − p)`.
fn dropout(x: &Tensor, p: f64, rng: &mut ChaCha8Rng) -> candle_core::Result<Tensor> {
    let mask: Vec<f64> = (0..x.elem_count())
        .map(|_| {
            if rng.random::<f64>() < p {
                0.0
            } else {
                1.0 / (1.0 - p)
            }
        })
        .collect();
    x * Tensor::from_vec(mask, x.shape(), &DEVICE)?
}

impl Block {
    fn new(rng: &mut ChaCha8Rng, width: usize) -> candle_core::Result<Self> {
        Ok(Self {
            attention_norm: LayerNorm::new(width)?,
            query: matrix(rng, width, width)?,
            key: matrix(rng, width, width)?,
            value: matrix(rng, width, width)?,
            output: matrix(rng, width, width)?,
            feed_forward_norm: LayerNorm::new(width)?,
            hidden: matrix(rng, width, 2 * width)?,
            hidden_bias: zeros(2 * width)?,
            back: matrix(rng, 2 * width, width)?,
            back_bias: zeros(width)?,
        })
    }

    /// `x` `(batch, T, d)` through the block; dropout when `rng` is given.
    fn forward(
        &self,
        x: &Tensor,
        heads: usize,
        p: f64,
        mut rng: Option<&mut ChaCha8Rng>,
    ) -> candle_core::Result<Tensor> {
        let a = self.attention_norm.forward(x)?;
        // The three projections as one product with [W_q | W_k | W_v], then all heads of all
        // rows in one kernel (a batch of thousands of 6×6 products costs far more as separate
        // GEMM calls).
        let projections = Tensor::cat(
            &[
                self.query.as_tensor(),
                self.key.as_tensor(),
                self.value.as_tensor(),
            ],
            1,
        )?;
        let mixed = fused::attention(&project_tensor(&a, &projections)?, heads)?;
        let mixed = project(&mixed, &self.output)?;
        let mixed = match rng.as_deref_mut() {
            Some(r) if p > 0.0 => dropout(&mixed, p, r)?,
            _ => mixed,
        };
        let x = (x + mixed)?;
        let b = self.feed_forward_norm.forward(&x)?;
        let hidden = fused::bias_gelu(&project(&b, &self.hidden)?, self.hidden_bias.as_tensor())?;
        match rng {
            Some(r) if p > 0.0 => {
                let back =
                    project(&hidden, &self.back)?.broadcast_add(self.back_bias.as_tensor())?;
                x + dropout(&back, p, r)?
            }
            _ => fused::residual_bias(
                &x,
                &project(&hidden, &self.back)?,
                self.back_bias.as_tensor(),
            ),
        }
    }

    fn parameters(&self, index: usize) -> Vec<(String, &Var)> {
        [
            ("attention_norm.gain", &self.attention_norm.gain),
            ("attention_norm.bias", &self.attention_norm.bias),
            ("attention.query", &self.query),
            ("attention.key", &self.key),
            ("attention.value", &self.value),
            ("attention.output", &self.output),
            ("feed_forward_norm.gain", &self.feed_forward_norm.gain),
            ("feed_forward_norm.bias", &self.feed_forward_norm.bias),
            ("feed_forward.hidden", &self.hidden),
            ("feed_forward.hidden_bias", &self.hidden_bias),
            ("feed_forward.back", &self.back),
            ("feed_forward.back_bias", &self.back_bias),
        ]
        .into_iter()
        .map(|(name, var)| (format!("block{index}.{name}"), var))
        .collect()
    }
}

/// A transformer over the tokens of samples at fixed offsets, answering at offset 0.
#[derive(Debug, Clone)]
pub struct TokenTransformer {
    offsets: Tensor,
    query_token: Tensor,
    embedding: Var,
    blocks: Vec<Block>,
    readout: Var,
    shape: TransformerShape,
}

impl TokenTransformer {
    /// A transformer over samples at `offsets`, its weights drawn from `rng` (embedding and
    /// projections `N(0, 1/fan-in)`, LayerNorm gains 1 and biases 0).
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for a width that is not a positive multiple of the heads, no
    /// block, or a dropout probability outside `[0, 1)`.
    pub fn new(offsets: &[f64], shape: TransformerShape, rng: &mut ChaCha8Rng) -> Result<Self> {
        if shape.heads == 0 || shape.width == 0 || !shape.width.is_multiple_of(shape.heads) {
            return Err(AttentionError::Invalid(format!(
                "the width {} must be a positive multiple of the heads {}",
                shape.width, shape.heads
            )));
        }
        if shape.blocks == 0 || !(0.0..1.0).contains(&shape.dropout) || offsets.is_empty() {
            return Err(AttentionError::Invalid(format!(
                "needs samples, at least one block and dropout in [0, 1), got {} offsets, {} \
                 blocks, dropout {}",
                offsets.len(),
                shape.blocks,
                shape.dropout
            )));
        }
        let embedding = matrix(rng, 4, shape.width)?;
        let blocks = (0..shape.blocks)
            .map(|_| Block::new(rng, shape.width))
            .collect::<candle_core::Result<_>>()?;
        let readout = Var::from_vec(
            normal(rng, shape.width, 1.0 / (shape.width as f64).sqrt()),
            shape.width,
            &DEVICE,
        )?;
        Ok(Self {
            offsets: Tensor::from_slice(offsets, offsets.len(), &DEVICE)?,
            query_token: Tensor::from_slice(&[1.0, 0.0, 0.0, 1.0], (1, 1, 4), &DEVICE)?,
            embedding,
            blocks,
            readout,
            shape,
        })
    }

    /// The size of the model.
    pub fn shape(&self) -> TransformerShape {
        self.shape
    }

    /// The number of trainable scalars.
    pub fn parameter_count(&self) -> usize {
        self.parameters()
            .iter()
            .map(|(_, v)| v.as_tensor().elem_count())
            .sum()
    }

    fn run(
        &self,
        values: &Tensor,
        mut rng: Option<&mut ChaCha8Rng>,
    ) -> candle_core::Result<Tensor> {
        let (batch, n) = values.dims2()?;
        let offsets = self.offsets.unsqueeze(0)?.broadcast_as((batch, n))?;
        let one = offsets.ones_like()?;
        let samples = Tensor::stack(&[&one, &offsets, values, &offsets.zeros_like()?], 2)?;
        let query = self.query_token.broadcast_as((batch, 1, 4))?;
        let tokens = Tensor::cat(&[&samples, &query], 1)?;
        let mut x = project(&tokens, &self.embedding)?;
        for block in &self.blocks {
            x = block.forward(&x, self.shape.heads, self.shape.dropout, rng.as_deref_mut())?;
        }
        x.narrow(1, n, 1)?
            .squeeze(1)?
            .matmul(&self.readout.as_tensor().unsqueeze(1)?)?
            .squeeze(1)
    }
}

impl AttentionMethod for TokenTransformer {
    fn inputs(&self) -> usize {
        self.offsets.dims1().unwrap_or(0)
    }

    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        self.run(values, None)
    }

    fn forward_training(
        &self,
        values: &Tensor,
        rng: &mut ChaCha8Rng,
    ) -> candle_core::Result<Tensor> {
        self.run(values, Some(rng))
    }

    fn is_linear_in_values(&self) -> bool {
        false
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        let mut all = vec![("embedding".to_owned(), &self.embedding)];
        for (i, block) in self.blocks.iter().enumerate() {
            all.extend(block.parameters(i));
        }
        all.push(("readout".to_owned(), &self.readout));
        all
    }
}
