//! Runs the built `drawbridge-bench` binary's benchmarks at a tiny size and checks their
//! output format. No timing is asserted: only that the figures are there and parse.

use std::process::Command;

/// `drawbridge-bench <args>` (what `drawbridge bench <args>` runs), which must succeed; its
/// stdout.
fn bench(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_drawbridge-bench"))
        .args(args)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    assert!(
        out.status.success(),
        "drawbridge-bench {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// One parsed `BENCH` line.
#[derive(Debug)]
struct BenchLine {
    id: String,
    value: f64,
    unit: String,
    op: String,
    bound: f64,
}

/// Parses `^BENCH (\S+) (-?\d+(\.\d+)?) (\S+) target (<=|>=|<|>)(\d+(\.\d+)?)$`, by hand.
fn parse_bench_line(line: &str) -> Option<BenchLine> {
    let fields: Vec<&str> = line.split(' ').collect();
    let [bench, id, value, unit, target, bound] = fields.as_slice() else {
        return None;
    };
    if *bench != "BENCH" || *target != "target" || id.is_empty() || unit.is_empty() {
        return None;
    }
    let op = ["<=", ">=", "<", ">"]
        .into_iter()
        .find(|op| bound.starts_with(op))?;
    let number = |s: &str| {
        let digits = s.strip_prefix('-').unwrap_or(s);
        let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
        let ok = !int.is_empty()
            && !frac.is_empty()
            && (int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit());
        ok.then(|| s.parse::<f64>().ok()).flatten()
    };
    Some(BenchLine {
        id: (*id).to_owned(),
        value: number(value)?,
        unit: (*unit).to_owned(),
        op: op.to_owned(),
        bound: number(&bound[op.len()..]).filter(|b| *b >= 0.0)?,
    })
}

#[test]
fn bench_line_parser_accepts_only_the_exact_format() {
    let ok = parse_bench_line("BENCH P1.sweep_vs_floor 1.73 x target <=2.0").expect("valid line");
    assert_eq!(
        (
            ok.id.as_str(),
            ok.value,
            ok.unit.as_str(),
            ok.op.as_str(),
            ok.bound
        ),
        ("P1.sweep_vs_floor", 1.73, "x", "<=", 2.0)
    );
    for bad in [
        "BENCH P1.x 1.73 x target 2.0",
        "BENCH P1.x 1.73 x  target <=2.0",
        "BENCH P1.x 1.73x target <=2.0",
        "BENCH P1.x abc x target <=2.0",
        "BENCH P1.x 1. x target <=2.0",
        "BENCH P1.x 1.73 x target <=2.0 extra",
    ] {
        assert!(parse_bench_line(bad).is_none(), "{bad:?} must not parse");
    }
}

/// Asserts that `out` ends with exactly the `expected` figures (id, unit), in order, each
/// with a positive value, and has no other `BENCH` line.
fn assert_ends_with_figures(out: &str, expected: &[(&str, &str)]) {
    let lines: Vec<&str> = out.lines().collect();
    let tail = &lines[lines.len().saturating_sub(expected.len())..];
    let figures: Vec<BenchLine> = tail
        .iter()
        .map(|l| parse_bench_line(l).unwrap_or_else(|| panic!("not a BENCH line: {l:?}\n{out}")))
        .collect();
    let ids: Vec<(&str, &str)> = figures
        .iter()
        .map(|f| (f.id.as_str(), f.unit.as_str()))
        .collect();
    assert_eq!(ids, expected, "{out}");
    assert!(
        figures.iter().all(|f| f.value.is_finite() && f.value > 0.0),
        "{figures:?}"
    );
    assert_eq!(
        out.matches("BENCH ").count(),
        expected.len(),
        "BENCH lines come only at the end:\n{out}"
    );
}

#[test]
fn bench_revalue_ends_with_its_figures() {
    let out = bench(&["revalue", "--accounts", "2000", "--reps", "2"]);
    assert_ends_with_figures(
        &out,
        &[
            ("P1.sweep_vs_floor", "x"),
            ("P1.incremental_positions_per_s", "positions/s"),
            ("P1.bytes_per_account", "B"),
            ("P1.bytes_per_position", "B"),
        ],
    );
}

#[test]
fn bench_rest_ends_with_its_figures() {
    let out = bench(&[
        "rest",
        "--connections",
        "8",
        "--duration-secs",
        "1",
        "--warmup-secs",
        "0",
        "--reps",
        "1",
    ]);
    assert_ends_with_figures(&out, &[("P3.throughput_vs_bare", "x"), ("P3.p99_ms", "ms")]);
}

#[test]
fn bench_limits_ends_with_its_figures() {
    let out = bench(&[
        "limits",
        "--checks",
        "20000",
        "--accounts",
        "1000",
        "--reps",
        "1",
    ]);
    assert_ends_with_figures(
        &out,
        &[
            ("P2.check_vs_governor_1t", "x"),
            ("P2.check_vs_governor_2t", "x"),
            ("P2.bytes_per_account", "B"),
        ],
    );
}

#[test]
fn bench_fanout_ends_with_its_figure() {
    let out = bench(&[
        "fanout",
        "--clients",
        "10",
        "--duration-secs",
        "1",
        "--warmup-secs",
        "1",
    ]);
    assert_ends_with_figures(&out, &[("P4.fanout_vs_raw", "x")]);
}

#[test]
fn bench_risk_ends_with_its_figures() {
    let out = bench(&[
        "risk",
        "--accounts",
        "2000",
        "--run-ms",
        "500",
        "--step-ms",
        "300",
        "--search-steps",
        "2",
    ]);
    assert_ends_with_figures(
        &out,
        &[
            ("P5.bytes_per_account", "B"),
            ("P5.tick_to_event_p99_ms", "ms"),
            ("P5.max_ticks_per_s", "ticks/s"),
        ],
    );
}

#[test]
fn bench_sync_ends_with_its_figure() {
    let out = bench(&["sync", "--positions", "20", "--deals", "60", "--runs", "2"]);
    assert_ends_with_figures(&out, &[("P7.sync_ms", "ms")]);
}

#[test]
fn bench_e2e_ends_with_its_figure() {
    let out = bench(&[
        "e2e",
        "--accounts",
        "20",
        "--rate",
        "20",
        "--duration-secs",
        "1",
        "--warmup-secs",
        "0",
    ]);
    assert_ends_with_figures(&out, &[("P6.api_p99_ms", "ms")]);
}

#[test]
fn bench_alone_and_bench_list_name_revalue() {
    for args in [&[][..], &["--list"]] {
        let out = bench(args);
        assert!(
            out.lines()
                .any(|l| l.split_whitespace().next() == Some("revalue")),
            "{args:?}:\n{out}"
        );
    }
}
