//! The learned quadrature head's closed-form training ([`MomentLoss`], [`train_exact`]) against
//! candle: the loss equals the module's mean squared error, the gradient equals autograd's, and
//! a training run follows [`train`]'s trajectory; free nodes reach Gauss–Legendre from outside
//! the interval.

mod closed_form;

use attnum_attention::DEVICE;
use attnum_attention::learn::{Dataset, TrainSettings, generator, normal, train};
use attnum_attention::learned_rule::{
    LearnedQuadrature, MomentLoss, NodeMap, RuleParameters, train_exact,
};
use attnum_classical::quadrature::gauss_legendre;
use candle_core::Tensor;

/// `count` polynomials of degree `degree` (Legendre coefficients standard normal): the candle
/// dataset and the closed-form loss on the same draws.
fn data(degree: usize, count: usize, stream: u64) -> (Dataset, MomentLoss) {
    let c = normal(&mut generator(7, stream), count * (degree + 1), 1.0);
    let targets: Vec<f64> = c.chunks(degree + 1).map(|r| 2.0 * r[0]).collect();
    let loss = MomentLoss::new(&c, degree).unwrap();
    let dataset = Dataset {
        inputs: Tensor::from_vec(c, (count, degree + 1), &DEVICE).unwrap(),
        targets: Tensor::from_vec(targets, count, &DEVICE).unwrap(),
    };
    (dataset, loss)
}

fn parameter_sets() -> Vec<RuleParameters> {
    let scores = [0.3, -0.2, 0.1, 0.5];
    let mut sets = vec![
        RuleParameters::trainable(NodeMap::Tanh, &[-0.7, -0.1, 0.4, 0.9], &scores).unwrap(),
        RuleParameters::trainable(NodeMap::Free, &[-1.3, -0.1, 0.4, 1.2], &scores).unwrap(),
        RuleParameters::fixed(&[-1.0, -1.0 / 3.0, 1.0 / 3.0, 1.0], &scores).unwrap(),
    ];
    for p in &mut sets {
        p.log_scale = 0.4;
    }
    sets
}

#[test]
fn the_closed_form_loss_and_gradient_are_candles() {
    let (dataset, loss) = data(7, 40, 1);
    for params in parameter_sets() {
        let (value, gradient) = loss.loss_and_gradient(&params);
        closed_form::assert_candles_loss_and_gradient(
            &format!("{:?}", params.map),
            &params.head(7).unwrap(),
            &dataset,
            (value, &gradient),
        );
    }
}

#[test]
fn closed_form_training_follows_candles_trajectory() {
    let (train_set, train_loss) = data(5, 64, 2);
    let (validation_set, validation_loss) = data(5, 32, 3);
    let settings = closed_form::settings(300);
    for map in [NodeMap::Tanh, NodeMap::Free] {
        let mut params =
            RuleParameters::trainable(map, &[-0.5, 0.1, 0.7], &[0.2, 0.0, -0.3]).unwrap();
        let head = params.head(5).unwrap();
        let reference = train(
            &head,
            &train_set,
            &validation_set,
            &settings,
            &mut generator(1, 9),
        )
        .unwrap();
        let curve = train_exact(&mut params, &train_loss, &validation_loss, &settings).unwrap();
        closed_form::assert_same_trajectory(&format!("{map:?}"), &curve, &reference, 1e-9);
        for (a, b) in params.nodes().iter().zip(head.nodes().unwrap()) {
            assert!((a - b).abs() < 1e-10, "{map:?}: nodes {a} against {b}");
        }
        for (a, b) in params.weights().iter().zip(head.weights().unwrap()) {
            assert!((a - b).abs() < 1e-10, "{map:?}: weights {a} against {b}");
        }
    }
}

#[test]
fn free_nodes_starting_outside_the_interval_find_gauss_legendre() {
    let (_, train_loss) = data(5, 64, 4);
    let (_, validation_loss) = data(5, 32, 5);
    let mut params =
        RuleParameters::trainable(NodeMap::Free, &[-1.4, 0.2, 1.3], &[0.0, 0.0, 0.0]).unwrap();
    let settings = TrainSettings {
        epochs: 4000,
        learning_rate: 0.03,
        weight_decay: 0.0,
        patience: Some(1000),
    };
    train_exact(&mut params, &train_loss, &validation_loss, &settings).unwrap();
    let mut nodes = params.nodes();
    nodes.sort_by(f64::total_cmp);
    let gl = gauss_legendre(3).unwrap();
    for (a, b) in nodes.iter().zip(gl.nodes()) {
        assert!((a - b).abs() < 1e-8, "{nodes:?}");
    }
}

#[test]
fn the_head_refuses_nodes_its_map_cannot_reach() {
    assert!(LearnedQuadrature::trainable(NodeMap::Tanh, &[1.0, 0.0], &[0.0, 0.0], 3).is_err());
    assert!(LearnedQuadrature::trainable(NodeMap::Free, &[1.5, 0.0], &[0.0, 0.0], 3).is_ok());
    assert!(LearnedQuadrature::trainable(NodeMap::Free, &[f64::NAN, 0.0], &[0.0, 0.0], 3).is_err());
    assert!(RuleParameters::trainable(NodeMap::Tanh, &[-1.0], &[0.0]).is_err());
    assert!(MomentLoss::new(&[1.0; 12], 3).is_err());
}
