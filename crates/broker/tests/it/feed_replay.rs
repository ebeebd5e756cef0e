//! Reading tick files: both formats, detection, and the errors bad lines produce.

use crate::support::{px, spec, t};
use drawbridge_broker::feed::{ReplayError, Tick, TickFormat, TickReader, import_file, read_ticks};
use drawbridge_broker::symbol::SymbolIdx;
use std::io::Cursor;

fn tick(time: &str, bid: f64, ask: f64) -> Tick {
    Tick {
        symbol: SymbolIdx(3),
        time: t(time),
        bid: px(bid),
        ask: px(ask),
    }
}

fn read(text: &str, format: Option<TickFormat>) -> Result<Vec<Tick>, ReplayError> {
    read_ticks(Cursor::new(text), format, SymbolIdx(3), &spec("EURUSD"))
}

const HISTDATA: &str = "20240102 170000123,1.104270,1.104390,0\r\n\
                        20240102 170000123,1.104280,1.104390,0\r\n\
                        \r\n\
                        20240715 093015500,1.089010,1.089030,0\r\n";

#[test]
fn histdata_rows_are_est_without_daylight_saving() {
    let want = vec![
        tick("2024-01-02T22:00:00.123Z", 1.10427, 1.10439),
        tick("2024-01-02T22:00:00.123Z", 1.10428, 1.10439),
        // 09:30 EST in July is 14:30 UTC, not 13:30: HistData ignores daylight saving.
        tick("2024-07-15T14:30:15.500Z", 1.08901, 1.08903),
    ];
    assert_eq!(read(HISTDATA, None).unwrap(), want);
    assert_eq!(read(HISTDATA, Some(TickFormat::HistData)).unwrap(), want);
}

#[test]
fn csv_rows_take_epoch_millis_or_iso_times_in_any_column_order() {
    let text = "\u{feff}Ask,Bid,Time,Volume\n\
                1.10012,1.10010,1767780000000,5\n\
                1.10015,1.10011,2026-01-07T10:00:00.250Z,1\n\
                1.10016,1.10012,2026-01-07 12:00:01+02:00,1\n";
    let want = vec![
        tick("2026-01-07T10:00:00Z", 1.10010, 1.10012),
        tick("2026-01-07T10:00:00.250Z", 1.10011, 1.10015),
        tick("2026-01-07T10:00:01Z", 1.10012, 1.10016),
    ];
    assert_eq!(read(text, None).unwrap(), want);
    assert_eq!(read(text, Some(TickFormat::Csv)).unwrap(), want);
}

#[test]
fn prices_are_rounded_to_the_tick_size() {
    let text = "time,bid,ask\n1767780000000,50300.44,50307.5\n";
    let ticks = read_ticks(Cursor::new(text), None, SymbolIdx(0), &spec("JP225")).unwrap();
    assert_eq!((ticks[0].bid, ticks[0].ask), (px(50_300.0), px(50_308.0)));
}

#[test]
fn bad_lines_are_reported_with_their_numbers() {
    let header = "time,bid,ask\n1767780000000,1.1,1.2\n";
    let cases: [(String, &str); 9] = [
        (
            format!("{header}1767780000001,1.3,1.2\n"),
            "line 3: ask 1.20000000 is below bid 1.30000000",
        ),
        (
            format!("{header}1767779999999,1.1,1.2\n"),
            "line 3: time 2026-01-07T09:59:59.999Z is before the previous tick's \
             2026-01-07T10:00:00.000Z",
        ),
        (
            format!("{header}\n\nsoon,1.1,1.2\n"),
            "line 5: bad time \"soon\"",
        ),
        (
            format!("{header}1767780000001,-1.1,1.2\n"),
            "line 3: bad bid \"-1.1\"; expected a positive decimal price",
        ),
        (
            format!("{header}1767780000001,1.1,\n"),
            "line 3: bad ask \"\"; expected a positive decimal price",
        ),
        (
            format!("{header}1767780000001,1.1\n"),
            "line 3: expected at least 3 fields, found 2",
        ),
        (
            "time,bid,volume\n".to_owned(),
            "line 1: the csv header has no \"ask\" column",
        ),
        (
            "hello world\n".to_owned(),
            "line 1: unrecognized tick format \"hello world\"; expected a HistData row \
             `YYYYMMDD HHMMSSmmm,bid,ask,volume` or a csv header `time,bid,ask`",
        ),
        (
            "20240102 170000123,1.1,1.2,0\n20240102 25000000,1.1,1.2,0\n".to_owned(),
            "line 2: bad time \"20240102 25000000\"",
        ),
    ];
    for (text, want) in cases {
        let err = read(&text, None).unwrap_err();
        assert_eq!(err.to_string(), want, "{text:?}");
    }
    assert!(read("", None).unwrap().is_empty());
}

#[test]
fn the_iterator_skips_past_bad_rows_and_counts_them() {
    let text = "time,bid,ask\n\
                1767780000000,1.10000,1.10002\n\
                1767780000100,1.10010,1.10005\n\
                1767779000000,1.10010,1.10012\n\
                1767780000200,1.10020,1.10022\n";
    let (ok, bad): (Vec<_>, Vec<_>) =
        TickReader::new(Cursor::new(text), None, SymbolIdx(3), &spec("EURUSD"))
            .partition(Result::is_ok);
    assert_eq!(ok.len(), 2);
    let lines: Vec<String> = bad
        .into_iter()
        .map(|e| e.unwrap_err().to_string()[..6].to_owned())
        .collect();
    assert_eq!(lines, ["line 3", "line 4"]);
    // A bad header ends the stream.
    let mut r = TickReader::new(
        Cursor::new("time,bid\n1,2,3\n"),
        Some(TickFormat::Csv),
        SymbolIdx(0),
        &spec("EURUSD"),
    );
    assert!(matches!(
        r.next(),
        Some(Err(ReplayError::MissingColumn {
            line: 1,
            column: "ask"
        }))
    ));
    assert!(r.next().is_none());
}

#[test]
fn import_file_reads_from_disk_and_names_a_missing_file() {
    let dir = std::env::temp_dir().join(format!("drawbridge-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("EURUSD-ticks.csv");
    std::fs::write(&path, HISTDATA).unwrap();
    let ticks = import_file(&path, None, SymbolIdx(3), &spec("EURUSD")).unwrap();
    assert_eq!(ticks.len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
    let err = import_file(&path, None, SymbolIdx(3), &spec("EURUSD")).unwrap_err();
    assert!(
        matches!(err, ReplayError::Open { .. }) && err.to_string().contains("EURUSD-ticks.csv"),
        "{err}"
    );
}
