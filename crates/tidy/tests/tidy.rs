//! Every Rust source of the workspace within the size limits, except the violations listed in
//! `tidy-allow.txt`, a list that only shrinks. The rules, the allowlist's format, how function
//! lengths are measured and how to regenerate the list (`TIDY_BLESS=1`) are in the crate's
//! documentation, `src/lib.rs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const FILE_LINES_MAX: usize = 600;
const FUNCTION_LINES_MAX: usize = 100;
const LINE_COLUMNS_MAX: usize = 100;
/// The allowlist, relative to the workspace root.
const ALLOWLIST: &str = "crates/tidy/tidy-allow.txt";
const BLESS: &str = "TIDY_BLESS=1 cargo test -p drawbridge-tidy";

/// What a rule is broken by: a file, a function of a file, or the long lines of a file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    File(String),
    Function(String, String),
    LongLines(String),
}

/// A violation as found in the tree.
#[derive(Debug)]
struct Found {
    /// Lines of the file or function; how many lines are too long.
    size: usize,
    /// Where: the function's first line; the long lines' numbers (1-based).
    lines: Vec<usize>,
}

#[test]
fn every_source_is_within_the_limits_or_allowlisted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let found = scan_tree(&root);
    let allowlist = root.join(ALLOWLIST);
    if std::env::var("TIDY_BLESS").as_deref() == Ok("1") {
        std::fs::write(&allowlist, render_allowlist(&found)).expect("the allowlist is writable");
        return;
    }
    let text = std::fs::read_to_string(&allowlist).unwrap_or_default();
    let (allowed, mut problems) = parse_allowlist(&text);
    problems.extend(compare(&found, &allowed));
    assert!(
        problems.is_empty(),
        "tidy: {} problem(s)\n{}\n(the allowlist is {ALLOWLIST}; after a merge that moved or \
         split files, regenerate it with `{BLESS}` and review its diff)",
        problems.len(),
        problems.join("\n")
    );
}

/// The violations of every `.rs` file under `crates/`, by key.
fn scan_tree(root: &Path) -> BTreeMap<Key, Found> {
    let mut files = Vec::new();
    collect_sources(&root.join("crates"), &mut files);
    files.sort();
    let mut found = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(root).expect("under the root");
        let rel = rel.to_string_lossy().replace('\\', "/");
        let source = std::fs::read_to_string(&file).expect("a source file is UTF-8");
        scan_file(&rel, &source, &mut found);
    }
    found
}

fn collect_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).expect("a readable directory");
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                collect_sources(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn scan_file(path: &str, source: &str, found: &mut BTreeMap<Key, Found>) {
    let lines: Vec<&str> = source.lines().collect();
    if lines.len() > FILE_LINES_MAX {
        let file = Found {
            size: lines.len(),
            lines: Vec::new(),
        };
        found.insert(Key::File(path.to_owned()), file);
    }
    for (name, first, length) in functions(source) {
        if length > FUNCTION_LINES_MAX {
            let function = Found {
                size: length,
                lines: vec![first],
            };
            // Two functions of one name in one file share an entry; the longer one reports.
            let key = Key::Function(path.to_owned(), name);
            if found.get(&key).is_none_or(|f| f.size < length) {
                found.insert(key, function);
            }
        }
    }
    let long: Vec<usize> = (1..)
        .zip(&lines)
        .filter(|(_, line)| line.chars().count() > LINE_COLUMNS_MAX)
        .map(|(number, _)| number)
        .collect();
    if !long.is_empty() {
        let long_lines = Found {
            size: long.len(),
            lines: long,
        };
        found.insert(Key::LongLines(path.to_owned()), long_lines);
    }
}

/// Where the scanner is within the source.
#[derive(Clone, Copy, PartialEq)]
enum Lexeme {
    Code,
    LineComment,
    /// A block comment at this nesting depth.
    BlockComment(u32),
    Str,
    /// A raw string closed by `"` and this many `#`.
    RawStr(usize),
}

/// A brace or semicolon outside comments and literals: (0-based line, character).
type Mark = (usize, char);

/// Scans the source: the braces and semicolons of its code, and for every line whether it
/// starts in code (not inside a comment or literal).
fn code_marks(source: &str) -> (Vec<Mark>, Vec<bool>) {
    let chars: Vec<char> = source.chars().collect();
    let (mut marks, mut starts_in_code) = (Vec::new(), vec![true]);
    let (mut state, mut line, mut i) = (Lexeme::Code, 0, 0);
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let (c, next) = (chars[i], chars.get(i + 1).copied());
        if c == '\n' {
            line += 1;
            if state == Lexeme::LineComment {
                state = Lexeme::Code;
            }
            starts_in_code.push(state == Lexeme::Code);
            i += 1;
            continue;
        }
        match state {
            Lexeme::Code => match (c, next) {
                ('/', Some('/')) => state = Lexeme::LineComment,
                ('/', Some('*')) => (state, i) = (Lexeme::BlockComment(1), i + 1),
                ('"', _) => state = Lexeme::Str,
                ('\'', Some('\\')) => i = skip_escaped_char(&chars, i),
                ('\'', Some(_)) if chars.get(i + 2) == Some(&'\'') => i += 2,
                ('r', Some('#' | '"')) if i == 0 || !ident(chars[i - 1]) || raw_b(&chars, i) => {
                    let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
                    if chars.get(i + 1 + hashes) == Some(&'"') {
                        (state, i) = (Lexeme::RawStr(hashes), i + 1 + hashes);
                    }
                }
                ('{' | '}' | ';', _) => marks.push((line, c)),
                _ => {}
            },
            Lexeme::LineComment => {}
            Lexeme::BlockComment(depth) => match (c, next) {
                ('*', Some('/')) if depth == 1 => (state, i) = (Lexeme::Code, i + 1),
                ('*', Some('/')) => (state, i) = (Lexeme::BlockComment(depth - 1), i + 1),
                ('/', Some('*')) => (state, i) = (Lexeme::BlockComment(depth + 1), i + 1),
                _ => {}
            },
            Lexeme::Str => match c {
                '\\' if next != Some('\n') => i += 1,
                '"' => state = Lexeme::Code,
                _ => {}
            },
            Lexeme::RawStr(hashes) => {
                let closes =
                    c == '"' && chars[i + 1..].iter().take_while(|&&h| h == '#').count() >= hashes;
                if closes {
                    (state, i) = (Lexeme::Code, i + hashes);
                }
            }
        }
        i += 1;
    }
    (marks, starts_in_code)
}

/// `br"…"`: the `r` of a raw byte string follows a `b` that starts a token.
fn raw_b(chars: &[char], i: usize) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    i >= 1 && chars[i - 1] == 'b' && (i == 1 || !ident(chars[i - 2]))
}

/// The index of the closing quote of a char literal whose escape (`\n`, `\'`, `\u{..}`)
/// starts at `i + 1`.
fn skip_escaped_char(chars: &[char], i: usize) -> usize {
    let mut j = i + 3;
    while j < chars.len() && chars[j] != '\'' && chars[j] != '\n' {
        j += 1;
    }
    j
}

/// The name of the function a line declares, when its first words are qualifiers then `fn`.
fn declared_function(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    let mut in_visibility = false;
    while let Some(word) = words.next() {
        if in_visibility {
            in_visibility = !word.ends_with(')');
            continue;
        }
        match word {
            "pub" | "const" | "async" | "unsafe" | "extern" | "default" => {}
            _ if word.starts_with("pub(") => in_visibility = !word.ends_with(')'),
            _ if word.starts_with('"') => {}
            "fn" => {
                let name = words.next()?;
                let name = name.strip_prefix("r#").unwrap_or(name);
                let name: String = name
                    .chars()
                    .take_while(|&c| c.is_alphanumeric() || c == '_')
                    .collect();
                return (!name.is_empty()).then_some(name);
            }
            _ => return None,
        }
    }
    None
}

/// Every function with a body: (name, first line (1-based), length in lines).
fn functions(source: &str) -> Vec<(String, usize, usize)> {
    let (marks, starts_in_code) = code_marks(source);
    let mut out = Vec::new();
    for (index, line) in source.lines().enumerate() {
        if !starts_in_code.get(index).copied().unwrap_or(false) {
            continue;
        }
        let Some(name) = declared_function(line) else {
            continue;
        };
        let mut after = marks.iter().skip_while(|&&(at, _)| at < index);
        let Some(&(_, '{')) = after.next() else {
            continue; // a declaration without a body (`;`), or nothing follows
        };
        let mut depth = 1usize;
        for &(at, mark) in after {
            match mark {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                out.push((name, index + 1, at - index + 1));
                break;
            }
        }
    }
    out
}

/// The allowed keys, with the count of a `long-lines` entry; and the lines that do not parse.
fn parse_allowlist(text: &str) -> (BTreeMap<Key, usize>, Vec<String>) {
    let (mut allowed, mut problems) = (BTreeMap::new(), Vec::new());
    for (number, line) in (1..).zip(text.lines()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let entry = match words.as_slice() {
            [] => continue,
            [comment, ..] if comment.starts_with('#') => continue,
            ["file", path] => Some((Key::File(path.to_string()), 0)),
            ["function", path, name] => {
                Some((Key::Function(path.to_string(), name.to_string()), 0))
            }
            ["long-lines", path, count] => count
                .parse()
                .ok()
                .map(|count| (Key::LongLines(path.to_string()), count)),
            _ => None,
        };
        match entry {
            Some((key, count)) => {
                if allowed.insert(key, count).is_some() {
                    problems.push(format!("{ALLOWLIST}:{number}: a repeated entry: `{line}`"));
                }
            }
            None => problems.push(format!(
                "{ALLOWLIST}:{number}: not `file <path>`, `function <path> <name>` or \
                 `long-lines <path> <count>`: `{line}`"
            )),
        }
    }
    (allowed, problems)
}

/// Each new violation, and each allowlist entry that no longer violates or allows too much.
fn compare(found: &BTreeMap<Key, Found>, allowed: &BTreeMap<Key, usize>) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, f) in found {
        match (key, allowed.get(key)) {
            (Key::LongLines(_), Some(&count)) if f.size > count => {
                problems.push(format!("{}; {count} are allowlisted", violation(key, f)));
            }
            (_, Some(_)) => {}
            (_, None) => problems.push(violation(key, f)),
        }
    }
    for (key, &count) in allowed {
        let line = entry(key, count);
        match (key, found.get(key)) {
            (Key::LongLines(_), Some(f)) if f.size < count => problems.push(format!(
                "stale allowlist entry: `{line}` (only {} long lines now): change it to `{}`",
                f.size,
                entry(key, f.size)
            )),
            (_, Some(_)) => {}
            (_, None) => problems.push(format!(
                "stale allowlist entry: `{line}` no longer violates (or is gone): remove it"
            )),
        }
    }
    problems
}

/// A violation, and how to fix it.
fn violation(key: &Key, f: &Found) -> String {
    match key {
        Key::File(path) => format!(
            "{path}: {} lines, over {FILE_LINES_MAX}: split it into modules by concern",
            f.size
        ),
        Key::Function(path, name) => format!(
            "{path}:{}: fn {name} is {} lines, over {FUNCTION_LINES_MAX}: cut it into named steps",
            f.lines[0], f.size
        ),
        Key::LongLines(path) => {
            let mut at = String::new();
            for number in &f.lines {
                let _ = write!(at, "{}{number}", if at.is_empty() { "" } else { ", " });
            }
            format!(
                "{path}: {} line(s) over {LINE_COLUMNS_MAX} columns, at line {at}: wrap them \
                 (rustfmt wraps code but not comments or string literals: break those by hand, \
                 `\\` at a line's end continues a string)",
                f.size
            )
        }
    }
}

/// The allowlist line of a key.
fn entry(key: &Key, count: usize) -> String {
    match key {
        Key::File(path) => format!("file {path}"),
        Key::Function(path, name) => format!("function {path} {name}"),
        Key::LongLines(path) => format!("long-lines {path} {count}"),
    }
}

fn render_allowlist(found: &BTreeMap<Key, Found>) -> String {
    let mut text = format!(
        "# Violations of the tidy rules that predate them; this list only shrinks.\n\
         # Format and rules: crates/tidy/src/lib.rs. Regenerate: {BLESS}\n"
    );
    for (key, f) in found {
        text.push_str(&entry(key, f.size));
        text.push('\n');
    }
    text
}

#[test]
fn braces_in_comments_strings_and_chars_do_not_count() {
    let source = r####"
pub(crate) async fn outer(x: &str) -> usize {
    let a = "}"; let b = '{'; let c = r#"}"}"#; // }
    /* } /* { */ } */
    let d = b'}'; let e = '\''; let f = "\"}";
    fn inner<'a>(y: &'a str) -> &'a str {
        y
    }
    0
}
trait T {
    fn declared(&self) -> u32;
    fn defaulted(&self) -> u32 {
        1
    }
}
macro_rules! m { ($name:ident) => { fn $name() {} }; }
"####;
    assert_eq!(
        functions(source),
        [
            ("outer".to_owned(), 2, 9),
            ("inner".to_owned(), 6, 3),
            ("defaulted".to_owned(), 13, 3)
        ]
    );
}

#[test]
fn the_allowlist_reports_new_violations_and_stale_entries() {
    let mut found = BTreeMap::new();
    let source = format!(
        "fn long() {{\n{}}}\n{}\n",
        "\n".repeat(100),
        "x".repeat(101)
    );
    scan_file("crates/a.rs", &source, &mut found);
    let (allowed, problems) = parse_allowlist(
        "# comment\nfunction crates/a.rs long\nlong-lines crates/a.rs 2\nfile crates/b.rs\nnope\n",
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    let problems = compare(&found, &allowed);
    assert_eq!(
        problems,
        [
            "stale allowlist entry: `file crates/b.rs` no longer violates (or is gone): remove it",
            "stale allowlist entry: `long-lines crates/a.rs 2` (only 1 long lines now): change it \
             to `long-lines crates/a.rs 1`",
        ]
    );
    assert!(compare(&found, &BTreeMap::new())[0].starts_with("crates/a.rs:1: fn long is 102"));
}
