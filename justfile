# attnum: the research pipeline. `just paper` rebuilds everything that is stale.

set shell := ["bash", "-euo", "pipefail", "-c"]

# One build (dev profile, optimised dependencies) serves the tests and the pipeline.
attnum := "cargo run --quiet --bin attnum --"

# Sweeps compute points in parallel (`--jobs`, one per core); candle's own pool for elementwise
# operations would compete with them for the same cores (it changes no result).
export CANDLE_NUM_THREADS := env_var_or_default("CANDLE_NUM_THREADS", "1")

# TeX Live packages the paper needs (Debian/Ubuntu names).
tex_packages := "latexmk texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-pictures texlive-science texlive-fonts-recommended lmodern"

# LaTeX files the paper uses; `setup` checks for each with kpsewhich.
tex_files := "tikz.sty array.sty booktabs.sty longtable.sty xurl.sty embedfile.sty placeins.sty siunitx.sty natbib.sty hyperref.sty cleveref.sty amsthm.sty mathtools.sty microtype.sty xcolor.sty caption.sty lmodern.sty t1lmr.fd"

default: paper

# Run every sweep whose results are missing or stale, render figures and templates, compile the PDF.
paper: setup
    {{attnum}} paper

# The arXiv source bundle paper/build/arxiv.tar.gz — the rendered .tex files, the .bbl, the figure
# PDFs and the manifests the PDF embeds, nothing else — then proof that it compiles on its own
# with pdflatex in a scratch directory.
arxiv: paper
    #!/usr/bin/env bash
    set -euo pipefail
    cd paper/build
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - \
        paper.tex numbers.tex paper.bbl sections/*.tex figures/*.pdf manifests/*.json \
        | gzip -n > arxiv.tar.gz
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    tar -xzf arxiv.tar.gz -C "$scratch"
    for pass in 1 2 3; do
        (cd "$scratch" && pdflatex -interaction=nonstopmode -halt-on-error paper.tex > pass.log 2>&1) \
            || { tail -30 "$scratch/pass.log"; exit 1; }
    done
    if grep -E "(Reference|Citation) .* undefined|There were undefined|Rerun to get" "$scratch/paper.log"; then
        echo "arxiv: the bundle compiles with unresolved references" >&2
        exit 1
    fi
    echo "arxiv: paper/build/arxiv.tar.gz ($(du -h arxiv.tar.gz | cut -f1)) compiles on its own"

# Rerun one sweep (if stale; add --force to rerun regardless): just sweep fd_convergence
sweep NAME *FLAGS:
    {{attnum}} sweep run {{NAME}} {{FLAGS}}

# List the sweeps and whether their results are up to date.
sweeps:
    {{attnum}} sweep list

# Run all tests (the LaTeX escaping test compiles a document, so TeX Live is set up first).
test: setup
    cargo test --workspace

# Recompute sweeps and compare with the committed results (tier quick or full; names optional).
verify TIER="full" *NAMES:
    {{attnum}} verify --tier {{TIER}} {{NAMES}}

# Scale-out under Slurm, for real (Debian, as root): a one-node cluster on localhost runs a
# 16-point sweep as a job array of scripts/sweep.sbatch, one task cancelled and resubmitted, then
# merges and compares with an unsharded run (scripts/slurm-check.sh; the cluster is stopped after).
slurm-check:
    cargo build --quiet --bin attnum
    scripts/slurm-check.sh

# Benchmarks of the classical library and the attention constructions (criterion; reports under
# target/criterion/).
bench:
    cargo bench -p attnum-classical --bench classical
    cargo bench -p attnum-attention --bench attention

# A reviewer's check, without the Rust code: rebuild every learned derivative model from its
# weights file and docs/models.md (Python with numpy and safetensors, pinned in
# docs/reviewer/requirements.txt, in a virtual environment under target/) and reproduce each
# reported stencil to 1e-12.
reviewer:
    #!/usr/bin/env bash
    set -euo pipefail
    venv=target/reviewer-venv
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r docs/reviewer/requirements.txt
    "$venv/bin/python" docs/reviewer/reproduce.py results

# The example `training_step` of attnum-attention is built as the sweeps are; the PyTorch peer is
# bench/training_step/torch_step.py. First a check that both compute the same model and step,
# then ROUNDS rounds of timings, the two implementations in turn. Candle's threads are its CPU
# pool (CANDLE_NUM_THREADS: elementwise operations and the fused kernels); gemm's own fork-join
# pool stays on the calling thread (RAYON_NUM_THREADS=1). Not run by CI; PYTHON (a path, as in
# `just bench-peers ~/venv/bin/python 5`) must have bench/training_step/requirements.txt
# installed. Run it on a quiet machine.
# Time one training step in candle and in PyTorch at 1 and 2 threads → data/measurements/training_step.json.
bench-peers PYTHON="python3" ROUNDS="5":
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --workspace --examples --quiet
    step=target/debug/examples/training_step
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    "$step" --dump "$scratch/dump"
    {{PYTHON}} bench/training_step/torch_step.py --check "$scratch/dump"
    candle() { CANDLE_NUM_THREADS=$1 RAYON_NUM_THREADS=1 "$step" > "$scratch/candle-$1-$2.csv"; }
    torch() { {{PYTHON}} bench/training_step/torch_step.py --threads "$1" > "$scratch/torch-$1-$2.csv"; }
    for round in $(seq {{ROUNDS}}); do
        for threads in 1 2; do
            # Odd rounds time candle first, even rounds PyTorch first.
            if [ $((round % 2)) = 1 ]; then
                candle "$threads" "$round"; torch "$threads" "$round"
            else
                torch "$threads" "$round"; candle "$threads" "$round"
            fi
        done
    done
    {{PYTHON}} bench/training_step/torch_step.py --table data/measurements/training_step.json \
        --check "$scratch/dump" "$scratch"/*.csv

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Install (Debian/Ubuntu, as root) or name the TeX Live packages the paper needs.
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    missing=()
    command -v latexmk >/dev/null 2>&1 || missing+=(latexmk)
    for f in {{tex_files}}; do
        kpsewhich "$f" >/dev/null 2>&1 || missing+=("$f")
    done
    [ ${#missing[@]} -eq 0 ] && exit 0
    echo "setup: missing ${missing[*]}" >&2
    if [ -r /etc/debian_version ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing TeX Live packages with apt-get" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends {{tex_packages}} >/dev/null
    else
        echo "setup: install these packages (Debian/Ubuntu names), then rerun:" >&2
        echo "  sudo apt-get install --no-install-recommends {{tex_packages}}" >&2
        echo "  (elsewhere: a TeX Live with latexmk, booktabs, siunitx, natbib, hyperref, cleveref, lm)" >&2
        exit 1
    fi

# Delete all results and the paper build (a full rebuild follows with `just paper`).
clean:
    rm -rf results paper/build
