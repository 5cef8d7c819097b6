//! What the learned experiments share: the optimiser settings as written in a sweep file, their
//! validation, and the loss curve as a table.

use attnum_attention::learn::{Epoch, TrainSettings};
use attnum_results::Table;
use serde::{Deserialize, Serialize};

use crate::experiments::FieldError;

/// Optimiser settings as written in the sweep file.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// Full-batch steps at most (1 to 100000).
    pub epochs: usize,
    /// Initial learning rate.
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Early-stopping patience in epochs; absent: no early stopping, every epoch runs and the
    /// last parameters are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patience: Option<usize>,
    /// Keep every `record_every`-th epoch in the `curve` table.
    pub record_every: usize,
}

impl Training {
    /// Check the settings; field paths are relative to `training`.
    pub fn validate(&self) -> Result<(), FieldError> {
        if !(self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.learning_rate <= 1.0)
        {
            return Err(FieldError::new(
                "training.learning_rate",
                format!("must be in (0, 1], got {}", self.learning_rate),
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(FieldError::new("training.weight_decay", "must be ≥ 0"));
        }
        let counts = [
            ("training.epochs", Some(self.epochs)),
            ("training.patience", self.patience),
            ("training.record_every", Some(self.record_every)),
        ];
        for (field, v) in counts
            .into_iter()
            .filter_map(|(field, v)| Some((field, v?)))
        {
            if !(1..=100_000).contains(&v) {
                return Err(FieldError::new(
                    field,
                    format!("must be in 1..=100000, got {v}"),
                ));
            }
        }
        Ok(())
    }

    /// The settings of [`attnum_attention::learn::train`].
    pub fn settings(&self) -> TrainSettings {
        TrainSettings {
            epochs: self.epochs,
            learning_rate: self.learning_rate,
            weight_decay: self.weight_decay,
            patience: self.patience,
        }
    }

    /// Every `record_every`-th epoch of a loss curve, as the `curve` table.
    pub fn curve_table(&self, curve: &[Epoch]) -> Table {
        let rows: Vec<CurveRow> = curve
            .iter()
            .filter(|e| e.epoch % self.record_every == 0)
            .map(|e| CurveRow {
                epoch: e.epoch,
                train_loss: e.train_loss,
                validation_loss: e.validation_loss,
                learning_rate: e.learning_rate,
            })
            .collect();
        Table::from_rows_with_header(&rows)
    }

    /// Every `record_every`-th epoch of the loss curve of the model `method` trained with
    /// `seed`, as rows of a `curve` table that holds several models.
    pub fn method_curve<'a>(
        &self,
        seed: u64,
        method: &'a str,
        curve: &[Epoch],
    ) -> Vec<MethodCurveRow<'a>> {
        curve
            .iter()
            .filter(|e| e.epoch % self.record_every == 0)
            .map(|e| MethodCurveRow {
                seed,
                method,
                epoch: e.epoch,
                train_loss: e.train_loss,
                validation_loss: e.validation_loss,
                learning_rate: e.learning_rate,
            })
            .collect()
    }
}

/// A row of a `curve` table of several models: one recorded epoch of the model `method` trained
/// with `seed`.
#[derive(Serialize, Default)]
pub struct MethodCurveRow<'a> {
    seed: u64,
    method: &'a str,
    epoch: usize,
    train_loss: f64,
    validation_loss: f64,
    learning_rate: f64,
}

/// A row of `curve`: one recorded epoch.
#[derive(Serialize, Default)]
struct CurveRow {
    epoch: usize,
    train_loss: f64,
    validation_loss: f64,
    learning_rate: f64,
}
