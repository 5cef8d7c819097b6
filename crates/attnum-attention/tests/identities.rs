//! The exact identities between attention modules and classical methods, the gradient flow
//! through every module, extraction and classification.

mod common;

use attnum_attention::classify::{classify_rule, classify_stencil, classify_tableau};
use attnum_attention::extract::{effective_weights, jacobian_weights};
use attnum_attention::hard::HardMultiHeadAttention;
use attnum_attention::heads::{SoftmaxHeads, heads_needed};
use attnum_attention::keras;
use attnum_attention::kernel::{KernelAttention, Output};
use attnum_attention::linear::{Construction, LinearAttention};
use attnum_attention::rk::RkAttention;
use attnum_attention::token::TokenAttentionHead;
use attnum_attention::weno::WenoAttention;
use attnum_attention::{AttentionMethod, samples};
use attnum_classical::fd::{Stencil, StencilKind};
use attnum_classical::quadrature::{NewtonCotes, clenshaw_curtis, gauss_legendre, newton_cotes};
use attnum_classical::rk::{METHOD_NAMES, named_method};
use attnum_classical::savitzky_golay::{savitzky_golay, symmetric_window};
use attnum_classical::weno::Weno5;
use candle_core::{Device, Tensor};
use proptest::prelude::*;

fn relative_error(w: &[f64], reference: &[f64]) -> f64 {
    let scale = reference.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    w.iter()
        .zip(reference)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

#[test]
fn linear_attention_reproduces_fornberg_and_savitzky_golay() {
    for accuracy in [2, 4, 6, 8] {
        for deriv in [1, 2] {
            let fd = Stencil::by_accuracy(StencilKind::Central, deriv, accuracy).unwrap();
            let degree = fd.len() - 1;
            // The normal equations square the condition number: the identity holds to 1e-12 up to
            // 7 nodes only (the sweep `attention_equivalence` measures the breakdown).
            let constructions: &[Construction] = if fd.len() <= 7 {
                &[Construction::NormalEquations, Construction::Orthonormal]
            } else {
                &[Construction::Orthonormal]
            };
            for &construction in constructions {
                let m =
                    LinearAttention::build(construction, deriv, degree, fd.offsets(), 1.0).unwrap();
                let w = effective_weights(&m).unwrap();
                let e = relative_error(&w, fd.weights());
                assert!(e < 1e-12, "{construction:?} d={deriv} p={accuracy}: {e}");
            }
        }
    }
    let window = symmetric_window(5);
    for degree in [2, 3, 4] {
        let sg = savitzky_golay(1, degree, &window).unwrap();
        let m = LinearAttention::orthonormal(1, degree, &window, 1.0).unwrap();
        let e = relative_error(&effective_weights(&m).unwrap(), sg.weights());
        assert!(e < 1e-13, "SG degree {degree}: {e}");
    }
    // Savitzky–Golay, degree 2, 5 points: (−2, −1, 0, 1, 2)/10.
    let m = LinearAttention::normal_equations(1, 2, &symmetric_window(2), 1.0).unwrap();
    let w = effective_weights(&m).unwrap();
    assert!(
        relative_error(&w, &[-0.2, -0.1, 0.0, 0.1, 0.2]) < 1e-14,
        "{w:?}"
    );
}

#[test]
fn the_normal_equations_break_on_wide_stencils_and_the_orthonormal_keys_do_not() {
    let fd = Stencil::by_accuracy(StencilKind::Central, 1, 20).unwrap();
    let error = |c| {
        let m = LinearAttention::build(c, 1, fd.len() - 1, fd.offsets(), 1.0).unwrap();
        relative_error(&effective_weights(&m).unwrap(), fd.weights())
    };
    let (direct, stable) = (
        error(Construction::NormalEquations),
        error(Construction::Orthonormal),
    );
    assert!(direct > 1e-4, "normal equations on 21 nodes: {direct}");
    assert!(stable < 1e-11, "orthonormal keys on 21 nodes: {stable}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Moment conditions on random grids: the orthonormal construction's weights satisfy
    /// `Σ w_i o_i^k / k! = δ_kd` for every `k ≤ degree`.
    #[test]
    fn linear_attention_meets_the_moment_conditions(
        mut offsets in prop::collection::vec(-3.0f64..3.0, 4..9),
        deriv in 1usize..3,
    ) {
        offsets.sort_by(f64::total_cmp);
        offsets.dedup_by(|a, b| (*a - *b).abs() < 0.05);
        prop_assume!(offsets.len() > deriv + 1);
        let degree = offsets.len() - 2;
        let m = LinearAttention::orthonormal(deriv, degree, &offsets, 1.0).unwrap();
        let w = effective_weights(&m).unwrap();
        let size: f64 = w.iter().map(|x| x.abs()).sum();
        let mut factorial = 1.0;
        for k in 0..=degree {
            if k > 0 { factorial *= k as f64; }
            let moment: f64 = w.iter().zip(&offsets).map(|(w, o)| w * o.powi(k as i32)).sum::<f64>()
                / factorial;
            let expected = if k == deriv { 1.0 } else { 0.0 };
            prop_assert!((moment - expected).abs() < 1e-9 * size.max(1.0),
                "k={k}: {moment} on {offsets:?}");
        }
    }

    /// Any weights with both signs need exactly two heads, and the two heads reproduce them.
    #[test]
    fn two_heads_represent_any_weights(w in prop::collection::vec(-5.0f64..5.0, 1..12)) {
        let heads = SoftmaxHeads::compile(&w).unwrap();
        prop_assert_eq!(heads.head_count(), heads_needed(&w));
        let back = effective_weights(&heads).unwrap();
        for (a, b) in back.iter().zip(&w) {
            prop_assert!((a - b).abs() <= 1e-14 * b.abs().max(1.0), "{back:?} vs {w:?}");
        }
    }
}

#[test]
fn sharp_heads_are_the_stencil_and_finite_sharpness_obeys_its_bound() {
    let h = 0.01;
    for (deriv, accuracy) in [(1, 2), (1, 6), (2, 4)] {
        let fd = Stencil::by_accuracy(StencilKind::Central, deriv, accuracy).unwrap();
        let wide: Vec<f64> = (-10..=10).map(f64::from).collect();
        for keys in [fd.offsets().to_vec(), wide] {
            // β h² = 60: every off-node weight is below e^{-60}.
            let m = HardMultiHeadAttention::compile(&fd, &keys, h, 60.0 / (h * h)).unwrap();
            let w = effective_weights(&m).unwrap();
            let expected: Vec<f64> = keys
                .iter()
                .map(|k| {
                    fd.offsets()
                        .iter()
                        .position(|o| o == k)
                        .map_or(0.0, |j| fd.weights()[j] / h.powi(deriv as i32))
                })
                .collect();
            assert!(relative_error(&w, &expected) < 1e-12, "{w:?}");
        }
    }
    // At β h² = 3 the error obeys |Σ_j c_j Σ_{i≠j} p_ji (f_i − f_j)| ≤ Σ_j |c_j| max_i |f_i − f_j| e^{−βh²}·2.
    let fd = Stencil::by_accuracy(StencilKind::Central, 1, 2).unwrap();
    let m = HardMultiHeadAttention::compile(&fd, fd.offsets(), h, 3.0 / (h * h)).unwrap();
    let f: Vec<f64> = fd.offsets().iter().map(|o| (1.0 + o * h).sin()).collect();
    let out = m
        .forward(&samples(&f).unwrap())
        .unwrap()
        .to_vec1::<f64>()
        .unwrap()[0];
    let exact = fd.apply(f64::sin, 1.0, h);
    let bound =
        fd.weights().iter().map(|w| w.abs() / h).sum::<f64>() * 2.0 * 2.0 * h * (-3.0f64).exp();
    assert!((out - exact).abs() <= bound && (out - exact).abs() > 0.0);
}

#[test]
fn one_softmax_head_is_a_positive_rule_and_negative_weights_need_two() {
    for n in 1..=40 {
        let gl = gauss_legendre(n).unwrap();
        let heads = SoftmaxHeads::compile(gl.weights()).unwrap();
        assert_eq!(heads.head_count(), 1);
        assert!(relative_error(&effective_weights(&heads).unwrap(), gl.weights()) < 1e-14);
    }
    for n in 2..=40 {
        assert_eq!(heads_needed(clenshaw_curtis(n).unwrap().weights()), 1);
    }
    // Closed Newton–Cotes: positive up to 8 points, a negative weight at 9 and from 11 on.
    let two: Vec<usize> = (2..=16)
        .filter(|&n| heads_needed(newton_cotes(NewtonCotes::Closed, n).unwrap().weights()) == 2)
        .collect();
    assert_eq!(two, vec![9, 11, 12, 13, 14, 15, 16]);
    // Open Newton–Cotes: Milne's 3-point rule (2/3, −1/3, 2/3)·2 already has one.
    assert_eq!(
        heads_needed(newton_cotes(NewtonCotes::Open, 3).unwrap().weights()),
        2
    );
    // No derivative stencil is one head: its weights sum to zero.
    let fd = Stencil::by_accuracy(StencilKind::Forward, 1, 1).unwrap();
    assert_eq!(heads_needed(fd.weights()), 2);
}

fn kepler(_t: f64, y: &[f64], dy: &mut [f64]) {
    let r3 = (y[0] * y[0] + y[1] * y[1]).powf(1.5);
    dy.copy_from_slice(&[y[2], y[3], -y[0] / r3, -y[1] / r3]);
}

#[test]
fn runge_kutta_attention_is_the_classical_step() {
    let y0 = [0.5, 0.0, 0.0, 3f64.sqrt()];
    let mut single = Vec::new();
    for name in METHOD_NAMES {
        let method = named_method(name).unwrap();
        let attention = RkAttention::compile(&method.tableau).unwrap();
        let y = attention
            .step(
                &mut attnum_attention::rk::kepler,
                0.0,
                &Tensor::new(&y0, &Device::Cpu).unwrap(),
                0.1,
            )
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let classical = method.tableau.step(&mut kepler, 0.0, &y0, 0.1);
        assert!(relative_error(&y, &classical) < 1e-14, "{name}");
        let back = attention.tableau().unwrap();
        for (r, s) in back.a().iter().zip(method.tableau.a()) {
            assert!(
                relative_error(r, s) < 1e-15 || s.iter().all(|&x| x == 0.0),
                "{name}"
            );
        }
        if attention.is_single_head() {
            single.push(name);
        }
    }
    assert_eq!(
        single,
        [
            "euler",
            "midpoint",
            "heun2",
            "ralston2",
            "ssprk2",
            "heun3",
            "ralston3",
            "ssprk3",
            "bogacki-shampine3",
            "rk4"
        ]
    );
    // RK4's third row attends to stage 2 only.
    let rk4 = RkAttention::compile(&named_method("rk4").unwrap().tableau).unwrap();
    assert_eq!(rk4.masks().unwrap()[2], vec![false, true]);
    assert_eq!(rk4.head_counts(), vec![0, 1, 1, 1, 1]);
}

#[test]
fn kernel_attention_derivative_closed_form_autograd_and_continuum_limit() {
    // Fine grid, far from the ends: m → G_σ * f, and for f = sin, m'(q) → e^{−σ²/2} cos q.
    let nodes: Vec<f64> = (-2000..=2000).map(|i| f64::from(i) * 0.01).collect();
    let f: Vec<f64> = nodes.iter().map(|x| x.sin()).collect();
    let values = Tensor::new(f.as_slice(), &Device::Cpu).unwrap();
    let sigma = 0.5;
    let k = KernelAttention::new(&nodes, sigma).unwrap();
    let q = [0.3, -1.1];
    let closed = k
        .derivative(&Tensor::new(&q, &Device::Cpu).unwrap(), &values)
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    let auto = k.derivative_by_autograd(&q, &values).unwrap();
    for ((c, a), q) in closed.iter().zip(&auto).zip(q) {
        assert!((c - a).abs() < 1e-13, "{c} vs {a}");
        let limit = (-sigma * sigma / 2.0).exp() * q.cos();
        assert!((c - limit).abs() < 1e-12, "{c} vs {limit}");
    }
    // The derivative is linear in the values; its weights have zeroth moment 0.
    let d = k.at(0.3, Output::Derivative).unwrap();
    let w = effective_weights(&d).unwrap();
    assert!(w.iter().sum::<f64>().abs() < 1e-12);
    let s1 = k.central_difference(0.3, 1e-3, &values).unwrap();
    assert!((s1 - closed[0]).abs() < 1e-6);
}

#[test]
fn every_parameter_receives_a_gradient() {
    let x: Vec<f64> = (-4..=4).map(f64::from).collect();
    let f: Vec<f64> = x.iter().map(|x| (0.3 * x).sin() + 0.1 * x * x).collect();
    let values = samples(&f).unwrap();
    let fd = Stencil::by_accuracy(StencilKind::Central, 1, 4).unwrap();
    let kernel = KernelAttention::new(&x, 1.3).unwrap();
    let kernel_value = kernel.at(0.4, Output::Value).unwrap();
    let kernel_derivative = kernel.at(0.4, Output::Derivative).unwrap();
    let linear = LinearAttention::orthonormal(1, 4, &x, 1.0).unwrap();
    let hard = HardMultiHeadAttention::compile(&fd, &x, 1.0, 0.7).unwrap();
    let heads = SoftmaxHeads::compile(&[0.5, -0.2, 0.3, 0.1, -0.4, 0.2, 0.1, 0.3, -0.1]).unwrap();
    let token = TokenAttentionHead::new(
        &x,
        0.4,
        &[0.3, -0.2, 0.5, 0.1, 0.2, -0.4],
        &[0.2, 0.4, -0.3, 0.6, -0.1, 0.3],
        &[0.2, 0.1, 0.9],
    )
    .unwrap();
    let weno = WenoAttention::compile(&Weno5::jiang_shu()).unwrap();
    let window = samples(&f[2..7]).unwrap();
    common::assert_every_parameter_has_a_gradient("weno", &weno, &window);
    // The seed's Keras layers, over keys of their own (the samples are their values).
    let keys: Vec<f64> = x.iter().map(|x| (0.4 * x).sin()).collect();
    let keras_attention = keras::Attention::new(0.7, &keys, 1.0).unwrap();
    let keras_multi_head = keras::MultiHeadAttention::new(
        0.7,
        &keys,
        &keras::MultiHeadWeights {
            projections: [
                (vec![0.8, -0.5], vec![0.1, -0.2]),
                (vec![0.6, 0.9], vec![0.3, 0.2]),
                (vec![-0.7, 0.4], vec![0.2, 0.1]),
            ],
            output: (vec![0.9, -0.6], 0.1),
        },
    )
    .unwrap();
    let modules: [(&str, &dyn AttentionMethod); 7] = [
        ("kernel value", &kernel_value),
        ("kernel derivative", &kernel_derivative),
        ("linear", &linear),
        ("hard", &hard),
        ("heads", &heads),
        ("token", &token),
        ("keras attention", &keras_attention),
    ];
    for (name, module) in modules {
        common::assert_every_parameter_has_a_gradient(name, module, &values);
    }
    // Keras' key bias adds the same number to every score of its head: softmax ignores it.
    common::assert_gradients(
        "keras multi-head",
        &keras_multi_head,
        &values,
        &["key_bias"],
    );
}

#[test]
fn jacobian_extraction_agrees_with_exact_weights_and_finite_differences() {
    let x: Vec<f64> = (-3..=3).map(|i| f64::from(i) * 0.5).collect();
    let f: Vec<f64> = x.iter().map(|x| x.exp()).collect();
    let linear = LinearAttention::orthonormal(1, 3, &x, 0.5).unwrap();
    let exact = effective_weights(&linear).unwrap();
    let jacobian = jacobian_weights(&linear, &f).unwrap();
    assert!(relative_error(&jacobian, &exact) < 1e-14);
    let token = TokenAttentionHead::new(
        &x,
        0.2,
        &[0.3, -0.2, 0.5, 0.1, 0.2, -0.4],
        &[0.2, 0.4, -0.3, 0.6, -0.1, 0.3],
        &[0.2, 0.1, 0.9],
    )
    .unwrap();
    assert!(effective_weights(&token).is_err());
    let jacobian = jacobian_weights(&token, &f).unwrap();
    let eval = |v: &[f64]| {
        token
            .forward(&samples(v).unwrap())
            .unwrap()
            .to_vec1::<f64>()
            .unwrap()[0]
    };
    for i in 0..f.len() {
        let (mut up, mut down) = (f.clone(), f.clone());
        up[i] += 1e-6;
        down[i] -= 1e-6;
        let numeric = (eval(&up) - eval(&down)) / 2e-6;
        assert!(
            (numeric - jacobian[i]).abs() < 1e-8,
            "{i}: {numeric} vs {}",
            jacobian[i]
        );
    }
}

#[test]
fn classification_of_known_stencils_rules_and_tableaus() {
    let fd = Stencil::by_accuracy(StencilKind::Central, 1, 4).unwrap();
    let c = classify_stencil(fd.offsets(), fd.weights()).unwrap();
    assert_eq!(c.deriv, Some(1));
    let acc = c.accuracy.unwrap();
    assert_eq!(acc.order, 4);
    assert!((acc.error_constant + 1.0 / 30.0).abs() < 1e-14);
    assert_eq!(c.nearest.unwrap().name, "finite difference");
    let window = symmetric_window(3);
    let sg = savitzky_golay(1, 2, &window).unwrap();
    let c = classify_stencil(&window, sg.weights()).unwrap();
    assert_eq!(c.accuracy.unwrap().order, 2);
    assert_eq!(c.nearest.unwrap().name, "Savitzky–Golay degree 2");
    // Kernel attention's derivative is not a consistent stencil: its first moment is
    // Var_a(x)/σ² ≠ 1.
    let kernel = KernelAttention::new(&window, 1.0).unwrap();
    let w = effective_weights(&kernel.at(0.0, Output::Derivative).unwrap()).unwrap();
    assert_eq!(classify_stencil(&window, &w).unwrap().deriv, None);

    let gl = gauss_legendre(5).unwrap();
    let r = classify_rule(gl.nodes(), gl.weights()).unwrap();
    assert_eq!((r.degree, r.heads), (Some(9), 1));
    assert_eq!(r.nearest.unwrap().name, "Gauss–Legendre 5");
    let nc = newton_cotes(NewtonCotes::Closed, 9).unwrap();
    let r = classify_rule(nc.nodes(), nc.weights()).unwrap();
    assert_eq!((r.degree, r.heads), (Some(9), 2));
    assert_eq!(r.nearest.unwrap().name, "closed Newton–Cotes 9");

    let rk4 = named_method("rk4").unwrap();
    let t = classify_tableau(
        &RkAttention::compile(&rk4.tableau)
            .unwrap()
            .tableau()
            .unwrap(),
        6,
    );
    assert_eq!(t.order, 4);
    assert!(t.residuals[3] < 1e-15 && t.residuals[4] > 1e-3);
    assert_eq!(t.nearest.unwrap().name, "rk4");
    let dp = named_method("dormand-prince5").unwrap();
    assert_eq!(classify_tableau(&dp.tableau, 6).order, 5);
}

/// Smooth, kinked, discontinuous and constant data on a periodic grid of 64 points.
fn weno_test_grids() -> Vec<Vec<f64>> {
    let n = 64;
    let x: Vec<f64> = (0..n).map(|i| i as f64 / n as f64).collect();
    vec![
        x.iter()
            .map(|x| (2.0 * std::f64::consts::PI * x).sin().exp())
            .collect(),
        x.iter().map(|x| (x - 0.5).abs()).collect(),
        x.iter()
            .map(|&x| if x < 0.3 { 1.0 } else { -0.5 })
            .collect(),
        vec![0.7; n],
    ]
}

#[test]
fn weno_attention_is_the_classical_reconstruction_to_rounding() {
    let classical = Weno5::jiang_shu();
    let attention = WenoAttention::compile(&classical).unwrap();
    for grid in weno_test_grids() {
        let expected = classical.reconstruct_periodic(&grid).unwrap();
        let values = samples(&grid).unwrap();
        let got = attention.reconstruct_periodic(&values).unwrap();
        let got = got.squeeze(0).unwrap().to_vec1::<f64>().unwrap();
        let scale = grid.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (i, (a, b)) in got.iter().zip(&expected).enumerate() {
            assert!(
                (a - b).abs() <= 4.0 * f64::EPSILON * scale,
                "point {i}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn weno_attention_refuses_a_grid_smaller_than_its_stencil() {
    let attention = WenoAttention::compile(&Weno5::jiang_shu()).unwrap();
    assert!(
        attention
            .reconstruct_periodic(&samples(&[1.0; 4]).unwrap())
            .is_err()
    );
}

proptest! {
    /// On any window, of any scale, the head's weights are the nonlinear weights ω to rounding.
    #[test]
    fn weno_attention_weights_are_the_nonlinear_weights(
        window in proptest::array::uniform5(-1.0f64..1.0),
        log_scale in -3.0f64..3.0,
    ) {
        let window = window.map(|v| v * 10f64.powf(log_scale));
        let classical = Weno5::jiang_shu();
        let attention = WenoAttention::compile(&classical).unwrap();
        let got = attention.weights(&samples(&window).unwrap()).unwrap();
        let got = got.squeeze(0).unwrap().to_vec1::<f64>().unwrap();
        for (a, b) in got.iter().zip(classical.weights(&window)) {
            prop_assert!((a - b).abs() <= 1e-14, "{a} vs {b}");
        }
    }
}
