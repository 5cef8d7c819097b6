//! Meta-training attention on a family of functions: data, a reproducible optimiser loop, and
//! what the trained module has learned.
//!
//! * [`Family`]: random functions with exact derivatives — trigonometric polynomials
//!   `Σ_k (a_k cos kx + b_k sin kx)/k` and cubic polynomials with standard normal coefficients.
//! * [`derivative_task`]: samples `f(x₀ + o_i h)` at fixed offsets around random points `x₀` with
//!   the target `h f'(x₀)` (the derivative in units of the step, so that the learned weights are
//!   stencil weights in units of `h`).
//! * [`train`]: AdamW with a cosine learning-rate schedule and early stopping on a validation set
//!   (the best parameters are restored), every random number from a ChaCha generator seeded by
//!   the caller, so a run is bit-identical on one machine. The loss curve is returned.

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
    /// `c₀ + c₁x + c₂x² + c₃x³`, `c` standard normal.
    Cubic,
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
        let count = match self {
            Self::Trigonometric { max_frequency } => 2 * max_frequency,
            Self::Cubic => 4,
        };
        Function {
            family: self,
            coefficients: (0..count).map(|_| StandardNormal.sample(rng)).collect(),
        }
    }
}

impl Function {
    /// `Σ_k term(k, a_k, b_k)` over the trigonometric coefficients, `k = 1, 2, …`.
    fn trigonometric_sum(&self, term: impl Fn(f64, f64, f64) -> f64) -> f64 {
        self.coefficients
            .chunks(2)
            .enumerate()
            .map(|(k, ab)| term((k + 1) as f64, ab[0], ab[1]))
            .sum()
    }

    /// `f(x)`.
    pub fn value(&self, x: f64) -> f64 {
        match self.family {
            Family::Trigonometric { .. } => {
                self.trigonometric_sum(|k, a, b| (a * (k * x).cos() + b * (k * x).sin()) / k)
            }
            Family::Cubic => self
                .coefficients
                .iter()
                .rev()
                .fold(0.0, |acc, c| acc * x + c),
        }
    }

    /// `f'(x)`.
    pub fn derivative(&self, x: f64) -> f64 {
        match self.family {
            Family::Trigonometric { .. } => {
                self.trigonometric_sum(|k, a, b| -a * (k * x).sin() + b * (k * x).cos())
            }
            Family::Cubic => {
                let c = &self.coefficients;
                c[1] + 2.0 * c[2] * x + 3.0 * c[3] * x * x
            }
        }
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

/// `count` tasks: a function of `family` sampled at `x₀ + o_i h` for `x₀` uniform in
/// `[−π, π]`, with the target `h f'(x₀)`.
///
/// # Errors
/// A tensor error.
pub fn derivative_task(
    family: Family,
    offsets: &[f64],
    h: f64,
    count: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Dataset> {
    let mut inputs = Vec::with_capacity(count * offsets.len());
    let mut targets = Vec::with_capacity(count);
    for _ in 0..count {
        let f = family.draw(rng);
        let x0: f64 = rng.random_range(-std::f64::consts::PI..std::f64::consts::PI);
        inputs.extend(offsets.iter().map(|o| f.value(x0 + o * h)));
        targets.push(h * f.derivative(x0));
    }
    Ok(Dataset {
        inputs: Tensor::from_vec(inputs, (count, offsets.len()), &DEVICE)?,
        targets: Tensor::from_vec(targets, count, &DEVICE)?,
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
    /// Stop after this many epochs without a better validation loss.
    pub patience: usize,
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
    let diff = (module.forward(&data.inputs)? - &data.targets)?;
    Ok(diff.sqr()?.mean_all()?.to_scalar::<f64>()?)
}

/// Train `module` on `train` with early stopping on `validation`; the parameters with the best
/// validation loss are restored. Returns the loss curve.
///
/// # Errors
/// A tensor error, or [`AttentionError::Invalid`] when the loss becomes non-finite.
pub fn train(
    module: &dyn AttentionMethod,
    train: &Dataset,
    validation: &Dataset,
    settings: &TrainSettings,
) -> Result<Vec<Epoch>> {
    let vars: Vec<Var> = module
        .parameters()
        .into_iter()
        .map(|(_, v)| v.clone())
        .collect();
    let mut optimizer = AdamW::new(
        vars.clone(),
        ParamsAdamW {
            lr: settings.learning_rate,
            weight_decay: settings.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    let mut best = (f64::INFINITY, 0usize);
    let mut best_values: Vec<Tensor> = vars
        .iter()
        .map(|v| v.as_tensor().copy())
        .collect::<candle_core::Result<_>>()?;
    let mut curve = Vec::new();
    for epoch in 0..settings.epochs {
        let progress = epoch as f64 / settings.epochs.max(1) as f64;
        let lr = settings.learning_rate
            * (0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()));
        optimizer.set_learning_rate(lr);
        let diff = (module.forward(&train.inputs)? - &train.targets)?;
        let loss = diff.sqr()?.mean_all()?;
        let train_loss = loss.to_scalar::<f64>()?;
        optimizer.backward_step(&loss)?;
        let validation_loss = mse(module, validation)?;
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
        if validation_loss < best.0 {
            best = (validation_loss, epoch);
            best_values = vars
                .iter()
                .map(|v| v.as_tensor().copy())
                .collect::<candle_core::Result<_>>()?;
        } else if epoch - best.1 >= settings.patience {
            break;
        }
    }
    for (var, value) in vars.iter().zip(&best_values) {
        var.set(value)?;
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
