//! Figure `learned_architectures`: transformers after scale-aware training — the RMS error of
//! `f^{(m)}(x₀)` against the step for each architecture, with the token heads and the
//! least-squares stencil trained on the same data (sweep `learned_derivative`), each the geometric
//! mean over the seeds, and the central difference (dashed): (a) `m = 1`, (b) `m = 2`.

use super::learned_derivative::{error_panel, method_label, number, step_curves};
use super::{Canvas, Drawn, Sources};
use crate::results::Curve;

/// The canvas of the shared two-panel figure.
pub(super) const SIZE: (u32, u32) = super::learned_derivative::SIZE;

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let mut panels = Vec::new();
    for derivative in [1.0, 2.0] {
        let mut shown: Vec<Curve> = Vec::new();
        for (heads, blocks) in [(2.0, 1.0), (4.0, 1.0), (2.0, 2.0)] {
            let keep = move |t: &attnum_results::Table, r: usize| {
                number(t, r, "model.transformer.heads") == Some(heads)
                    && number(t, r, "model.transformer.blocks") == Some(blocks)
                    && super::learned_derivative::text(t, r, "method") == "model"
            };
            for (_, points) in step_curves(
                sources,
                "learned_architectures/steps",
                derivative,
                0.5,
                &keep,
            )? {
                let plural = |n: f64, word: &str| {
                    if n == 1.0 {
                        format!("1 {word}")
                    } else {
                        format!("{n} {word}s")
                    }
                };
                shown.push((
                    format!("transformer, {}, {}", plural(heads, "head"), plural(blocks, "block")),
                    points,
                ));
            }
        }
        let baselines = step_curves(
            sources,
            "learned_derivative/steps",
            derivative,
            0.5,
            &|_, _| true,
        )?;
        for method in ["model", "least_squares"] {
            if let Some((_, p)) = baselines.iter().find(|(m, _)| m == method) {
                shown.push((method_label(method), p.clone()));
            }
        }
        let central = baselines
            .iter()
            .find(|(m, _)| m == "central")
            .map(|(_, p)| p.clone())
            .unwrap_or_default();
        panels.push((shown, central));
    }
    {
        let areas = root.split_evenly((1, 2));
        let captions = ["(a) first derivative", "(b) second derivative"];
        let titles = ["RMS error of f'(x0)", "RMS error of f''(x0)"];
        for (((area, caption), title), (curves, central)) in
            areas.iter().zip(captions).zip(titles).zip(&panels)
        {
            error_panel(root, area, caption, curves, central, (-12, 4), title)?;
        }
    }
    Ok(())
}
