//! Stored timestamps on the hot paths of the feed and exports, read and
//! written without chrono's format-string machinery.
//!
//! SQLite keeps a timestamp as text (`2026-12-07 04:08:00.123456`), and
//! diesel reads it by trying format strings one after another; a page of
//! 1,000 changes or records spent a tenth of its time there. [`Stamp`] reads
//! that text with a fixed-layout parser and falls back to diesel's for
//! anything else; [`Day`] does the same for a stored day that may be absent
//! (`2026-12-07`). [`push_utc`] writes a time as its JSON string, exactly as
//! serde writes a `DateTime<Utc>`.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::sql_types::{Date, Nullable, Timestamp};
use diesel::sqlite::Sqlite;

use crate::conn::DbBackend;

/// A stored timestamp as diesel reads it into a row (`deserialize_as`).
#[derive(Debug, Clone, Copy, diesel::deserialize::FromSqlRow)]
pub struct Stamp(NaiveDateTime);

impl From<Stamp> for NaiveDateTime {
    fn from(s: Stamp) -> NaiveDateTime {
        s.0
    }
}

impl FromSql<Timestamp, Sqlite> for Stamp {
    fn from_sql(
        mut value: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        if let Some(t) = parse_stored(value.read_text()) {
            return Ok(Stamp(t));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Stamp)
    }
}

impl FromSql<Timestamp, Pg> for Stamp {
    fn from_sql(
        value: <Pg as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Stamp)
    }
}

impl FromSql<Timestamp, DbBackend> for Stamp {
    fn from_sql(
        value: <DbBackend as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

/// A stored day that may be absent, as diesel reads it into a row
/// (`deserialize_as`): a record's `valid_from` and `valid_until`.
#[derive(Debug, Clone, Copy, diesel::deserialize::FromSqlRow)]
pub struct Day(Option<NaiveDate>);

impl From<Day> for Option<NaiveDate> {
    fn from(d: Day) -> Option<NaiveDate> {
        d.0
    }
}

impl FromSql<Date, Sqlite> for Day {
    fn from_sql(
        mut value: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        if let Some(d) = parse_day(value.read_text().as_bytes()) {
            return Ok(Day(Some(d)));
        }
        <NaiveDate as FromSql<Date, Sqlite>>::from_sql(value).map(|d| Day(Some(d)))
    }
}

impl FromSql<Date, Pg> for Day {
    fn from_sql(
        value: <Pg as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        <NaiveDate as FromSql<Date, Pg>>::from_sql(value).map(|d| Day(Some(d)))
    }
}

impl FromSql<Date, DbBackend> for Day {
    fn from_sql(
        value: <DbBackend as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        value.from_sql::<Self, Date>()
    }
}

/// A column that may be null, on any backend: a present day as that
/// backend reads it, an absent one as `Day(None)`.
impl<B: Backend> FromSql<Nullable<Date>, B> for Day
where
    Day: FromSql<Date, B>,
{
    fn from_sql(value: B::RawValue<'_>) -> deserialize::Result<Self> {
        <Self as FromSql<Date, B>>::from_sql(value)
    }

    fn from_nullable_sql(value: Option<B::RawValue<'_>>) -> deserialize::Result<Self> {
        value.map_or(Ok(Day(None)), <Self as FromSql<Date, B>>::from_sql)
    }
}

/// `YYYY-MM-DD`, the layout diesel writes a day in on SQLite; `None` for
/// anything else (diesel's own parser then decides).
fn parse_day(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(
        i32::try_from(digits(&b[0..4])?).ok()?,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
    )
}

/// `n` ASCII digits as a number.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// The layout diesel writes on SQLite, `YYYY-MM-DD HH:MM:SS` with an optional
/// fraction of 1 to 9 digits; `None` for anything else (diesel's own parser
/// then decides).
fn parse_stored(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            digits(frac)? * 10u32.pow(9 - frac.len() as u32)
        }
        _ => return None,
    };
    let date = parse_day(&b[..10])?;
    let (h, m, s) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    // A leap second (60) is left to diesel's parser.
    if s > 59 {
        return None;
    }
    Some(date.and_time(NaiveTime::from_hms_nano_opt(h, m, s, nanos)?))
}

/// Appends the last `width` digits of `n` (at most 9), zero-padded.
fn push_digits(out: &mut Vec<u8>, mut n: u32, width: usize) {
    let mut digits = [b'0'; 9];
    for d in digits[..width].iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits[..width]);
}

/// Appends `t` up to its seconds, `YYYY-MM-DDTHH:MM:SS`, for a year of four
/// digits.
fn push_seconds(out: &mut Vec<u8>, year: u32, t: NaiveDateTime) {
    push_digits(out, year, 4);
    out.push(b'-');
    push_digits(out, chrono::Datelike::month(&t), 2);
    out.push(b'-');
    push_digits(out, chrono::Datelike::day(&t), 2);
    out.push(b'T');
    push_digits(out, t.hour(), 2);
    out.push(b':');
    push_digits(out, t.minute(), 2);
    out.push(b':');
    push_digits(out, t.second(), 2);
}

/// Appends `t` to the microsecond, byte for byte what chrono writes for
/// `%Y-%m-%dT%H:%M:%S%.6f` (the audit log's canonical form of a time).
pub fn push_micros(out: &mut Vec<u8>, t: NaiveDateTime) {
    let year = chrono::Datelike::year(&t);
    let nanos = t.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        // Years outside four digits and leap seconds: chrono's own writer.
        let text = t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
        out.extend_from_slice(text.as_bytes());
        return;
    }
    push_seconds(out, year as u32, t);
    out.push(b'.');
    push_digits(out, nanos / 1_000, 6);
}

/// Appends `t` (UTC) as a JSON string, byte for byte what serde writes for
/// `t.and_utc()`: RFC 3339 with `Z`, and a fraction of 3, 6 or 9 digits only
/// when there is one.
pub fn push_utc(out: &mut Vec<u8>, t: NaiveDateTime) {
    let year = chrono::Datelike::year(&t);
    let nanos = t.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        // Years outside four digits and leap seconds: serde's own writer.
        let text = serde_json::to_string(&t.and_utc()).unwrap_or_else(|_| "null".into());
        out.extend_from_slice(text.as_bytes());
        return;
    }
    out.push(b'"');
    push_seconds(out, year as u32, t);
    if nanos != 0 {
        out.push(b'.');
        if nanos.is_multiple_of(1_000_000) {
            push_digits(out, nanos / 1_000_000, 3);
        } else if nanos.is_multiple_of(1_000) {
            push_digits(out, nanos / 1_000, 6);
        } else {
            push_digits(out, nanos, 9);
        }
    }
    out.extend_from_slice(b"Z\"");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, nanos: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_nano_opt(h, mi, s, nanos))
            .expect("a valid time")
    }

    fn samples() -> Vec<NaiveDateTime> {
        let mut out = Vec::new();
        for nanos in [
            0,
            1,
            7_000,
            120_000,
            123_456_000,
            5_000_000,
            999_999_999,
            100_000_000,
            123_456_789,
            1_500_000_000, // a leap second
        ] {
            for (y, mo, d, h, mi, s) in [
                (2026, 12, 7, 4, 8, 0),
                (1970, 1, 1, 0, 0, 0),
                (9999, 12, 31, 23, 59, 59),
                (2024, 2, 29, 12, 30, 59),
                (12, 3, 4, 5, 6, 7),
            ] {
                // A leap second can only follow second 59.
                if nanos < 1_000_000_000 || s == 59 {
                    out.push(at(y, mo, d, h, mi, s, nanos));
                }
            }
        }
        out.push(at(10_000, 1, 1, 0, 0, 0, 0));
        out.push(at(-44, 3, 15, 12, 0, 0, 0));
        out
    }

    #[test]
    fn a_written_time_is_what_serde_writes() {
        for t in samples() {
            let mut out = Vec::new();
            push_utc(&mut out, t);
            let want = serde_json::to_string(&t.and_utc()).expect("serialises");
            assert_eq!(String::from_utf8(out).expect("utf-8"), want, "{t:?}");
        }
    }

    #[test]
    fn a_time_to_the_microsecond_is_what_chrono_writes() {
        for t in samples() {
            let mut out = Vec::new();
            push_micros(&mut out, t);
            let want = t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
            assert_eq!(String::from_utf8(out).expect("utf-8"), want, "{t:?}");
        }
    }

    #[test]
    fn stored_text_reads_back_as_chrono_parses_it() {
        for t in samples() {
            // What diesel stores on SQLite.
            let text = t.format("%F %T%.f").to_string();
            let chrono = NaiveDateTime::parse_from_str(&text, "%F %T%.f").ok();
            let fast = parse_stored(&text);
            // Four-digit years without a leap second take the fast path;
            // the rest are left to diesel's parser.
            let plain =
                (0..=9999).contains(&chrono::Datelike::year(&t)) && t.nanosecond() < 1_000_000_000;
            assert_eq!(fast.is_some(), plain, "{text}");
            if plain {
                assert_eq!(fast, chrono, "{text}");
            }
        }
        assert_eq!(
            parse_stored("2026-12-07 04:08:00.5"),
            Some(at(2026, 12, 7, 4, 8, 0, 500_000_000))
        );
        assert_eq!(
            parse_stored("2026-12-07 04:08:00"),
            Some(at(2026, 12, 7, 4, 8, 0, 0))
        );
        for other in [
            "2026-12-07T04:08:00",
            "2026-12-07 04:08",
            "2026-12-07 04:08:00.",
            "2026-12-07 04:08:00.1234567890",
            "2026-12-07 04:08:00+07:00",
            "2026-02-30 04:08:00",
            "2026-12-07 24:00:00",
            "2026-12-07 04:08:60",
            "2459000.5",
            "",
        ] {
            assert_eq!(parse_stored(other), None, "{other}");
        }
    }

    #[test]
    fn stored_days_read_back_as_chrono_parses_them() {
        for t in samples() {
            let text = t.date().format("%F").to_string();
            let chrono = NaiveDate::parse_from_str(&text, "%F").ok();
            // Four-digit years take the fast path; the rest go to diesel's parser.
            let plain = (0..=9999).contains(&chrono::Datelike::year(&t));
            assert_eq!(parse_day(text.as_bytes()).is_some(), plain, "{text}");
            if plain {
                assert_eq!(parse_day(text.as_bytes()), chrono, "{text}");
            }
        }
        for other in [
            "2026-02-29",
            "2026-13-01",
            "2026-12-7",
            "2026/12/07",
            "2026-12-07 00:00:00",
            "+2026-12-07",
            "",
        ] {
            assert_eq!(parse_day(other.as_bytes()), None, "{other}");
        }
    }
}
