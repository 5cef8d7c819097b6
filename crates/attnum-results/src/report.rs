//! What a verification did: each check (a column of a table within its tolerance, or an artifact
//! against its recorded hash) and, in words, what was checked, what was skipped and why. The
//! sweeps' `verify` and the paper's check of its figures both report in this form, so that
//! `attnum verify` prints one kind of report and a pass never hides work that was not done.

/// One verified claim: a column of a table (or an artifact) and whether it reproduces.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The sweep (or `figures`).
    pub sweep: String,
    /// The table stem or the artifact's file name.
    pub table: String,
    /// The column (`-` for an artifact check).
    pub column: String,
    /// The largest deviation found (infinite for a mismatch that is not numeric).
    pub max_deviation: f64,
    /// The tolerance applied, in words.
    pub tolerance: String,
    /// Whether it passed.
    pub pass: bool,
    /// Why it failed, if it did.
    pub note: String,
}

/// What `verify` did for one sweep (or for the figures): its checks, and in words what it
/// checked, what it skipped and why, and facts worth knowing that are not failures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The sweep (or `figures`).
    pub subject: String,
    /// Every check.
    pub checks: Vec<Check>,
    /// What was checked, one item each.
    pub checked: Vec<String>,
    /// What was not checked, with the reason, one item each.
    pub skipped: Vec<String>,
    /// Other facts (e.g. the results were computed by other code), one each.
    pub notes: Vec<String>,
}

impl Report {
    /// An empty report on `subject`.
    pub fn new(subject: &str) -> Self {
        Self {
            subject: subject.to_owned(),
            ..Self::default()
        }
    }

    /// Record an artifact check (`-` column): passed, or failed with `note`.
    pub fn artifact(&mut self, file: &str, tolerance: &str, failure: Option<String>) {
        self.checks.push(Check {
            sweep: self.subject.clone(),
            table: file.to_owned(),
            column: "-".into(),
            max_deviation: if failure.is_some() {
                f64::INFINITY
            } else {
                0.0
            },
            tolerance: tolerance.to_owned(),
            pass: failure.is_none(),
            note: failure.unwrap_or_default(),
        });
    }

    /// The number of failed checks.
    pub fn failures(&self) -> usize {
        self.checks.iter().filter(|c| !c.pass).count()
    }
}
