//! Checks shared by the attention test files.

use attnum_attention::AttentionMethod;
use candle_core::Tensor;

/// The squared output of `module` on `input` gives every parameter a finite, nonzero gradient.
pub fn assert_every_parameter_has_a_gradient(
    name: &str,
    module: &dyn AttentionMethod,
    input: &Tensor,
) {
    let loss = module
        .forward(input)
        .unwrap()
        .sqr()
        .unwrap()
        .sum_all()
        .unwrap();
    let grads = loss.backward().unwrap();
    for (param, var) in module.parameters() {
        let g = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("{name}.{param}: no gradient"));
        let norm = g
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert!(
            norm > 0.0 && norm.is_finite(),
            "{name}.{param}: gradient {norm}"
        );
    }
}
