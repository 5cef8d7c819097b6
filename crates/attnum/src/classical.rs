//! The classical-methods subcommands: `stencil`, `quadrature`, `tableau`, `trees`. Each prints a
//! readable table, or JSON with `--json`. They need no checkout. Beside the classical facts,
//! `stencil`, `quadrature` and `tableau` report what attention represents the method — the
//! expressivity map's verdict per architecture and the cheapest construction, computed by the
//! same code that fills the paper's table.

use anyhow::{Result, bail};
use attnum_attention::expressivity::{self, Architecture, Target};
use attnum_classical::analysis;
use attnum_classical::fd::Stencil;
use attnum_classical::quadrature::{self, NewtonCotes, Rule};
use attnum_classical::rk::{self, Tableau};
use attnum_classical::trees;
use clap::{Args, ValueEnum};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Arguments of `attnum stencil`.
#[derive(Debug, Args)]
pub struct StencilArgs {
    /// Derivative order.
    #[arg(long)]
    deriv: usize,
    /// Node offsets in units of h, comma-separated (e.g. -2,-1,0,1,2).
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        required = true
    )]
    offsets: Vec<f64>,
    /// Step h: also print the weights divided by h^d.
    #[arg(long)]
    h: Option<f64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `attnum quadrature`.
#[derive(Debug, Args)]
pub struct QuadratureArgs {
    /// The rule family.
    rule: RuleFamily,
    /// Number of nodes.
    n: usize,
    /// Interval a,b (default -1,1).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true, num_args = 1)]
    interval: Option<Vec<f64>>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Quadrature families.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum RuleFamily {
    GaussLegendre,
    ClenshawCurtis,
    NewtonCotesClosed,
    NewtonCotesOpen,
}

/// Arguments of `attnum tableau`.
#[derive(Debug, Args)]
pub struct TableauArgs {
    /// Method name (e.g. rk4; an unknown name lists them all).
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    name: Option<String>,
    /// A tableau of your own, explicit or implicit: a YAML file with `a` (the rows of A), `b` and
    /// optionally `c` (default: the row sums of A); entries are numbers or strings such as "1/3".
    #[arg(long)]
    file: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `attnum trees`.
#[derive(Debug, Args)]
pub struct TreesArgs {
    /// Largest tree order.
    #[arg(long)]
    order: usize,
    /// Also give the elementary weights and residuals of this method.
    #[arg(long)]
    tableau: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Largest tree order accepted on the command line (order 14 already has 32 973 trees).
const MAX_TREE_ORDER: usize = 14;

fn print(json: bool, value: &Value, text: impl FnOnce() -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).expect("JSON values serialise")
        );
    } else {
        print!("{}", text());
    }
}

/// The expressivity map's row for `target`: JSON, and lines for the readable output.
fn attention_report(target: Target<'_>) -> (Value, String) {
    let cells: Vec<(Architecture, expressivity::Cell)> = Architecture::ALL
        .iter()
        .map(|&a| (a, expressivity::cell(target, a)))
        .collect();
    let value = json!(
        cells
            .iter()
            .map(|(a, c)| json!({
                "architecture": a.name(),
                "verdict": c.verdict.to_string(),
                "heads": c.heads,
                "layers": c.layers,
                "masks": c.masks,
                "proposition": c.proposition,
            }))
            .collect::<Vec<_>>()
    );
    let mut text = format!(
        "cheapest attention: {}
",
        expressivity::cheapest(target).describe()
    );
    for (a, c) in &cells {
        text += &format!("  {:<22} {}\n", a.name(), c.describe());
    }
    (value, text)
}

/// `attnum stencil`.
pub fn stencil(args: &StencilArgs) -> Result<()> {
    let s = Stencil::on_offsets(args.deriv, &args.offsets)?;
    if let Some(h) = args.h
        && !(h.is_finite() && h > 0.0)
    {
        bail!("--h must be a finite number > 0, got {h}");
    }
    let acc = analysis::accuracy(&s);
    let scaled: Option<Vec<f64>> = args.h.map(|h| {
        s.weights()
            .iter()
            .map(|w| w / h.powi(args.deriv as i32))
            .collect()
    });
    let value = json!({
        "derivative": args.deriv,
        "offsets": s.offsets(),
        "weights": s.weights(),
        "weights_over_h_pow_d": scaled,
        "h": args.h,
        "order": acc.map(|a| a.order),
        "error_constant": acc.map(|a| a.error_constant),
        "noise_amplification": analysis::noise_amplification(&s),
    });
    let (attention, attention_text) = attention_report(Target::Stencil(&s));
    let mut value = value;
    value["attention"] = attention;
    print(args.json, &value, || {
        let mut out = format!("derivative {} on {} nodes\n", args.deriv, s.len());
        out += "  offset              weight";
        out += if scaled.is_some() {
            "              weight/h^d\n"
        } else {
            "\n"
        };
        for (i, (o, w)) in s.offsets().iter().zip(s.weights()).enumerate() {
            out += &format!("  {o:>8}  {w:>22.16e}");
            if let Some(sc) = &scaled {
                out += &format!("  {:>22.16e}", sc[i]);
            }
            out += "\n";
        }
        match acc {
            Some(a) => {
                out += &format!(
                    "order of accuracy {}, error constant {:.6e}\n",
                    a.order, a.error_constant
                )
            }
            None => out += "the weights are not consistent\n",
        }
        out += &format!(
            "noise amplification Σ|w| = {:.6e}\n",
            analysis::noise_amplification(&s)
        );
        out + &attention_text
    });
    Ok(())
}

/// `attnum quadrature`.
pub fn quadrature(args: &QuadratureArgs) -> Result<()> {
    let rule: Rule = match args.rule {
        RuleFamily::GaussLegendre => quadrature::gauss_legendre(args.n)?,
        RuleFamily::ClenshawCurtis => quadrature::clenshaw_curtis(args.n)?,
        RuleFamily::NewtonCotesClosed => quadrature::newton_cotes(NewtonCotes::Closed, args.n)?,
        RuleFamily::NewtonCotesOpen => quadrature::newton_cotes(NewtonCotes::Open, args.n)?,
    };
    let degree = rule.degree_of_exactness(2 * args.n + 1, 1e-10);
    let mapped = match args.interval.as_deref() {
        None => rule.clone(),
        Some([a, b]) => rule.on_interval(*a, *b)?,
        Some(other) => bail!(
            "--interval takes two numbers a,b; got {} values",
            other.len()
        ),
    };
    let value = json!({
        "rule": format!("{:?}", args.rule),
        "n": args.n,
        "interval": args.interval.clone().unwrap_or_else(|| vec![-1.0, 1.0]),
        "nodes": mapped.nodes(),
        "weights": mapped.weights(),
        "degree_of_exactness": degree,
        "positive_weights": rule.has_positive_weights(),
    });
    let (attention, attention_text) = attention_report(Target::Rule(rule.weights()));
    let mut value = value;
    value["attention"] = attention;
    print(args.json, &value, || {
        let mut out = String::from("                  node                  weight\n");
        for (x, w) in mapped.nodes().iter().zip(mapped.weights()) {
            out += &format!("  {x:>22.16e}  {w:>22.16e}\n");
        }
        out += &format!(
            "degree of exactness {}, all weights positive: {}\n",
            degree.map_or("none".to_owned(), |d| d.to_string()),
            rule.has_positive_weights()
        );
        out + &attention_text
    });
    Ok(())
}

fn tableau_json(t: &Tableau) -> Value {
    json!({ "a": t.a(), "b": t.b(), "c": t.c() })
}

/// A user's tableau file (`attnum tableau --file`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableauFile {
    /// The rows of `A`.
    a: Vec<Vec<Entry>>,
    /// The weights.
    b: Vec<Entry>,
    /// The nodes; the row sums of `A` when absent.
    #[serde(default)]
    c: Option<Vec<Entry>>,
}

/// A tableau entry: a number, or a string holding a number or a rational `p/q`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Entry {
    Number(f64),
    Text(String),
}

impl Entry {
    /// The value; errors name the file and the field.
    fn value(&self, path: &Path, field: &str) -> Result<f64> {
        let text = match self {
            Entry::Number(x) => return Ok(*x),
            Entry::Text(text) => text.trim(),
        };
        let parsed = match text.split_once('/') {
            Some((p, q)) => match (p.trim().parse::<i64>(), q.trim().parse::<i64>()) {
                (Ok(p), Ok(q)) if q != 0 => Some(p as f64 / q as f64),
                _ => None,
            },
            None => text.parse::<f64>().ok(),
        };
        match parsed {
            Some(x) => Ok(x),
            None => bail!(
                "{}: field `{field}`: `{text}` is neither a number nor a rational p/q with q ≠ 0",
                path.display()
            ),
        }
    }
}

/// Read a tableau file: its entries, with `c` defaulting to the row sums of `A`.
fn read_tableau_file(path: &Path) -> Result<Tableau> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let file: TableauFile = attnum_results::yaml::parse(path, &text)?;
    let a = file
        .a
        .iter()
        .enumerate()
        .map(|(i, row)| {
            row.iter()
                .enumerate()
                .map(|(j, e)| e.value(path, &format!("a[{i}][{j}]")))
                .collect::<Result<Vec<f64>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    let b = file
        .b
        .iter()
        .enumerate()
        .map(|(j, e)| e.value(path, &format!("b[{j}]")))
        .collect::<Result<Vec<f64>>>()?;
    let c = match &file.c {
        Some(c) => c
            .iter()
            .enumerate()
            .map(|(i, e)| e.value(path, &format!("c[{i}]")))
            .collect::<Result<Vec<f64>>>()?,
        None => a.iter().map(|row| row.iter().sum()).collect(),
    };
    Tableau::general(a, b, c).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// `attnum tableau`.
pub fn tableau(args: &TableauArgs) -> Result<()> {
    let (tableau, title, source, max_order) = match (&args.name, &args.file) {
        (_, Some(path)) => {
            let t = read_tableau_file(path)?;
            // No s-stage method has order above 2s.
            let max_order = (2 * t.stages()).clamp(1, 10);
            (t, path.display().to_string(), "file".to_owned(), max_order)
        }
        (Some(name), None) => {
            let method = rk::named_method(name)?;
            (
                method.tableau,
                method.title.to_owned(),
                method.source.to_owned(),
                8,
            )
        }
        (None, None) => bail!("give a method name or --file"),
    };
    let t = &tableau;
    let order = trees::order_of(t, max_order, 1e-12);
    let mut value = tableau_json(t);
    value["name"] = json!(args.name);
    value["title"] = json!(title);
    value["source"] = json!(source);
    value["stages"] = json!(t.stages());
    value["explicit"] = json!(t.is_explicit());
    value["order"] = json!(order);
    value["non_negative"] = json!(t.is_non_negative());
    let (attention, attention_text) = attention_report(Target::Tableau(t));
    value["attention"] = attention;
    print(args.json, &value, || {
        let kind = if t.is_explicit() {
            "explicit"
        } else {
            "implicit"
        };
        let mut out = format!(
            "{title} — {} stages, {kind}\nsource: {source}\n",
            t.stages()
        );
        for (ci, row) in t.c().iter().zip(t.a()) {
            out += &format!("  {ci:>10.6} |");
            for a in row {
                out += &format!(" {a:>10.6}");
            }
            out += "\n";
        }
        out += &format!("  {:>10} |", "");
        for b in t.b() {
            out += &format!(" {b:>10.6}");
        }
        out += &format!(
            "\norder {order} (from the tree conditions), all entries non-negative: {}\n",
            t.is_non_negative()
        );
        out + &attention_text
    });
    Ok(())
}

/// `attnum trees`.
pub fn trees(args: &TreesArgs) -> Result<()> {
    if args.order == 0 || args.order > MAX_TREE_ORDER {
        bail!(
            "--order must be between 1 and {MAX_TREE_ORDER}, got {}",
            args.order
        );
    }
    let method = args.tableau.as_deref().map(rk::named_method).transpose()?;
    let rows: Vec<Value> = trees::trees_up_to(args.order)
        .iter()
        .map(|t| {
            let mut row = json!({
                "levels": t.levels(),
                "order": t.order(),
                // At most 14! (order 14), which fits a u64 and a JSON number exactly.
                "gamma": t.gamma() as u64,
                "sigma": t.sigma() as u64,
                "alpha": t.alpha() as u64,
            });
            if let Some(m) = &method {
                row["phi"] = json!(t.elementary_weight(&m.tableau));
                row["residual"] = json!(t.residual(&m.tableau));
            }
            row
        })
        .collect();
    let value = json!({ "max_order": args.order, "tableau": args.tableau, "trees": rows });
    print(args.json, &value, || {
        let mut out = format!(
            "{:<28} {:>5} {:>10} {:>8} {:>8}",
            "level sequence", "|t|", "γ", "σ", "α"
        );
        if method.is_some() {
            out += &format!(" {:>22} {:>12}", "Φ", "Φ − 1/γ");
        }
        out += "\n";
        for r in &rows {
            let levels: Vec<String> = r["levels"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| l.to_string())
                .collect();
            out += &format!(
                "{:<28} {:>5} {:>10} {:>8} {:>8}",
                levels.join(""),
                r["order"].to_string(),
                r["gamma"].to_string(),
                r["sigma"].to_string(),
                r["alpha"].to_string()
            );
            if method.is_some() {
                out += &format!(
                    " {:>22.16e} {:>12.3e}",
                    r["phi"].as_f64().unwrap_or(f64::NAN),
                    r["residual"].as_f64().unwrap_or(f64::NAN)
                );
            }
            out += "\n";
        }
        out
    });
    Ok(())
}
