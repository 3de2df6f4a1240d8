//! Go's duration syntax (`90s`, `1m30s`, `250ms`, `1.5h`, `0`), because Tekton's
//! controller and its users write timeouts that way.

use std::time::Duration;

/// Parses a Go duration. Negative durations are refused; `0` needs no unit.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let fail =
        |why: &str| format!("invalid duration {text:?}: {why} (examples: 90s, 1m30s, 250ms)");
    let body = text.strip_prefix('+').unwrap_or(text);
    if body.starts_with('-') {
        return Err(fail("must not be negative"));
    }
    if body == "0" {
        return Ok(Duration::ZERO);
    }
    if body.is_empty() {
        return Err(fail("empty"));
    }
    let mut nanos: f64 = 0.0;
    let mut rest = body;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| fail("missing unit"))?;
        let (number, tail) = rest.split_at(number_len);
        if number.is_empty() || number == "." {
            return Err(fail("expected a number"));
        }
        let value: f64 = number.parse().map_err(|_| fail("bad number"))?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(fail(&format!("unknown unit {unit:?}"))),
        };
        nanos += value * scale;
        rest = tail;
    }
    if !nanos.is_finite() || nanos >= 1.8e19 {
        return Err(fail("too large"));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(Duration::from_nanos(nanos.round() as u64))
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
    }

    #[test]
    fn bad_input_is_refused() {
        for bad in ["", "10", "ten", "5x", "-1s", "1.2.3s", "s"] {
            assert!(parse_duration(bad).is_err(), "{bad} was accepted");
        }
    }
}
