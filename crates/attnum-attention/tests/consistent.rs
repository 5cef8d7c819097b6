//! Attention with guaranteed order (`consistent`): the moment conditions hold for every parameter
//! and input, polynomials of degree below `m + p` are differentiated exactly although the module
//! is nonlinear, the error on a smooth function obeys the `O(h^p)` bound of the applied stencil,
//! the classical stencils lie in the class, and every parameter receives a gradient.

mod common;

use attnum_attention::consistent::{ConsistentAttention, ConsistentShape, taylor_moments};
use attnum_attention::extract::effective_weights;
use attnum_attention::{AttentionMethod, DEVICE, samples};
use attnum_classical::fd::Stencil;
use attnum_classical::savitzky_golay::savitzky_golay;
use candle_core::Tensor;
use proptest::prelude::*;

const OFFSETS: [f64; 5] = [-2.0, -1.0, 0.0, 1.0, 2.0];

fn shape(derivative: usize, order: usize, candidates: usize) -> ConsistentShape {
    ConsistentShape {
        offsets: OFFSETS.to_vec(),
        derivative,
        order,
        candidates,
        epsilon: 1e-30,
    }
}

/// A module with keys and values from `parameters` (cycled), of the given shape.
fn module(shape: ConsistentShape, parameters: &[f64]) -> ConsistentAttention {
    let k = shape.candidates;
    let keys: Vec<f64> = (0..k * shape.query_width())
        .map(|i| parameters[i % parameters.len()])
        .collect();
    let values: Vec<f64> = (0..k * shape.free_moments())
        .map(|i| 3.0 * parameters[(i + 7) % parameters.len()])
        .collect();
    ConsistentAttention::new(shape, &keys, &values).unwrap()
}

fn batch(rows: &[Vec<f64>]) -> Tensor {
    let n = rows[0].len();
    Tensor::from_vec(rows.concat(), (rows.len(), n), &DEVICE).unwrap()
}

/// `Σ_k c_k x^k` and its derivative of order `m`.
fn polynomial(c: &[f64], m: usize, x: f64) -> f64 {
    c.iter()
        .enumerate()
        .skip(m)
        .map(|(k, ck)| {
            let falling: f64 = (k + 1 - m..=k).map(|j| j as f64).product();
            ck * falling * x.powi((k - m) as i32)
        })
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// For random parameters and random (even wild) samples, the applied stencil has the moments
    /// `δ_{km}` for `k < m + p`, and the output is that stencil applied to the samples.
    #[test]
    fn the_moment_conditions_hold_for_every_parameter_and_input(
        parameters in prop::collection::vec(-4.0f64..4.0, 12),
        rows in prop::collection::vec(prop::collection::vec(-10.0f64..10.0, 5), 1..6),
        (m, p, k) in (1usize..=2, 1usize..=2, 1usize..=4),
    ) {
        let model = module(shape(m, p, k), &parameters);
        let input = batch(&rows);
        let stencils: Vec<Vec<f64>> = model.applied_stencils(&input).unwrap().to_vec2().unwrap();
        let outputs: Vec<f64> = model.forward(&input).unwrap().to_vec1().unwrap();
        for ((w, f), out) in stencils.iter().zip(&rows).zip(&outputs) {
            let moments = taylor_moments(&OFFSETS, w);
            for (j, mu) in moments.iter().enumerate().take(m + p) {
                let target = if j == m { 1.0 } else { 0.0 };
                prop_assert!((mu - target).abs() < 1e-12, "moment {j} = {mu} for {w:?}");
            }
            let applied: f64 = w.iter().zip(f).map(|(a, b)| a * b).sum();
            prop_assert!((applied - out).abs() < 1e-12 * (1.0 + out.abs()), "{applied} vs {out}");
        }
    }

    /// Nonlinear as it is, the module differentiates every polynomial of degree below `m + p`
    /// exactly, at any step and point.
    #[test]
    fn polynomials_below_degree_m_plus_p_are_differentiated_exactly(
        parameters in prop::collection::vec(-4.0f64..4.0, 12),
        coefficients in prop::collection::vec(-3.0f64..3.0, 4),
        x0 in -2.0f64..2.0,
        h in 0.001f64..0.5,
        (m, p) in (1usize..=2, 1usize..=2),
    ) {
        let model = module(shape(m, p, 3), &parameters);
        let c = &coefficients[..m + p];
        let f: Vec<f64> = OFFSETS.iter().map(|o| polynomial(c, 0, x0 + o * h)).collect();
        let out = model.forward(&samples(&f).unwrap()).unwrap().to_vec1::<f64>().unwrap()[0];
        let exact = h.powi(m as i32) * polynomial(c, m, x0);
        let size = f.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        prop_assert!((out - exact).abs() < 1e-12 * size.max(1.0), "{out} vs {exact}");
    }
}

#[test]
fn the_error_on_a_smooth_function_obeys_the_order_p_bound_of_the_applied_stencil() {
    // f = sin(x + 0.3) at x₀ = 0.4; the bound is h^p max|f^{(m+p)}| Σ|w_i||o_i|^{m+p}/(m+p)!
    // with max|f^{(m+p)}| ≤ 1, and ‖w‖₁ ≤ ‖F_m‖₁ + Σ_j max_k |θ_{k,j}| ‖F_j‖₁ for every input.
    let parameters = [
        0.7, -1.3, 2.1, 0.4, -0.9, 1.6, -2.2, 0.3, 1.1, -0.5, 0.8, -1.7,
    ];
    let (m, p) = (1, 2);
    let model = module(shape(m, p, 3), &parameters);
    let values = model.parameters()[1]
        .1
        .as_tensor()
        .to_vec2::<f64>()
        .unwrap();
    let norm = |j: usize| -> f64 {
        Stencil::on_offsets(j, &OFFSETS)
            .unwrap()
            .weights()
            .iter()
            .map(|w| w.abs())
            .sum()
    };
    let hull: f64 = norm(m)
        + (0..values[0].len())
            .map(|j| values.iter().fold(0.0f64, |a, v| a.max(v[j].abs())) * norm(m + p + j))
            .sum::<f64>();
    let reach = 2.0f64.powi((m + p) as i32) / 6.0;
    let mut ratios = Vec::new();
    for k in 0..10 {
        let h = 0.2 * 0.5f64.powi(k);
        let f: Vec<f64> = OFFSETS.iter().map(|o| (0.4 + o * h + 0.3).sin()).collect();
        let input = samples(&f).unwrap();
        let out = model.forward(&input).unwrap().to_vec1::<f64>().unwrap()[0];
        let error = (out / h - 0.7f64.cos()).abs();
        let w = &model
            .applied_stencils(&input)
            .unwrap()
            .to_vec2::<f64>()
            .unwrap()[0];
        let bound: f64 = h.powi(p as i32)
            * w.iter()
                .zip(&OFFSETS)
                .map(|(w, o)| w.abs() * o.abs().powi((m + p) as i32))
                .sum::<f64>()
            / 6.0;
        assert!(
            error <= bound,
            "h = {h}: error {error} above the bound {bound}"
        );
        assert!(w.iter().map(|w| w.abs()).sum::<f64>() <= hull * (1.0 + 1e-12));
        ratios.push(error / h.powi(p as i32));
    }
    // error / h^p stays below the parameter-only constant ‖w‖₁ 2^{m+p}/(m+p)!.
    assert!(ratios.iter().all(|r| *r <= hull * reach), "{ratios:?}");
}

#[test]
fn the_classical_stencils_of_order_at_least_p_are_in_the_class() {
    let central2 = [0.0, -0.5, 0.0, 0.5, 0.0];
    let central4 = Stencil::on_offsets(1, &OFFSETS).unwrap();
    let smoothing = savitzky_golay(1, 2, &OFFSETS).unwrap();
    let f: Vec<Vec<f64>> = (0..4)
        .map(|r| {
            OFFSETS
                .iter()
                .map(|o| (0.3 * f64::from(r) + 0.1 * o).exp() + f64::from(r) * o * o)
                .collect()
        })
        .collect();
    for weights in [&central2[..], central4.weights(), smoothing.weights()] {
        for candidates in [1, 3] {
            let model =
                ConsistentAttention::representing(shape(1, 2, candidates), weights).unwrap();
            let applied = model
                .applied_stencils(&batch(&f))
                .unwrap()
                .to_vec2::<f64>()
                .unwrap();
            for w in applied {
                for (a, b) in w.iter().zip(weights) {
                    assert!((a - b).abs() < 1e-12, "{w:?} vs {weights:?}");
                }
            }
        }
    }
    // With one candidate the module is linear and its effective weights are the stencil.
    let model = ConsistentAttention::representing(shape(1, 2, 1), &central2).unwrap();
    let w = effective_weights(&model).unwrap();
    for (a, b) in w.iter().zip(central2) {
        assert!((a - b).abs() < 1e-12, "{w:?}");
    }
}

#[test]
fn a_stencil_of_lower_order_or_a_shape_without_freedom_is_refused() {
    // The one-sided difference (f(x+h) − f(x))/h is first order: refused for p = 2.
    let forward = [0.0, 0.0, -1.0, 1.0, 0.0];
    assert!(ConsistentAttention::representing(shape(1, 2, 2), &forward).is_err());
    assert!(ConsistentAttention::representing(shape(1, 1, 2), &forward).is_ok());
    // m + p = n: the stencil is unique, nothing is left to learn.
    assert!(ConsistentAttention::new(shape(1, 4, 2), &[0.0; 8], &[]).is_err());
    assert!(ConsistentAttention::new(shape(1, 2, 0), &[], &[]).is_err());
    let mut bad = shape(1, 2, 2);
    bad.epsilon = 0.0;
    assert!(ConsistentAttention::new(bad, &[0.0; 8], &[0.0; 4]).is_err());
}

#[test]
fn every_parameter_receives_a_gradient() {
    let parameters = [
        0.7, -1.3, 2.1, 0.4, -0.9, 1.6, -2.2, 0.3, 1.1, -0.5, 0.8, -1.7,
    ];
    let model = module(shape(1, 2, 3), &parameters);
    let f: Vec<f64> = OFFSETS
        .iter()
        .map(|o| (0.2 + 0.3 * o).sin() + 0.01 * o * o * o)
        .collect();
    common::assert_every_parameter_has_a_gradient("consistent", &model, &samples(&f).unwrap());
}
