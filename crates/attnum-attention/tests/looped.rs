//! The looped transformer is the Picard iteration of the implicit stage equations: equal to the
//! classical sweeps for every K, to the converged collocation step for large K, with the Gauss
//! tableau read back from its weights and a gradient for every parameter.

use attnum_attention::looped::{LoopedRk, kepler_tokens};
use attnum_classical::rk::{Tableau, named_method};
use candle_core::{Device, Tensor};

fn kepler(_t: f64, y: &[f64], dy: &mut [f64]) {
    let r3 = (y[0] * y[0] + y[1] * y[1]).powf(1.5);
    dy.copy_from_slice(&[y[2], y[3], -y[0] / r3, -y[1] / r3]);
}

fn max_difference(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
}

const STARTS: [[f64; 4]; 3] = [
    [0.5, 0.0, 0.0, 1.732_050_807_568_877_2],
    [-0.3, 0.8, -0.9, -0.2],
    [1.2, -0.4, 0.1, 0.7],
];

#[test]
fn every_number_of_sweeps_is_the_classical_picard_step() {
    let h = 0.1;
    let times = [0.0, 0.7, 2.5];
    let y = Tensor::new(&STARTS, &Device::Cpu).unwrap();
    let mut tableaus: Vec<(String, Tableau)> = (1..=4)
        .map(|s| (format!("gauss{s}"), Tableau::gauss_legendre(s).unwrap()))
        .collect();
    tableaus.push(("rk4".into(), named_method("rk4").unwrap().tableau));
    for (name, tableau) in &tableaus {
        let looped = LoopedRk::compile(tableau).unwrap();
        for sweeps in 0..=2 * tableau.stages() + 2 {
            let batch = looped
                .steps(&mut kepler_tokens, &times, &y, h, sweeps)
                .unwrap()
                .to_vec2::<f64>()
                .unwrap();
            for ((start, t), out) in STARTS.iter().zip(times).zip(&batch) {
                let classical = tableau.picard_step(&mut kepler, t, start, h, sweeps);
                let d = max_difference(out, &classical);
                assert!(d <= 1e-14, "{name}, K = {sweeps}: {d:e}");
            }
        }
    }
}

#[test]
fn many_sweeps_reach_the_collocation_step() {
    let h = 0.05;
    for s in 1..=3 {
        let gauss = Tableau::gauss_legendre(s).unwrap();
        let looped = LoopedRk::compile(&gauss).unwrap();
        for start in &STARTS {
            let converged = gauss
                .implicit_step(&mut kepler, 0.0, start, h, 1e-15, 100)
                .unwrap();
            let y = Tensor::new(start, &Device::Cpu).unwrap();
            let out = looped
                .step(&mut kepler_tokens, 0.0, &y, h, 40)
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            let d = max_difference(&out, &converged.y);
            assert!(
                d <= 1e-14,
                "s = {s}: {d:e} after {} sweeps",
                converged.sweeps
            );
        }
    }
}

#[test]
fn the_gauss_tableau_is_read_back_from_the_attention_weights() {
    for s in 1..=5 {
        let gauss = Tableau::gauss_legendre(s).unwrap();
        let back = LoopedRk::compile(&gauss).unwrap().tableau().unwrap();
        let entries = |t: &Tableau| -> Vec<f64> {
            t.a()
                .iter()
                .flatten()
                .chain(t.b())
                .chain(t.c())
                .copied()
                .collect()
        };
        let d = max_difference(&entries(&back), &entries(&gauss));
        assert!(d <= 1e-15, "s = {s}: {d:e}");
        assert!(!back.is_explicit());
    }
    // Gauss rows: row 1 of s = 3 has signs (+, −, +), row 2 (+, +, −), row 3 and b are positive.
    let three = LoopedRk::compile(&Tableau::gauss_legendre(3).unwrap()).unwrap();
    assert_eq!(three.head_counts(), vec![2, 2, 1, 1]);
}

#[test]
fn every_parameter_receives_a_gradient() {
    // A head whose mask leaves one position has softmax weight 1 whatever its score: its score's
    // gradient is exactly zero. Every other parameter must move the step.
    let gauss = Tableau::gauss_legendre(3).unwrap();
    let looped = LoopedRk::compile(&gauss).unwrap();
    let y = Tensor::new(&STARTS[0], &Device::Cpu).unwrap();
    let loss = looped
        .step(&mut kepler_tokens, 0.0, &y, 0.2, 3)
        .unwrap()
        .sqr()
        .unwrap()
        .sum_all()
        .unwrap();
    let grads = loss.backward().unwrap();
    let parameters = looped.parameters();
    assert_eq!(parameters.len(), 2 * (2 + 2 + 1 + 1));
    let mut zero = Vec::new();
    for (name, var) in parameters {
        let g = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("{name}: no gradient"))
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        assert!(g.iter().all(|x| x.is_finite()), "{name}: {g:?}");
        if g.iter().all(|&x| x == 0.0) {
            zero.push(name);
        }
    }
    // Single-position heads: the negative parts of rows 1 and 2.
    assert_eq!(zero, ["a1.head1.scores", "a2.head1.scores"]);
}
