//! Go's duration syntax (`90s`, `1m30s`, `250ms`, `1.5h`, `0`), because Tekton's
//! controller and its users write timeouts that way.

use std::time::Duration;

/// Parses a Go duration. Negative durations are refused; `0` needs no unit.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let fail =
        |why: &str| format!("invalid duration {text:?}: {why} (examples: 90s, 1m30s, 250ms)");
    if let Some(magnitude) = text.strip_prefix('-') {
        // Go accepts `-0` (and `-0s`): the one negative spelling of no time.
        return match parse_duration(magnitude) {
            Ok(d) if d.is_zero() && !magnitude.starts_with(['-', '+']) => Ok(d),
            Ok(_) => Err(fail("must not be negative")),
            Err(_) => Err(fail("expected a number")),
        };
    }
    let body = text.strip_prefix('+').unwrap_or(text);
    if body == "0" {
        return Ok(Duration::ZERO);
    }
    if body.is_empty() {
        return Err(fail("empty"));
    }
    // Integer arithmetic, as Go does it: no float parsing in the binary, and
    // no rounding surprises (`0.1s` is exactly 100ms).
    let mut nanos: u128 = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| fail("missing unit"))?;
        let (number, tail) = rest.split_at(number_len);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(fail("expected a number"));
        }
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(fail(&format!("unknown unit {unit:?}"))),
        };
        let too_large = || fail("too large");
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| too_large())?
        };
        nanos = whole
            .checked_mul(scale)
            .and_then(|n| n.checked_add(nanos))
            .ok_or_else(too_large)?;
        // Digits past the nanosecond cannot matter; at most 19 are read.
        let mut divisor: u128 = 1;
        let mut part: u128 = 0;
        for digit in fraction.bytes().take(19) {
            part = part * 10 + u128::from(digit - b'0');
            divisor *= 10;
        }
        nanos = nanos
            .checked_add(part * scale / divisor)
            .filter(|&n| n <= u128::from(u64::MAX))
            .ok_or_else(too_large)?;
        rest = tail;
    }
    Ok(Duration::from_nanos(
        u64::try_from(nanos).map_err(|_| fail("too large"))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn go_examples() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_hours(1)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_mins(90)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(parse_duration(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0.1s"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1.000000001s"), Ok(Duration::new(1, 1)));
        assert_eq!(parse_duration("2h45m"), Ok(Duration::from_mins(165)));
        assert_eq!(parse_duration("-0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("-0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_input_is_refused() {
        for bad in [
            "",
            "10",
            "ten",
            "5x",
            "-1s",
            "1.2.3s",
            "s",
            ".s",
            "99999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} was accepted");
        }
    }
}
