//! Running the `attnum` binary as a user would, shared by the command-line tests.

use std::path::Path;
use std::process::{Command, Output};

/// Run `attnum --root ROOT ARGS…`.
pub fn attnum(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attnum"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

/// The standard error of a run, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
