//! What a manifest records that only the code computing the results can know, embedded by
//! `build.rs`: the fingerprint of the source code behind each experiment kind, the rustc that
//! compiled it and the target it was compiled for. The manifest itself is `attnum-results`'s;
//! the results are stale when these differ from what it records.

/// `kind=hash;…`: the fingerprint of the code that computes each experiment kind (build script).
const CODE_FINGERPRINTS: &str = env!("ATTNUM_CODE_FINGERPRINTS");

/// Fingerprint of the source code that computes experiments of `kind`: its own module and the
/// shared code (the rest of this crate, the results crate, the classical-methods and the
/// attention crates).
pub fn code_fingerprint(kind: &str) -> &'static str {
    CODE_FINGERPRINTS
        .split(';')
        .find_map(|entry| {
            entry
                .strip_prefix(kind)
                .and_then(|rest| rest.strip_prefix('='))
        })
        .unwrap_or_else(|| panic!("experiment kind `{kind}` has a module in experiments/"))
}

/// The rustc that compiled this binary.
pub const RUSTC_VERSION: &str = env!("ATTNUM_RUSTC_VERSION");

/// The target triple this binary was compiled for.
pub const TARGET: &str = env!("ATTNUM_TARGET");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_experiment_kind_has_a_fingerprint() {
        for (kind, _) in crate::experiments::KINDS {
            assert_eq!(code_fingerprint(kind).len(), 64, "{kind}");
        }
        assert_ne!(
            code_fingerprint("fd_convergence"),
            code_fingerprint("rk_convergence")
        );
    }
}
