//! The tidy test (after TigerBeetle's `tidy.zig`): `tests/tidy.rs` walks every `.rs` file under
//! `crates/` (skipping `target/`) and fails on
//! - a source file over 600 lines,
//! - a function over 100 lines,
//! - a line over 100 columns (characters), comments and strings included.
//!
//! Violations that predate the test are listed in `crates/tidy/tidy-allow.txt`, one per line:
//! `file <path>`, `function <path> <name>`, or `long-lines <path> <count>`. The list only
//! shrinks: the test also fails when an entry no longer violates (remove it, or lower the
//! count), and its message names each entry to remove and each new violation with how to fix
//! it.
//!
//! Regenerating the list (after a merge that moved or split files):
//!
//! ```text
//! TIDY_BLESS=1 cargo test -p drawbridge-tidy
//! ```
//!
//! rewrites `tidy-allow.txt` from the tree as it is; review its diff like code (an entry added
//! is a violation accepted). A normal run never writes it.
//!
//! Function lengths come from a scan, not a parser: a line whose first words are qualifiers
//! (`pub`, `pub(crate)`, `const`, `async`, `unsafe`, `extern "C"`, `default`) then `fn name`
//! starts a function; its length runs from that line to the line of the brace that closes
//! its body, matching braces outside comments, string, raw-string and char literals. A `;`
//! before the first brace marks a body-less declaration (skipped); a nested function counts in
//! its parent too; a name built by a macro (`fn $name`) is skipped.
//!
//! This library is empty: the crate exists for its test.
