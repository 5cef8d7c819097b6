//! A quadrature rule as one scaled softmax head whose keys are trainable positions: where the
//! function is sampled is learned along with the weights.
//!
//! The head reads `n` key tokens; token `i` sits at the position `x_i = tanh(u_i) ∈ (−1, 1)`
//! ([`NodeMap::Tanh`]) or `x_i = u_i` ([`NodeMap::Free`]: nodes may leave the interval) and
//! has the score `s_i`; the query is fixed, so the attention weights are `softmax(s)` and the
//! output `e^λ Σ_i softmax(s)_i f(x_i)` estimates `∫_{−1}^{1} f`. A rule of positive weights is
//! exactly such a head (scale `e^λ = Σ w_i`), so Gauss–Legendre — the unique `n`-node rule exact
//! for degree `2n − 1` — is a minimum of zero loss on polynomials of that degree.
//!
//! The module's inputs are a function's Legendre coefficients `c_0 … c_{K−1}` (so that the
//! samples `f(x_i) = Σ_k c_k P_k(x_i)` are differentiable in the positions); its output is linear
//! in them, and its effective weights are the rule applied to each `P_k` — exactness to degree
//! `K − 1` means weights `(2, 0, …, 0)`.
//!
//! Its mean squared error on a set of such functions with coefficient matrix `C` (rows the
//! functions) and targets `2 c_0` is a quadratic form in the rule's moment errors
//! `e_k = Σ_i w_i P_k(x_i) − ∫P_k`: `|C e|² / N = |R e|²` with `RᵀR = CᵀC / N`. [`MomentLoss`]
//! evaluates it and its exact gradient in closed form, and [`train_exact`] runs the optimiser of
//! [`crate::learn::train`] (AdamW, cosine schedule, early stopping on a validation set) on that
//! gradient: the same training without a computation graph, hundreds of times faster for these
//! few parameters (`tests/learned_quadrature.rs` checks loss, gradient and trajectory against
//! candle's autograd and optimiser).

use candle_core::{Tensor, Var};

use crate::learn::{Epoch, TrainSettings};
use crate::{AttentionError, AttentionMethod, Result, parameter, vector};

/// How a trainable position `u_i` becomes a node `x_i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeMap {
    /// `x_i = tanh(u_i)`: every node stays inside `(−1, 1)`.
    Tanh,
    /// `x_i = u_i`: nodes are unbounded and may leave the interval.
    Free,
}

impl NodeMap {
    /// The node of position `u`.
    pub fn node(self, u: f64) -> f64 {
        match self {
            Self::Tanh => u.tanh(),
            Self::Free => u,
        }
    }

    /// The position of node `x` (the inverse of [`NodeMap::node`]; `x ∈ (−1, 1)` for `Tanh`).
    pub fn position(self, x: f64) -> f64 {
        match self {
            Self::Tanh => x.atanh(),
            Self::Free => x,
        }
    }

    /// `dx/du` at the node `x = node(u)`.
    fn slope(self, x: f64) -> f64 {
        match self {
            Self::Tanh => 1.0 - x * x,
            Self::Free => 1.0,
        }
    }

    fn admits(self, x: f64) -> bool {
        match self {
            Self::Tanh => x.abs() < 1.0,
            Self::Free => x.is_finite(),
        }
    }
}

/// One scaled softmax head over trainable (or fixed) node positions.
#[derive(Debug, Clone)]
pub struct LearnedQuadrature {
    /// `u` with nodes `tanh(u)` or `u` (trainable), or the fixed nodes.
    positions: Positions,
    scores: Var,
    log_scale: Var,
    degree: usize,
}

#[derive(Debug, Clone)]
enum Positions {
    Learned(Var, NodeMap),
    Fixed(Tensor),
}

impl LearnedQuadrature {
    /// A head with trainable nodes starting at `nodes` (each in `(−1, 1)`), scores `scores` and
    /// scale 1, reading Legendre coefficients up to `degree`.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for nodes outside `(−1, 1)` or a length mismatch.
    pub fn learned(nodes: &[f64], scores: &[f64], degree: usize) -> Result<Self> {
        Self::trainable(NodeMap::Tanh, nodes, scores, degree)
    }

    /// A head with trainable nodes mapped by `map`, starting at `nodes` (inside `(−1, 1)` for
    /// [`NodeMap::Tanh`], finite for [`NodeMap::Free`]), scores `scores` and scale 1.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for a node the map cannot reach or a length mismatch.
    pub fn trainable(map: NodeMap, nodes: &[f64], scores: &[f64], degree: usize) -> Result<Self> {
        if nodes.is_empty() || nodes.len() != scores.len() || !nodes.iter().all(|&x| map.admits(x))
        {
            return Err(AttentionError::Invalid(format!(
                "needs as many scores as nodes, every node reachable by {map:?}; got {} nodes \
                 {nodes:?} and {} scores",
                nodes.len(),
                scores.len()
            )));
        }
        let u: Vec<f64> = nodes.iter().map(|&x| map.position(x)).collect();
        Self::from_parameters(map, &u, scores, 0.0, degree)
    }

    /// A head with trainable nodes from its raw parameters: positions `u` (nodes `map(u)`),
    /// scores and log-scale `λ`.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for a length mismatch or a non-finite parameter.
    pub fn from_parameters(
        map: NodeMap,
        positions: &[f64],
        scores: &[f64],
        log_scale: f64,
        degree: usize,
    ) -> Result<Self> {
        if positions.is_empty()
            || positions.len() != scores.len()
            || !positions
                .iter()
                .chain(scores)
                .chain([&log_scale])
                .all(|v| v.is_finite())
        {
            return Err(AttentionError::Invalid(format!(
                "needs as many finite scores as finite positions; got {positions:?}, {scores:?} \
                 and log-scale {log_scale}"
            )));
        }
        Ok(Self {
            positions: Positions::Learned(parameter(positions)?, map),
            scores: parameter(scores)?,
            log_scale: parameter(&[log_scale])?,
            degree,
        })
    }

    /// A head with fixed nodes (in `[−1, 1]`) and trainable scores and scale.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for nodes outside `[−1, 1]` or a length mismatch.
    pub fn fixed(nodes: &[f64], scores: &[f64], degree: usize) -> Result<Self> {
        check(nodes, scores)?;
        Ok(Self {
            positions: Positions::Fixed(vector(nodes)?),
            scores: parameter(scores)?,
            log_scale: parameter(&[0.0])?,
            degree,
        })
    }

    fn node_tensor(&self) -> candle_core::Result<Tensor> {
        match &self.positions {
            Positions::Learned(u, NodeMap::Tanh) => u.as_tensor().tanh(),
            Positions::Learned(u, NodeMap::Free) => Ok(u.as_tensor().clone()),
            Positions::Fixed(x) => Ok(x.clone()),
        }
    }

    /// The current nodes.
    ///
    /// # Errors
    /// A tensor error.
    pub fn nodes(&self) -> Result<Vec<f64>> {
        Ok(self.node_tensor()?.to_vec1()?)
    }

    /// The current weights `e^λ softmax(s)`.
    ///
    /// # Errors
    /// A tensor error.
    pub fn weights(&self) -> Result<Vec<f64>> {
        Ok(self.weight_tensor()?.to_vec1()?)
    }

    fn weight_tensor(&self) -> candle_core::Result<Tensor> {
        let a = candle_nn::ops::softmax(self.scores.as_tensor(), candle_core::D::Minus1)?;
        a.broadcast_mul(&self.log_scale.as_tensor().exp()?)
    }
}

fn check(nodes: &[f64], scores: &[f64]) -> Result<()> {
    if nodes.is_empty() || nodes.len() != scores.len() || !nodes.iter().all(|&x| x.abs() <= 1.0) {
        return Err(AttentionError::Invalid(format!(
            "needs as many scores as nodes, all nodes inside [−1, 1]; got {} nodes {nodes:?} and \
             {} scores",
            nodes.len(),
            scores.len()
        )));
    }
    Ok(())
}

/// `P_0(x) … P_degree(x)` of a vector of nodes: shape `(degree + 1, n)`, by the three-term
/// recurrence `(k + 1) P_{k+1} = (2k + 1) x P_k − k P_{k−1}` (differentiable in `x`).
fn legendre_rows(x: &Tensor, degree: usize) -> candle_core::Result<Tensor> {
    let mut rows = vec![x.ones_like()?];
    if degree >= 1 {
        rows.push(x.clone());
    }
    for k in 1..degree {
        let k = k as f64;
        let next = (((x * &rows[rows.len() - 1])? * ((2.0 * k + 1.0) / (k + 1.0)))?
            - (&rows[rows.len() - 2] * (k / (k + 1.0)))?)?;
        rows.push(next);
    }
    Tensor::stack(&rows, 0)
}

impl AttentionMethod for LearnedQuadrature {
    fn inputs(&self) -> usize {
        self.degree + 1
    }

    /// Legendre coefficients `(batch, degree + 1)` → the rule's estimate of `∫_{−1}^{1} f`.
    fn forward(&self, coefficients: &Tensor) -> candle_core::Result<Tensor> {
        let samples = coefficients.matmul(&legendre_rows(&self.node_tensor()?, self.degree)?)?;
        samples
            .matmul(&self.weight_tensor()?.unsqueeze(1)?)?
            .squeeze(1)
    }

    fn is_linear_in_values(&self) -> bool {
        true
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        let mut all = Vec::new();
        if let Positions::Learned(u, _) = &self.positions {
            all.push(("positions".to_owned(), u));
        }
        all.push(("scores".to_owned(), &self.scores));
        all.push(("log_scale".to_owned(), &self.log_scale));
        all
    }
}

/// The parameters of a [`LearnedQuadrature`] as plain numbers, for [`MomentLoss`] and
/// [`train_exact`].
#[derive(Debug, Clone, PartialEq)]
pub struct RuleParameters {
    /// How positions become nodes; `None`: the positions are the nodes, and fixed.
    pub map: Option<NodeMap>,
    /// `u` (trainable nodes) or the fixed nodes.
    pub positions: Vec<f64>,
    /// The scores `s`.
    pub scores: Vec<f64>,
    /// The log-scale `λ`.
    pub log_scale: f64,
}

impl RuleParameters {
    /// Trainable nodes starting at `nodes`, scores `scores`, scale 1.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] as [`LearnedQuadrature::trainable`].
    pub fn trainable(map: NodeMap, nodes: &[f64], scores: &[f64]) -> Result<Self> {
        if nodes.is_empty() || nodes.len() != scores.len() || !nodes.iter().all(|&x| map.admits(x))
        {
            return Err(AttentionError::Invalid(format!(
                "needs as many scores as nodes, every node reachable by {map:?}; got {nodes:?} \\
                 and {scores:?}"
            )));
        }
        Ok(Self {
            map: Some(map),
            positions: nodes.iter().map(|&x| map.position(x)).collect(),
            scores: scores.to_vec(),
            log_scale: 0.0,
        })
    }

    /// Nodes fixed at `nodes`, scores `scores`, scale 1.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] as [`LearnedQuadrature::fixed`].
    pub fn fixed(nodes: &[f64], scores: &[f64]) -> Result<Self> {
        check(nodes, scores)?;
        Ok(Self {
            map: None,
            positions: nodes.to_vec(),
            scores: scores.to_vec(),
            log_scale: 0.0,
        })
    }

    /// The nodes.
    pub fn nodes(&self) -> Vec<f64> {
        match self.map {
            Some(map) => self.positions.iter().map(|&u| map.node(u)).collect(),
            None => self.positions.clone(),
        }
    }

    /// The weights `e^λ softmax(s)` (the softmax computed as candle's: shifted by the largest
    /// score).
    pub fn weights(&self) -> Vec<f64> {
        let top = self
            .scores
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = self.scores.iter().map(|s| (s - top).exp()).collect();
        let total: f64 = exps.iter().sum();
        let scale = self.log_scale.exp();
        exps.iter().map(|e| e / total * scale).collect()
    }

    /// The candle module with these parameters, reading Legendre coefficients to `degree`.
    ///
    /// # Errors
    /// As [`LearnedQuadrature::from_parameters`] and [`LearnedQuadrature::fixed`].
    pub fn head(&self, degree: usize) -> Result<LearnedQuadrature> {
        match self.map {
            Some(map) => LearnedQuadrature::from_parameters(
                map,
                &self.positions,
                &self.scores,
                self.log_scale,
                degree,
            ),
            None => {
                let mut head = LearnedQuadrature::fixed(&self.positions, &self.scores, degree)?;
                head.log_scale = parameter(&[self.log_scale])?;
                Ok(head)
            }
        }
    }

    /// The trainable values in the order of [`AttentionMethod::parameters`]: positions (when
    /// trainable), scores, log-scale.
    fn flat(&self) -> Vec<f64> {
        let mut all = Vec::with_capacity(2 * self.scores.len() + 1);
        if self.map.is_some() {
            all.extend(&self.positions);
        }
        all.extend(&self.scores);
        all.push(self.log_scale);
        all
    }

    fn set_flat(&mut self, values: &[f64]) {
        let n = self.scores.len();
        let rest = if self.map.is_some() {
            self.positions.copy_from_slice(&values[..n]);
            &values[n..]
        } else {
            values
        };
        self.scores.copy_from_slice(&rest[..n]);
        self.log_scale = rest[n];
    }
}

/// The mean squared error of a rule on polynomials given by their Legendre coefficients, with
/// targets `∫_{−1}^{1} f = 2 c_0`, as `|R e|²` with `RᵀR = CᵀC / N` (module docs).
#[derive(Debug, Clone)]
pub struct MomentLoss {
    /// `R` (upper triangular, row-major `K × K`).
    factor: Vec<f64>,
    /// `K = degree + 1`.
    size: usize,
}

/// `P_0(x) … P_{K−1}(x)` and their derivatives at `x`.
fn legendre_with_slopes(x: f64, size: usize, values: &mut [f64], slopes: &mut [f64]) {
    values[0] = 1.0;
    slopes[0] = 0.0;
    if size > 1 {
        values[1] = x;
        slopes[1] = 1.0;
    }
    for k in 1..size - 1 {
        let kf = k as f64;
        values[k + 1] = ((2.0 * kf + 1.0) * x * values[k] - kf * values[k - 1]) / (kf + 1.0);
        slopes[k + 1] = slopes[k - 1] + (2.0 * kf + 1.0) * values[k];
    }
}

impl MomentLoss {
    /// The loss on `coefficients` (`count` rows of `degree + 1` Legendre coefficients,
    /// row-major).
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] when the rows do not fill a matrix or its columns are not
    /// linearly independent (fewer functions than coefficients, or a degenerate draw).
    pub fn new(coefficients: &[f64], degree: usize) -> Result<Self> {
        let size = degree + 1;
        let count = coefficients.len() / size;
        if count * size != coefficients.len() || count < size {
            return Err(AttentionError::Invalid(format!(
                "{} coefficients are not at least {size} rows of {size}",
                coefficients.len()
            )));
        }
        // G = CᵀC / N, then its Cholesky factor G = LLᵀ; R = Lᵀ.
        let mut gram = vec![0.0; size * size];
        for row in coefficients.chunks(size) {
            for i in 0..size {
                for j in 0..=i {
                    gram[i * size + j] += row[i] * row[j];
                }
            }
        }
        let mut lower = vec![0.0; size * size];
        for i in 0..size {
            for j in 0..=i {
                let mut sum = gram[i * size + j] / count as f64;
                for k in 0..j {
                    sum -= lower[i * size + k] * lower[j * size + k];
                }
                if i == j {
                    if sum.is_nan() || sum <= 0.0 {
                        return Err(AttentionError::Invalid(
                            "the coefficient matrix does not have full column rank".to_owned(),
                        ));
                    }
                    lower[i * size + i] = sum.sqrt();
                } else {
                    lower[i * size + j] = sum / lower[j * size + j];
                }
            }
        }
        let mut factor = vec![0.0; size * size];
        for i in 0..size {
            for j in 0..=i {
                factor[j * size + i] = lower[i * size + j];
            }
        }
        Ok(Self { factor, size })
    }

    /// The degree of the polynomials.
    pub fn degree(&self) -> usize {
        self.size - 1
    }

    /// The moment errors `e_k = Σ_i w_i P_k(x_i) − ∫P_k` of a rule, `k < K`.
    pub fn moment_errors(&self, nodes: &[f64], weights: &[f64]) -> Vec<f64> {
        let k = self.size;
        let (mut p, mut dp) = (vec![0.0; k], vec![0.0; k]);
        let mut e = vec![0.0; k];
        e[0] = -2.0;
        for (&x, &w) in nodes.iter().zip(weights) {
            legendre_with_slopes(x, k, &mut p, &mut dp);
            for (ek, pk) in e.iter_mut().zip(&p) {
                *ek += w * pk;
            }
        }
        e
    }

    /// `R e`.
    fn residual(&self, e: &[f64]) -> Vec<f64> {
        let k = self.size;
        (0..k)
            .map(|i| (i..k).map(|j| self.factor[i * k + j] * e[j]).sum())
            .collect()
    }

    /// The loss of the rule with these nodes and weights.
    pub fn rule_loss(&self, nodes: &[f64], weights: &[f64]) -> f64 {
        self.residual(&self.moment_errors(nodes, weights))
            .iter()
            .map(|r| r * r)
            .sum()
    }

    /// The loss at `params` and its gradient with respect to the trainable values, in the order
    /// of [`AttentionMethod::parameters`] (positions when trainable, scores, log-scale).
    pub fn loss_and_gradient(&self, params: &RuleParameters) -> (f64, Vec<f64>) {
        let k = self.size;
        let nodes = params.nodes();
        let weights = params.weights();
        let e = self.moment_errors(&nodes, &weights);
        let r = self.residual(&e);
        let loss = r.iter().map(|v| v * v).sum();
        // ∂L/∂e = 2 Rᵀ R e.
        let de: Vec<f64> = (0..k)
            .map(|j| 2.0 * (0..=j).map(|i| self.factor[i * k + j] * r[i]).sum::<f64>())
            .collect();
        let n = nodes.len();
        let (mut p, mut dp) = (vec![0.0; k], vec![0.0; k]);
        let mut dw = vec![0.0; n];
        let mut du = vec![0.0; n];
        for i in 0..n {
            legendre_with_slopes(nodes[i], k, &mut p, &mut dp);
            dw[i] = de.iter().zip(&p).map(|(a, b)| a * b).sum();
            if let Some(map) = params.map {
                let dx: f64 = de.iter().zip(&dp).map(|(a, b)| a * b).sum();
                du[i] = weights[i] * dx * map.slope(nodes[i]);
            }
        }
        // w_i = S a_i with S = e^λ: ∂L/∂s_j = w_j (g_j − Σ_i a_i g_i), ∂L/∂λ = Σ_i g_i w_i.
        let scale = params.log_scale.exp();
        let mean: f64 = dw.iter().zip(&weights).map(|(g, w)| g * w).sum::<f64>() / scale;
        let mut gradient = Vec::with_capacity(2 * n + 1);
        if params.map.is_some() {
            gradient.extend(&du);
        }
        gradient.extend(dw.iter().zip(&weights).map(|(g, w)| w * (g - mean)));
        gradient.push(dw.iter().zip(&weights).map(|(g, w)| g * w).sum());
        (loss, gradient)
    }
}

/// [`crate::learn::train`] for a quadrature head on [`MomentLoss`]es: the same AdamW (candle's
/// update, default betas and ε), cosine schedule to 1% of the learning rate, early stopping and
/// restoring the parameters of the best validation loss, on the exact gradient. Returns the loss
/// curve.
///
/// # Errors
/// [`AttentionError::Invalid`] when the loss becomes non-finite.
pub fn train_exact(
    params: &mut RuleParameters,
    train: &MomentLoss,
    validation: &MomentLoss,
    settings: &TrainSettings,
) -> Result<Vec<Epoch>> {
    let mut work = params.clone();
    let mut check = params.clone();
    let run = train_closed_form(
        params.flat(),
        |theta| {
            work.set_flat(theta);
            train.loss_and_gradient(&work)
        },
        |theta| {
            check.set_flat(theta);
            validation.rule_loss(&check.nodes(), &check.weights())
        },
        settings,
    )?;
    params.set_flat(&run.best);
    Ok(run.curve)
}

/// What [`train_closed_form`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedFormRun {
    /// The parameters after the epoch with the smallest validation loss (the first such epoch):
    /// what early stopping returns.
    pub best: Vec<f64>,
    /// The parameters after the last epoch that ran.
    pub last: Vec<f64>,
    /// The loss curve, one entry per epoch that ran.
    pub curve: Vec<Epoch>,
}

/// The loop of [`crate::learn::train`] on plain numbers: full-batch AdamW (candle's update with
/// its default `β₁ = 0.9`, `β₂ = 0.999`, `ε = 10⁻⁸`; decoupled weight decay), the learning rate
/// decaying by a cosine to 1% of `settings.learning_rate`, the validation loss after each step,
/// early stopping after `settings.patience` epochs without a better one. `loss_and_gradient`
/// gives the training loss and its gradient at the parameters, `validation` the validation
/// loss. Returns the parameters of the best validation loss (the last ones without a patience),
/// the last parameters and the loss curve.
///
/// # Errors
/// [`AttentionError::Invalid`] when a loss becomes non-finite.
pub fn train_closed_form(
    mut theta: Vec<f64>,
    mut loss_and_gradient: impl FnMut(&[f64]) -> (f64, Vec<f64>),
    mut validation: impl FnMut(&[f64]) -> f64,
    settings: &TrainSettings,
) -> Result<ClosedFormRun> {
    let (beta1, beta2, eps) = (0.9f64, 0.999f64, 1e-8);
    let mut m = vec![0.0; theta.len()];
    let mut v = vec![0.0; theta.len()];
    let mut best = (f64::INFINITY, 0usize, theta.clone());
    let mut curve = Vec::new();
    for epoch in 0..settings.epochs {
        let progress = epoch as f64 / settings.epochs.max(1) as f64;
        let lr = settings.learning_rate
            * (0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()));
        let (train_loss, gradient) = loss_and_gradient(&theta);
        let step = (epoch + 1) as i32;
        let scale_m = 1.0 / (1.0 - beta1.powi(step));
        let scale_v = 1.0 / (1.0 - beta2.powi(step));
        for (((t, mi), vi), g) in theta.iter_mut().zip(&mut m).zip(&mut v).zip(&gradient) {
            *mi = *mi * beta1 + g * (1.0 - beta1);
            *vi = *vi * beta2 + g * g * (1.0 - beta2);
            let adjusted = (*mi * scale_m) / ((*vi * scale_v).sqrt() + eps);
            *t = *t * (1.0 - lr * settings.weight_decay) - adjusted * lr;
        }
        let validation_loss = validation(&theta);
        if !(train_loss.is_finite() && validation_loss.is_finite()) {
            return Err(AttentionError::Invalid(format!(
                "the loss became non-finite at epoch {epoch}"
            )));
        }
        curve.push(Epoch {
            epoch,
            train_loss,
            validation_loss,
            learning_rate: lr,
        });
        let Some(patience) = settings.patience else {
            continue;
        };
        if validation_loss < best.0 {
            best = (validation_loss, epoch, theta.clone());
        } else if epoch - best.1 >= patience {
            break;
        }
    }
    Ok(ClosedFormRun {
        best: if settings.patience.is_some() {
            best.2
        } else {
            theta.clone()
        },
        last: theta,
        curve,
    })
}
