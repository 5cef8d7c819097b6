//! The learned Runge–Kutta step: `Σ b = 1` by construction with unit output weights, every
//! parameter receiving a gradient, and the closed-form training ([`IncrementLoss`],
//! [`train_exact`]) against candle — the loss equals the module's mean squared error, the
//! gradient equals autograd's, and a training run follows [`train`]'s trajectory — returning the
//! validation minimiser and the last iterate.

mod closed_form;
#[allow(dead_code)]
mod common;

use attnum_attention::learn::{Dataset, generator, normal, train};
use attnum_attention::learned_tableau::{
    IncrementLoss, LearnedRkAttention, OutputWeights, PROBLEM_COLUMNS, RkParameters, score_count,
    train_exact,
};
use attnum_attention::{AttentionMethod, DEVICE};
use candle_core::Tensor;
use rand::RngExt;

/// `count` random packed problems with random targets (the identities hold for any targets).
fn problems(count: usize, stream: u64) -> Dataset {
    let mut rng = generator(3, stream);
    let mut rows = Vec::new();
    for _ in 0..count {
        rows.extend(normal(&mut rng, 2, 0.5));
        rows.push(rng.random_range(0.05..0.5));
        rows.extend(normal(&mut rng, 4, 0.5));
        rows.extend(normal(&mut rng, 8, 0.25));
    }
    let targets = normal(&mut rng, 2 * count, 0.5);
    Dataset {
        inputs: Tensor::from_vec(rows, (count, PROBLEM_COLUMNS), &DEVICE).unwrap(),
        targets: Tensor::from_vec(targets, 2 * count, &DEVICE).unwrap(),
    }
}

fn parameters(stages: usize, output: OutputWeights, seed: u64) -> RkParameters {
    let mut rng = generator(seed, 0);
    let mut p =
        RkParameters::new(stages, output, &normal(&mut rng, score_count(stages), 1.0)).unwrap();
    p.log_scales = normal(&mut rng, p.log_scales.len(), 0.3);
    p
}

#[test]
fn unit_output_weights_sum_to_one_for_any_scores() {
    for stages in 1..=4 {
        for seed in 0..20 {
            let p = parameters(stages, OutputWeights::Unit, seed);
            let tableau = p.module().unwrap().tableau().unwrap();
            let sum: f64 = tableau.b().iter().sum();
            assert!((sum - 1.0).abs() < 1e-15, "s = {stages}: Σb = {sum}");
            assert_eq!(p.tableau().unwrap().b(), tableau.b());
        }
    }
}

#[test]
fn every_parameter_of_the_unit_output_step_receives_a_gradient() {
    let data = problems(3, 1);
    // Row 2 of A has one entry: the softmax of one score is 1 whatever the score, so only its
    // scale matters.
    for stages in 2..=4 {
        for output in [OutputWeights::Scaled, OutputWeights::Unit] {
            let module = parameters(stages, output, 1).module().unwrap();
            common::assert_gradients("rk", &module, &data.inputs, &["a2.scores"]);
        }
    }
    // One stage with unit weights is forward Euler: its one score changes nothing.
    let euler = parameters(1, OutputWeights::Unit, 1).module().unwrap();
    common::assert_gradients("unit euler", &euler, &data.inputs, &["b.scores"]);
}

#[test]
fn the_closed_form_loss_and_gradient_are_candles() {
    let data = problems(16, 2);
    let loss = IncrementLoss::from_dataset(&data).unwrap();
    for stages in 1..=4 {
        for output in [OutputWeights::Scaled, OutputWeights::Unit] {
            let params = parameters(stages, output, 7 + stages as u64);
            let (value, gradient) = loss.loss_and_gradient(&params);
            closed_form::assert_candles_loss_and_gradient(
                &format!("s = {stages} {output:?}"),
                &params.module().unwrap(),
                &data,
                (value, &gradient),
            );
        }
    }
}

#[test]
fn closed_form_training_follows_candles_trajectory() {
    let (train_set, validation_set) = (problems(32, 3), problems(16, 4));
    let (train_loss, validation_loss) = (
        IncrementLoss::from_dataset(&train_set).unwrap(),
        IncrementLoss::from_dataset(&validation_set).unwrap(),
    );
    let settings = closed_form::settings(200);
    for output in [OutputWeights::Scaled, OutputWeights::Unit] {
        let mut params = parameters(3, output, 5);
        let module: LearnedRkAttention = params.module().unwrap();
        let reference = train(
            &module,
            &train_set,
            &validation_set,
            &settings,
            &mut generator(1, 9),
        )
        .unwrap();
        let run = train_exact(&mut params, &train_loss, &validation_loss, &settings).unwrap();
        closed_form::assert_same_trajectory(&format!("{output:?}"), &run.curve, &reference, 1e-10);
        let (ours, theirs) = (params.tableau().unwrap(), module.tableau().unwrap());
        for (x, y) in ours
            .a()
            .iter()
            .flatten()
            .chain(ours.b())
            .zip(theirs.a().iter().flatten().chain(theirs.b()))
        {
            assert!((x - y).abs() < 1e-10, "{output:?}: {x} against {y}");
        }
    }
}

#[test]
fn training_returns_the_validation_minimiser_and_the_last_iterate() {
    let mut params = parameters(2, OutputWeights::Scaled, 3);
    // Validation targets that the starting method meets exactly: training moves away from them,
    // early stopping ends the run, and the last iterate is `patience` epochs after the validation
    // minimum.
    let held_out = problems(16, 6);
    let validation_set = Dataset {
        targets: params.module().unwrap().forward(&held_out.inputs).unwrap(),
        inputs: held_out.inputs,
    };
    let (train_loss, validation_loss) = (
        IncrementLoss::from_dataset(&problems(32, 5)).unwrap(),
        IncrementLoss::from_dataset(&validation_set).unwrap(),
    );
    let patience = 20;
    let settings = attnum_attention::learn::TrainSettings {
        patience: Some(patience),
        ..closed_form::settings(2000)
    };
    let run = train_exact(&mut params, &train_loss, &validation_loss, &settings).unwrap();
    let (best, best_epoch) = run
        .curve
        .iter()
        .map(|e| (e.validation_loss, e.epoch))
        .fold((f64::INFINITY, 0), |m, e| if e.0 < m.0 { e } else { m });
    let last = run.curve.last().unwrap();
    assert!(run.curve.len() < settings.epochs, "the run stopped early");
    assert_eq!(last.epoch, best_epoch + patience);
    // The validation loss is recorded after each epoch's update: the returned parameters' loss
    // is the curve's minimum, the last iterate's its last entry.
    assert_eq!(validation_loss.loss(&params), best);
    assert_eq!(validation_loss.loss(&run.last), last.validation_loss);
    assert_ne!(run.last, params);
}

#[test]
fn the_parameters_refuse_wrong_lengths() {
    assert!(RkParameters::new(3, OutputWeights::Unit, &[0.0; 5]).is_err());
    assert!(LearnedRkAttention::from_parameters(2, OutputWeights::Unit, &[0.0; 3], &[]).is_err());
    assert!(LearnedRkAttention::from_parameters(2, OutputWeights::Unit, &[0.0; 3], &[0.0]).is_ok());
    assert!(IncrementLoss::new(vec![0.0; 15], vec![0.0]).is_err());
}
