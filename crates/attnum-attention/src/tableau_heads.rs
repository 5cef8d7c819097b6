//! A Butcher tableau as softmax heads: each row of `A` and the output row `b` compiled into zero,
//! one or two scaled softmax heads ([`crate::heads`]) over the stage tokens, beside the nodes `c`.
//!
//! The part that [`crate::rk::RkAttention`] (explicit, causal attention over the stage
//! derivatives) and [`crate::looped::LoopedRk`] (any tableau, one block looped `K` times) share.
//! It knows nothing of how the rows are applied to the stages, nor which tableaus are allowed:
//! those belong to the two modules.

use attnum_classical::rk::Tableau;
use candle_core::{Tensor, Var};

use crate::Result;
use crate::heads::SoftmaxHeads;

/// The heads of each row of `A`, those of `b`, and the nodes `c`.
#[derive(Debug, Clone)]
pub(crate) struct TableauHeads {
    rows: Vec<SoftmaxHeads>,
    output: SoftmaxHeads,
    c: Vec<f64>,
}

impl TableauHeads {
    /// Compile every row of `A` and `b` into heads.
    ///
    /// # Errors
    /// [`crate::AttentionError::Invalid`] for a non-finite entry (a [`Tableau`] has none).
    pub(crate) fn compile(tableau: &Tableau) -> Result<Self> {
        Ok(Self {
            rows: tableau
                .a()
                .iter()
                .map(|row| SoftmaxHeads::compile(row))
                .collect::<Result<_>>()?,
            output: SoftmaxHeads::compile(tableau.b())?,
            c: tableau.c().to_vec(),
        })
    }

    /// The number of stages `s`.
    pub(crate) fn stages(&self) -> usize {
        self.c.len()
    }

    /// The nodes `c`.
    pub(crate) fn c(&self) -> &[f64] {
        &self.c
    }

    /// The heads of each row of `A`.
    pub(crate) fn rows(&self) -> &[SoftmaxHeads] {
        &self.rows
    }

    /// The heads of each row of `A`, then those of `b`.
    pub(crate) fn head_counts(&self) -> Vec<usize> {
        self.rows
            .iter()
            .chain([&self.output])
            .map(SoftmaxHeads::head_count)
            .collect()
    }

    /// The trainable parameters, by name (`a{i}.head{h}.scores`, …, `b.head{h}.scale`; rows
    /// numbered from 1).
    pub(crate) fn parameters(&self) -> Vec<(String, &Var)> {
        use crate::AttentionMethod;
        self.rows
            .iter()
            .enumerate()
            .flat_map(|(i, row)| {
                row.parameters()
                    .into_iter()
                    .map(move |(name, var)| (format!("a{}.{name}", i + 1), var))
            })
            .chain(
                self.output
                    .parameters()
                    .into_iter()
                    .map(|(name, var)| (format!("b.{name}"), var)),
            )
            .collect()
    }

    /// The attention weights of each row of `A` and of `b`, `(s,)` each.
    pub(crate) fn weights(&self) -> candle_core::Result<(Vec<Tensor>, Tensor)> {
        let rows = self
            .rows
            .iter()
            .map(SoftmaxHeads::weights)
            .collect::<candle_core::Result<_>>()?;
        Ok((rows, self.output.weights()?))
    }

    /// `A` and `b` read back from the weights as numbers.
    ///
    /// # Errors
    /// A tensor error.
    pub(crate) fn entries(&self) -> Result<(Vec<Vec<f64>>, Vec<f64>)> {
        let a = self
            .rows
            .iter()
            .map(|row| Ok(row.weights()?.to_vec1::<f64>()?))
            .collect::<Result<Vec<_>>>()?;
        Ok((a, self.output.weights()?.to_vec1::<f64>()?))
    }
}
