//! What attention in its standard parametrisation can represent: for a classical target (a
//! derivative stencil applied at every grid point, a quadrature rule, a Runge–Kutta tableau,
//! the WENO5 reconstruction) and an architecture, the verdict *exact*, *in the limit* or
//! *impossible*, with the resources (heads per layer, layers or rounds of `f`) and the paper's
//! proposition that settles it. The same code answers `attnum stencil|quadrature|tableau` and
//! fills the paper's table "What attention can represent".
//!
//! Besides the verdicts the module holds the two constructions and two witnesses the verdicts
//! rest on: [`RelativeBiasStencil`], a stencil applied at every point of a periodic grid by
//! softmax heads whose relative-position biases are bounded by `B` (no masks: the finite-logit
//! limit); [`explicit_rounds`], the sequential rounds of `f` an explicit tableau needs; and the
//! numerical witnesses of two impossibilities, [`residual_head_best_error_constant`] (one head
//! plus the residual stream) and [`polynomial_key_residual`] (linear attention with absolute
//! polynomial keys on a whole grid).

use std::fmt;

use attnum_classical::fd::Stencil;
use attnum_classical::rk::Tableau;
use attnum_classical::savitzky_golay::OrthonormalPolynomials;
use attnum_classical::trees;
use candle_core::{D, DType, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::heads::heads_needed;
use crate::{AttentionError, AttentionMethod, DEVICE, Result};

/// How an architecture represents a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A construction with finite weights equals the target.
    Exact,
    /// The target is the limit of constructions as a logit bound, a loop count or a weight norm
    /// grows; the rate is in the proposition.
    InTheLimit,
    /// No setting of the weights equals the target (a proof, with a numerical witness).
    Impossible,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Exact => "exact",
            Verdict::InTheLimit => "in the limit",
            Verdict::Impossible => "impossible",
        })
    }
}

/// The architectures of the map, the columns of the paper's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// Linear attention (no softmax) with keys that are polynomials of the absolute position.
    LinearAbsoluteKeys,
    /// One softmax head with a signed output scale, nothing else.
    OneHead,
    /// One softmax head plus the residual stream (the query's own value added back).
    OneHeadResidual,
    /// As many softmax heads as needed in one layer (per round), with masks.
    FewestHeads,
    /// The same heads without masks: relative-position biases bounded by `B`.
    BoundedLogits,
    /// The sequential layers (rounds of `f` for a Runge–Kutta step) the cheapest construction
    /// needs.
    Depth,
}

impl Architecture {
    /// Every column, in the table's order.
    pub const ALL: [Architecture; 6] = [
        Architecture::LinearAbsoluteKeys,
        Architecture::OneHead,
        Architecture::OneHeadResidual,
        Architecture::FewestHeads,
        Architecture::BoundedLogits,
        Architecture::Depth,
    ];

    /// The column's name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Architecture::LinearAbsoluteKeys => "linear_absolute_keys",
            Architecture::OneHead => "one_head",
            Architecture::OneHeadResidual => "one_head_residual",
            Architecture::FewestHeads => "fewest_heads",
            Architecture::BoundedLogits => "bounded_logits",
            Architecture::Depth => "depth",
        }
    }
}

/// A classical method to be represented.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A derivative stencil (offsets in units of `h`), applied at every point of a grid.
    Stencil(&'a Stencil),
    /// A quadrature rule's weights, one functional of the samples.
    Rule(&'a [f64]),
    /// A Runge–Kutta tableau, explicit or implicit.
    Tableau(&'a Tableau),
    /// The WENO5-JS reconstruction.
    Weno5,
}

/// One cell of the map.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Exact, in the limit or impossible.
    pub verdict: Verdict,
    /// Softmax heads per layer of the construction (0 when impossible).
    pub heads: usize,
    /// Layers, or rounds of `f` for a tableau (0 when impossible).
    pub layers: usize,
    /// Whether the construction masks positions (scores −∞).
    pub masks: bool,
    /// The label of the paper's proposition that settles the cell.
    pub proposition: &'static str,
}

impl Cell {
    fn exact(heads: usize, layers: usize, masks: bool, proposition: &'static str) -> Self {
        Self {
            verdict: Verdict::Exact,
            heads,
            layers,
            masks,
            proposition,
        }
    }

    fn limit(heads: usize, layers: usize, proposition: &'static str) -> Self {
        Self {
            verdict: Verdict::InTheLimit,
            heads,
            layers,
            masks: false,
            proposition,
        }
    }

    fn impossible(proposition: &'static str) -> Self {
        Self {
            verdict: Verdict::Impossible,
            heads: 0,
            layers: 0,
            masks: false,
            proposition,
        }
    }

    /// One line for the command line: verdict and resources.
    pub fn describe(&self) -> String {
        match self.verdict {
            Verdict::Impossible => format!("impossible ({})", self.proposition),
            verdict => format!(
                "{verdict}: {} head{} per layer, {} layer{}{} ({})",
                self.heads,
                if self.heads == 1 { "" } else { "s" },
                self.layers,
                if self.layers == 1 { "" } else { "s" },
                if self.masks { ", masked" } else { ", no masks" },
                self.proposition
            ),
        }
    }
}

/// The sign classes (0, 1 or 2) among a stencil's weights off the centre offset: the heads one
/// layer needs when the residual stream supplies the centre weight.
pub fn off_centre_heads(stencil: &Stencil) -> usize {
    let off: Vec<f64> = stencil
        .offsets()
        .iter()
        .zip(stencil.weights())
        .filter(|(o, _)| **o != 0.0)
        .map(|(_, w)| *w)
        .collect();
    heads_needed(&off)
}

/// The sequential round of every stage of an explicit tableau (stage `i` runs in round
/// `1 + max{round(j) : a_ij ≠ 0}`), or `None` for an implicit tableau.
pub fn explicit_rounds(tableau: &Tableau) -> Option<Vec<usize>> {
    let a = tableau.a();
    let mut rounds: Vec<usize> = Vec::with_capacity(a.len());
    for (i, row) in a.iter().enumerate() {
        if row[i..].iter().any(|&x| x != 0.0) {
            return None;
        }
        let before = (0..i)
            .filter(|&j| row[j] != 0.0)
            .map(|j| rounds[j])
            .max()
            .unwrap_or(0);
        rounds.push(before + 1);
    }
    Some(rounds)
}

/// For an explicit tableau: the rounds of `f` the step needs (stages that the output does not
/// read, such as a first-same-as-last stage, are skipped) and the most softmax heads any round
/// uses (the stages of a round run side by side).
fn explicit_cost(
    tableau: &Tableau,
    rounds: &[usize],
    heads_of: impl Fn(&[f64]) -> usize,
) -> (usize, usize) {
    let a = tableau.a();
    let s = rounds.len();
    // A stage is needed when b reads it or a needed stage reads it.
    let mut needed: Vec<bool> = tableau.b().iter().map(|&b| b != 0.0).collect();
    for i in (0..s).rev() {
        if needed[i] {
            for j in 0..i {
                if a[i][j] != 0.0 {
                    needed[j] = true;
                }
            }
        }
    }
    let depth = (0..s).filter(|&i| needed[i]).map(|i| rounds[i]).max();
    let depth = depth.unwrap_or(0);
    // The stages of a round are queries of one layer. A head's value scale is shared by all its
    // queries, so the rows' different sums are absorbed by a zero-valued sink token, and one head
    // serves every row of the round that needs its sign.
    let heads = (1..=depth)
        .map(|r| {
            let entries: Vec<f64> = (0..s)
                .filter(|&i| needed[i] && rounds[i] == r)
                .flat_map(|i| a[i][..i].iter().copied())
                .collect();
            heads_of(&entries)
        })
        .chain(std::iter::once(heads_of(tableau.b())))
        .max()
        .unwrap_or(0);
    (depth, heads)
}

/// The softmax heads that weights need without masks, whose logits must stay finite: none for
/// zero weights, one when every weight is nonzero and of one sign, and otherwise two, whose
/// uniform parts cancel (the cancelling construction of [`RelativeBiasStencil`]).
pub fn unmasked_heads(weights: &[f64]) -> usize {
    if weights.iter().all(|&w| w == 0.0) {
        0
    } else if weights.iter().all(|&w| w > 0.0) || weights.iter().all(|&w| w < 0.0) {
        1
    } else {
        2
    }
}

/// Whether some stage row or `b` has zero entries among the stages it may read (a mask beyond
/// the causal one).
fn needs_masks(tableau: &Tableau) -> bool {
    tableau
        .a()
        .iter()
        .enumerate()
        .any(|(i, row)| row[..i].contains(&0.0))
        || tableau.b().contains(&0.0)
}

/// The verdict of one architecture on one target.
pub fn cell(target: Target<'_>, architecture: Architecture) -> Cell {
    use Architecture as A;
    match target {
        Target::Stencil(stencil) => {
            let heads = off_centre_heads(stencil);
            match architecture {
                A::LinearAbsoluteKeys => Cell::impossible("prop:linear-global"),
                A::OneHead => Cell::impossible("prop:single-head"),
                A::OneHeadResidual if heads <= 1 => Cell::exact(1, 1, true, "prop:residual-head"),
                A::OneHeadResidual => Cell::impossible("prop:residual-head"),
                A::FewestHeads | A::Depth => Cell::exact(heads, 1, true, "prop:two-heads"),
                A::BoundedLogits => Cell::exact(2, 1, false, "prop:finite-logits"),
            }
        }
        Target::Rule(weights) => {
            let heads = heads_needed(weights);
            let signed = heads == 2;
            match architecture {
                A::LinearAbsoluteKeys => Cell::exact(0, 1, false, "prop:linear-attention"),
                A::OneHead | A::OneHeadResidual if signed => {
                    Cell::impossible("prop:quadrature-heads")
                }
                A::OneHead | A::OneHeadResidual => {
                    Cell::exact(1, 1, false, "prop:quadrature-heads")
                }
                A::FewestHeads | A::Depth => Cell::exact(heads, 1, signed, "prop:quadrature-heads"),
                A::BoundedLogits => {
                    Cell::exact(unmasked_heads(weights), 1, false, "prop:finite-logits")
                }
            }
        }
        Target::Tableau(tableau) => match explicit_rounds(tableau) {
            Some(rounds) => {
                let (depth, heads) = explicit_cost(tableau, &rounds, heads_needed);
                let masks = needs_masks(tableau);
                match architecture {
                    A::LinearAbsoluteKeys => Cell::exact(0, depth, masks, "prop:rk-rounds"),
                    A::OneHead | A::OneHeadResidual => {
                        let single = tableau.a().iter().all(|row| heads_needed(row) <= 1)
                            && heads_needed(tableau.b()) <= 1;
                        if single {
                            Cell::exact(1, depth, masks, "prop:rk-attention")
                        } else {
                            Cell::impossible("prop:rk-attention")
                        }
                    }
                    A::FewestHeads | A::Depth => Cell::exact(heads, depth, masks, "prop:rk-rounds"),
                    A::BoundedLogits => {
                        let (_, unmasked) = explicit_cost(tableau, &rounds, unmasked_heads);
                        Cell::exact(unmasked, depth, false, "prop:finite-logits")
                    }
                }
            }
            None => {
                // A looped block computes all stages of a sweep side by side; K sweeps have order
                // min(K + 1, p), so p rounds of f reach the method's order p and the fixed point
                // itself only in the limit.
                // One block is one layer whose queries are all the stages (with a sink token, as
                // for explicit rounds).
                let entries: Vec<f64> = tableau.a().iter().flatten().copied().collect();
                let heads = heads_needed(&entries);
                let order = trees::order_of(tableau, 2 * tableau.stages() + 1, 1e-12);
                let single = tableau.a().iter().all(|row| heads_needed(row) <= 1)
                    && heads_needed(tableau.b()) <= 1;
                match architecture {
                    A::OneHead | A::OneHeadResidual if !single => {
                        Cell::impossible("prop:rk-attention")
                    }
                    A::OneHead | A::OneHeadResidual => Cell::limit(1, order, "prop:looped-rk"),
                    A::LinearAbsoluteKeys => Cell::limit(0, order, "prop:looped-rk"),
                    A::BoundedLogits => {
                        Cell::limit(unmasked_heads(&entries), order, "prop:looped-rk")
                    }
                    _ => Cell::limit(heads, order, "prop:looped-rk"),
                }
            }
        },
        // Exact with a logarithm in the token features; a standard MLP approximates it, and the
        // scores are unbounded below as the smoothness indicators grow.
        Target::Weno5 => match architecture {
            A::LinearAbsoluteKeys => Cell::impossible("prop:weno-attention"),
            _ => Cell::limit(1, 2, "prop:weno-attention"),
        },
    }
}

/// The cheapest attention that represents the target: the fewest heads per layer in the fewest
/// layers (the [`Architecture::Depth`] cell).
pub fn cheapest(target: Target<'_>) -> Cell {
    cell(target, Architecture::Depth)
}

/// A derivative stencil applied at every point of a periodic grid of `N` points by softmax heads
/// over *all* `N` positions (no masks) with relative-position biases, plus the residual stream
/// for the centre weight. Two constructions (the paper's finite-logit proposition):
///
/// * [`RelativeBiasStencil::per_sign`]: head `±` carries one sign class of the off-centre
///   weights, `c_± π_±` with `π_±` a distribution on its support `S_±` and `|c_±| = W^±`; its
///   bias is `B + ln(π_±(δ)/max π_±)` on `S_±` and `−B` elsewhere, so its weights are
///   `(1 − λ_±) π_± + λ_± u_±` with `u_±` uniform off `S_±` and the leak
///   `λ_± = n e^{−B} / (e^{B}/max π_± + n e^{−B})`, `n = N − |S_±|`: exact only as `B → ∞`;
/// * [`RelativeBiasStencil::cancelling`]: two heads with biases `ln(1 + A w^±(δ))` (centred),
///   i.e. weights `(1 + A w^±)/(N + A W^±)`, and scales `±(N + A W^±)/A`: the uniform parts
///   cancel and the stencil is exact at every `A > 0`, with logits bounded by
///   `½ ln(1 + A max|w|)` and value scales `(N + A W^±)/A`.
#[derive(Debug, Clone)]
pub struct RelativeBiasStencil {
    points: usize,
    centre: f64,
    /// Per head: the output scale `c` and the biases by relative offset `δ = 0 … N−1` (mod N).
    heads: Vec<(f64, Var)>,
    /// Per head of the per-sign construction, the leak `λ` in closed form; empty for the
    /// cancelling construction, whose uniform parts cancel exactly.
    leaks: Vec<f64>,
    /// `(N·N,)`: the relative offset `(j − i) mod N` of every pair, for the circulant matrix.
    relative: Tensor,
}

/// The off-centre weights of one sign by relative offset mod `points`, and the centre weight.
fn sign_classes(stencil: &Stencil, points: usize) -> Result<([Vec<f64>; 2], f64)> {
    let invalid = |message: String| Err(AttentionError::Invalid(message));
    let offsets = stencil.offsets();
    if offsets.iter().any(|o| o.fract() != 0.0) {
        return invalid(format!("offsets must be integers, got {offsets:?}"));
    }
    let span = offsets.iter().fold(0.0f64, |m, o| m.max(o.abs())) as usize;
    if points < 2 * span + 2 {
        return invalid(format!(
            "a periodic grid of {points} points cannot hold a stencil of half-width {span}"
        ));
    }
    let mut parts = [vec![0.0; points], vec![0.0; points]];
    let mut centre = 0.0;
    for (o, w) in offsets.iter().zip(stencil.weights()) {
        if *o == 0.0 {
            centre = *w;
        } else {
            let delta = (*o as i64).rem_euclid(points as i64) as usize;
            parts[usize::from(*w < 0.0)][delta] = w.abs();
        }
    }
    Ok((parts, centre))
}

impl RelativeBiasStencil {
    /// The per-sign construction for a periodic grid of `points` points with logit bound
    /// `bound` (one head per sign class of the off-centre weights).
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] when the offsets are not integers, the grid cannot hold the
    /// stencil, or `bound` is below `½ ln(max π / min π)`, where the biases cannot reach the
    /// stencil's weight ratios.
    pub fn per_sign(stencil: &Stencil, points: usize, bound: f64) -> Result<Self> {
        if !(bound.is_finite() && bound > 0.0) {
            return Err(AttentionError::Invalid(format!(
                "the logit bound must be positive and finite, got {bound}"
            )));
        }
        let (parts, centre) = sign_classes(stencil, points)?;
        let mut heads = Vec::new();
        let mut leaks = Vec::new();
        for (part, sign) in parts.iter().zip([1.0, -1.0]) {
            let support: Vec<(usize, f64)> = part
                .iter()
                .copied()
                .enumerate()
                .filter(|(_, w)| *w > 0.0)
                .collect();
            let total: f64 = support.iter().map(|(_, w)| w).sum();
            if total == 0.0 {
                continue;
            }
            let largest = support.iter().fold(0.0f64, |m, (_, w)| m.max(*w));
            let smallest = support.iter().fold(f64::INFINITY, |m, (_, w)| m.min(*w));
            if bound < 0.5 * (largest / smallest).ln() {
                return Err(AttentionError::Invalid(format!(
                    "the logit bound {bound} is below ½ ln(max/min weight) = {}",
                    0.5 * (largest / smallest).ln()
                )));
            }
            let mut bias = vec![-bound; points];
            for &(delta, w) in &support {
                bias[delta] = bound + (w / largest).ln();
            }
            heads.push((sign * total, Var::from_tensor(&crate::vector(&bias)?)?));
            let outside = (points - support.len()) as f64 * (-bound).exp();
            leaks.push(outside / (bound.exp() * total / largest + outside));
        }
        Self::assemble(points, centre, heads, leaks)
    }

    /// The cancelling construction for a periodic grid of `points` points: two heads whose
    /// uniform parts cancel, exact for every `scale` `A > 0`.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] when the offsets are not integers, the grid cannot hold the
    /// stencil, or `scale` is not positive and finite.
    pub fn cancelling(stencil: &Stencil, points: usize, scale: f64) -> Result<Self> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(AttentionError::Invalid(format!(
                "the cancellation scale A must be positive and finite, got {scale}"
            )));
        }
        let (parts, centre) = sign_classes(stencil, points)?;
        let mut heads = Vec::new();
        for (part, sign) in parts.iter().zip([1.0, -1.0]) {
            // Softmax weights (1 + A w(δ)) / (N + A W): logits ln(1 + A w), centred.
            let logits: Vec<f64> = part.iter().map(|w| (scale * w).ln_1p()).collect();
            let middle = logits.iter().fold(0.0f64, |m, l| m.max(*l)) / 2.0;
            let bias: Vec<f64> = logits.iter().map(|l| l - middle).collect();
            let total: f64 = part.iter().sum();
            let value = sign * (points as f64 + scale * total) / scale;
            heads.push((value, Var::from_tensor(&crate::vector(&bias)?)?));
        }
        Self::assemble(points, centre, heads, Vec::new())
    }

    fn assemble(
        points: usize,
        centre: f64,
        heads: Vec<(f64, Var)>,
        leaks: Vec<f64>,
    ) -> Result<Self> {
        let relative: Vec<u32> = (0..points)
            .flat_map(|i| (0..points).map(move |j| ((j + points - i) % points) as u32))
            .collect();
        Ok(Self {
            points,
            centre,
            heads,
            leaks,
            relative: Tensor::from_vec(relative, points * points, &DEVICE)?,
        })
    }

    /// The largest `|logit|` of any head.
    ///
    /// # Errors
    /// A tensor error.
    pub fn logit_bound(&self) -> candle_core::Result<f64> {
        let mut bound = 0.0f64;
        for (_, bias) in &self.heads {
            for b in bias.as_tensor().to_vec1::<f64>()? {
                bound = bound.max(b.abs());
            }
        }
        Ok(bound)
    }

    /// The largest `|c|` of any head's value (output) scale.
    pub fn value_scale(&self) -> f64 {
        self.heads.iter().fold(0.0f64, |m, (c, _)| m.max(c.abs()))
    }

    /// The number of heads.
    pub fn head_count(&self) -> usize {
        self.heads.len()
    }

    /// Per head of the per-sign construction: `(|c|, λ)`, the output scale and the weight the
    /// head leaks off its support (empty for the cancelling construction).
    pub fn leaks(&self) -> Vec<(f64, f64)> {
        self.heads
            .iter()
            .zip(&self.leaks)
            .map(|((scale, _), leak)| (scale.abs(), *leak))
            .collect()
    }

    /// For the per-sign construction, the bound `Σ_± |c_±| λ_± · osc` on `|Σ_δ (w_eff − w)(δ) f_{i+δ}|` for samples whose
    /// oscillation `max f − min f` is `osc` (multiply by `h^{-m}` for the derivative).
    pub fn leak_bound(&self, oscillation: f64) -> f64 {
        self.leaks().iter().map(|(c, l)| c * l).sum::<f64>() * oscillation
    }

    /// The effective stencil by relative offset `δ = 0 … N−1` (mod N): `(N,)`.
    ///
    /// # Errors
    /// A tensor error.
    pub fn effective_stencil(&self) -> candle_core::Result<Tensor> {
        let mut total = Tensor::zeros(self.points, DType::F64, &DEVICE)?;
        for (scale, bias) in &self.heads {
            let p = candle_nn::ops::softmax(bias.as_tensor(), D::Minus1)?;
            total = (total + (p * *scale)?)?;
        }
        let mut centre = vec![0.0; self.points];
        centre[0] = self.centre;
        total + crate::vector(&centre)?
    }

    /// The stencil applied at every point of a batch of periodic grids `(batch, N)`, in units
    /// of `h^{-m}` (multiply by `h^{-m}` for the derivative): `(batch, N)`. Each head is applied
    /// and scaled on its own and the outputs are summed, as a multi-head layer does, so the
    /// rounding of a cancellation between heads is the one a transformer would see.
    ///
    /// # Errors
    /// A tensor error.
    pub fn apply_periodic(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        let mut out = (values * self.centre)?;
        for (scale, bias) in &self.heads {
            let p = candle_nn::ops::softmax(bias.as_tensor(), D::Minus1)?;
            let circulant = p
                .index_select(&self.relative, 0)?
                .reshape((self.points, self.points))?;
            out = (out + (values.matmul(&circulant.t()?)? * *scale)?)?;
        }
        Ok(out)
    }
}

impl AttentionMethod for RelativeBiasStencil {
    fn inputs(&self) -> usize {
        self.points
    }

    /// The output at grid point 0.
    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        values
            .matmul(&self.effective_stencil()?.unsqueeze(1)?)?
            .squeeze(1)
    }

    fn is_linear_in_values(&self) -> bool {
        true
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        self.heads
            .iter()
            .enumerate()
            .map(|(i, (_, bias))| (format!("head{i}.bias"), bias))
            .collect()
    }
}

/// The smallest `|C|` found for a first-derivative stencil `c (e₀ − p)` (one softmax head `p`
/// over the offsets `−window … window`, the residual stream and a scale fixing the first
/// moment to 1), where `C = Σ w_o o² / 2` is the leading error constant: Adam on the head's
/// logits from `starts` random starts (logits drawn uniformly in `[−spread, spread]`), `steps`
/// steps each. The paper proves `|C| ≥ 1/2`; this is the numerical witness.
///
/// # Errors
/// [`AttentionError::Invalid`] for an empty window or no starts; a tensor error.
pub fn residual_head_best_error_constant(
    window: usize,
    starts: usize,
    steps: usize,
    spread: f64,
    seed: u64,
) -> Result<f64> {
    if window == 0 || starts == 0 {
        return Err(AttentionError::Invalid(
            "the witness needs a window of at least one offset and at least one start".into(),
        ));
    }
    let offsets: Vec<f64> = (-(window as i64)..=window as i64)
        .map(|o| o as f64)
        .collect();
    let o = crate::vector(&offsets)?;
    let o2 = o.sqr()?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut best = f64::INFINITY;
    let constant = |logits: &Var| -> candle_core::Result<Tensor> {
        // w = c(e₀ − p), c = −1/Σ p o  ⇒  C = Σ w o²/2 = Σ p o² / (2 Σ p o).
        let p = candle_nn::ops::softmax(logits.as_tensor(), D::Minus1)?;
        let first = (&p * &o)?.sum_all()?;
        let second = (&p * &o2)?.sum_all()?;
        (second / (first * 2.0)?)?.abs()
    };
    for _ in 0..starts {
        let init: Vec<f64> = (0..offsets.len())
            .map(|_| rng.random_range(-spread..=spread))
            .collect();
        let logits = Var::from_tensor(&crate::vector(&init)?)?;
        let mut optimizer = AdamW::new(
            vec![logits.clone()],
            ParamsAdamW {
                lr: 0.05,
                weight_decay: 0.0,
                ..ParamsAdamW::default()
            },
        )?;
        for _ in 0..steps {
            let loss = constant(&logits)?;
            let value = loss.to_scalar::<f64>()?;
            if value.is_finite() {
                best = best.min(value);
            }
            optimizer.backward_step(&loss)?;
        }
        let value = constant(&logits)?.to_scalar::<f64>()?;
        if value.is_finite() {
            best = best.min(value);
        }
    }
    Ok(best)
}

/// The relative least-squares residual `‖w − Π w‖ / ‖w‖` of a stencil placed on a grid of
/// `points` equispaced positions (centred), where `Π` projects onto the polynomials of degree
/// `degree` in the absolute position: how far linear attention with polynomial keys of that
/// degree stays from the stencil, whatever its query. Zero only if the stencil's weights are a
/// polynomial of that degree on the whole grid.
///
/// # Errors
/// [`AttentionError::Invalid`] when the grid cannot hold the stencil; a stencil error when the
/// degree is not below the number of points.
pub fn polynomial_key_residual(stencil: &Stencil, points: usize, degree: usize) -> Result<f64> {
    let centre = points / 2;
    let mut w = vec![0.0; points];
    for (o, weight) in stencil.offsets().iter().zip(stencil.weights()) {
        let at = centre as i64 + *o as i64;
        if o.fract() != 0.0 || at < 0 || at >= points as i64 {
            return Err(AttentionError::Invalid(format!(
                "a grid of {points} points cannot hold offset {o}"
            )));
        }
        w[at as usize] = *weight;
    }
    let grid: Vec<f64> = (0..points).map(|i| i as f64 - centre as f64).collect();
    let basis = OrthonormalPolynomials::new(&grid, degree)?;
    let mut residual = w.clone();
    for column in basis.columns() {
        let dot: f64 = column.iter().zip(&w).map(|(q, x)| q * x).sum();
        for (r, q) in residual.iter_mut().zip(column) {
            *r -= dot * q;
        }
    }
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    Ok(norm(&residual) / norm(&w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use attnum_classical::fd::StencilKind;
    use attnum_classical::rk::named_method;

    fn central(deriv: usize, order: usize) -> Stencil {
        Stencil::by_accuracy(StencilKind::Central, deriv, order).unwrap()
    }

    #[test]
    fn one_head_and_the_residual_reach_exactly_the_one_signed_stencils() {
        // Forward difference (−1, 1) and the 3-point Laplacian (1, −2, 1): off-centre weights
        // of one sign. The central difference (−1/2, 0, 1/2): two signs.
        let forward = Stencil::by_accuracy(StencilKind::Forward, 1, 1).unwrap();
        let laplacian = central(2, 2);
        for s in [&forward, &laplacian] {
            let c = cell(Target::Stencil(s), Architecture::OneHeadResidual);
            assert_eq!(c.verdict, Verdict::Exact, "{:?}", s.weights());
        }
        for s in [central(1, 2), central(1, 4), central(2, 4)] {
            let c = cell(Target::Stencil(&s), Architecture::OneHeadResidual);
            assert_eq!(c.verdict, Verdict::Impossible, "{:?}", s.weights());
            assert_eq!(cheapest(Target::Stencil(&s)).heads, 2);
        }
    }

    #[test]
    fn rounds_are_the_longest_chain_of_stages_the_output_reads() {
        let rounds = |name: &str| {
            let t = named_method(name).unwrap().tableau;
            cheapest(Target::Tableau(&t)).layers
        };
        assert_eq!(rounds("euler"), 1);
        assert_eq!(rounds("rk4"), 4);
        assert_eq!(rounds("ssprk3"), 3);
        // Dormand–Prince: seven stages, the seventh (first same as last) is not read by b.
        assert_eq!(rounds("dormand-prince5"), 6);
    }

    #[test]
    fn implicit_tableaus_are_reached_in_the_limit_in_as_many_rounds_as_their_order() {
        for stages in 1..=3 {
            let gauss = Tableau::gauss_legendre(stages).unwrap();
            let cheapest = cheapest(Target::Tableau(&gauss));
            assert_eq!(cheapest.verdict, Verdict::InTheLimit);
            assert_eq!(cheapest.layers, 2 * stages, "order 2s in 2s rounds");
        }
        // Without masks RK4's rows with zeros need the cancelling pair; Heun's do not.
        let rk4 = named_method("rk4").unwrap().tableau;
        assert_eq!(
            cell(Target::Tableau(&rk4), Architecture::BoundedLogits).heads,
            2
        );
        let heun = named_method("heun2").unwrap().tableau;
        assert_eq!(
            cell(Target::Tableau(&heun), Architecture::BoundedLogits).heads,
            1
        );
        assert_eq!(unmasked_heads(&[0.5, 0.0, 0.5]), 2);
        assert_eq!(unmasked_heads(&[-0.5, -0.5]), 1);
    }

    #[test]
    fn bounded_biases_leak_exactly_as_predicted_and_converge() {
        let stencil = central(1, 4);
        let n = 64;
        for bound in [2.0, 5.0, 10.0] {
            let module = RelativeBiasStencil::per_sign(&stencil, n, bound).unwrap();
            let w = module
                .effective_stencil()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            // Positive head: 2/3 at +1 and 1/12 at −2, scale 3/4, biases B and B − ln 8 there
            // and −B at the other N − 2 offsets; the negative head is its mirror image.
            let (up, down) = (bound.exp(), (-bound).exp());
            let z = up * 9.0 / 8.0 + (n - 2) as f64 * down;
            // Off both supports the two heads' leaks cancel; on +1 the negative head's leak
            // subtracts from the positive head's weight.
            assert!(w[10].abs() < 1e-16, "{}", w[10]);
            let at_one = 0.75 * (up - down) / z;
            for (_, leak) in module.leaks() {
                assert!((leak - (n - 2) as f64 * down / z).abs() < 1e-16);
            }
            assert!((w[1] - at_one).abs() < 1e-14, "{} vs {at_one}", w[1]);
            assert!(
                w.iter().sum::<f64>().abs() < 1e-14,
                "consistency survives: {w:?}"
            );
        }
        let exact = RelativeBiasStencil::per_sign(&stencil, n, 25.0).unwrap();
        let w = exact.effective_stencil().unwrap().to_vec1::<f64>().unwrap();
        for (o, expected) in stencil.offsets().iter().zip(stencil.weights()) {
            let delta = (*o as i64).rem_euclid(n as i64) as usize;
            assert!(
                (w[delta] - expected).abs() < 1e-14,
                "{o}: {} vs {expected}",
                w[delta]
            );
        }
        assert!(RelativeBiasStencil::per_sign(&stencil, 4, 5.0).is_err());
        // The cancelling construction is exact at a small logit bound; its cost is the value
        // scale (N + A W)/A.
        for scale in [0.5, 64.0] {
            let module = RelativeBiasStencil::cancelling(&stencil, n, scale).unwrap();
            let w = module
                .effective_stencil()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            for (delta, weight) in w.iter().enumerate() {
                let expected = stencil
                    .offsets()
                    .iter()
                    .zip(stencil.weights())
                    .find(|(o, _)| (**o as i64).rem_euclid(n as i64) as usize == delta)
                    .map_or(0.0, |(_, w)| *w);
                assert!(
                    (weight - expected).abs() < 1e-13,
                    "A = {scale}, δ = {delta}: {weight}"
                );
            }
            let bound = 0.5 * (1.0 + scale * 2.0 / 3.0).ln();
            assert!((module.logit_bound().unwrap() - bound).abs() < 1e-15);
            assert!((module.value_scale() - (n as f64 + scale * 0.75) / scale).abs() < 1e-12);
        }
        assert!(RelativeBiasStencil::per_sign(&stencil, n, 0.5).is_err());
    }

    #[test]
    fn the_residual_head_witness_stays_above_one_half() {
        let best = residual_head_best_error_constant(3, 8, 200, 3.0, 7).unwrap();
        assert!(best >= 0.5 - 1e-12, "{best}");
        assert!(best < 0.6, "the optimiser approaches the bound: {best}");
    }

    #[test]
    fn polynomial_keys_never_fit_a_local_stencil_on_a_whole_grid() {
        let stencil = central(1, 2);
        for degree in [1, 3, 6] {
            let r = polynomial_key_residual(&stencil, 32, degree).unwrap();
            assert!(r > 0.5, "degree {degree}: {r}");
        }
        // On a grid no larger than the degree allows, the fit is exact.
        assert!(polynomial_key_residual(&stencil, 3, 2).unwrap() < 1e-14);
    }
}
