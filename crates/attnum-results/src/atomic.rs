//! Atomic file output: write a temporary file beside the target, flush it, then rename.
//!
//! A reader never sees a half-written file. The temporary file is named
//! `.NAME.HOST-PID.tmp` after the writing process; a failed write removes it, and a process
//! killed mid-write leaves it for [`remove_dead_temporaries`], which removes the temporary
//! files of dead processes of this machine (the engine's partial point directories carry the
//! same tag, [`process_tag`]).

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use crate::error::{Result, ResultsError};

/// This machine's host name, reduced to ASCII letters, digits and `-` (no `.`: the tag is the
/// last dot-separated part of a temporary file's name).
fn host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let name = fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .or_else(|| {
                Command::new("hostname")
                    .output()
                    .ok()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            })
            .unwrap_or_default();
        let name: String = name
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if name.is_empty() {
            "localhost".into()
        } else {
            name
        }
    })
}

/// `HOST-PID`: names this process in the names of its temporary files and directories.
pub fn process_tag() -> String {
    format!("{}-{}", host(), std::process::id())
}

/// Whether process `pid` of this machine is alive (`/proc`, else `kill -0`; alive when unsure).
pub fn process_alive(pid: u32) -> bool {
    if Path::new("/proc/self").exists() {
        return Path::new("/proc").join(pid.to_string()).exists();
    }
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .output()
        .map_or(true, |o| o.status.success())
}

/// Whether a [`process_tag`] names a dead process of this machine. The tags of other machines
/// (shards on a shared file system) are never dead: their processes cannot be checked here. A
/// bare `PID` (the tag of earlier versions, which named no host) is taken to be this machine's.
pub fn is_dead_tag(tag: &str) -> bool {
    let (tag_host, pid) = tag.rsplit_once('-').unwrap_or((host(), tag));
    pid.parse::<u32>()
        .is_ok_and(|pid| tag_host == host() && pid != std::process::id() && !process_alive(pid))
}

/// Remove the temporary files (`.NAME.TAG.tmp`) that dead processes of this machine left in
/// `dir`. Returns how many were removed.
pub fn remove_dead_temporaries(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let tag = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".tmp"))
            .and_then(|n| n.rsplit_once('.'))
            .map(|(_, tag)| tag);
        if tag.is_some_and(is_dead_tag)
            && entry.file_type().is_ok_and(|t| t.is_file())
            && fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Write `bytes` to `path` atomically, creating the parent directory if needed. On failure
/// nothing is left behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| ResultsError::io(parent, e))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{file_name}.{}.tmp", process_tag()));
    let mut file = fs::File::create(&tmp).map_err(|e| ResultsError::io(&tmp, e))?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| ResultsError::io(&tmp, e));
    drop(file);
    let renamed =
        written.and_then(|()| fs::rename(&tmp, path).map_err(|e| ResultsError::io(path, e)));
    if renamed.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    renamed
}

/// Like [`write_atomic`], but leaves the file (and its modification time) alone when it already
/// holds exactly `bytes`. Returns whether the file was written.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    match fs::read(path) {
        Ok(existing) if existing == bytes => Ok(false),
        _ => write_atomic(path, bytes).map(|()| true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_and_skips_identical_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b.txt");
        write_atomic(&path, b"one").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert!(!write_if_changed(&path, b"one").unwrap());
        assert!(write_if_changed(&path, b"two").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(
            names(path.parent().unwrap()),
            ["b.txt"],
            "no temporary files remain"
        );
    }

    #[test]
    fn a_failed_rename_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("table.csv");
        fs::create_dir_all(target.join("occupied")).unwrap();
        assert!(write_atomic(&target, b"x").is_err());
        assert_eq!(names(dir.path()), ["table.csv"]);
    }

    #[test]
    fn temporaries_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        // A child that has exited: its PID is dead (and not reused this soon).
        let mut child = Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let dead_tmp = format!(".table.csv.{}-{dead}.tmp", host());
        let live_tmp = format!(".table.csv.{}.tmp", process_tag());
        let foreign_tmp = ".table.csv.elsewhere-1.tmp";
        for name in [
            dead_tmp.as_str(),
            live_tmp.as_str(),
            foreign_tmp,
            "table.csv",
        ] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        assert_eq!(remove_dead_temporaries(dir.path()), 1);
        let mut expected = vec![live_tmp, foreign_tmp.to_owned(), "table.csv".to_owned()];
        expected.sort();
        assert_eq!(names(dir.path()), expected);
    }
}
