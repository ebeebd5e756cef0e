//! `docs/messages.md` is the message catalogue rendered: regenerate it with
//! `cargo run -p drawbridge-cli -- messages > docs/messages.md` when this fails.

#[test]
fn docs_messages_is_current() {
    let generated = drawbridge_server::messages::markdown();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/messages.md");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        generated == committed,
        "docs/messages.md is stale: run `cargo run -p drawbridge-cli -- messages > docs/messages.md`"
    );
}
