//! Checks shared by the attention test files.

use attnum_attention::AttentionMethod;
use candle_core::Tensor;

/// The squared output of `module` on `input` gives every parameter a finite, nonzero gradient.
pub fn assert_every_parameter_has_a_gradient(
    name: &str,
    module: &dyn AttentionMethod,
    input: &Tensor,
) {
    assert_gradients(name, module, input, &[]);
}

/// [`assert_every_parameter_has_a_gradient`], except that the parameters named in `invariant`,
/// on which the output does not depend in exact arithmetic (a key bias shifts all the scores of
/// a head alike, and softmax ignores shifts), must receive a gradient that is zero up to
/// rounding.
pub fn assert_gradients(
    name: &str,
    module: &dyn AttentionMethod,
    input: &Tensor,
    invariant: &[&str],
) {
    let loss = module
        .forward(input)
        .unwrap()
        .sqr()
        .unwrap()
        .sum_all()
        .unwrap();
    let grads = loss.backward().unwrap();
    let norms: Vec<(String, f64)> = module
        .parameters()
        .into_iter()
        .map(|(param, var)| {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{name}.{param}: no gradient"));
            let norm = g
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
                .sqrt();
            (param, norm)
        })
        .collect();
    let largest = norms.iter().fold(0.0f64, |m, (_, n)| m.max(*n));
    for (param, norm) in &norms {
        if invariant.contains(&param.as_str()) {
            assert!(
                *norm <= 1e-12 * largest,
                "{name}.{param}: gradient {norm}, but the output does not depend on it"
            );
        } else {
            assert!(
                *norm > 0.0 && norm.is_finite(),
                "{name}.{param}: gradient {norm}"
            );
        }
    }
    for param in invariant {
        assert!(
            norms.iter().any(|(p, _)| p == param),
            "{name} has no parameter `{param}`"
        );
    }
}
