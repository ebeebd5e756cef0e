//! Tick files read into [`Tick`]s, for replaying real history through a trade server.
//!
//! Two formats:
//! - [`TickFormat::HistData`]: HistData.com ASCII ticks, `20240102 170000123,1.104270,1.104390,0`
//!   (`YYYYMMDD HHMMSSmmm,bid,ask,volume`), no header, times in EST without daylight saving
//!   (a fixed UTC−5, as HistData documents).
//! - [`TickFormat::Csv`]: a header naming `time` (or `timestamp`/`datetime`/`date`), `bid` and
//!   `ask` columns in any order among others, then rows whose time is epoch milliseconds or
//!   ISO-8601 (UTC unless it carries an offset; a space may stand for the `T`).
//!
//! Prices are rounded to the symbol's tick size. A row is rejected when a price is not
//! positive, the ask is below the bid, or its time is before the previous accepted row's (equal
//! times are fine). [`read_ticks`] and [`import_file`] stop at the first bad row; the
//! [`TickReader`] iterator reports it and carries on, so a caller may skip and count.

use super::Tick;
use crate::symbol::{SymbolIdx, SymbolSpec};
use chrono::{NaiveDate, NaiveDateTime};
use drawbridge_model::time::MS_PER_HOUR;
use drawbridge_model::{Price, Timestamp};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};

/// HistData's EST is UTC−5 all year.
const HISTDATA_UTC_OFFSET_MS: i64 = -5 * MS_PER_HOUR;
/// Names accepted for the time column of a CSV header.
const TIME_COLUMNS: [&str; 4] = ["time", "timestamp", "datetime", "date"];
/// Bytes per line assumed when reserving room for a file's ticks.
const BYTES_PER_LINE_ESTIMATE: u64 = 40;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TickFormat {
    HistData,
    Csv,
}

impl TickFormat {
    /// Recognizes a file by its first line: a HistData row, or a CSV header (a line naming a
    /// `time`, `bid` or `ask` column; a header missing one is reported when it is read).
    pub fn detect(first_line: &str) -> Option<Self> {
        let line = first_line.trim_start_matches('\u{feff}').trim();
        let first = line.split(',').next().unwrap_or_default();
        if parse_histdata_time(first).is_some() {
            return Some(Self::HistData);
        }
        let known = |c: String| TIME_COLUMNS.contains(&c.as_str()) || c == "bid" || c == "ask";
        line.split(',')
            .map(column_name)
            .any(known)
            .then_some(Self::Csv)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading ticks: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "line {line}: unrecognized tick format {text:?}; expected a HistData row `YYYYMMDD HHMMSSmmm,bid,ask,volume` or a csv header `time,bid,ask`"
    )]
    UnknownFormat { line: u64, text: String },
    #[error("line {line}: the csv header has no {column:?} column")]
    MissingColumn { line: u64, column: &'static str },
    #[error("line {line}: expected at least {expected} fields, found {found}")]
    Fields {
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("line {line}: bad time {text:?}")]
    Time { line: u64, text: String },
    #[error("line {line}: bad {field} {text:?}; expected a positive decimal price")]
    Price {
        line: u64,
        field: &'static str,
        text: String,
    },
    #[error("line {line}: ask {ask} is below bid {bid}")]
    Inverted { line: u64, bid: Price, ask: Price },
    #[error("line {line}: time {time} is before the previous tick's {previous}")]
    Backwards {
        line: u64,
        time: Timestamp,
        previous: Timestamp,
    },
}

/// Where the time, bid and ask are in a CSV row.
#[derive(Clone, Copy, Debug)]
struct Columns {
    time: usize,
    bid: usize,
    ask: usize,
    width: usize,
}

impl Columns {
    /// Reads a header; the error names the first missing column.
    fn parse(header: &str) -> Result<Self, &'static str> {
        let names: Vec<String> = header.split(',').map(column_name).collect();
        let find = |want: &[&str]| names.iter().position(|n| want.contains(&n.as_str()));
        let time = find(&TIME_COLUMNS).ok_or("time")?;
        let bid = find(&["bid"]).ok_or("bid")?;
        let ask = find(&["ask"]).ok_or("ask")?;
        Ok(Self {
            time,
            bid,
            ask,
            width: time.max(bid).max(ask) + 1,
        })
    }
}

/// A CSV header cell as a lowercase name.
fn column_name(cell: &str) -> String {
    cell.trim().trim_matches('"').to_ascii_lowercase()
}

/// `YYYYMMDD HHMMSSmmm` in EST (UTC−5).
fn parse_histdata_time(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r.clone())?
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| s[r].parse().ok())?
    };
    if b.len() != 18 || b[8] != b' ' {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(4..6)?, digits(6..8)?)?;
    let time = date.and_hms_milli_opt(
        digits(9..11)?,
        digits(11..13)?,
        digits(13..15)?,
        digits(15..18)?,
    )?;
    Some(Timestamp(
        time.and_utc().timestamp_millis() - HISTDATA_UTC_OFFSET_MS,
    ))
}

/// Epoch milliseconds or ISO-8601.
fn parse_csv_time(s: &str) -> Option<Timestamp> {
    let s = s.trim().trim_matches('"');
    if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) {
        return s.parse().ok().map(Timestamp);
    }
    if let Ok(t) = Timestamp::parse_iso(s) {
        return Some(t);
    }
    let spaced = s.replacen(' ', "T", 1);
    Timestamp::parse_iso(&spaced).ok().or_else(|| {
        NaiveDateTime::parse_from_str(&spaced, "%Y-%m-%dT%H:%M")
            .ok()
            .map(|n| Timestamp(n.and_utc().timestamp_millis()))
    })
}

fn parse_price(s: &str) -> Option<Price> {
    let s = s.trim().trim_matches('"');
    let v: f64 = s.parse().ok()?;
    Price::from_f64(v).filter(|p| p.0 > 0)
}

/// Streams ticks out of a reader, one `Result` per data line. After a bad row it continues with
/// the next; after an I/O error, an unknown format or a bad header it ends.
#[derive(Debug)]
pub struct TickReader<R> {
    reader: R,
    format: Option<TickFormat>,
    columns: Option<Columns>,
    symbol: SymbolIdx,
    tick_size: Price,
    line: u64,
    previous: Option<Timestamp>,
    buf: String,
    done: bool,
}

impl<R: BufRead> TickReader<R> {
    /// `format: None` detects it from the first line.
    pub fn new(
        reader: R,
        format: Option<TickFormat>,
        symbol: SymbolIdx,
        spec: &SymbolSpec,
    ) -> Self {
        Self {
            reader,
            format,
            columns: None,
            symbol,
            tick_size: spec.tick_size,
            line: 0,
            previous: None,
            buf: String::new(),
            done: false,
        }
    }

    /// The number of the last line read (1-based).
    pub fn line(&self) -> u64 {
        self.line
    }

    fn fail<T>(&mut self, e: ReplayError) -> Option<Result<T, ReplayError>> {
        self.done = true;
        Some(Err(e))
    }

    /// Reads the header or detects the format from the first non-blank line. `Ok(true)` when
    /// that line was a header and holds no tick.
    fn start(&mut self, text: &str) -> Result<bool, ReplayError> {
        let line = self.line;
        let format = match self.format {
            Some(f) => f,
            None => TickFormat::detect(text).ok_or_else(|| ReplayError::UnknownFormat {
                line,
                text: text.to_owned(),
            })?,
        };
        self.format = Some(format);
        if format == TickFormat::HistData {
            return Ok(false);
        }
        let columns =
            Columns::parse(text).map_err(|column| ReplayError::MissingColumn { line, column })?;
        self.columns = Some(columns);
        Ok(true)
    }

    fn row(&mut self, text: &str) -> Result<Tick, ReplayError> {
        let line = self.line;
        let fields: Vec<&str> = text.split(',').collect();
        let (t, b, a, time) = match self.columns {
            Some(c) => {
                if fields.len() < c.width {
                    return Err(ReplayError::Fields {
                        line,
                        expected: c.width,
                        found: fields.len(),
                    });
                }
                (
                    fields[c.time],
                    fields[c.bid],
                    fields[c.ask],
                    parse_csv_time(fields[c.time]),
                )
            }
            None => {
                if fields.len() < 3 {
                    return Err(ReplayError::Fields {
                        line,
                        expected: 3,
                        found: fields.len(),
                    });
                }
                (
                    fields[0],
                    fields[1],
                    fields[2],
                    parse_histdata_time(fields[0].trim()),
                )
            }
        };
        let time = time.ok_or_else(|| ReplayError::Time {
            line,
            text: t.to_owned(),
        })?;
        let price = |field, s: &str| {
            let p = parse_price(s).ok_or_else(|| ReplayError::Price {
                line,
                field,
                text: s.to_owned(),
            })?;
            Ok::<_, ReplayError>(p.round_to(self.tick_size))
        };
        let (bid, ask) = (price("bid", b)?, price("ask", a)?);
        if ask < bid {
            return Err(ReplayError::Inverted { line, bid, ask });
        }
        if let Some(previous) = self.previous.filter(|p| time < *p) {
            return Err(ReplayError::Backwards {
                line,
                time,
                previous,
            });
        }
        self.previous = Some(time);
        Ok(Tick {
            symbol: self.symbol,
            time,
            bid,
            ask,
        })
    }
}

impl<R: BufRead> Iterator for TickReader<R> {
    type Item = Result<Tick, ReplayError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            match self.reader.read_line(&mut self.buf) {
                Ok(0) => self.done = true,
                Ok(_) => {}
                Err(e) => return self.fail(e.into()),
            }
            if self.done {
                break;
            }
            self.line += 1;
            let text = std::mem::take(&mut self.buf);
            let trimmed = text.trim_start_matches('\u{feff}').trim();
            let result = if trimmed.is_empty() {
                None
            } else if self.format.is_none()
                || (self.format == Some(TickFormat::Csv) && self.columns.is_none())
            {
                match self.start(trimmed) {
                    Ok(true) => None,
                    Ok(false) => Some(self.row(trimmed)),
                    Err(e) => return self.fail(e),
                }
            } else {
                Some(self.row(trimmed))
            };
            self.buf = text;
            if result.is_some() {
                return result;
            }
        }
        None
    }
}

/// Every tick of `reader`, or the first error.
pub fn read_ticks(
    reader: impl BufRead,
    format: Option<TickFormat>,
    symbol: SymbolIdx,
    spec: &SymbolSpec,
) -> Result<Vec<Tick>, ReplayError> {
    TickReader::new(reader, format, symbol, spec).collect()
}

/// [`read_ticks`] from a file, with a progress bar on stderr when stderr is a terminal.
pub fn import_file(
    path: &Path,
    format: Option<TickFormat>,
    symbol: SymbolIdx,
    spec: &SymbolSpec,
) -> Result<Vec<Tick>, ReplayError> {
    let open_error = |source| ReplayError::Open {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(open_error)?;
    let len = file.metadata().map_err(open_error)?.len();
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {binary_bytes}/{binary_total_bytes} {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(format!(
        "{} {}",
        spec.name,
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    let reader = BufReader::with_capacity(1 << 16, bar.wrap_read(file));
    let mut ticks = Vec::with_capacity(usize::try_from(len / BYTES_PER_LINE_ESTIMATE).unwrap_or(0));
    let result =
        TickReader::new(reader, format, symbol, spec).try_for_each(|t| t.map(|t| ticks.push(t)));
    bar.finish_and_clear();
    result.map(|()| ticks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histdata_times_are_fixed_utc_minus_five() {
        // (HistData time, UTC instant): no daylight saving in July either.
        let cases = [
            ("20240102 170000123", Some("2024-01-02T22:00:00.123Z")),
            ("20240715 000000000", Some("2024-07-15T05:00:00.000Z")),
            ("20241231 235959999", Some("2025-01-01T04:59:59.999Z")),
            ("20240230 000000000", None),
            ("20240102170000123", None),
            ("2024010a 170000123", None),
            ("20240102 1700001234", None),
        ];
        for (s, want) in cases {
            let want = want.map(|w| Timestamp::parse_iso(w).unwrap());
            assert_eq!(parse_histdata_time(s), want, "{s}");
        }
    }

    #[test]
    fn csv_times_and_prices() {
        let cases = [
            ("1767780000000", Some(1_767_780_000_000)),
            ("2026-01-07T10:00:00Z", Some(1_767_780_000_000)),
            ("2026-01-07 12:00:00.000+02:00", Some(1_767_780_000_000)),
            ("2026-01-07 10:00:00", Some(1_767_780_000_000)),
            ("\"2026-01-07T10:00\"", Some(1_767_780_000_000)),
            ("yesterday", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_csv_time(s), want.map(Timestamp), "{s:?}");
        }
        assert_eq!(parse_price("1.104270"), Some(Price(110_427_000)));
        assert_eq!(parse_price(" 92000.5 "), Some(Price(9_200_050_000_000)));
        for bad in ["0", "-1.1", "abc", "", "nan", "inf"] {
            assert_eq!(parse_price(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn detects_the_format_from_the_first_line() {
        let cases = [
            (
                "20240102 170000123,1.104270,1.104390,0",
                Some(TickFormat::HistData),
            ),
            ("\u{feff}time,bid,ask", Some(TickFormat::Csv)),
            ("Timestamp, Ask, Bid, Volume", Some(TickFormat::Csv)),
            ("time,bid", Some(TickFormat::Csv)),
            ("symbol,price", None),
            ("1767780000000,1.1,1.2", None),
            ("", None),
        ];
        for (line, want) in cases {
            assert_eq!(TickFormat::detect(line), want, "{line:?}");
        }
    }
}
