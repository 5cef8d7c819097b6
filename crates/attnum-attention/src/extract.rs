//! The effective linear weights of an attention module: the linear method it applies.
//!
//! A module whose attention weights do not depend on the values is a linear functional
//! `v ↦ Σ w_i v_i`; applying it to the unit vectors gives `w` exactly. Any other module is
//! linearised at a point: its Jacobian with respect to the values, by reverse-mode autograd.

use candle_core::{Tensor, Var};

use crate::{AttentionError, AttentionMethod, DEVICE, Result, identity};

/// The weights `w` with `module(v) = Σ w_i v_i`, read off the unit vectors.
///
/// # Errors
/// [`AttentionError::Invalid`] when the module is not linear in its values (use
/// [`jacobian_weights`]), or a tensor error.
pub fn effective_weights(module: &dyn AttentionMethod) -> Result<Vec<f64>> {
    if !module.is_linear_in_values() {
        return Err(AttentionError::Invalid(
            "the module's attention depends on the values: linearise it with jacobian_weights"
                .into(),
        ));
    }
    Ok(module.forward(&identity(module.inputs())?)?.to_vec1()?)
}

/// The gradient of the module's output with respect to its values at `values`: the weights of
/// the linear method that best describes the module near that point (equal to
/// [`effective_weights`] for a module linear in its values).
///
/// # Errors
/// [`AttentionError::Invalid`] when `values` has the wrong length, or a tensor error.
pub fn jacobian_weights(module: &dyn AttentionMethod, values: &[f64]) -> Result<Vec<f64>> {
    let rows = jacobian_rows(
        module,
        &Tensor::from_slice(values, (1, values.len()), &DEVICE)?,
    )?;
    Ok(rows.into_iter().next().unwrap_or_default())
}

/// [`jacobian_weights`] at every row of a batch `(batch, n)`, by one reverse pass: the rows of a
/// module's batch are independent, so the gradient of the summed outputs holds each row's
/// Jacobian.
///
/// # Errors
/// [`AttentionError::Invalid`] when the rows have the wrong length, or a tensor error.
pub fn jacobian_rows(module: &dyn AttentionMethod, values: &Tensor) -> Result<Vec<Vec<f64>>> {
    let (_, n) = values.dims2()?;
    if n != module.inputs() {
        return Err(AttentionError::Invalid(format!(
            "the module reads {} values, got {n}",
            module.inputs()
        )));
    }
    let v = Var::from_tensor(values)?;
    let out = module.forward(v.as_tensor())?.sum_all()?;
    let grads = out.backward()?;
    let g = grads.get(v.as_tensor()).ok_or_else(|| {
        AttentionError::Invalid("the output does not depend on the values".into())
    })?;
    Ok(g.to_vec2()?)
}
