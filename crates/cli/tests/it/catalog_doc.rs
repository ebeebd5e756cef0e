//! `docs/catalog.md` is `drawbridge catalog`'s output: regenerate it with
//! `cargo run -p drawbridge-cli -- catalog > docs/catalog.md` when this fails.

use std::process::Command;

#[test]
fn docs_catalog_is_current() {
    let out = Command::new(env!("CARGO_BIN_EXE_drawbridge"))
        .arg("catalog")
        .output()
        .expect("the binary runs");
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/catalog.md");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        generated == committed,
        "docs/catalog.md is stale: run `cargo run -p drawbridge-cli -- catalog > docs/catalog.md`"
    );
    assert_eq!(
        generated.lines().filter(|l| l.starts_with("| ")).count(),
        37
    );
}
