//! `drawbridge replay` on small tick files of both formats: the candles it prints are the
//! ticks' OHLC, bucketed in the trade server's time zone.

use std::path::PathBuf;
use std::process::{Command, Output};

fn drawbridge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drawbridge"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// A file under the target directory, unique to this test.
fn write(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("replay_cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn csv_ticks_become_hourly_candles_in_server_time() {
    // 2026-01-07 is in winter: EET is UTC+2, so 09:59Z is 11:59 broker time.
    let file = write(
        "eurusd.csv",
        "time,bid,ask\n\
         2026-01-07T09:59:00Z,1.10000,1.10010\n\
         2026-01-07T10:00:00Z,1.10020,1.10030\n\
         2026-01-07T10:30:00Z,1.09950,1.09962\n\
         2026-01-07T10:59:59.999Z,1.10005,1.10015\n\
         2026-01-07T11:00:00Z,1.10100,1.10110\n",
    );
    let out = drawbridge(&[
        "replay",
        file.to_str().unwrap(),
        "--symbol",
        "EURUSD",
        "--timeframe",
        "1h",
    ]);
    let text = stdout_of(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "time,brokerTime,open,high,low,close,tickVolume,spread",
            "2026-01-07T09:00:00.000Z,2026-01-07 11:00:00.000,1.10000,1.10000,1.10000,1.10000,1,10",
            "2026-01-07T10:00:00.000Z,2026-01-07 12:00:00.000,1.10020,1.10020,1.09950,1.10005,3,10",
            "2026-01-07T11:00:00.000Z,2026-01-07 13:00:00.000,1.10100,1.10100,1.10100,1.10100,1,10",
        ]
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("5 ticks of EURUSD"));
}

#[test]
fn histdata_ticks_are_read_as_fixed_utc_minus_five() {
    // 17:00 EST is 22:00Z, midnight broker time (EET, UTC+2): the daily candle starts there.
    let file = write(
        "histdata.csv",
        "20240102 165959000,1.094000,1.094100,0\n\
         20240102 170000000,1.094200,1.094300,0\n\
         20240102 170100000,1.094500,1.094600,0\n",
    );
    let text = stdout_of(&drawbridge(&[
        "replay",
        file.to_str().unwrap(),
        "--symbol",
        "EURUSD",
        "--timeframe",
        "1d",
    ]));
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(
        lines,
        [
            "2024-01-01T22:00:00.000Z,2024-01-02 00:00:00.000,1.09400,1.09400,1.09400,1.09400,1,10",
            "2024-01-02T22:00:00.000Z,2024-01-03 00:00:00.000,1.09420,1.09450,1.09420,1.09450,2,10",
        ]
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let file = write("bad.csv", "time,bid,ask\n2026-01-07T10:00:00Z,1.2,1.1\n");
    let out = drawbridge(&["replay", file.to_str().unwrap(), "--symbol", "EURUSD"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2"), "{err}");

    let out = drawbridge(&["replay", file.to_str().unwrap(), "--symbol", "NOPE"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown symbol"));

    let out = drawbridge(&["replay", "x.csv", "--symbol", "EURUSD", "--timeframe", "7m"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown timeframe"));
}
