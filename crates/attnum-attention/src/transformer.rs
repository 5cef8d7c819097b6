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

/// How the position of a sample enters its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenPositions {
    /// The raw offset: sample tokens `(1, o_i, f_i, 0)`, the query token `(1, 0, 0, 1)`.
    #[default]
    Offsets,
    /// The Taylor features `φ(o) = (1, o, …, o^{n−1}/(n−1)!)` of the offset
    /// ([`crate::token::taylor_features`]): sample tokens `(φ(o_i), f_i, 0)`, the query token
    /// `(φ(0), 0, 1)`. On `n` distinct offsets these span every function of the position.
    Taylor,
}

/// Which stream the attention's values are projected from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValueStream {
    /// From the LayerNorm of the residual stream, as the queries and keys (the standard
    /// pre-normalised block): the value path saturates in the samples.
    #[default]
    Normalised,
    /// From the residual stream itself, un-normalised: with scores that do not depend on the
    /// samples, the attention's contribution is linear in them.
    Raw,
}

/// Options of a [`TokenTransformer`] beyond its size; the default is the original model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransformerOptions {
    /// How positions enter the tokens.
    pub positions: TokenPositions,
    /// Where the values come from.
    pub values: ValueStream,
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

    /// `x` `(batch, T, d)` through the block; dropout when `rng` is given; the values from `x`
    /// itself when `raw_values`, else from its LayerNorm.
    fn forward(
        &self,
        x: &Tensor,
        heads: usize,
        p: f64,
        raw_values: bool,
        mut rng: Option<&mut ChaCha8Rng>,
    ) -> candle_core::Result<Tensor> {
        let a = self.attention_norm.forward(x)?;
        // The three projections as one product with [W_q | W_k | W_v] (with a raw value
        // stream, the values project the block's input instead of its normalised copy), then
        // all heads of all rows in one kernel (a batch of thousands of 6×6 products costs far
        // more as separate GEMM calls).
        let projected = if raw_values {
            Tensor::cat(
                &[
                    project(&a, &self.query)?,
                    project(&a, &self.key)?,
                    project(x, &self.value)?,
                ],
                2,
            )?
        } else {
            let projections = Tensor::cat(
                &[
                    self.query.as_tensor(),
                    self.key.as_tensor(),
                    self.value.as_tensor(),
                ],
                1,
            )?;
            project_tensor(&a, &projections)?
        };
        let mixed = fused::attention(&projected, heads)?;
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
    /// The position features of the sample tokens, `(n, features − 2)`.
    offsets: Tensor,
    query_token: Tensor,
    embedding: Var,
    blocks: Vec<Block>,
    readout: Var,
    shape: TransformerShape,
    options: TransformerOptions,
}

impl TokenTransformer {
    /// A transformer over samples at `offsets`, its weights drawn from `rng` (embedding and
    /// projections `N(0, 1/fan-in)`, LayerNorm gains 1 and biases 0).
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for a width that is not a positive multiple of the heads, no
    /// block, or a dropout probability outside `[0, 1)`.
    pub fn new(offsets: &[f64], shape: TransformerShape, rng: &mut ChaCha8Rng) -> Result<Self> {
        Self::with_options(offsets, shape, TransformerOptions::default(), rng)
    }

    /// [`TokenTransformer::new`] with the given options (the embedding has one row per token
    /// feature: 4 for [`TokenPositions::Offsets`], `n + 2` for [`TokenPositions::Taylor`]).
    ///
    /// # Errors
    /// As [`TokenTransformer::new`].
    pub fn with_options(
        offsets: &[f64],
        shape: TransformerShape,
        options: TransformerOptions,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self> {
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
        let features = match options.positions {
            TokenPositions::Offsets => 4,
            TokenPositions::Taylor => offsets.len() + 2,
        };
        let embedding = matrix(rng, features, shape.width)?;
        let blocks = (0..shape.blocks)
            .map(|_| Block::new(rng, shape.width))
            .collect::<candle_core::Result<_>>()?;
        let readout = Var::from_vec(
            normal(rng, shape.width, 1.0 / (shape.width as f64).sqrt()),
            shape.width,
            &DEVICE,
        )?;
        let query_token: Vec<f64> = match options.positions {
            TokenPositions::Offsets => vec![1.0, 0.0, 0.0, 1.0],
            // (φ(0), 0, 1) = (1, 0, …, 0, 0, 1).
            TokenPositions::Taylor => {
                let mut token = vec![0.0; features];
                token[0] = 1.0;
                token[features - 1] = 1.0;
                token
            }
        };
        let position_features = match options.positions {
            TokenPositions::Offsets => offsets.iter().flat_map(|&o| [1.0, o]).collect::<Vec<f64>>(),
            TokenPositions::Taylor => {
                crate::token::taylor_features(offsets, offsets.len() - 1).concat()
            }
        };
        Ok(Self {
            offsets: Tensor::from_vec(position_features, (offsets.len(), features - 2), &DEVICE)?,
            query_token: Tensor::from_vec(query_token, (1, 1, features), &DEVICE)?,
            embedding,
            blocks,
            readout,
            shape,
            options,
        })
    }

    /// The size of the model.
    pub fn shape(&self) -> TransformerShape {
        self.shape
    }

    /// The model's options.
    pub fn options(&self) -> TransformerOptions {
        self.options
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
        // The position features of every sample token, (batch, n, features − 2).
        let (_, positions) = self.offsets.dims2()?;
        let position = self
            .offsets
            .unsqueeze(0)?
            .broadcast_as((batch, n, positions))?;
        let flag = values.zeros_like()?.unsqueeze(2)?;
        let samples = Tensor::cat(&[&position, &values.unsqueeze(2)?, &flag], 2)?;
        let query = self.query_token.broadcast_as((batch, 1, positions + 2))?;
        let tokens = Tensor::cat(&[&samples, &query], 1)?;
        let mut x = project(&tokens, &self.embedding)?;
        let raw_values = self.options.values == ValueStream::Raw;
        for block in &self.blocks {
            x = block.forward(
                &x,
                self.shape.heads,
                self.shape.dropout,
                raw_values,
                rng.as_deref_mut(),
            )?;
        }
        x.narrow(1, n, 1)?
            .squeeze(1)?
            .matmul(&self.readout.as_tensor().unsqueeze(1)?)?
            .squeeze(1)
    }
}

impl AttentionMethod for TokenTransformer {
    fn inputs(&self) -> usize {
        self.offsets.dim(0).unwrap_or(0)
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

impl TokenTransformer {
    /// A weight setting with which the transformer applies the linear stencil `weights` exactly
    /// (up to rounding) — the class of [`TokenPositions::Taylor`] with [`ValueStream::Raw`] and at
    /// least two heads contains every stencil on the offsets, the central difference included.
    ///
    /// The construction (width `d ≥ n + 3`; coordinates `0..n` for the nodes, `n` for the query,
    /// `d − 1` for the value): the embedding maps `φ(o_i)` to the unit vector `e_i`, the query
    /// token to `e_n`, and the value feature to `f_i·𝟙` — a multiple of the all-ones vector,
    /// which every LayerNorm removes, so the normalised stream, and with it every score, does
    /// not depend on the samples. In block 0, heads 0 and 1 score the tokens with the logits of
    /// two softmax heads whose difference is `weights` ([`crate::token`]'s signed heads; the
    /// query token a slot of weight 0), read the value `A_h x_{j,d−1} = A_h f_j` from the raw
    /// stream, and the output projection adds `±` that to every coordinate of the query's
    /// stream: `x_q ← e_n + (w·f) 𝟙`. Every feed-forward layer, every further head and every
    /// further block adds 0, and the read-out `(𝟙 − e_n)/(d − 1)` returns `w·f`.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for fewer than two heads, a width below `n + 3`, no offset or
    /// a weight vector of the wrong length; [`AttentionError::Singular`] for repeated offsets.
    pub fn representing(offsets: &[f64], shape: TransformerShape, weights: &[f64]) -> Result<Self> {
        let n = offsets.len();
        let d = shape.width;
        if shape.heads < 2 || d < n + 3 || n == 0 || weights.len() != n {
            return Err(AttentionError::Invalid(format!(
                "the construction needs two heads, width ≥ n + 3 and one weight per offset, got \
                 {} heads, width {d}, {} weights for {n} offsets",
                shape.heads,
                weights.len()
            )));
        }
        let options = TransformerOptions {
            positions: TokenPositions::Taylor,
            values: ValueStream::Raw,
        };
        let model = Self::with_options(
            offsets,
            shape,
            options,
            &mut <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0),
        )?;
        let phi = crate::token::taylor_features(offsets, n - 1);
        // Φ⁻¹, column by column.
        let mut inverse = vec![vec![0.0; n]; n];
        for j in 0..n {
            let mut unit = vec![0.0; n];
            unit[j] = 1.0;
            let column = crate::token::solve_square(phi.clone(), unit)?;
            for (row, x) in inverse.iter_mut().zip(column) {
                row[j] = x;
            }
        }
        let set = |var: &Var, values: Vec<f64>| -> Result<()> {
            let shape = var.as_tensor().shape().clone();
            var.set(&Tensor::from_vec(values, shape, &DEVICE)?)?;
            Ok(())
        };
        let features = n + 2;
        let mut embedding = vec![0.0; features * d];
        for k in 0..n {
            embedding[k * d..k * d + n].copy_from_slice(&inverse[k]);
        }
        embedding[n * d..(n + 1) * d].fill(1.0);
        for c in 0..d {
            embedding[(n + 1) * d + c] = f64::from(u8::from(c == n)) - embedding[c];
        }
        set(&model.embedding, embedding)?;
        // The LayerNorm scale of a unit vector over d coordinates.
        let s = ((1.0 - 1.0 / d as f64) / d as f64 + LayerNorm::EPSILON).sqrt();
        let head_width = d / shape.heads;
        for (index, block) in model.blocks.iter().enumerate() {
            let (mut query, mut key, mut value, mut output) = (
                vec![0.0; d * d],
                vec![0.0; d * d],
                vec![0.0; d * d],
                vec![0.0; d * d],
            );
            if index == 0 {
                let heads = crate::token::signed_heads(weights, n + 1, 0.25);
                for (h, (logits, scale)) in heads.into_iter().enumerate() {
                    let column = h * head_width;
                    let mean = logits.iter().sum::<f64>() / logits.len() as f64;
                    query[n * d + column] = s * (head_width as f64).sqrt();
                    query[(d - 1) * d + column] = -s * (head_width as f64).sqrt();
                    for (j, l) in logits.iter().enumerate() {
                        key[j * d + column] = s * (l - mean);
                    }
                    value[(d - 1) * d + column] = scale;
                    let sign = if h == 0 { 1.0 } else { -1.0 };
                    output[column * d..(column + 1) * d].fill(sign);
                }
            }
            set(&block.query, query)?;
            set(&block.key, key)?;
            set(&block.value, value)?;
            set(&block.output, output)?;
            set(&block.back, vec![0.0; 2 * d * d])?;
            set(&block.back_bias, vec![0.0; d])?;
        }
        let readout = (0..d)
            .map(|c| if c == n { 0.0 } else { 1.0 / (d - 1) as f64 })
            .collect();
        set(&model.readout, readout)?;
        Ok(model)
    }
}
