//! LaTeX text: escaping of data-file strings and the Tera 2 environment for `.tex` templates.
//!
//! Templates use `<< var >>`, `<% block %>` and `<# comment #>` so that LaTeX's `{%`, `{#1}` and
//! `{{` are plain text. Every value inserted into a `.tex` template is LaTeX-escaped unless the
//! template marks it `| safe` (used only for strings the renderer itself produced as LaTeX).
//! Undefined variables are errors, so a missing result fails the build.

use std::io::Write;

use attnum_classical::trees::RootedTree;
use tera::{Delimiters, Kwargs, State, Tera, Value};

pub use attnum_literature::escape;

/// Tera's escape hook: [`escape`] written to `out`.
fn write_escaped(text: &str, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(escape(text).as_bytes())
}

/// A Tera environment for LaTeX templates: changed delimiters, LaTeX escaping for `.tex`.
pub fn tera() -> Tera {
    let mut tera = Tera::new();
    tera.set_delimiters(Delimiters {
        block_start: "<%".into(),
        block_end: "%>".into(),
        variable_start: "<<".into(),
        variable_end: ">>".into(),
        comment_start: "<#".into(),
        comment_end: "#>".into(),
    })
    .expect("the delimiters are valid and set before any template");
    tera.autoescape_on([".tex"]);
    tera.set_escape_fn(write_escaped);
    tera.register_filter("tree_tikz", |levels: &str, _: Kwargs, _: &State| {
        tree_tikz(levels)
    });
    tera.register_filter("path", |path: &str, _: Kwargs, _: &State| {
        Value::safe_string(&typeset_path(path))
    });
    tera
}

/// The filter `path`: a file path in typewriter type, escaped, with a permitted line break after
/// every `/` (long paths otherwise overflow the margin).
fn typeset_path(path: &str) -> String {
    let parts: Vec<String> = path.split('/').map(escape).collect();
    format!(r"\texttt{{{}}}", parts.join(r"/\allowbreak{}"))
}

/// The filter `tree_tikz`: a rooted tree given by its level sequence (space-separated depths,
/// as in the `butcher_trees` tables) drawn as an inline TikZ picture, root at the bottom.
fn tree_tikz(levels: &str) -> tera::TeraResult<Value> {
    let depths: Vec<usize> = levels
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            tera::Error::message(format!(
                "tree_tikz: `{levels}` is not a level sequence: {e}"
            ))
        })?;
    let tree = RootedTree::from_levels(&depths).ok_or_else(|| {
        tera::Error::message(format!(
            "tree_tikz: `{levels}` is not a valid level sequence"
        ))
    })?;
    let layout = TreeLayout::of(&tree);
    let mut out = String::from(r"\begin{tikzpicture}[baseline=0pt,x=0.6em,y=0.55em]");
    for &(p, c) in &layout.edges {
        let ((x0, y0), (x1, y1)) = (layout.nodes[p], layout.nodes[c]);
        out += &format!(r"\draw ({x0},{y0})--({x1},{y1});");
    }
    for &(x, y) in &layout.nodes {
        out += &format!(r"\fill ({x},{y}) circle (0.16em);");
    }
    out += r"\end{tikzpicture}";
    Ok(Value::safe_string(&out))
}

/// Where to draw a tree: leaves at consecutive integers, each parent centred over its
/// children, depth upwards.
#[derive(Debug, Clone, PartialEq)]
struct TreeLayout {
    /// `(x, depth)` of each node, in level-sequence order.
    nodes: Vec<(f64, f64)>,
    /// `(parent, child)` index pairs.
    edges: Vec<(usize, usize)>,
}

impl TreeLayout {
    fn of(tree: &RootedTree) -> Self {
        fn place(node: usize, children: &[Vec<usize>], x: &mut [f64], next_leaf: &mut f64) {
            if children[node].is_empty() {
                x[node] = *next_leaf;
                *next_leaf += 1.0;
                return;
            }
            for &c in &children[node] {
                place(c, children, x, next_leaf);
            }
            let first = x[children[node][0]];
            let last = x[children[node][children[node].len() - 1]];
            x[node] = (first + last) / 2.0;
        }
        let children = tree.children();
        let mut x = vec![0.0; tree.order()];
        place(0, &children, &mut x, &mut 0.0);
        let nodes = x
            .into_iter()
            .zip(tree.levels())
            .map(|(xi, &l)| (xi, l as f64))
            .collect();
        let edges = children
            .iter()
            .enumerate()
            .flat_map(|(p, kids)| kids.iter().map(move |&c| (p, c)))
            .collect();
        Self { nodes, edges }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tera::Context;

    #[test]
    fn tree_layout_centres_parents_over_their_children() {
        let tree = RootedTree::from_levels(&[0, 1, 2, 2, 1]).unwrap();
        let TreeLayout { nodes, edges } = TreeLayout::of(&tree);
        assert_eq!(edges, vec![(0, 1), (0, 4), (1, 2), (1, 3)]);
        // Leaves 2, 3, 4 at x = 0, 1, 2; node 1 over 2 and 3; the root over 1 and 4.
        assert_eq!(
            nodes,
            vec![(1.25, 0.0), (0.5, 1.0), (0.0, 2.0), (1.0, 2.0), (2.0, 1.0)]
        );
    }

    #[test]
    fn every_special_character_is_escaped() {
        assert_eq!(
            escape(r"a\b&c%d$e#f_g{h}i~j^k<l>m|n"),
            r"a\textbackslash{}b\&c\%d\$e\#f\_g\{h\}i\textasciitilde{}j\textasciicircum{}k\textless{}l\textgreater{}m\textbar{}n"
        );
        assert_eq!(escape("Gödel, Runge–Kutta"), "Gödel, Runge–Kutta");
    }

    #[test]
    fn templates_keep_latex_braces_and_escape_values() {
        let mut t = tera();
        t.add_raw_template(
            "x.tex",
            r"\newcommand{\f}[1]{{#1}}% << title >> <% if n %>\textbf{<< n >>}<% endif %><# c #>",
        )
        .unwrap();
        let mut ctx = Context::new();
        ctx.insert("title", "50% & $5_x");
        ctx.insert("n", &3);
        assert_eq!(
            t.render("x.tex", &ctx).unwrap(),
            r"\newcommand{\f}[1]{{#1}}% 50\% \& \$5\_x \textbf{3}"
        );
    }

    #[test]
    fn trees_are_drawn_from_level_sequences() {
        let mut t = tera();
        t.add_raw_template("t.tex", "<< levels | tree_tikz >>")
            .unwrap();
        let mut ctx = Context::new();
        ctx.insert("levels", "0 1 1");
        let out = t.render("t.tex", &ctx).unwrap();
        assert!(
            out.starts_with(r"\begin{tikzpicture}"),
            "not escaped: {out}"
        );
        assert_eq!(out.matches(r"\draw").count(), 2);
        assert_eq!(out.matches(r"\fill").count(), 3);
        ctx.insert("levels", "0 2");
        assert!(t.render("t.tex", &ctx).is_err());
    }

    #[test]
    fn paths_are_escaped_and_breakable() {
        assert_eq!(
            typeset_path("data/sweeps/rk_convergence.yaml"),
            r"\texttt{data/\allowbreak{}sweeps/\allowbreak{}rk\_convergence.yaml}"
        );
    }

    #[test]
    fn undefined_variables_fail() {
        let mut t = tera();
        t.add_raw_template("y.tex", "<< missing >>").unwrap();
        assert!(t.render("y.tex", &Context::new()).is_err());
    }
}
