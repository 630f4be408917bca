//! Timestamps: the SigV4 basic ISO 8601 form (`20261128T120000Z`), the HTTP `Date` header form
//! (`Sat, 28 Nov 2026 12:00:00 GMT`), and Unix seconds. Civil-date arithmetic follows Howard
//! Hinnant's `days_from_civil` / `civil_from_days`; all inputs are range-checked first, so no
//! arithmetic here can overflow.

use std::time::{SystemTime, UNIX_EPOCH};

#[inline]
fn digit(b: u8) -> Option<i64> {
    if b.is_ascii_digit() { Some(i64::from(b - b'0')) } else { None }
}

fn two(a: u8, b: u8) -> Option<i64> {
    Some(digit(a)? * 10 + digit(b)?)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (`m` in 1..=12).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn to_unix(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Parses `YYYYMMDDTHHMMSSZ` into Unix seconds.
pub(crate) fn parse_amz_date(s: &[u8]) -> Option<i64> {
    let [y0, y1, y2, y3, m0, m1, d0, d1, b'T', h0, h1, i0, i1, s0, s1, b'Z'] = *<&[u8; 16]>::try_from(s).ok()? else {
        return None;
    };
    let year = two(y0, y1)? * 100 + two(y2, y3)?;
    to_unix(year, two(m0, m1)?, two(d0, d1)?, two(h0, h1)?, two(i0, i1)?, two(s0, s1)?)
}

/// Parses an HTTP IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) into Unix seconds.
pub(crate) fn parse_http_date(s: &[u8]) -> Option<i64> {
    let [
        w0,
        w1,
        w2,
        b',',
        b' ',
        d0,
        d1,
        b' ',
        m0,
        m1,
        m2,
        b' ',
        y0,
        y1,
        y2,
        y3,
        b' ',
        h0,
        h1,
        b':',
        i0,
        i1,
        b':',
        s0,
        s1,
        b' ',
        b'G',
        b'M',
        b'T',
    ] = *<&[u8; 29]>::try_from(s).ok()?
    else {
        return None;
    };
    if ![w0, w1, w2].iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let month = match &[m0, m1, m2] {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    let year = two(y0, y1)? * 100 + two(y2, y3)?;
    to_unix(year, month, two(d0, d1)?, two(h0, h1)?, two(i0, i1)?, two(s0, s1)?)
}

/// Formats Unix seconds as `YYYYMMDDTHHMMSSZ`; `None` outside years 0..=9999.
pub(crate) fn format_amz_date(t: i64) -> Option<[u8; 16]> {
    // Years 0000..=9999 only: -62_167_219_200 is 0000-01-01T00:00:00Z,
    // 253_402_300_799 is 9999-12-31T23:59:59Z.
    if !(-62_167_219_200..=253_402_300_799).contains(&t) {
        return None;
    }
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    // -1 and -2 stand for the literal 'T' and 'Z'.
    let digits = [
        y / 1000,
        y / 100 % 10,
        y / 10 % 10,
        y % 10,
        m / 10,
        m % 10,
        d / 10,
        d % 10,
        -1,
        h / 10,
        h % 10,
        mi / 10,
        mi % 10,
        s / 10,
        s % 10,
        -2,
    ];
    let mut out = [0u8; 16];
    for (o, v) in out.iter_mut().zip(digits) {
        *o = match v {
            -1 => b'T',
            -2 => b'Z',
            v => b'0' + u8::try_from(v).ok()?,
        };
    }
    Some(out)
}

/// Unix seconds of a `SystemTime` (negative before the epoch, saturating far away).
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates() {
        assert_eq!(parse_amz_date(b"19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date(b"20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(parse_amz_date(b"20240229T000000Z"), Some(1_709_164_800));
        assert_eq!(parse_amz_date(b"20230229T000000Z"), None);
        assert_eq!(parse_amz_date(b"20231301T000000Z"), None);
        assert_eq!(parse_amz_date(b"20231201T240000Z"), None);
        assert_eq!(parse_amz_date(b"20231201T000060Z"), None);
        assert_eq!(parse_amz_date(b"2023120100000Z"), None);
        assert_eq!(parse_amz_date(b"20231201t000000Z"), None);
        assert_eq!(parse_amz_date(b"00000101T000000Z"), Some(-62_167_219_200));
        assert_eq!(parse_amz_date(b"99991231T235959Z"), Some(253_402_300_799));
    }

    #[test]
    fn http_dates() {
        assert_eq!(parse_http_date(b"Sun, 30 Aug 2015 12:36:00 GMT"), Some(1_440_938_160));
        assert_eq!(parse_http_date(b"Sun, 30 Aug 2015 12:36:00 UTC"), None);
        assert_eq!(parse_http_date(b"Sun, 31 Sep 2015 12:36:00 GMT"), None);
    }

    #[test]
    fn round_trip() {
        for t in [0i64, 1, 1_440_938_160, 1_795_000_000, -1, -86_401, 253_402_300_799, -62_167_219_200] {
            let s = format_amz_date(t).unwrap();
            assert_eq!(parse_amz_date(&s), Some(t), "{}", String::from_utf8_lossy(&s));
        }
        let mut t = -62_167_219_200i64;
        while t < 253_402_300_799 {
            let s = format_amz_date(t).unwrap();
            assert_eq!(parse_amz_date(&s), Some(t));
            t += 7_777_777;
        }
        assert_eq!(format_amz_date(253_402_300_800), None);
        assert_eq!(format_amz_date(i64::MIN), None);
    }

    #[test]
    fn system_time() {
        use std::time::Duration;
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_secs(5)), 5);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(5)), -5);
    }
}
