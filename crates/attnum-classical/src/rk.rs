//! Explicit Runge–Kutta methods: Butcher tableaus, a library of named methods, and stepping of
//! vector ODEs `y' = f(t, y)`.
//!
//! A step of an `s`-stage explicit method computes the stage derivatives
//! `k_i = f(t + c_i h, y + h Σ_{j<i} a_ij k_j)` and returns `y + h Σ_i b_i k_i`.

use std::fmt;

use thiserror::Error;

/// Why a tableau is refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TableauError {
    /// `A` is not `s × s`, or `b` / `c` do not have `s` entries.
    #[error(
        "a tableau with {stages} stages needs A {stages}×{stages}, b and c of length {stages}; {what}"
    )]
    Shape {
        /// The number of stages (length of `c`).
        stages: usize,
        /// Which part has the wrong shape.
        what: String,
    },
    /// An entry on or above the diagonal of `A` is nonzero: the method is implicit.
    #[error("a_{i}{j} = {value} is on or above the diagonal: the method is not explicit")]
    NotExplicit {
        /// Row (1-based).
        i: usize,
        /// Column (1-based).
        j: usize,
        /// The entry.
        value: f64,
    },
    /// An entry is NaN or infinite.
    #[error("entry {what} is not finite")]
    NotFinite {
        /// Which entry.
        what: String,
    },
    /// No method of that name.
    #[error("no Runge–Kutta method named `{name}`; the methods are: {}", available.join(", "))]
    UnknownMethod {
        /// The name asked for.
        name: String,
        /// The known names.
        available: Vec<&'static str>,
    },
}

/// The Butcher tableau of an explicit Runge–Kutta method.
#[derive(Debug, Clone, PartialEq)]
pub struct Tableau {
    a: Vec<Vec<f64>>,
    b: Vec<f64>,
    c: Vec<f64>,
}

impl Tableau {
    /// A tableau from its rows of `A`, `b` and `c`; `A` must be strictly lower triangular.
    pub fn new(a: Vec<Vec<f64>>, b: Vec<f64>, c: Vec<f64>) -> Result<Self, TableauError> {
        let s = c.len();
        let shape = |what: String| TableauError::Shape { stages: s, what };
        if s == 0 {
            return Err(shape("there are no stages".into()));
        }
        if b.len() != s {
            return Err(shape(format!("b has {} entries", b.len())));
        }
        if a.len() != s {
            return Err(shape(format!("A has {} rows", a.len())));
        }
        for (i, row) in a.iter().enumerate() {
            if row.len() != s {
                return Err(shape(format!(
                    "row {} of A has {} entries",
                    i + 1,
                    row.len()
                )));
            }
            for (j, &value) in row.iter().enumerate() {
                if !value.is_finite() {
                    return Err(TableauError::NotFinite {
                        what: format!("a_{}{}", i + 1, j + 1),
                    });
                }
                if j >= i && value != 0.0 {
                    return Err(TableauError::NotExplicit {
                        i: i + 1,
                        j: j + 1,
                        value,
                    });
                }
            }
        }
        for (name, v) in [("b", &b), ("c", &c)] {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(TableauError::NotFinite {
                    what: format!("{name}_{}", i + 1),
                });
            }
        }
        Ok(Self { a, b, c })
    }

    /// Number of stages.
    pub fn stages(&self) -> usize {
        self.c.len()
    }

    /// The matrix `A` by rows.
    pub fn a(&self) -> &[Vec<f64>] {
        &self.a
    }

    /// The weights `b`.
    pub fn b(&self) -> &[f64] {
        &self.b
    }

    /// The nodes `c`.
    pub fn c(&self) -> &[f64] {
        &self.c
    }

    /// Whether every entry of `A`, `b` and `c` is non-negative.
    pub fn is_non_negative(&self) -> bool {
        self.a
            .iter()
            .flatten()
            .chain(&self.b)
            .chain(&self.c)
            .all(|&x| x >= 0.0)
    }

    /// Whether `c_i = Σ_j a_ij` for every stage (the usual row-sum condition).
    pub fn satisfies_row_sums(&self, tol: f64) -> bool {
        self.a
            .iter()
            .zip(&self.c)
            .all(|(row, &c)| (row.iter().sum::<f64>() - c).abs() <= tol)
    }

    /// One step of size `h` from `(t, y)` for `y' = f(t, y)`, where `f(t, y, dy)` writes `dy`.
    pub fn step(
        &self,
        f: &mut impl FnMut(f64, &[f64], &mut [f64]),
        t: f64,
        y: &[f64],
        h: f64,
    ) -> Vec<f64> {
        let s = self.stages();
        let dim = y.len();
        let mut k = vec![vec![0.0; dim]; s];
        let mut stage_y = vec![0.0; dim];
        for i in 0..s {
            stage_y.copy_from_slice(y);
            for (j, kj) in k.iter().enumerate().take(i) {
                let a = self.a[i][j];
                if a != 0.0 {
                    for (yd, kd) in stage_y.iter_mut().zip(kj) {
                        *yd += h * a * kd;
                    }
                }
            }
            f(t + self.c[i] * h, &stage_y, &mut k[i]);
        }
        let mut out = y.to_vec();
        for (bi, ki) in self.b.iter().zip(&k) {
            for (o, kd) in out.iter_mut().zip(ki) {
                *o += h * bi * kd;
            }
        }
        out
    }

    /// Integrate from `t0` to `t1` in `steps` equal steps.
    pub fn integrate(
        &self,
        f: &mut impl FnMut(f64, &[f64], &mut [f64]),
        t0: f64,
        y0: &[f64],
        t1: f64,
        steps: usize,
    ) -> Vec<f64> {
        let h = (t1 - t0) / steps as f64;
        let mut y = y0.to_vec();
        for n in 0..steps {
            y = self.step(f, t0 + n as f64 * h, &y, h);
        }
        y
    }
}

/// A named explicit Runge–Kutta method from the literature.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedMethod {
    /// Short name used on the command line and in tables.
    pub name: &'static str,
    /// Its usual full name.
    pub title: &'static str,
    /// The order of accuracy claimed by its source.
    pub order: usize,
    /// Where it is published.
    pub source: &'static str,
    /// The tableau.
    pub tableau: Tableau,
}

impl fmt::Display for NamedMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.title, self.name)
    }
}

/// The names of the methods in [`named_methods`], in order.
pub const METHOD_NAMES: [&str; 13] = [
    "euler",
    "midpoint",
    "heun2",
    "ralston2",
    "ssprk2",
    "kutta3",
    "heun3",
    "ralston3",
    "ssprk3",
    "bogacki-shampine3",
    "rk4",
    "three-eighths",
    "dormand-prince5",
];

fn tableau(rows: &[&[f64]], b: &[f64]) -> Tableau {
    let s = b.len();
    let a: Vec<Vec<f64>> = (0..s)
        .map(|i| {
            let mut row = vec![0.0; s];
            if i > 0 {
                row[..i].copy_from_slice(rows[i - 1]);
            }
            row
        })
        .collect();
    let c = a.iter().map(|r| r.iter().sum()).collect();
    Tableau::new(a, b.to_vec(), c).expect("library tableaus are valid")
}

/// The library of named explicit methods. `c` is always the row sums of `A`.
pub fn named_methods() -> Vec<NamedMethod> {
    let m = |name, title, order, source, rows: &[&[f64]], b: &[f64]| NamedMethod {
        name,
        title,
        order,
        source,
        tableau: tableau(rows, b),
    };
    vec![
        m(
            "euler",
            "forward Euler",
            1,
            "Euler (1768); Hairer, Nørsett & Wanner, Solving ODEs I, II.1",
            &[],
            &[1.0],
        ),
        m(
            "midpoint",
            "explicit midpoint",
            2,
            "Runge (1895); Hairer, Nørsett & Wanner, II.1",
            &[&[0.5]],
            &[0.0, 1.0],
        ),
        m(
            "heun2",
            "Heun's method (explicit trapezoid)",
            2,
            "Heun (1900); Hairer, Nørsett & Wanner, II.1",
            &[&[1.0]],
            &[0.5, 0.5],
        ),
        m(
            "ralston2",
            "Ralston's second-order method",
            2,
            "Ralston, Math. Comp. 16 (1962) 431–437",
            &[&[2.0 / 3.0]],
            &[0.25, 0.75],
        ),
        m(
            "ssprk2",
            "SSPRK(2,2)",
            2,
            "Shu & Osher, J. Comput. Phys. 77 (1988); equal to Heun's method",
            &[&[1.0]],
            &[0.5, 0.5],
        ),
        m(
            "kutta3",
            "Kutta's third-order method",
            3,
            "Kutta (1901); Hairer, Nørsett & Wanner, II.1",
            &[&[0.5], &[-1.0, 2.0]],
            &[1.0 / 6.0, 2.0 / 3.0, 1.0 / 6.0],
        ),
        m(
            "heun3",
            "Heun's third-order method",
            3,
            "Heun (1900); Hairer, Nørsett & Wanner, II.1",
            &[&[1.0 / 3.0], &[0.0, 2.0 / 3.0]],
            &[0.25, 0.0, 0.75],
        ),
        m(
            "ralston3",
            "Ralston's third-order method",
            3,
            "Ralston, Math. Comp. 16 (1962) 431–437",
            &[&[0.5], &[0.0, 0.75]],
            &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0],
        ),
        m(
            "ssprk3",
            "SSPRK(3,3)",
            3,
            "Shu & Osher, J. Comput. Phys. 77 (1988) 439–471",
            &[&[1.0], &[0.25, 0.25]],
            &[1.0 / 6.0, 1.0 / 6.0, 2.0 / 3.0],
        ),
        m(
            "bogacki-shampine3",
            "Bogacki–Shampine 3(2), third-order weights",
            3,
            "Bogacki & Shampine, Appl. Math. Lett. 2 (1989) 321–325",
            &[&[0.5], &[0.0, 0.75], &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0]],
            &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0, 0.0],
        ),
        m(
            "rk4",
            "classical Runge–Kutta method",
            4,
            "Kutta (1901); Hairer, Nørsett & Wanner, II.1",
            &[&[0.5], &[0.0, 0.5], &[0.0, 0.0, 1.0]],
            &[1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0],
        ),
        m(
            "three-eighths",
            "Kutta's 3/8 rule",
            4,
            "Kutta (1901); Hairer, Nørsett & Wanner, II.1",
            &[&[1.0 / 3.0], &[-1.0 / 3.0, 1.0], &[1.0, -1.0, 1.0]],
            &[0.125, 0.375, 0.375, 0.125],
        ),
        m(
            "dormand-prince5",
            "Dormand–Prince 5(4), fifth-order weights",
            5,
            "Dormand & Prince, J. Comput. Appl. Math. 6 (1980) 19–26",
            &[
                &[1.0 / 5.0],
                &[3.0 / 40.0, 9.0 / 40.0],
                &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
                &[
                    19372.0 / 6561.0,
                    -25360.0 / 2187.0,
                    64448.0 / 6561.0,
                    -212.0 / 729.0,
                ],
                &[
                    9017.0 / 3168.0,
                    -355.0 / 33.0,
                    46732.0 / 5247.0,
                    49.0 / 176.0,
                    -5103.0 / 18656.0,
                ],
                &[
                    35.0 / 384.0,
                    0.0,
                    500.0 / 1113.0,
                    125.0 / 192.0,
                    -2187.0 / 6784.0,
                    11.0 / 84.0,
                ],
            ],
            &[
                35.0 / 384.0,
                0.0,
                500.0 / 1113.0,
                125.0 / 192.0,
                -2187.0 / 6784.0,
                11.0 / 84.0,
                0.0,
            ],
        ),
    ]
}

/// The named method `name` (one of [`METHOD_NAMES`]).
pub fn named_method(name: &str) -> Result<NamedMethod, TableauError> {
    named_methods()
        .into_iter()
        .find(|m| m.name == name)
        .ok_or_else(|| TableauError::UnknownMethod {
            name: name.to_owned(),
            available: METHOD_NAMES.to_vec(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_is_complete_and_consistent() {
        let methods = named_methods();
        let names: Vec<&str> = methods.iter().map(|m| m.name).collect();
        assert_eq!(names, METHOD_NAMES);
        for m in &methods {
            assert!(m.tableau.satisfies_row_sums(1e-15), "{m}");
            assert!(
                (m.tableau.b().iter().sum::<f64>() - 1.0).abs() < 1e-15,
                "{m}: Σb = 1"
            );
        }
        assert!(named_method("rk4").unwrap().tableau.is_non_negative());
        assert!(!named_method("kutta3").unwrap().tableau.is_non_negative());
    }

    #[test]
    fn bad_tableaus_are_refused() {
        assert!(matches!(
            Tableau::new(vec![vec![0.0]], vec![1.0, 0.0], vec![0.0]),
            Err(TableauError::Shape { .. })
        ));
        assert!(matches!(
            Tableau::new(vec![vec![0.0, 0.0]], vec![1.0], vec![0.0]),
            Err(TableauError::Shape { .. })
        ));
        assert_eq!(
            Tableau::new(vec![vec![0.5]], vec![1.0], vec![0.5]),
            Err(TableauError::NotExplicit {
                i: 1,
                j: 1,
                value: 0.5
            })
        );
        assert!(matches!(
            Tableau::new(vec![vec![0.0]], vec![f64::NAN], vec![0.0]),
            Err(TableauError::NotFinite { .. })
        ));
        let err = named_method("rk5").unwrap_err().to_string();
        assert!(
            err.contains("no Runge–Kutta method named `rk5`") && err.contains("rk4"),
            "{err}"
        );
    }

    #[test]
    fn rk4_step_on_exponential_matches_its_taylor_polynomial() {
        // For y' = y, one RK4 step multiplies by 1 + h + h²/2 + h³/6 + h⁴/24 exactly.
        let rk4 = named_method("rk4").unwrap().tableau;
        let h = 0.1;
        let y = rk4.step(&mut |_, y, dy| dy[0] = y[0], 0.0, &[1.0], h);
        let expected = 1.0 + h + h * h / 2.0 + h.powi(3) / 6.0 + h.powi(4) / 24.0;
        assert!((y[0] - expected).abs() < 1e-16);
    }
}
