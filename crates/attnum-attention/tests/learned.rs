//! The learned models: data generators against exact calculus, every parameter of the
//! transformer and the learned quadrature head receiving a gradient, seeded training being
//! bit-identical, extraction of models with known weights, and learning Gauss–Legendre.

mod common;

use attnum_attention::extract::{effective_weights, jacobian_rows, jacobian_weights};
use attnum_attention::learn::{
    DerivativeTask, Family, TrainSettings, derivative_task, generator, mse, target_scale, train,
    weights_safetensors,
};
use attnum_attention::learned_rule::LearnedQuadrature;
use attnum_attention::token::TokenAttentionHead;
use attnum_attention::transformer::{TokenTransformer, TransformerShape};
use attnum_attention::{AttentionMethod, DEVICE, samples};
use attnum_classical::quadrature::gauss_legendre;
use candle_core::Tensor;
use proptest::prelude::*;

const OFFSETS: [f64; 5] = [-2.0, -1.0, 0.0, 1.0, 2.0];

fn families() -> [Family; 3] {
    [
        Family::Trigonometric { max_frequency: 3 },
        Family::Polynomial { degree: 4 },
        Family::Bumps { count: 3 },
    ]
}

fn shape(heads: usize, blocks: usize, dropout: f64) -> TransformerShape {
    TransformerShape {
        width: 8,
        heads,
        blocks,
        dropout,
    }
}

proptest! {
    /// Each family's first and second derivatives agree with central differences of the level
    /// below (fourth-order, h = 1e-3: truncation ≈ 1e-12 f⁽⁵⁾, rounding ≈ 1e-13 |f|).
    #[test]
    fn derivatives_of_the_families_match_differences(seed in 0u64..1000, x in -3.0f64..3.0) {
        for family in families() {
            let f = family.draw(&mut generator(seed, 0));
            for order in 1..=2 {
                let h = 1e-3;
                let g = |t: f64| f.derivative(order - 1, t);
                let fd = (g(x - 2.0 * h) - 8.0 * g(x - h) + 8.0 * g(x + h) - g(x + 2.0 * h))
                    / (12.0 * h);
                let exact = f.derivative(order, x);
                prop_assert!(
                    (fd - exact).abs() < 1e-7 * (1.0 + exact.abs()),
                    "{} order {order}: {fd} vs {exact}", family.name()
                );
            }
        }
    }
}

#[test]
fn the_derivative_task_samples_and_scales_as_documented() {
    let task = DerivativeTask {
        offsets: OFFSETS.to_vec(),
        step: 0.1,
        order: 2,
        noise: 0.0,
    };
    let family = Family::Polynomial { degree: 2 };
    let data = derivative_task(family, &task, 16, &mut generator(3, 1)).unwrap();
    // For quadratics the five-point second difference is exact: Σ w_i f_i = h² f''.
    let w = Tensor::new(
        &[-1.0 / 12.0, 4.0 / 3.0, -2.5, 4.0 / 3.0, -1.0 / 12.0],
        &DEVICE,
    )
    .unwrap()
    .unsqueeze(1)
    .unwrap();
    let out: Vec<f64> = data
        .inputs
        .matmul(&w)
        .unwrap()
        .squeeze(1)
        .unwrap()
        .to_vec1()
        .unwrap();
    let targets: Vec<f64> = data.targets.to_vec1().unwrap();
    for (o, t) in out.iter().zip(&targets) {
        assert!((o - t).abs() < 1e-12, "{o} vs {t}");
    }
    // Noise of standard deviation 0.01 on every sample: the RMS of the added noise.
    let noisy = DerivativeTask {
        noise: 0.01,
        ..task
    };
    let clean = derivative_task(family, &noisy, 2000, &mut generator(3, 1)).unwrap();
    let without = DerivativeTask {
        noise: 0.0,
        ..noisy.clone()
    };
    let reference = derivative_task(family, &without, 2000, &mut generator(3, 1)).unwrap();
    let rms = (&clean.inputs - &reference.inputs)
        .unwrap()
        .sqr()
        .unwrap()
        .mean_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
        .sqrt();
    assert!((rms - 0.01).abs() < 5e-4, "noise RMS {rms}");
    assert!(target_scale(&clean).unwrap() > 0.0);
}

#[test]
fn every_parameter_of_the_learned_models_receives_a_gradient() {
    let values = samples(&[0.3, -0.1, 0.8, 0.2, -0.5]).unwrap();
    let coefficients = samples(&[0.3, -0.1, 0.8, 0.2]).unwrap();
    let transformer =
        TokenTransformer::new(&OFFSETS, shape(2, 2, 0.0), &mut generator(1, 0)).unwrap();
    let rule = LearnedQuadrature::learned(&[-0.3, 0.5], &[0.1, -0.2], 3).unwrap();
    let modules: [(&str, &dyn AttentionMethod, &Tensor); 2] = [
        ("transformer", &transformer, &values),
        ("learned quadrature", &rule, &coefficients),
    ];
    for (name, module, input) in modules {
        common::assert_every_parameter_has_a_gradient(name, module, input);
    }
    // 2 blocks    // 2 blocks × 12 tensors, the embedding and the readout.
    assert_eq!(transformer.parameters().len(), 26);
}

/// A short training run of a transformer with dropout: its weights as safetensors bytes.
fn trained_weights(seed: u64) -> Vec<u8> {
    let task = DerivativeTask {
        offsets: OFFSETS.to_vec(),
        step: 0.1,
        order: 1,
        noise: 0.0,
    };
    let family = Family::Trigonometric { max_frequency: 2 };
    let data = derivative_task(family, &task, 32, &mut generator(seed, 1)).unwrap();
    let model = TokenTransformer::new(&OFFSETS, shape(2, 1, 0.1), &mut generator(seed, 0)).unwrap();
    let settings = TrainSettings {
        epochs: 5,
        learning_rate: 1e-2,
        weight_decay: 0.01,
        patience: Some(5),
    };
    train(&model, &data, &data, &settings, &mut generator(seed, 5)).unwrap();
    weights_safetensors(&model).unwrap()
}

#[test]
fn seeded_training_is_bit_identical_and_the_seed_matters() {
    let a = trained_weights(7);
    assert_eq!(a, trained_weights(7));
    assert_ne!(a, trained_weights(8));
    // The file holds every parameter under its name.
    let tensors = candle_core::safetensors::load_buffer(&a, &DEVICE).unwrap();
    assert_eq!(tensors.len(), 14);
    assert!(tensors.contains_key("block0.attention.query"));
}

#[test]
fn dropout_acts_in_training_only() {
    let values = samples(&[0.3, -0.1, 0.8, 0.2, -0.5]).unwrap();
    let with = TokenTransformer::new(&OFFSETS, shape(2, 1, 0.5), &mut generator(2, 0)).unwrap();
    let without = TokenTransformer::new(&OFFSETS, shape(2, 1, 0.0), &mut generator(2, 0)).unwrap();
    let eval = |m: &TokenTransformer| m.forward(&values).unwrap().to_vec1::<f64>().unwrap();
    let training = |m: &TokenTransformer| {
        m.forward_training(&values, &mut generator(2, 5))
            .unwrap()
            .to_vec1::<f64>()
            .unwrap()
    };
    // Same initial weights: evaluation ignores dropout; training with p = 0 is evaluation.
    assert_eq!(eval(&with), eval(&without));
    assert_eq!(training(&without), eval(&without));
    assert_ne!(training(&with), eval(&with));
    assert_eq!(training(&with), training(&with));
}

#[test]
fn extraction_of_models_with_known_weights() {
    // A token head with W_q = 0 attends uniformly; w_v = (0, 0, 1) averages the values: the
    // Jacobian is 1/n at every sample.
    let head =
        TokenAttentionHead::new(&OFFSETS, 0.0, &[0.0; 6], &[0.3; 6], &[0.0, 0.0, 1.0]).unwrap();
    for w in jacobian_weights(&head, &[0.3, -1.0, 2.0, 0.5, 0.1]).unwrap() {
        assert!((w - 0.2).abs() < 1e-15, "{w}");
    }
    // Gauss–Legendre as a fixed-node head: scores ln(w_i), scale 1 gives weights w/2, so the
    // rule applied to P_0 … P_{2n−1} is (1, 0, …, 0).
    let gl = gauss_legendre(4).unwrap();
    let scores: Vec<f64> = gl.weights().iter().map(|w| w.ln()).collect();
    let head = LearnedQuadrature::fixed(gl.nodes(), &scores, 7).unwrap();
    for (k, w) in effective_weights(&head).unwrap().iter().enumerate() {
        let exact = if k == 0 { 1.0 } else { 0.0 };
        assert!((w - exact).abs() < 1e-14, "P_{k}: {w}");
    }
}

#[test]
fn transformer_jacobians_match_finite_differences() {
    let model = TokenTransformer::new(&OFFSETS, shape(4, 2, 0.0), &mut generator(4, 0)).unwrap();
    let rows = [[0.3, -0.1, 0.8, 0.2, -0.5], [1.0, 0.9, 0.7, 0.4, 0.0]];
    let batch = Tensor::new(&rows, &DEVICE).unwrap();
    let jacobians = jacobian_rows(&model, &batch).unwrap();
    for (row, jacobian) in rows.iter().zip(&jacobians) {
        for i in 0..5 {
            let h = 1e-5;
            let at = |d: f64| {
                let mut v = row.to_vec();
                v[i] += d;
                model
                    .forward(&samples(&v).unwrap())
                    .unwrap()
                    .to_vec1::<f64>()
                    .unwrap()[0]
            };
            let fd = (at(h) - at(-h)) / (2.0 * h);
            // Truncation h² f‴/6 and rounding 1e-16/h: both below 1e-9 here.
            assert!(
                (fd - jacobian[i]).abs() < 1e-9,
                "∂/∂f_{i}: {fd} vs {}",
                jacobian[i]
            );
        }
    }
}

#[test]
fn a_learned_two_node_rule_finds_gauss_legendre() {
    // Polynomials of degree 3 by their Legendre coefficients; the exact integral is 2 c_0.
    let coefficients = attnum_attention::learn::normal(&mut generator(1, 1), 64 * 4, 1.0);
    let targets: Vec<f64> = coefficients.chunks(4).map(|c| 2.0 * c[0]).collect();
    let data = attnum_attention::learn::Dataset {
        inputs: Tensor::from_vec(coefficients, (64, 4), &DEVICE).unwrap(),
        targets: Tensor::from_vec(targets, 64, &DEVICE).unwrap(),
    };
    let head = LearnedQuadrature::learned(&[-0.2, 0.6], &[0.0, 0.0], 3).unwrap();
    let settings = TrainSettings {
        epochs: 3000,
        learning_rate: 0.03,
        weight_decay: 0.0,
        patience: Some(500),
    };
    train(&head, &data, &data, &settings, &mut generator(1, 5)).unwrap();
    let mut nodes = head.nodes().unwrap();
    nodes.sort_by(f64::total_cmp);
    let x = 1.0 / 3f64.sqrt();
    assert!(
        (nodes[0] + x).abs() < 1e-5 && (nodes[1] - x).abs() < 1e-5,
        "{nodes:?}"
    );
    for w in head.weights().unwrap() {
        assert!((w - 1.0).abs() < 1e-5, "{w}");
    }
    assert!(mse(&head, &data).unwrap() < 1e-12);
}
