//! Times written as chrono's serde writes them — RFC 3339 in UTC with a `Z`, the
//! fraction of a second in 0, 3, 6 or 9 digits as it needs — without going through
//! `fmt`: an answer of 5,000 indicators writes 25,000 times, and chrono's formatter
//! was a sixth of writing it. Times chrono writes otherwise (years outside 0–9999,
//! leap seconds) are left to chrono.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Serialize, Serializer};

/// `at` as chrono's serde writes it, into `buf`; None when chrono must write it.
fn write(at: &DateTime<Utc>, buf: &mut [u8; 30]) -> Option<usize> {
    let year = at.year();
    let nanos = at.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut put = |at: usize, value: u32, digits: usize| {
        let mut v = value;
        for i in (at..at + digits).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, at.month(), 2);
    put(8, at.day(), 2);
    put(11, at.hour(), 2);
    put(14, at.minute(), 2);
    put(17, at.second(), 2);
    let (fraction, digits) = if nanos == 0 {
        (0, 0)
    } else if nanos.is_multiple_of(1_000_000) {
        (nanos / 1_000_000, 3)
    } else if nanos.is_multiple_of(1_000) {
        (nanos / 1_000, 6)
    } else {
        (nanos, 9)
    };
    let mut end = 19;
    if digits > 0 {
        put(20, fraction, digits);
        buf[19] = b'.';
        end = 20 + digits;
    }
    buf[4] = b'-';
    buf[7] = b'-';
    buf[10] = b'T';
    buf[13] = b':';
    buf[16] = b':';
    buf[end] = b'Z';
    Some(end + 1)
}

/// A time that serialises as chrono's serde would, faster.
pub struct Rfc3339<'a>(pub &'a DateTime<Utc>);

impl Serialize for Rfc3339<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 30];
        match write(self.0, &mut buf) {
            // Only ASCII digits and separators were written.
            Some(len) => s.serialize_str(std::str::from_utf8(&buf[..len]).unwrap_or_default()),
            None => self.0.serialize(s),
        }
    }
}

/// For `#[serde(serialize_with = "…")]` on a time.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    Rfc3339(at).serialize(s)
}

/// For `#[serde(serialize_with = "…")]` on a time that may be absent.
pub fn serialize_option<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_some(&Rfc3339(at)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    /// chrono's own serialisation is the oracle.
    fn same_as_chrono(at: DateTime<Utc>) {
        assert_eq!(
            serde_json::to_string(&Rfc3339(&at)).unwrap(),
            serde_json::to_string(&at).unwrap(),
            "{at:?}"
        );
    }

    proptest! {
        #[test]
        fn writes_what_chrono_writes(
            secs in -62_167_219_200i64..253_402_300_800i64,
            nanos in 0u32..1_000_000_000,
            round in 0usize..4,
        ) {
            // Whole seconds, milli-, micro- and nanoseconds, each as often.
            let nanos = [0, nanos / 1_000_000 * 1_000_000, nanos / 1_000 * 1_000, nanos][round];
            same_as_chrono(Utc.timestamp_opt(secs, nanos).unwrap());
        }
    }

    #[test]
    fn leaves_to_chrono_what_it_writes_otherwise() {
        // A leap second, years before 0 and after 9999, the ends of a year.
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        for at in [
            leap,
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
        ] {
            same_as_chrono(at);
        }
        let none: Option<DateTime<Utc>> = None;
        let mut json = serde_json::Serializer::new(Vec::new());
        serialize_option(&none, &mut json).unwrap();
        assert_eq!(json.into_inner(), b"null");
    }
}
