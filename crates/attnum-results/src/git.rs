//! The one place that asks git about the checkout: the commit and dirty flag a manifest records,
//! and the commit a paper links into. Outside a git checkout (or without git) every answer is
//! "unknown", never an error: results and the paper must build from a tarball too.

use std::path::Path;
use std::process::Command;

/// The trimmed standard output of `git ARGS` at `root`, if git runs and succeeds.
pub fn git_output(root: &Path, args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

/// The git commit and dirty flag of the checkout at `root` (`("unknown", true)` outside one).
pub fn git_state(root: &Path) -> (String, bool) {
    let run = |args: &[&str]| git_output(root, args);
    match run(&["rev-parse", "HEAD"]) {
        Some(commit) => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_none_or(|s| !s.is_empty());
            (commit, dirty)
        }
        None => ("unknown".into(), true),
    }
}
