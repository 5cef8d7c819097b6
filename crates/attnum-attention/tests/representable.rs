//! Every learned derivative model's class contains the classical stencil: for each architecture
//! a weight setting that reproduces the central difference (first and second derivative, five
//! and three nodes) to 1e-12 on random samples, in its output and in its Jacobian.

use attnum_attention::baseline::SampleMlp;
use attnum_attention::extract::jacobian_rows;
use attnum_attention::learn::{ScaledOutput, generator, normal};
use attnum_attention::linear::LinearAttention;
use attnum_attention::token::TokenHeads;
use attnum_attention::transformer::{TokenTransformer, TransformerShape};
use attnum_attention::{AttentionMethod, DEVICE};
use attnum_classical::fd::Stencil;
use candle_core::Tensor;

const FIVE: [f64; 5] = [-2.0, -1.0, 0.0, 1.0, 2.0];
const THREE: [f64; 3] = [-1.0, 0.0, 1.0];

/// The central differences the tests reproduce: (derivative, offsets, weights).
fn stencils() -> Vec<(usize, Vec<f64>, Vec<f64>)> {
    let mut all = Vec::new();
    for offsets in [FIVE.to_vec(), THREE.to_vec()] {
        for m in 1..=2 {
            let s = Stencil::on_offsets(m, &offsets).unwrap();
            all.push((m, offsets.clone(), s.weights().to_vec()));
        }
    }
    all
}

/// Samples of size up to 10 (random, so the scores would vary with them if they could).
fn batch(n: usize) -> (Tensor, Vec<Vec<f64>>) {
    let values = normal(&mut generator(11, 3), 64 * n, 3.0);
    let rows = values.chunks(n).map(<[f64]>::to_vec).collect();
    (Tensor::from_vec(values, (64, n), &DEVICE).unwrap(), rows)
}

/// The module's outputs and Jacobians agree with `Σ w_i f_i` and `w` to `1e-12`.
fn assert_reproduces(name: &str, module: &dyn AttentionMethod, weights: &[f64]) {
    let (values, rows) = batch(weights.len());
    let out: Vec<f64> = module.forward(&values).unwrap().to_vec1().unwrap();
    for (row, o) in rows.iter().zip(&out) {
        let exact: f64 = row.iter().zip(weights).map(|(f, w)| f * w).sum();
        assert!(
            (o - exact).abs() < 1e-12,
            "{name}: output {o} against the stencil's {exact}"
        );
    }
    for jacobian in jacobian_rows(module, &values).unwrap() {
        for (a, b) in jacobian.iter().zip(weights) {
            assert!(
                (a - b).abs() < 1e-12,
                "{name}: Jacobian {jacobian:?} against {weights:?}"
            );
        }
    }
}

#[test]
fn token_heads_reproduce_the_central_difference() {
    for (m, offsets, w) in stencils() {
        for (heads, width) in [(2, 1), (2, 4), (4, 3)] {
            let model = TokenHeads::representing(&offsets, heads, width, &w).unwrap();
            assert_reproduces(&format!("token heads {heads}×{width}, m = {m}"), &model, &w);
        }
    }
    // With an output scale c (as trained), the inner heads represent w/c.
    let w = Stencil::on_offsets(1, &FIVE).unwrap().weights().to_vec();
    let c = 0.173;
    let scaled: Vec<f64> = w.iter().map(|x| x / c).collect();
    let model = ScaledOutput {
        inner: TokenHeads::representing(&FIVE, 2, 4, &scaled).unwrap(),
        scale: c,
    };
    assert_reproduces("scaled token heads", &model, &w);
}

#[test]
fn transformers_with_raw_values_reproduce_the_central_difference() {
    for (m, offsets, w) in stencils() {
        for (heads, blocks, width) in [(2, 1, 16), (4, 1, 16), (2, 2, 16), (8, 4, 16), (2, 1, 8)] {
            let shape = TransformerShape {
                width,
                heads,
                blocks,
                dropout: 0.1,
            };
            let model = TokenTransformer::representing(&offsets, shape, &w).unwrap();
            assert_reproduces(
                &format!("transformer {heads} heads × {blocks} blocks, width {width}, m = {m}"),
                &model,
                &w,
            );
        }
    }
}

#[test]
fn linear_attention_and_the_mlp_reproduce_the_central_difference() {
    for (m, offsets, w) in stencils() {
        let n = offsets.len();
        let exact = LinearAttention::normal_equations(m, n - 1, &offsets, 1.0).unwrap();
        assert_reproduces(&format!("linear attention, m = {m}"), &exact, &w);
        // The trainable form: Taylor keys of degree n − 1 and the query Φ⁻¹ w.
        let query = attnum_attention::token::taylor_query(&offsets, &w).unwrap();
        let taylor = LinearAttention::taylor(&offsets, n - 1, &query).unwrap();
        assert_reproduces(
            &format!("Taylor-key linear attention, m = {m}"),
            &taylor,
            &w,
        );
        // Moment keys: the query is the moment vector e_m.
        let mut moments = vec![0.0; n];
        moments[m] = 1.0;
        let keyed = LinearAttention::moment_keys(&offsets, &moments).unwrap();
        assert_reproduces(&format!("moment-key linear attention, m = {m}"), &keyed, &w);
        // Scaled moment keys (scales of the sweeps' size, 10⁻³ to 10²): the query μ_j / s_j.
        let scales: Vec<f64> = (0..n).map(|j| 10f64.powi(j as i32 - 3) * 3.7).collect();
        let query: Vec<f64> = moments.iter().zip(&scales).map(|(mu, s)| mu / s).collect();
        let scaled = LinearAttention::scaled_moment_keys(&offsets, &scales, &query).unwrap();
        assert_reproduces(&format!("scaled moment keys, m = {m}"), &scaled, &w);
        let mlp = SampleMlp::representing(&w, 32).unwrap();
        assert_reproduces(&format!("MLP, m = {m}"), &mlp, &w);
    }
}

#[test]
fn the_constructions_refuse_what_they_cannot_represent() {
    let w = Stencil::on_offsets(1, &FIVE).unwrap().weights().to_vec();
    assert!(TokenHeads::representing(&FIVE, 1, 4, &w).is_err());
    let query = [0.0, 1.0, 0.0, 0.0, 0.0];
    assert!(
        LinearAttention::scaled_moment_keys(&FIVE, &[1.0, 1.0, 0.0, 1.0, 1.0], &query).is_err()
    );
    assert!(LinearAttention::scaled_moment_keys(&FIVE, &[1.0; 4], &query).is_err());
    let narrow = TransformerShape {
        width: 6,
        heads: 2,
        blocks: 1,
        dropout: 0.0,
    };
    assert!(TokenTransformer::representing(&FIVE, narrow, &w).is_err());
    let one_head = TransformerShape {
        width: 16,
        heads: 1,
        blocks: 2,
        dropout: 0.0,
    };
    assert!(TokenTransformer::representing(&FIVE, one_head, &w).is_err());
    assert!(SampleMlp::representing(&w, 1).is_err());
}
