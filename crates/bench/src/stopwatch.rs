//! The one monotonic clock benchmarks may read, and the thread's on-CPU time beside it.
//!
//! The workspace bans `Instant::now` (clippy `disallowed-methods`) so that engine code only
//! sees time through a `Clock`. A benchmark measures real wall time by definition, so this
//! type is the single, audited exception. On a shared machine wall time also counts the time
//! other processes held the CPU; the thread's on-CPU time (Linux schedstat) tells the two
//! apart, and is printed next to the wall figures.

use std::time::{Duration, Instant};

/// A started stopwatch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stopwatch {
    started: Instant,
    cpu_at_start: Option<Duration>,
}

/// What a stopwatch measured: wall time and, where the kernel says, this thread's CPU time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lap {
    pub(crate) wall: Duration,
    pub(crate) cpu: Option<Duration>,
}

impl Stopwatch {
    #[allow(
        clippy::disallowed_methods,
        reason = "benchmarks measure wall time; no engine decision ever depends on it"
    )]
    pub(crate) fn start() -> Self {
        let cpu_at_start = thread_cpu();
        Self {
            started: Instant::now(),
            cpu_at_start,
        }
    }

    /// Wall time since the start, without the on-CPU reading (a file read): cheap enough to
    /// call once per request in a load generator.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Wall and on-CPU time since the start.
    pub(crate) fn lap(&self) -> Lap {
        let wall = self.started.elapsed();
        let cpu = self
            .cpu_at_start
            .zip(thread_cpu())
            .map(|(a, b)| b.saturating_sub(a));
        Lap { wall, cpu }
    }
}

/// Time this thread has spent on a CPU: the first field of `/proc/thread-self/schedstat`.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        s.split_whitespace().next()?.parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lap_is_monotonic_and_cpu_not_above_wall_by_much() {
        let sw = Stopwatch::start();
        let mut x = 0u64;
        for i in 0..1_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        let lap = sw.lap();
        assert!(lap.wall >= Duration::ZERO);
        if let Some(cpu) = lap.cpu {
            // schedstat is accounted at tick granularity on some kernels: allow slack.
            assert!(cpu <= lap.wall + Duration::from_millis(20), "{lap:?}");
        }
    }

    #[test]
    fn elapsed_does_not_run_ahead_of_the_lap() {
        let sw = Stopwatch::start();
        let elapsed = sw.elapsed();
        assert!(elapsed <= sw.lap().wall);
    }
}
