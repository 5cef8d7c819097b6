//! The paper's build as a user on another machine meets it: the reproducibility appendix with
//! any machine's strings, and what a failed LaTeX run says.

use std::path::Path;

use attnum_paper::compile::latexmk;
use attnum_sweep::Workspace;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// CPU models and toolchains as other machines (or a hostile manifest) report them.
const MACHINES: &[(&str, &str)] = &[
    (
        "fd_convergence",
        "Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz (Sapphire Rapids) with a vendor string far longer than any column",
    ),
    (
        "a_sweep_whose_name_is_much_longer_than_its_column_in_the_table",
        "AMD_EPYC_9654_96-Core_Processor_with_no_spaces_at_all_anywhere_in_it_0123456789",
    ),
    (
        "specials",
        r"Odd & 100% $cpu #1 _x_ {braces} ~tilde^ back\slash <less> |bar| ünïcödé ® ™ 中文 🚀 σ≈β",
    ),
    ("tab", "a\tcontrol\u{7}character and (TM) marks(R)"),
    ("unicode", "ünïcödé 中文 🚀 σ≈β ® ™ Ωmega-Kern™ Łódź"),
];

/// The preamble of `paper/paper.tex` (class, packages, siunitx settings).
fn preamble() -> String {
    let text = std::fs::read_to_string(Path::new(ROOT).join("paper/paper.tex")).unwrap();
    text.lines()
        .take_while(|l| !l.starts_with(r"\begin{document}"))
        .filter(|l| {
            l.starts_with(r"\documentclass")
                || l.starts_with(r"\usepackage")
                || l.starts_with(r"\sisetup")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_compute_appendix_fits_any_machine_strings() {
    let ws = tempfile::tempdir().unwrap();
    let sweeps = ws.path().join("data/sweeps");
    std::fs::create_dir_all(&sweeps).unwrap();
    let sweep =
        std::fs::read_to_string(Path::new(ROOT).join("data/sweeps/fd_convergence.yaml")).unwrap();
    std::fs::write(sweeps.join("fd_convergence.yaml"), &sweep).unwrap();
    let workspace = Workspace::at(ws.path()).unwrap();
    workspace
        .run(&workspace.load("fd_convergence").unwrap())
        .unwrap();
    // Every other sweep is a copy of these results under another name, with another machine.
    for (i, (name, cpu)) in MACHINES.iter().enumerate() {
        if i > 0 {
            std::fs::write(
                sweeps.join(format!("{name}.yaml")),
                sweep.replace("name: fd_convergence", &format!("name: {name}")),
            )
            .unwrap();
            let status = std::process::Command::new("cp")
                .arg("-r")
                .arg(workspace.results_dir("fd_convergence"))
                .arg(workspace.results_dir(name))
                .status()
                .unwrap();
            assert!(status.success());
        }
        let path = workspace.results_dir(name).join("manifest.json");
        let mut manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        manifest["sweep"] = (*name).into();
        manifest["machine"]["cpu"] = (*cpu).into();
        manifest["rustc"] = format!("rustc 1.95.0-{name}-{}", cpu.replace(' ', "_")).into();
        std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    }
    // The timings against PyTorch, measured on the machine with the most hostile name.
    let measurement = Path::new(attnum_paper::peers::MEASUREMENT);
    let mut peers: serde_json::Value =
        serde_json::from_slice(&std::fs::read(Path::new(ROOT).join(measurement)).unwrap()).unwrap();
    peers["cpu"] = MACHINES[2].1.into();
    std::fs::create_dir_all(ws.path().join(measurement.parent().unwrap())).unwrap();
    std::fs::write(
        ws.path().join(measurement),
        serde_json::to_vec_pretty(&peers).unwrap(),
    )
    .unwrap();
    let source = ws.path().join("paper/sections");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::copy(
        Path::new(ROOT).join("paper/sections/compute.tex"),
        source.join("compute.tex"),
    )
    .unwrap();
    let appendix = attnum_paper::render_template(&workspace, "sections/compute.tex")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(appendix.contains(r"Odd \&"), "escaped: {appendix}");
    assert!(
        appendix.contains("Training speed against PyTorch"),
        "{appendix}"
    );
    assert!(
        appendix.contains(r"\ensuremath{\sigma}"),
        "kept: {appendix}"
    );
    assert!(!appendix.contains('中'), "replaced: {appendix}");
    let build = ws.path().join("build");
    std::fs::create_dir_all(&build).unwrap();
    std::fs::write(build.join("compute.tex"), &appendix).unwrap();
    std::fs::write(
        build.join("paper.tex"),
        format!(
            // The section the appendix refers to, as a stand-in.
            "{}\n\\begin{{document}}\n\\section{{Learned}}\\label{{sec:learned}}\n\\appendix\n\\input{{compute}}\n\\end{{document}}\n",
            preamble()
        ),
    )
    .unwrap();
    // The build refuses a box overfull by more than 3 pt, as for the paper.
    let pdf = latexmk(ws.path(), &build).unwrap_or_else(|e| panic!("{e}"));
    assert!(pdf.exists());
}

#[test]
fn a_latex_error_is_shown_with_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    // A byte that is not UTF-8 in the log before the error (TeX writes such bytes as they come).
    let mut document = b"\\documentclass{article}\n\\begin{document}\nText.\n\\message{".to_vec();
    document.push(0xff);
    document.extend_from_slice(b"}\n\\undefinedmacro{x}\n\\end{document}\n");
    std::fs::write(dir.path().join("paper.tex"), document).unwrap();
    let err = latexmk(Path::new("."), dir.path()).unwrap_err().to_string();
    assert!(err.contains("Undefined control sequence"), "{err}");
    assert!(err.contains(r"l.5 \undefinedmacro"), "{err}");
    assert!(!err.contains("Fatal error occurred"), "{err}");
}
