//! The statistics the learned experiments report over seeds and restarts: the mean of a sample
//! with its 95% Student t-interval, and the row of a `statistics` table that holds it. One
//! implementation, so that every interval of the paper uses the same quantiles.

use serde::Serialize;

/// The 0.975 quantile of Student's t distribution with `df` degrees of freedom (exact to the
/// printed digits for `df ≤ 30`, then the Cornish–Fisher expansion, error below 10⁻⁴).
pub fn student_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010,
        2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739,
        2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
    ];
    if (1..=30).contains(&df) {
        return TABLE[df - 1];
    }
    let z = 1.959_963_984_540_054f64;
    let n = df as f64;
    z + (z.powi(3) + z) / (4.0 * n)
        + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * n * n)
}

/// Mean and 95% Student interval of a sample (the interval collapses to the mean for one value).
pub fn mean_interval(values: &[f64]) -> (f64, f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, mean, mean);
    }
    let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let half = student_975(values.len() - 1) * (var / n).sqrt();
    (mean, mean - half, mean + half)
}

/// A row of a `statistics` table: one metric of one method over the seeds.
#[derive(Serialize)]
pub struct StatisticsRow<'a> {
    method: &'a str,
    metric: &'a str,
    count: usize,
    mean: f64,
    ci_low: f64,
    ci_high: f64,
}

impl<'a> StatisticsRow<'a> {
    /// The mean and 95% Student interval of `values`, one per seed, of `metric` of `method`.
    pub fn over_seeds(method: &'a str, metric: &'a str, values: &[f64]) -> Self {
        let (mean, ci_low, ci_high) = mean_interval(values);
        Self {
            method,
            metric,
            count: values.len(),
            mean,
            ci_low,
            ci_high,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{mean_interval, student_975};

    #[test]
    fn quantiles_are_the_published_values() {
        // t_{0.975}: 12.7062 (1), 2.7764 (4), 2.5706 (5), 2.0423 (30) degrees of freedom, and
        // 1.9623 for 1000 (Cornish–Fisher beyond the table).
        for (df, t) in [
            (1, 12.7062),
            (4, 2.7764),
            (5, 2.5706),
            (30, 2.0423),
            (1000, 1.9623),
        ] {
            assert!(
                (student_975(df) - t).abs() < 1e-4,
                "{df}: {}",
                student_975(df)
            );
        }
    }

    #[test]
    fn the_interval_of_a_sample_uses_t_with_one_degree_fewer() {
        let (mean, low, high) = mean_interval(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(mean, 3.0);
        let half = 2.7764 * (2.5f64 / 5.0).sqrt();
        assert!((high - mean - half).abs() < 1e-12 && (mean - low - half).abs() < 1e-12);
        // s = 1, n = 3: half-width 4.3027/√3.
        let (mean, low, high) = mean_interval(&[1.0, 2.0, 3.0]);
        assert!((mean - 2.0).abs() < 1e-15);
        assert!((high - low - 2.0 * 4.3027 / 3f64.sqrt()).abs() < 1e-12);
        assert_eq!(mean_interval(&[7.0]), (7.0, 7.0, 7.0));
    }
}
