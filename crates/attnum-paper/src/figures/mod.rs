//! The paper's figures: each is a function from the results tables to an SVG drawing.
//!
//! To add a figure: write a module here with `fn draw(&Results) -> Result<String>` and list it in
//! [`FIGURES`]; it is written to `results/figures/NAME.pdf` and `\includegraphics{figures/NAME}`
//! finds it in the paper.

mod attention_equivalence;
mod fd_convergence;
mod hard_attention;
mod kernel_attention;
mod learned_architectures;
mod learned_derivative;
mod learned_noise;
mod learned_quadrature;
mod learned_stencils;
mod noisy_derivative;
mod quadrature_attention;
mod rk_attention;
mod rk_convergence;

use crate::error::Result;
use crate::results::Results;

/// A figure of the paper.
pub struct Figure {
    /// File stem under `results/figures/`.
    pub name: &'static str,
    /// Draw it as SVG.
    pub draw: fn(&Results) -> Result<String>,
}

/// Every figure of the paper.
pub const FIGURES: &[Figure] = &[
    Figure {
        name: "fd_convergence",
        draw: fd_convergence::draw,
    },
    Figure {
        name: "rk_convergence",
        draw: rk_convergence::draw,
    },
    Figure {
        name: "noisy_derivative",
        draw: noisy_derivative::draw,
    },
    Figure {
        name: "attention_equivalence",
        draw: attention_equivalence::draw,
    },
    Figure {
        name: "kernel_attention",
        draw: kernel_attention::draw,
    },
    Figure {
        name: "hard_attention",
        draw: hard_attention::draw,
    },
    Figure {
        name: "quadrature_attention",
        draw: quadrature_attention::draw,
    },
    Figure {
        name: "rk_attention",
        draw: rk_attention::draw,
    },
    Figure {
        name: "learned_derivative",
        draw: learned_derivative::draw,
    },
    Figure {
        name: "learned_architectures",
        draw: learned_architectures::draw,
    },
    Figure {
        name: "learned_stencils",
        draw: learned_stencils::draw,
    },
    Figure {
        name: "learned_noise",
        draw: learned_noise::draw,
    },
    Figure {
        name: "learned_quadrature",
        draw: learned_quadrature::draw,
    },
];
