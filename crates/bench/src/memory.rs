//! The process's resident set size, read from procfs (Linux only; `None` elsewhere).
//!
//! Used as a cross-check of `Engine::memory_footprint`: RSS growth also counts what the
//! footprint leaves out on purpose (account histories, allocator overhead, scratch buffers).

use std::fs;
use std::io::{BufRead, BufReader};

/// Page size assumed when `/proc/self/smaps` does not say (x86-64 and most aarch64 kernels).
const FALLBACK_PAGE_BYTES: u64 = 4_096;

/// Resident bytes of this process: `/proc/self/statm`'s second field times the page size.
pub(super) fn resident_bytes() -> Option<u64> {
    let statm = fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_bytes())
}

/// The kernel page size, from the first `KernelPageSize:` line of `/proc/self/smaps`.
fn page_bytes() -> u64 {
    let Ok(file) = fs::File::open("/proc/self/smaps") else {
        return FALLBACK_PAGE_BYTES;
    };
    BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            let kb = line
                .strip_prefix("KernelPageSize:")?
                .trim()
                .strip_suffix("kB")?
                .trim();
            kb.parse::<u64>().ok().map(|k| k * 1_024)
        })
        .unwrap_or(FALLBACK_PAGE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_bytes_is_positive_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(resident_bytes().is_some_and(|b| b > 0));
            assert!(page_bytes().is_power_of_two());
        }
    }
}
