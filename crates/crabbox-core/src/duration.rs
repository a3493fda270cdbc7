//! Go-compatible duration strings (`90s`, `1h30m`), as used in configs and flags.

use std::time::Duration;

const NANOS_PER_MICRO: u128 = 1_000;
const NANOS_PER_MILLI: u128 = 1_000_000;
const NANOS_PER_SECOND: u128 = 1_000_000_000;
const NANOS_PER_MINUTE: u128 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: u128 = 60 * NANOS_PER_MINUTE;

/// Fraction digits beyond this cannot change the result at nanosecond precision.
const MAX_FRACTION_DIGITS: u32 = 18;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("invalid duration {input:?}; use a value like 90s, 30m or 1h30m")]
    Invalid { input: String },
    #[error("missing unit in duration {input:?}; add one of ns, us, ms, s, m, h")]
    MissingUnit { input: String },
    #[error("unknown unit {unit:?} in duration {input:?}; use one of ns, us, ms, s, m, h")]
    UnknownUnit { unit: String, input: String },
    #[error("duration {input:?} must not be negative")]
    Negative { input: String },
    #[error("duration {input:?} is too large")]
    OutOfRange { input: String },
}

/// Parses Go's `time.ParseDuration` syntax; a bare integer means seconds.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let input = text.trim();
    let invalid = || DurationError::Invalid {
        input: text.to_owned(),
    };
    if input.is_empty() {
        return Err(invalid());
    }
    if let Some(rest) = input.strip_prefix('-') {
        // Go accepts a negated zero; any other negative value has no std equivalent.
        return match parse_duration(rest) {
            Ok(duration) if duration.is_zero() => Ok(Duration::ZERO),
            Ok(_) => Err(DurationError::Negative {
                input: text.to_owned(),
            }),
            Err(_) => Err(invalid()),
        };
    }
    let body = input.strip_prefix('+').unwrap_or(input);
    if body.is_empty() {
        return Err(invalid());
    }
    if body.bytes().all(|byte| byte.is_ascii_digit()) {
        let seconds: u64 = body.parse().map_err(|_| DurationError::OutOfRange {
            input: text.to_owned(),
        })?;
        return Ok(Duration::from_secs(seconds));
    }

    let mut remaining = body;
    let mut total: u128 = 0;
    while !remaining.is_empty() {
        let (whole, after_whole) = split_digits(remaining);
        let (fraction, after_number) = match after_whole.strip_prefix('.') {
            Some(after_dot) => split_digits(after_dot),
            None => ("", after_whole),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid());
        }
        let unit_len = after_number
            .find(|character: char| character == '.' || character.is_ascii_digit())
            .unwrap_or(after_number.len());
        let (unit, rest) = after_number.split_at(unit_len);
        if unit.is_empty() {
            return Err(DurationError::MissingUnit {
                input: text.to_owned(),
            });
        }
        let unit_nanos = unit_in_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
            unit: unit.to_owned(),
            input: text.to_owned(),
        })?;
        let segment = segment_nanos(whole, fraction, unit_nanos).ok_or_else(|| {
            DurationError::OutOfRange {
                input: text.to_owned(),
            }
        })?;
        total = total
            .checked_add(segment)
            .filter(|total| *total <= u128::from(u64::MAX))
            .ok_or_else(|| DurationError::OutOfRange {
                input: text.to_owned(),
            })?;
        remaining = rest;
    }
    Ok(duration_from_nanos(total))
}

fn split_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

fn unit_in_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        // Go accepts both the micro sign (U+00B5) and the Greek letter mu (U+03BC).
        "us" | "\u{b5}s" | "\u{3bc}s" => NANOS_PER_MICRO,
        "ms" => NANOS_PER_MILLI,
        "s" => NANOS_PER_SECOND,
        "m" => NANOS_PER_MINUTE,
        "h" => NANOS_PER_HOUR,
        _ => return None,
    })
}

fn segment_nanos(whole: &str, fraction: &str, unit_nanos: u128) -> Option<u128> {
    let whole_value: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut nanos = whole_value.checked_mul(unit_nanos)?;
    let kept = &fraction[..fraction.len().min(MAX_FRACTION_DIGITS as usize)];
    if !kept.is_empty() {
        let numerator: u128 = kept.parse().ok()?;
        let scale = 10u128.pow(kept.len() as u32);
        nanos = nanos.checked_add(numerator * unit_nanos / scale)?;
    }
    Some(nanos)
}

fn duration_from_nanos(nanos: u128) -> Duration {
    let seconds = (nanos / NANOS_PER_SECOND) as u64;
    let subsecond = (nanos % NANOS_PER_SECOND) as u32;
    Duration::new(seconds, subsecond)
}

/// Formats like Go's `time.Duration.String()`: `1h30m0s`, `2m3.5s`, `250ms`, `0s`.
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < NANOS_PER_SECOND {
        let (precision, unit) = if nanos < NANOS_PER_MICRO {
            (0, "ns")
        } else if nanos < NANOS_PER_MILLI {
            (3, "\u{b5}s")
        } else {
            (6, "ms")
        };
        let (integer, fraction) = split_fraction(nanos, precision);
        return format!("{integer}{fraction}{unit}");
    }
    let (total_seconds, fraction) = split_fraction(nanos, 9);
    let seconds = total_seconds % 60;
    let total_minutes = total_seconds / 60;
    if total_minutes == 0 {
        return format!("{seconds}{fraction}s");
    }
    let minutes = total_minutes % 60;
    let hours = total_minutes / 60;
    if hours == 0 {
        format!("{minutes}m{seconds}{fraction}s")
    } else {
        format!("{hours}h{minutes}m{seconds}{fraction}s")
    }
}

/// Splits `value / 10^precision` into its integer part and a `.digits` suffix with
/// trailing zeros removed (empty when the fraction is zero).
fn split_fraction(value: u128, precision: u32) -> (u128, String) {
    let scale = 10u128.pow(precision);
    let remainder = value % scale;
    if remainder == 0 {
        return (value / scale, String::new());
    }
    let digits = format!("{remainder:0width$}", width = precision as usize);
    (value / scale, format!(".{}", digits.trim_end_matches('0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn parses_go_syntax() {
        let cases = [
            ("0", Duration::ZERO),
            ("-0", Duration::ZERO),
            ("-0s", Duration::ZERO),
            ("90", Duration::from_secs(90)),
            ("90s", Duration::from_secs(90)),
            ("+5s", Duration::from_secs(5)),
            ("30m", Duration::from_secs(1800)),
            ("1h30m", Duration::from_secs(5400)),
            ("1.5h", Duration::from_secs(5400)),
            (".5s", millis(500)),
            ("1.s", Duration::from_secs(1)),
            ("250ms", millis(250)),
            ("2m3.5s", millis(123_500)),
            ("1h0m0s", Duration::from_secs(3600)),
            ("10ns", Duration::from_nanos(10)),
            ("7us", Duration::from_micros(7)),
            ("7\u{b5}s", Duration::from_micros(7)),
            ("7\u{3bc}s", Duration::from_micros(7)),
            ("1.000000001s", Duration::new(1, 1)),
            // Truncates like Go rather than rounding up.
            (
                "0.3333333333333333333333h",
                Duration::new(1199, 999_999_999),
            ),
            (" 45s ", Duration::from_secs(45)),
            ("1h2m3.5s", millis(3_723_500)),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_duration(input), Ok(expected), "{input:?}");
        }
    }

    #[test]
    fn rejects_bad_durations() {
        fn kind(error: &DurationError) -> &'static str {
            match error {
                DurationError::Invalid { .. } => "invalid",
                DurationError::MissingUnit { .. } => "missing unit",
                DurationError::UnknownUnit { .. } => "unknown unit",
                DurationError::Negative { .. } => "negative",
                DurationError::OutOfRange { .. } => "out of range",
            }
        }
        let cases = [
            ("", "invalid"),
            ("-", "invalid"),
            ("+", "invalid"),
            ("s", "invalid"),
            (".s", "invalid"),
            ("1.5", "missing unit"),
            ("1h30", "missing unit"),
            ("3d", "unknown unit"),
            ("5x", "unknown unit"),
            ("soon", "invalid"),
            ("m", "invalid"),
            ("1..2s", "missing unit"),
            ("1h-5m", "unknown unit"),
            ("5 s", "unknown unit"),
            ("-5s", "negative"),
            ("99999999999999999999h", "out of range"),
            ("99999999999999999999", "out of range"),
        ];
        for (input, expected) in cases {
            let error = parse_duration(input).unwrap_err();
            assert_eq!(kind(&error), expected, "{input:?} gave {error:?}");
        }
        assert_eq!(
            parse_duration("3d").unwrap_err().to_string(),
            "unknown unit \"d\" in duration \"3d\"; use one of ns, us, ms, s, m, h"
        );
    }

    #[test]
    fn formats_like_go() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(1800), "30m0s"),
            (Duration::from_secs(5400), "1h30m0s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (millis(1234), "1.234s"),
            (millis(123_500), "2m3.5s"),
            (millis(250), "250ms"),
            (Duration::from_secs(59), "59s"),
            (Duration::from_secs(86_400 + 61), "24h1m1s"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::from_micros(7), "7\u{b5}s"),
            (Duration::from_nanos(1500), "1.5\u{b5}s"),
            (Duration::from_nanos(12), "12ns"),
            (Duration::new(1, 1), "1.000000001s"),
        ];
        for (duration, expected) in cases {
            assert_eq!(format_duration(duration), expected, "{duration:?}");
        }
    }

    #[test]
    fn round_trips_through_text() {
        for seconds in [0, 1, 59, 60, 61, 3599, 3600, 3661, 90_000] {
            for extra_millis in [0, 1, 500, 999] {
                let duration = Duration::from_secs(seconds) + millis(extra_millis);
                let text = format_duration(duration);
                assert_eq!(parse_duration(&text), Ok(duration), "{text}");
            }
        }
    }
}
