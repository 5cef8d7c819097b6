//! Checks shared by the tests of the closed-form training of the learned quadrature head and the
//! learned Runge–Kutta step: a loss and gradient written out by hand equal candle's mean squared
//! error and its autograd gradient, and a closed-form training run follows candle's.

use attnum_attention::AttentionMethod;
use attnum_attention::learn::{Dataset, Epoch, TrainSettings, mse};

/// The optimiser settings of the trajectory comparisons: `epochs` full-batch AdamW steps,
/// learning rate 0.03, weight decay 0.01, no early stop.
pub fn settings(epochs: usize) -> TrainSettings {
    TrainSettings {
        epochs,
        learning_rate: 0.03,
        weight_decay: 0.01,
        patience: Some(epochs),
    }
}

/// `loss` equals candle's mean squared error of `module` on `data` to a relative 10⁻¹³, and
/// `gradient` equals candle's autograd gradient of it (in the order of
/// [`AttentionMethod::parameters`]) to 10⁻¹² of the largest entry.
pub fn assert_candles_loss_and_gradient(
    label: &str,
    module: &dyn AttentionMethod,
    data: &Dataset,
    (loss, gradient): (f64, &[f64]),
) {
    let reference = mse(module, data).unwrap();
    assert!(
        (loss - reference).abs() <= 1e-13 * reference,
        "{label}: loss {loss} against {reference}"
    );
    let diff = (module.forward(&data.inputs).unwrap() - &data.targets).unwrap();
    let grads = diff.sqr().unwrap().mean_all().unwrap().backward().unwrap();
    let autograd: Vec<f64> = module
        .parameters()
        .iter()
        .flat_map(|(_, var)| {
            grads
                .get(var.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap()
        })
        .collect();
    assert_eq!(autograd.len(), gradient.len(), "{label}: gradient length");
    let size = autograd.iter().fold(1e-300f64, |m, g| m.max(g.abs()));
    for (a, b) in autograd.iter().zip(gradient) {
        assert!(
            (a - b).abs() <= 1e-12 * size,
            "{label}: gradient {gradient:?} against autograd {autograd:?}"
        );
    }
}

/// Two training runs took the same number of epochs with validation losses equal to a relative
/// `tolerance`.
pub fn assert_same_trajectory(label: &str, curve: &[Epoch], reference: &[Epoch], tolerance: f64) {
    assert_eq!(curve.len(), reference.len(), "{label}: epochs");
    for (a, b) in curve.iter().zip(reference) {
        assert!(
            (a.validation_loss - b.validation_loss).abs() <= tolerance * b.validation_loss,
            "{label} epoch {}: {} against {}",
            a.epoch,
            a.validation_loss,
            b.validation_loss
        );
    }
}
