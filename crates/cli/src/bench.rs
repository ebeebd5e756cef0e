//! `drawbridge bench`: runs the `drawbridge-bench` executable beside this one with the same
//! arguments, in place of this process.
//!
//! The benchmarks are their own binary (`crates/bench`) so that what only they need is not
//! linked into `drawbridge`; this keeps `drawbridge bench <name> [options]` working.

use anyhow::{Context, bail};
use clap::Args;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The benchmarks' executable, looked for in the directory of the running `drawbridge`.
const BENCH_EXE: &str = "drawbridge-bench";

/// `drawbridge bench [--list] [NAME [OPTIONS]]`: everything after `bench` goes to
/// `drawbridge-bench` unchanged, `--help` included.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub(crate) struct BenchArgs {
    /// A benchmark's name and its options; none (or `--list`) lists the benchmarks.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<OsString>,
}

/// Runs `drawbridge-bench` with the arguments; on Unix it replaces this process, so its
/// output and exit status are the command's own.
pub(crate) fn run(args: BenchArgs) -> anyhow::Result<()> {
    let exe = bench_exe()?;
    let mut command = Command::new(&exe);
    command.args(&args.args);
    exec(command, &exe)
}

/// `drawbridge-bench` in the running executable's directory, or an error saying how to build
/// it.
fn bench_exe() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("cannot locate the running drawbridge executable")?;
    let dir = me
        .parent()
        .context("the drawbridge executable has no directory")?;
    let exe = dir.join(format!("{BENCH_EXE}{}", std::env::consts::EXE_SUFFIX));
    if !exe.is_file() {
        bail!(
            "the benchmarks are a separate executable, {BENCH_EXE}, and there is none beside \
             drawbridge ({} is missing): build it with `cargo build --release -p \
             drawbridge-bench`, or run `cargo run --release -p drawbridge-bench -- <name>`",
            exe.display()
        );
    }
    Ok(exe)
}

/// Replaces this process with `command`; returns only if that failed. Its `argv[0]` is what
/// the user typed, so that its usage lines read `drawbridge bench …`.
#[cfg(unix)]
fn exec(mut command: Command, exe: &Path) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    let error = command.arg0("drawbridge bench").exec();
    Err(error).with_context(|| format!("cannot run {}", exe.display()))
}

/// Runs `command` and exits with its status.
#[cfg(not(unix))]
fn exec(mut command: Command, exe: &Path) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    std::process::exit(status.code().unwrap_or(1));
}
