//! The renderer cannot compute results: nothing `attnum-paper` depends on, directly or not, is
//! candle or a crate that runs experiments. The closure is taken over `Cargo.lock`, which lists
//! every dependency of every package (optional, build and the members' dev dependencies
//! included), so it is a superset of what `cargo tree -p attnum-paper` shows; reading it needs
//! neither cargo nor the network.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every package of the lock file with the names of its dependencies (all versions merged).
fn lock_graph() -> BTreeMap<String, BTreeSet<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock");
    let lock = std::fs::read_to_string(&path).expect("Cargo.lock is committed");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let name = block
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .expect("every package has a name")
            .to_owned();
        let deps = graph.entry(name).or_default();
        if let Some(list) = block.split("dependencies = [").nth(1) {
            let list = list.split(']').next().unwrap_or_default();
            for entry in list.split(',') {
                // `"name"` or `"name version"` or `"name version (source)"`.
                let entry = entry.trim().trim_matches('"');
                if let Some(dep) = entry.split_whitespace().next() {
                    deps.insert(dep.to_owned());
                }
            }
        }
    }
    graph
}

#[test]
fn the_paper_links_no_candle_and_no_experiment_code() {
    let graph = lock_graph();
    let mut reached = BTreeSet::new();
    let mut stack = vec!["attnum-paper".to_owned()];
    while let Some(package) = stack.pop() {
        if reached.insert(package.clone()) {
            stack.extend(graph.get(&package).into_iter().flatten().cloned());
        }
    }
    assert!(reached.contains("attnum-results"), "{reached:?}");
    let forbidden: Vec<&String> = reached
        .iter()
        .filter(|p| p.starts_with("candle") || *p == "attnum-sweep" || *p == "attnum-attention")
        .collect();
    assert!(
        forbidden.is_empty(),
        "attnum-paper depends on {forbidden:?}: the renderer must read results, not compute them"
    );
}
