//! Go-style duration strings (`90m`, `1h30m`, `1.5s`), parsed and printed the
//! way Go's `time` package does so existing config files keep their meaning.

use std::time::Duration;

const NANOS_PER_SECOND: u128 = 1_000_000_000;

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => NANOS_PER_SECOND,
        "m" => 60 * NANOS_PER_SECOND,
        "h" => 3_600 * NANOS_PER_SECOND,
        _ => return None,
    })
}

/// Parses a Go duration; a bare integer counts as seconds.
pub fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let invalid = || format!("invalid duration {text:?}; use values like 30m, 1h30m or 90s");
    let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if body.starts_with('-') {
        return Err(format!("duration {text:?} must not be negative"));
    }
    if body.is_empty() {
        return Err(invalid());
    }
    if body.bytes().all(|byte| byte.is_ascii_digit()) {
        let seconds: u64 = body.parse().map_err(|_| invalid())?;
        return Ok(Duration::from_secs(seconds));
    }
    let mut total: u128 = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let number_end = rest
            .find(|character: char| !(character.is_ascii_digit() || character == '.'))
            .ok_or_else(invalid)?;
        let (number, after_number) = rest.split_at(number_end);
        let unit_end = after_number
            .find(|character: char| character.is_ascii_digit() || character == '.')
            .unwrap_or(after_number.len());
        let (unit, after_unit) = after_number.split_at(unit_end);
        let scale = unit_nanos(unit).ok_or_else(invalid)?;
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid());
        }
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        let mut nanos = whole.checked_mul(scale).ok_or_else(invalid)?;
        // Go keeps fractional digits exact; extra digits below a nanosecond drop off.
        let mut place = scale;
        for digit in fraction.bytes() {
            if !digit.is_ascii_digit() {
                return Err(invalid());
            }
            place /= 10;
            nanos += u128::from(digit - b'0') * place;
        }
        total = total.checked_add(nanos).ok_or_else(invalid)?;
        rest = after_unit;
    }
    let total = u64::try_from(total).map_err(|_| format!("duration {text:?} is out of range"))?;
    Ok(Duration::from_nanos(total))
}

/// Prints a duration as Go's `Duration.String` does: `1h30m0s`, `1.5s`, `250ms`.
pub fn format(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", decimal(nanos, 3));
    }
    if nanos < NANOS_PER_SECOND {
        return format!("{}ms", decimal(nanos, 6));
    }
    let seconds = decimal(nanos % (60 * NANOS_PER_SECOND), 9);
    let minutes_total = nanos / (60 * NANOS_PER_SECOND);
    let hours = minutes_total / 60;
    let minutes = minutes_total % 60;
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// `value / 10^digits` written with the fraction's trailing zeros removed.
fn decimal(value: u128, digits: u32) -> String {
    let divisor = 10u128.pow(digits);
    let whole = value / divisor;
    let fraction = value % divisor;
    if fraction == 0 {
        return whole.to_string();
    }
    let padded = format!("{fraction:0width$}", width = digits as usize);
    format!("{whole}.{}", padded.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        let cases: &[(&str, Duration)] = &[
            ("30m", Duration::from_secs(1800)),
            ("1h30m", Duration::from_secs(5400)),
            ("90s", Duration::from_secs(90)),
            ("250ms", Duration::from_millis(250)),
            ("1.5h", Duration::from_secs(5400)),
            ("90", Duration::from_secs(90)),
            ("0", Duration::ZERO),
            (".5s", Duration::from_millis(500)),
            ("1h2m3.5s", Duration::from_millis(3_723_500)),
            ("10us", Duration::from_micros(10)),
            ("10µs", Duration::from_micros(10)),
            (" 15m ", Duration::from_secs(900)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Ok(*expected), "{text}");
        }
    }

    #[test]
    fn rejects_malformed_durations() {
        for text in ["", "soon", "1.5", "-5m", "5x", "m", "1..2s", "1h-5m"] {
            assert!(parse(text).is_err(), "{text:?} should not parse");
        }
    }

    #[test]
    fn formats_like_go() {
        let cases: &[(Duration, &str)] = &[
            (Duration::ZERO, "0s"),
            (Duration::from_secs(1800), "30m0s"),
            (Duration::from_secs(5400), "1h30m0s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_nanos(1500), "1.5µs"),
            (Duration::from_nanos(7), "7ns"),
            (Duration::from_secs(7200), "2h0m0s"),
            (Duration::from_millis(61_250), "1m1.25s"),
        ];
        for (duration, expected) in cases {
            assert_eq!(format(*duration), *expected);
        }
    }

    #[test]
    fn formatted_text_parses_back() {
        for nanos in [
            1u64,
            999,
            1_500,
            250_000_000,
            61_250_000_000,
            5_400_000_000_000,
        ] {
            let duration = Duration::from_nanos(nanos);
            assert_eq!(parse(&format(duration)), Ok(duration));
        }
    }
}
