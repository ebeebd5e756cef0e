//! `drawbridge bench` runs the `drawbridge-bench` beside it with the same arguments and exits
//! with its status. A shell script stands in for `drawbridge-bench`, so these tests need only
//! the `drawbridge` binary; crates/bench's tests run the real benchmarks.

use crate::support::BIN;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A directory of its own holding a copy of the `drawbridge` under test (a hard link where the
/// file system allows).
fn install_drawbridge() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let exe = dir.path().join("drawbridge");
    if fs::hard_link(BIN, &exe).is_err() {
        fs::copy(BIN, &exe).unwrap();
    }
    (dir, exe)
}

/// A `drawbridge-bench` in `dir` that prints each argument on a line and exits with 3.
#[cfg(unix)]
fn stand_in_bench(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("drawbridge-bench");
    fs::write(
        &path,
        "#!/bin/sh\nfor arg in \"$@\"; do printf '%s\\n' \"$arg\"; done\nexit 3\n",
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn drawbridge_at(exe: &Path, args: &[&str]) -> Output {
    Command::new(exe).args(args).output().unwrap()
}

#[cfg(unix)]
#[test]
fn bench_hands_its_arguments_to_drawbridge_bench_and_exits_with_its_status() {
    let (dir, exe) = install_drawbridge();
    stand_in_bench(dir.path());
    for args in [
        &["bench"][..],
        &["bench", "--list"],
        &["bench", "--help"],
        &["bench", "revalue", "--accounts", "2000", "--reps", "2"],
    ] {
        let out = drawbridge_at(&exe, args);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            stdout.lines().collect::<Vec<_>>(),
            args[1..],
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(3), "{args:?}");
    }
}

#[test]
fn bench_without_drawbridge_bench_says_how_to_build_it() {
    let (_dir, exe) = install_drawbridge();
    let out = drawbridge_at(&exe, &["bench", "revalue"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("cargo build --release -p drawbridge-bench"),
        "{stderr}"
    );
}

#[test]
fn help_still_lists_bench() {
    assert!(crate::support::run(&["--help"]).contains("bench"));
}
