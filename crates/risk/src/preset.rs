//! Built-in challenge rule sets, kept as TOML data (`crates/risk/presets/*.toml`) and
//! documented with worked examples in the crate README.

use crate::rules::RuleSet;

/// `(name, TOML)` of every built-in preset.
pub const PRESETS: [(&str, &str); 4] = [
    (
        "two-step-phase-1",
        include_str!("../presets/two-step-phase-1.toml"),
    ),
    (
        "two-step-phase-2",
        include_str!("../presets/two-step-phase-2.toml"),
    ),
    ("one-step", include_str!("../presets/one-step.toml")),
    (
        "instant-funding",
        include_str!("../presets/instant-funding.toml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    #[error("unknown preset {0:?}")]
    Unknown(String),
    #[error("invalid rule set: {0}")]
    Toml(#[from] toml::de::Error),
}

/// Parses a rule set from TOML (a preset file or an operator's own).
pub fn parse(toml_text: &str) -> Result<RuleSet, PresetError> {
    Ok(toml::from_str(toml_text)?)
}

/// A built-in preset by name.
pub fn builtin(name: &str) -> Result<RuleSet, PresetError> {
    let (_, text) = PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| PresetError::Unknown(name.to_owned()))?;
    parse(text)
}
