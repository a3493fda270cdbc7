//! Wall-clock time and RFC 3339 UTC timestamps (seconds in claims, milliseconds on
//! the coordinator's wire).

use std::time::{SystemTime, UNIX_EPOCH};

const SECONDS_PER_DAY: i64 = 86_400;

/// Seconds since the Unix epoch; negative if the clock is set before 1970.
pub fn now_unix() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(elapsed) => i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Milliseconds since the Unix epoch (the coordinator's clock unit).
pub fn now_unix_millis() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(elapsed) => i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// Formats milliseconds as `2026-11-22T23:08:00.123Z`, the shape JavaScript's
/// `toISOString` gives and Go's RFC 3339 parser accepts.
pub fn format_rfc3339_millis(unix_millis: i64) -> String {
    let seconds = format_rfc3339(unix_millis.div_euclid(1000));
    format!(
        "{}.{:03}Z",
        &seconds[..seconds.len() - 1],
        unix_millis.rem_euclid(1000)
    )
}

/// Parses an RFC 3339 timestamp into Unix milliseconds (digits past the third
/// fractional one are truncated).
pub fn parse_rfc3339_millis(text: &str) -> Option<i64> {
    let seconds = parse_rfc3339(text)?;
    let millis = text
        .as_bytes()
        .get(19)
        .filter(|byte| **byte == b'.')
        .map(|_| {
            let fraction: Vec<i64> = text.as_bytes()[20..]
                .iter()
                .take_while(|byte| byte.is_ascii_digit())
                .take(3)
                .map(|byte| i64::from(byte - b'0'))
                .collect();
            fraction
                .iter()
                .chain(std::iter::repeat(&0))
                .take(3)
                .fold(0, |value, digit| value * 10 + digit)
        })
        .unwrap_or(0);
    Some(seconds * 1000 + millis)
}

/// Formats whole seconds as `2026-11-22T23:08:00Z`.
pub fn format_rfc3339(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = unix_seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// Parses an RFC 3339 timestamp with `Z` or a numeric offset into Unix seconds.
///
/// Fractional seconds are accepted and truncated, since claims only keep seconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 {
        return None;
    }
    let separators_ok = bytes[4] == b'-'
        && bytes[7] == b'-'
        && matches!(bytes[10], b'T' | b't')
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !separators_ok {
        return None;
    }
    let year = digits(&bytes[0..4])?;
    let month = digits(&bytes[5..7])?;
    let day = digits(&bytes[8..10])?;
    let hour = digits(&bytes[11..13])?;
    let minute = digits(&bytes[14..16])?;
    let second = digits(&bytes[17..19])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }

    let mut rest = &bytes[19..];
    if let Some(after_dot) = rest.strip_prefix(b".") {
        let fraction_len = after_dot.iter().take_while(|b| b.is_ascii_digit()).count();
        if fraction_len == 0 {
            return None;
        }
        rest = &after_dot[fraction_len..];
    }
    let offset_seconds = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), hours @ .., b':', minute_high, minute_low] if hours.len() == 2 => {
            let offset_hours = digits(hours)?;
            let offset_minutes = digits(&[*minute_high, *minute_low])?;
            if offset_hours > 23 || offset_minutes > 59 {
                return None;
            }
            let magnitude = offset_hours * 3600 + offset_minutes * 60;
            if *sign == b'-' {
                -magnitude
            } else {
                magnitude
            }
        }
        _ => return None,
    };

    let days = days_from_civil(year, month, day);
    let local = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
    Some(local - offset_seconds)
}

fn digits(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0i64, |value, byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + i64::from(byte - b'0'))
    })
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// The two conversions below are Howard Hinnant's proleptic Gregorian algorithms,
// which work in 400-year eras so that no calendar tables are needed.

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (1_795_388_880, "2026-11-22T23:08:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (4_102_444_800, "2100-01-01T00:00:00Z"),
        ];
        for (seconds, text) in cases {
            assert_eq!(format_rfc3339(seconds), text, "{seconds}");
            assert_eq!(parse_rfc3339(text), Some(seconds), "{text}");
        }
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let base = 1_795_388_880;
        let cases = [
            ("2026-11-22T23:08:00.123456789Z", base),
            ("2026-11-22t23:08:00z", base),
            ("2026-11-23T01:08:00+02:00", base),
            ("2026-11-22T18:38:00-04:30", base),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_rfc3339(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn rejects_malformed_timestamps() {
        let cases = [
            "",
            "2026-11-22",
            "2026-11-22T23:08:00",
            "2026-11-22 23:08:00Z",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T23:60:00Z",
            "2026-11-22T23:08:60Z",
            "2026-11-22T23:08:00.Z",
            "2026-11-22T23:08:00+0200",
            "2026-11-22T23:08:00+24:00",
            "2026-11-22T23:08:00Zjunk",
            "20x6-11-22T23:08:00Z",
        ];
        for text in cases {
            assert_eq!(parse_rfc3339(text), None, "{text:?}");
        }
    }

    #[test]
    fn round_trips_every_day_across_leap_cycles() {
        let start = parse_rfc3339("1999-12-25T12:34:56Z").unwrap();
        for day in 0..(366 * 5) {
            let seconds = start + day * SECONDS_PER_DAY;
            assert_eq!(parse_rfc3339(&format_rfc3339(seconds)), Some(seconds));
        }
    }

    #[test]
    fn millisecond_timestamps_round_trip() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_795_388_880_123, "2026-11-22T23:08:00.123Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
        ];
        for (millis, text) in cases {
            assert_eq!(format_rfc3339_millis(millis), text);
            assert_eq!(parse_rfc3339_millis(text), Some(millis));
        }
        assert_eq!(
            parse_rfc3339_millis("2026-11-22T23:08:00.5Z"),
            Some(1_795_388_880_500)
        );
        assert_eq!(
            parse_rfc3339_millis("2026-11-22T23:08:00Z"),
            Some(1_795_388_880_000)
        );
        assert_eq!(
            parse_rfc3339_millis("2026-11-23T01:08:00.123456+02:00"),
            Some(1_795_388_880_123)
        );
    }

    #[test]
    fn now_is_after_2024() {
        assert!(now_unix() > 1_704_067_200);
    }
}
