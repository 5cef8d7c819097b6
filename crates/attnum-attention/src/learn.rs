//! Meta-training attention on a family of functions: data, a reproducible optimiser loop, and
//! what the trained module has learned.
//!
//! * [`Family`]: random functions with exact derivatives — trigonometric polynomials
//!   `Σ_k (a_k cos kx + b_k sin kx)/k`, polynomials and sums of Gaussian bumps, all with
//!   standard normal coefficients.
//! * [`derivative_task`]: samples `f(x₀ + o_i h)` (optionally noisy) at fixed offsets around
//!   random points `x₀` with the target `h^m f^{(m)}(x₀)`.
//! * [`train`]: AdamW with a cosine learning-rate schedule and early stopping on a validation set
//!   (the best parameters are restored), every random number — initialisation, data, dropout —
//!   from a ChaCha generator seeded by the caller, so a run is bit-identical on one machine. The
//!   loss curve is returned.
//! * [`weights_safetensors`]: a trained module's parameters as a safetensors file.

use candle_core::{Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::{AttentionError, AttentionMethod, DEVICE, Result};

/// A family of random smooth functions with exact derivatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `Σ_{k=1}^{K} (a_k cos kx + b_k sin kx)/k`, `a, b` standard normal.
    Trigonometric {
        /// Highest frequency `K`.
        max_frequency: usize,
    },
    /// `Σ_{k=0}^{D} c_k x^k`, `c` standard normal.
    Polynomial {
        /// Degree `D`.
        degree: usize,
    },
    /// `Σ_{j=1}^{J} a_j exp(−(x − c_j)²/(2 s_j²))`, `a` standard normal, centres `c` uniform in
    /// `[−π, π]`, widths `s` uniform in `[0.5, 1.5]`.
    Bumps {
        /// Number of bumps `J`.
        count: usize,
    },
}

/// One function drawn from a [`Family`].
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    family: Family,
    coefficients: Vec<f64>,
}

impl Family {
    /// Draw a function.
    pub fn draw(self, rng: &mut ChaCha8Rng) -> Function {
        let coefficients = match self {
            Self::Trigonometric { max_frequency } => normal(rng, 2 * max_frequency, 1.0),
            Self::Polynomial { degree } => normal(rng, degree + 1, 1.0),
            Self::Bumps { count } => (0..count)
                .flat_map(|_| {
                    let a: f64 = StandardNormal.sample(rng);
                    let c = rng.random_range(-std::f64::consts::PI..std::f64::consts::PI);
                    let s = rng.random_range(0.5..1.5);
                    [a, c, s]
                })
                .collect(),
        };
        Function {
            family: self,
            coefficients,
        }
    }

    /// A short name for tables (`trigonometric`, `polynomial`, `bumps`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Trigonometric { .. } => "trigonometric",
            Self::Polynomial { .. } => "polynomial",
            Self::Bumps { .. } => "bumps",
        }
    }
}

impl Function {
    /// The derivative of order `order` (0 is the value) at `x`.
    ///
    /// # Panics
    /// For a sum of bumps and `order > 2`.
    pub fn derivative(&self, order: usize, x: f64) -> f64 {
        let c = &self.coefficients;
        match self.family {
            Family::Trigonometric { .. } => c
                .chunks(2)
                .enumerate()
                .map(|(k, ab)| {
                    // d^m/dx^m of (a cos kx + b sin kx)/k: the phase advances by m π/2.
                    let k = (k + 1) as f64;
                    let phase = k * x + order as f64 * std::f64::consts::FRAC_PI_2;
                    k.powi(order as i32 - 1) * (ab[0] * phase.cos() + ab[1] * phase.sin())
                })
                .sum(),
            Family::Polynomial { .. } => c
                .iter()
                .enumerate()
                .skip(order)
                .map(|(k, ck)| {
                    let falling: f64 = (k + 1 - order..=k).map(|j| j as f64).product();
                    ck * falling * x.powi((k - order) as i32)
                })
                .sum(),
            Family::Bumps { .. } => c
                .chunks(3)
                .map(|acs| {
                    // The m-th derivative of exp(−u²/2), u = (x − c)/s, is
                    // (−1)^m He_m(u) exp(−u²/2) s^{−m} (probabilists' Hermite polynomials).
                    let (a, centre, s) = (acs[0], acs[1], acs[2]);
                    let u = (x - centre) / s;
                    assert!(order <= 2, "bump derivatives are implemented to order 2");
                    let hermite = [1.0, u, u * u - 1.0][order];
                    let sign = if order.is_multiple_of(2) { 1.0 } else { -1.0 };
                    a * sign * hermite * (-0.5 * u * u).exp() / s.powi(order as i32)
                })
                .sum(),
        }
    }

    /// `f(x)`.
    pub fn value(&self, x: f64) -> f64 {
        self.derivative(0, x)
    }
}

/// Samples and targets: `inputs` `(count, n)`, `targets` `(count,)`.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Sample vectors.
    pub inputs: Tensor,
    /// Targets.
    pub targets: Tensor,
}

/// What a derivative task samples and asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivativeTask {
    /// Sample offsets in units of `h`.
    pub offsets: Vec<f64>,
    /// The step `h`.
    pub step: f64,
    /// The derivative asked for (1 or 2).
    pub order: usize,
    /// Standard deviation of the additive Gaussian noise on every sample.
    pub noise: f64,
}

/// `count` tasks: a function of `family` sampled at `x₀ + o_i h` for `x₀` uniform in
/// `[−π, π]` (plus noise), with the target `h^m f^{(m)}(x₀)` — the derivative in units of the
/// step, so that learned weights are stencil weights in units of `h`.
///
/// # Errors
/// A tensor error.
pub fn derivative_task(
    family: Family,
    task: &DerivativeTask,
    count: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Dataset> {
    let steps = vec![task.step; count];
    derivative_task_steps(family, task, &steps, rng)
}

/// [`derivative_task`] with its own step per example (`task.step` is ignored): example `k` is
/// sampled at `x₀ + o_i h_k` with the target `h_k^m f^{(m)}(x₀)`. The draws are those of
/// [`derivative_task`] (a function, then `x₀`, per example; the noise last).
///
/// # Errors
/// A tensor error.
pub fn derivative_task_steps(
    family: Family,
    task: &DerivativeTask,
    steps: &[f64],
    rng: &mut ChaCha8Rng,
) -> Result<Dataset> {
    let n = task.offsets.len();
    let count = steps.len();
    let mut inputs = Vec::with_capacity(count * n);
    let mut targets = Vec::with_capacity(count);
    for &step in steps {
        let f = family.draw(rng);
        let x0: f64 = rng.random_range(-std::f64::consts::PI..std::f64::consts::PI);
        inputs.extend(task.offsets.iter().map(|o| f.value(x0 + o * step)));
        targets.push(step.powi(task.order as i32) * f.derivative(task.order, x0));
    }
    if task.noise > 0.0 {
        for (v, e) in inputs.iter_mut().zip(normal(rng, count * n, task.noise)) {
            *v += e;
        }
    }
    Ok(Dataset {
        inputs: Tensor::from_vec(inputs, (count, n), &DEVICE)?,
        targets: Tensor::from_vec(targets, count, &DEVICE)?,
    })
}

/// `count` steps log-uniform in `[low, high]`: `h = low (high/low)^u`, `u` uniform in `[0, 1)`.
pub fn log_uniform_steps(low: f64, high: f64, count: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..count)
        .map(|_| {
            let u: f64 = rng.random();
            low * (high / low).powf(u)
        })
        .collect()
}

/// A documented pseudo-random stream for test sets, so that a reader can regenerate them
/// without this crate: SplitMix64 (Steele, Lea and Flood 2014) on a 64-bit state, uniform
/// numbers `u = (x >> 11) · 2⁻⁵³ ∈ [0, 1)` and standard normal ones by Box–Muller,
/// `z = √(−2 ln(1 − u₁)) cos(2π u₂)` (one normal per two uniforms).
#[derive(Debug, Clone)]
pub struct TestStream {
    state: u64,
}

impl TestStream {
    /// The stream of `seed` for purpose `stream`: the state starts at
    /// `seed · 2³² + stream` (wrapping).
    pub fn new(seed: u64, stream: u64) -> Self {
        Self {
            state: seed.wrapping_mul(1 << 32).wrapping_add(stream),
        }
    }

    /// The next 64-bit output of SplitMix64.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal number (Box–Muller, cosine branch).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// A function of `family` and its point `x₀` uniform in `[−π, π)`, in the order: the
    /// coefficients as [`Family::draw`] lays them out (trigonometric `a_1, b_1, a_2, b_2, …`;
    /// polynomial `c_0 … c_D`; per bump `a` normal, `c = −π + 2π u`, `s = 0.5 + u`), then
    /// `x₀ = −π + 2π u`.
    pub fn draw(&mut self, family: Family) -> (Function, f64) {
        use std::f64::consts::PI;
        let coefficients = match family {
            Family::Trigonometric { max_frequency } => {
                (0..2 * max_frequency).map(|_| self.normal()).collect()
            }
            Family::Polynomial { degree } => (0..=degree).map(|_| self.normal()).collect(),
            Family::Bumps { count } => (0..count)
                .flat_map(|_| {
                    let a = self.normal();
                    let c = -PI + 2.0 * PI * self.uniform();
                    let s = 0.5 + self.uniform();
                    [a, c, s]
                })
                .collect(),
        };
        let x0 = -PI + 2.0 * PI * self.uniform();
        (
            Function {
                family,
                coefficients,
            },
            x0,
        )
    }
}

/// Clean samples and targets of given functions at their points, each at every step of
/// `steps` in turn: `draws.len()` rows per step, the targets `h^m f^{(m)}(x₀)`.
///
/// # Errors
/// A tensor error.
pub fn derivative_samples(
    draws: &[(Function, f64)],
    offsets: &[f64],
    order: usize,
    step: f64,
) -> Result<Dataset> {
    let n = offsets.len();
    let mut inputs = Vec::with_capacity(draws.len() * n);
    let mut targets = Vec::with_capacity(draws.len());
    for (f, x0) in draws {
        inputs.extend(offsets.iter().map(|o| f.value(x0 + o * step)));
        targets.push(step.powi(order as i32) * f.derivative(order, *x0));
    }
    Ok(Dataset {
        inputs: Tensor::from_vec(inputs, (draws.len(), n), &DEVICE)?,
        targets: Tensor::from_vec(targets, draws.len(), &DEVICE)?,
    })
}

/// Settings of [`train`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainSettings {
    /// Full-batch optimisation steps at most.
    pub epochs: usize,
    /// Initial learning rate (cosine decay to 1% of it).
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Early stopping: stop after this many epochs without a better validation loss and restore
    /// the parameters of the best one. `None`: every epoch runs and the last parameters are kept
    /// (the validation loss is only recorded).
    pub patience: Option<usize>,
}

/// One epoch of the loss curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Epoch {
    /// Epoch index.
    pub epoch: usize,
    /// Mean squared error on the training set.
    pub train_loss: f64,
    /// Mean squared error on the validation set.
    pub validation_loss: f64,
    /// Learning rate used.
    pub learning_rate: f64,
}

/// Mean squared error of `module` on `data`.
///
/// # Errors
/// A tensor error.
pub fn mse(module: &dyn AttentionMethod, data: &Dataset) -> Result<f64> {
    mse_weighted(module, data, None)
}

/// Mean of `weight_k (out_k − target_k)²` over a dataset (unit weights when `None`).
///
/// # Errors
/// A tensor error.
pub fn mse_weighted(
    module: &dyn AttentionMethod,
    data: &Dataset,
    weights: Option<&Tensor>,
) -> Result<f64> {
    let diff = (module.forward(&data.inputs)? - &data.targets)?;
    let squares = diff.sqr()?;
    let squares = match weights {
        Some(w) => (squares * w)?,
        None => squares,
    };
    Ok(squares.mean_all()?.to_scalar::<f64>()?)
}

/// One epoch of [`train`] at a time: the module's parameters and their AdamW state, for a caller
/// that drives (or times) the steps itself.
pub struct Trainer<'m> {
    module: &'m dyn AttentionMethod,
    vars: Vec<Var>,
    optimizer: AdamW,
    settings: TrainSettings,
}

impl std::fmt::Debug for Trainer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("parameters", &self.vars.len())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<'m> Trainer<'m> {
    /// AdamW over every parameter of `module` (weight decay and initial learning rate from
    /// `settings`, the other constants candle's defaults).
    ///
    /// # Errors
    /// A tensor error.
    pub fn new(module: &'m dyn AttentionMethod, settings: &TrainSettings) -> Result<Self> {
        let vars: Vec<Var> = module
            .parameters()
            .into_iter()
            .map(|(_, v)| v.clone())
            .collect();
        let optimizer = AdamW::new(
            vars.clone(),
            ParamsAdamW {
                lr: settings.learning_rate,
                weight_decay: settings.weight_decay,
                ..ParamsAdamW::default()
            },
        )?;
        Ok(Self {
            module,
            vars,
            optimizer,
            settings: *settings,
        })
    }

    /// The parameters, in the order of [`AttentionMethod::parameters`].
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// Epoch `epoch`: the learning rate of the cosine schedule, the training forward pass on
    /// all of `train` (dropout masks from `dropout`), its (weighted) mean squared error, the backward pass
    /// and the AdamW update, then the validation loss (one evaluation forward pass).
    ///
    /// # Errors
    /// A tensor error (a non-finite loss is returned, not an error).
    pub fn step(
        &mut self,
        epoch: usize,
        (train, train_weights): (&Dataset, Option<&Tensor>),
        (validation, validation_weights): (&Dataset, Option<&Tensor>),
        dropout: &mut ChaCha8Rng,
    ) -> Result<Epoch> {
        let settings = &self.settings;
        let progress = epoch as f64 / settings.epochs.max(1) as f64;
        let lr = settings.learning_rate
            * (0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()));
        self.optimizer.set_learning_rate(lr);
        let diff = (self.module.forward_training(&train.inputs, dropout)? - &train.targets)?;
        let squares = diff.sqr()?;
        let squares = match train_weights {
            Some(w) => (squares * w)?,
            None => squares,
        };
        let loss = squares.mean_all()?;
        let train_loss = loss.to_scalar::<f64>()?;
        self.optimizer.backward_step(&loss)?;
        let validation_loss = mse_weighted(self.module, validation, validation_weights)?;
        Ok(Epoch {
            epoch,
            train_loss,
            validation_loss,
            learning_rate: lr,
        })
    }
}

/// Train `module` on `train`, with early stopping on `validation` when the settings have a
/// patience (the parameters with the best validation loss are then restored; without one, every
/// epoch runs and the last parameters are kept). `dropout` draws the masks of a module that uses
/// dropout in training. Returns the loss curve.
///
/// # Errors
/// A tensor error, or [`AttentionError::Invalid`] when the loss becomes non-finite.
pub fn train(
    module: &dyn AttentionMethod,
    train: &Dataset,
    validation: &Dataset,
    settings: &TrainSettings,
    dropout: &mut ChaCha8Rng,
) -> Result<Vec<Epoch>> {
    train_weighted(module, (train, None), (validation, None), settings, dropout)
}

/// [`train`] on the weighted loss `mean_k weight_k (out_k − target_k)²`, each dataset with its
/// per-example weights (unit weights for `None`): with targets `h_k^m f^{(m)}` and weights
/// `h_k^{−2m}` the loss is the mean squared error of the derivative itself.
///
/// # Errors
/// As [`train`].
pub fn train_weighted(
    module: &dyn AttentionMethod,
    train: (&Dataset, Option<&Tensor>),
    validation: (&Dataset, Option<&Tensor>),
    settings: &TrainSettings,
    dropout: &mut ChaCha8Rng,
) -> Result<Vec<Epoch>> {
    let mut trainer = Trainer::new(module, settings)?;
    let snapshot = |vars: &[Var]| -> candle_core::Result<Vec<Tensor>> {
        vars.iter().map(|v| v.as_tensor().copy()).collect()
    };
    let mut best = (f64::INFINITY, 0usize);
    let mut best_values = snapshot(trainer.vars())?;
    let mut curve = Vec::new();
    for epoch in 0..settings.epochs {
        let record = trainer.step(epoch, train, validation, dropout)?;
        if !(record.train_loss.is_finite() && record.validation_loss.is_finite()) {
            return Err(AttentionError::Invalid(format!(
                "the loss became non-finite at epoch {epoch}"
            )));
        }
        curve.push(record);
        let Some(patience) = settings.patience else {
            continue;
        };
        if record.validation_loss < best.0 {
            best = (record.validation_loss, epoch);
            best_values = snapshot(trainer.vars())?;
        } else if epoch - best.1 >= patience {
            break;
        }
    }
    if settings.patience.is_some() {
        for (var, value) in trainer.vars().iter().zip(&best_values) {
            var.set(value)?;
        }
    }
    Ok(curve)
}

/// A seeded generator for one purpose of one run: `(seed, stream)` give independent streams
/// (initialisation, training data, validation data, test data).
pub fn generator(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// `count` standard normal draws scaled by `scale`.
pub fn normal(rng: &mut ChaCha8Rng, count: usize, scale: f64) -> Vec<f64> {
    (0..count)
        .map(|_| {
            let z: f64 = StandardNormal.sample(rng);
            scale * z
        })
        .collect()
}

/// The module's parameters, by name, serialised as a safetensors file (deterministic: the
/// tensors are sorted by name).
///
/// # Errors
/// A tensor or serialisation error.
pub fn weights_safetensors(module: &dyn AttentionMethod) -> Result<Vec<u8>> {
    let tensors: Vec<(String, Tensor)> = module
        .parameters()
        .into_iter()
        .map(|(name, var)| (name, var.as_tensor().clone()))
        .collect();
    tensors_safetensors(&tensors, None)
}

/// Named tensors as a safetensors file with an optional metadata map (its `__metadata__`:
/// string keys and values, e.g. a model card), deterministic: tensors and keys sorted by name.
///
/// # Errors
/// A serialisation error.
pub fn tensors_safetensors(
    tensors: &[(String, Tensor)],
    metadata: Option<std::collections::HashMap<String, String>>,
) -> Result<Vec<u8>> {
    safetensors::tensor::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), metadata)
        .map_err(|e| AttentionError::Invalid(format!("cannot serialise the weights: {e}")))
}

/// A module whose output is multiplied by a fixed scale: trained on targets of standard
/// deviation `s`, the inner module then fits targets of unit size (the scale is not trained).
#[derive(Debug, Clone)]
pub struct ScaledOutput<M> {
    /// The module.
    pub inner: M,
    /// The fixed scale `s`.
    pub scale: f64,
}

impl<M: AttentionMethod> AttentionMethod for ScaledOutput<M> {
    fn inputs(&self) -> usize {
        self.inner.inputs()
    }

    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        self.inner.forward(values)? * self.scale
    }

    fn forward_training(
        &self,
        values: &Tensor,
        rng: &mut ChaCha8Rng,
    ) -> candle_core::Result<Tensor> {
        self.inner.forward_training(values, rng)? * self.scale
    }

    fn is_linear_in_values(&self) -> bool {
        self.inner.is_linear_in_values()
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        self.inner.parameters()
    }
}

/// The root mean square of a dataset's targets.
///
/// # Errors
/// A tensor error.
pub fn target_scale(data: &Dataset) -> Result<f64> {
    Ok(data.targets.sqr()?.mean_all()?.to_scalar::<f64>()?.sqrt())
}
