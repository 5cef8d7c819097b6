//! The Keras layers: the argument order `[query, value, key]`, the first step of Keras' Adam, the
//! plain-`f64` twins against the candle forward, and the attention weights read back by
//! `extract`. (Their gradients are tested with every other module's, in `identities.rs`.)

use attnum_attention::extract::{effective_weights, jacobian_weights};
use attnum_attention::keras::{
    self, Adam, Attention, MultiHeadAttention, MultiHeadWeights, layer_norm, layer_norm_f64,
};
use attnum_attention::{AttentionMethod, DEVICE, samples};
use candle_core::{Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn sines(x: &[f64]) -> Vec<f64> {
    x.iter().map(|x| x.sin()).collect()
}

fn tensor(values: &[f64]) -> Tensor {
    Tensor::new(values, &DEVICE).unwrap()
}

/// The argument order decides the output. Query q = 1, positions k = (0, 1), sin-keys
/// (0, sin 1):
/// - Keras `[query, value, key]` = `[q, k, sin k]`: weights softmax(q · sin k) =
///   (1, e^{sin 1}) / (1 + e^{sin 1}); the values are the positions, so the output is
///   e^{sin 1} / (1 + e^{sin 1}) = 0.6987…
/// - keys k and values sin k (the reading the seed's rerun used to make): weights
///   (1, e) / (1 + e); output e · sin 1 / (1 + e) = 0.6152…
#[test]
fn the_keras_order_is_query_value_key() {
    let e_sin1 = 1f64.sin().exp();
    let keras = e_sin1 / (1.0 + e_sin1);
    let swapped = std::f64::consts::E * 1f64.sin() / (1.0 + std::f64::consts::E);
    let positions = [0.0, 1.0];
    let sin_keys = sines(&positions);
    assert!((keras::attention(1.0, &positions, &sin_keys, 1.0) - keras).abs() < 1e-12);
    assert!((keras::attention(1.0, &sin_keys, &positions, 1.0) - swapped).abs() < 1e-12);
    assert!((keras - swapped).abs() > 0.08);
    // The candle layer makes the same call, and as an attention method its samples are the
    // values.
    let layer = Attention::new(1.0, &sin_keys, 1.0).unwrap();
    let z = layer
        .call(&tensor(&[1.0]), &tensor(&positions), &tensor(&sin_keys))
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert!((z - keras).abs() < 1e-12);
    let batch = layer.forward(&samples(&positions).unwrap()).unwrap();
    assert!((batch.to_vec1::<f64>().unwrap()[0] - keras).abs() < 1e-12);
}

/// Keras' Adam moves a parameter with gradient g by lr · g / (|g| + ε/√(1 − β₂)) at the first
/// step: with g = 1, lr = 0.01 and ε = 1e-7 that is 0.01 / (1 + 1e-7/√0.001).
#[test]
fn the_first_adam_step_is_the_keras_one() {
    let x = Var::new(&[0.0f64], &DEVICE).unwrap();
    let mut adam = Adam::new(vec![x.clone()]).unwrap();
    adam.backward_step(&x.as_tensor().sum_all().unwrap())
        .unwrap();
    let moved = x.as_tensor().to_vec1::<f64>().unwrap()[0];
    let expected = -0.01 / (1.0 + 1e-7 / 0.001f64.sqrt());
    assert!((moved - expected).abs() < 1e-15, "{moved} vs {expected}");
}

/// The plain-`f64` twins are the candle forward passes.
#[test]
fn the_plain_forward_passes_are_the_candle_ones() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let weights = MultiHeadWeights::glorot_uniform(4, &mut rng);
    let positions = [0.96, 0.99, 1.01, 1.04, 1.02];
    let keys = sines(&positions);
    let layer = MultiHeadAttention::new(1.0, &keys, &weights).unwrap();
    let candle = layer
        .output(&tensor(&positions))
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    let plain = weights.call(1.0, &positions, &keys);
    assert!((candle - plain).abs() < 1e-12, "{candle} vs {plain}");

    let x = [0.3, -1.2, 2.5, 0.0];
    let candle = layer_norm(&Tensor::from_slice(&x, (1, 4), &DEVICE).unwrap())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    for (a, b) in candle.iter().zip(layer_norm_f64(&x)) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    // Over one feature, a layer norm returns its offset β = 0.
    assert_eq!(layer_norm_f64(&[0.7]), vec![0.0]);
}

/// Keras initialises the einsum kernels with `glorot_uniform` on the fans it computes for them:
/// `(1, 4, 1)` gives the limit √(6/5), `(4, 1, 1)` √(6/8); the biases start at zero.
#[test]
fn glorot_draws_stay_within_their_limits() {
    let weights = MultiHeadWeights::glorot_uniform(4, &mut ChaCha8Rng::seed_from_u64(7));
    for (kernel, bias) in &weights.projections {
        assert!(kernel.iter().all(|w| w.abs() <= (6.0f64 / 5.0).sqrt()));
        assert_eq!(bias, &vec![0.0; 4]);
    }
    assert!(weights.output.0.iter().all(|w| w.abs() <= 0.75f64.sqrt()));
    assert_eq!(weights.output.1, 0.0);
}

/// `layers.Attention` is a linear method of its values: the weights `extract` reads off it are
/// the softmax of the scores. The multi-head layer is affine (its biases): its Jacobian is the
/// linear part.
#[test]
fn extraction_reads_the_softmax_weights() {
    let keys = [0.2, -0.4, 0.9];
    let layer = Attention::new(1.5, &keys, 1.0).unwrap();
    let w = effective_weights(&layer).unwrap();
    let total: f64 = keys.iter().map(|k| (1.5 * k).exp()).sum();
    for (wi, k) in w.iter().zip(keys) {
        assert!((wi - (1.5 * k).exp() / total).abs() < 1e-15);
    }
    let weights = MultiHeadWeights::glorot_uniform(2, &mut ChaCha8Rng::seed_from_u64(1));
    let multi = MultiHeadAttention::new(0.5, &keys, &weights).unwrap();
    assert!(effective_weights(&multi).is_err());
    let jacobian = jacobian_weights(&multi, &[1.0, 2.0, 3.0]).unwrap();
    let at = |v: &[f64]| weights.call(0.5, v, &keys);
    for (i, g) in jacobian.iter().enumerate() {
        let mut e = [1.0, 2.0, 3.0];
        e[i] += 1.0;
        // Affine in the values: a unit step changes the output by exactly the weight.
        assert!((at(&e) - at(&[1.0, 2.0, 3.0]) - g).abs() < 1e-12, "{i}");
    }
}
