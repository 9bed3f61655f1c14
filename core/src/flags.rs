//! The training settings as a reader types them: `zl`'s flags and the browser page's controls
//! are parsed and checked here, so that both take the same values and refuse one in the same
//! words.

use core::fmt;

/// The most epochs one run takes: 10 million full-batch steps (about a minute on one core);
/// beyond that a typo is likelier than intent.
pub const MAX_EPOCHS: u32 = 10_000_000;

/// A value refused, with the text as typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused<'a> {
    /// Not a whole number.
    NotWhole(&'a str),
    /// A whole number outside `1..=max`; `what` names the setting.
    Range {
        /// The setting, as a sentence names it ("the epoch count").
        what: &'a str,
        /// The largest value taken.
        max: u32,
        /// The text as typed.
        got: &'a str,
    },
    /// Not a number.
    NotNumber(&'a str),
    /// Not a seed (a whole number from 0 to `u64::MAX`).
    Seed(&'a str),
    /// Not a learning rate (positive, finite).
    Lr(&'a str),
    /// Not a weight decay (zero or positive, finite).
    WeightDecay(&'a str),
}

impl fmt::Display for Refused<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::NotWhole(s) => write!(f, "'{s}' is not a whole number"),
            Refused::Range { what, max, got } => {
                write!(f, "{what} must be between 1 and {max} (got {got})")
            }
            Refused::NotNumber(s) => write!(f, "'{s}' is not a number"),
            Refused::Seed(s) => write!(
                f,
                "the seed must be a whole number from 0 to {} (got {s})",
                u64::MAX
            ),
            Refused::Lr(s) => write!(
                f,
                "the learning rate must be a positive finite number, such as 1e-3 (got {s})"
            ),
            Refused::WeightDecay(s) => write!(
                f,
                "the weight decay must be zero or a positive finite number, such as 0.01 (got {s})"
            ),
        }
    }
}

impl core::error::Error for Refused<'_> {}

/// A whole number from 1 to `max`, `_` allowed between digits (as `1_000`), surrounding white
/// space ignored; `what` names it in the refusal.
pub fn count<'a>(s: &'a str, what: &'a str, max: u32) -> Result<u32, Refused<'a>> {
    let t = s.trim();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut n: u128 = 0;
    let mut any = false;
    for c in digits.chars().filter(|&c| c != '_') {
        let d = c.to_digit(10).ok_or(Refused::NotWhole(s))?;
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(d as u128))
            .ok_or(Refused::NotWhole(s))?;
        any = true;
    }
    if !any {
        return Err(Refused::NotWhole(s));
    }
    match u32::try_from(n) {
        Ok(n) if !negative && (1..=max).contains(&n) => Ok(n),
        _ => Err(Refused::Range { what, max, got: s }),
    }
}

/// `--epochs`: 1 to [`MAX_EPOCHS`].
pub fn epochs(s: &str) -> Result<u32, Refused<'_>> {
    count(s, "the epoch count", MAX_EPOCHS)
}

/// The widest model `zl` trains. The large-V trainer holds any width, so this bound is only
/// against a typo; whether a model fits this machine's memory is checked with its vocabulary,
/// before any work.
pub const MAX_D_MODEL: u32 = 65_536;

/// `zl`'s `--d-model`: 1 to [`MAX_D_MODEL`].
pub fn d_model(s: &str) -> Result<usize, Refused<'_>> {
    count(s, "d_model", MAX_D_MODEL).map(|d| d as usize)
}

/// The browser page's d_model: 1 to [`crate::capacity::MAX_D_MODEL`], the capacity tiers it
/// trains with.
pub fn d_model_in_tiers(s: &str) -> Result<usize, Refused<'_>> {
    count(s, "d_model", crate::capacity::MAX_D_MODEL as u32).map(|d| d as usize)
}

/// `--seed`: a whole number from 0 to `u64::MAX`.
pub fn seed(s: &str) -> Result<u64, Refused<'_>> {
    s.trim().parse().map_err(|_| Refused::Seed(s))
}

/// A number (Rust's `f64` syntax: `1e-3`, `inf`, `NaN`), surrounding white space ignored.
pub fn number(s: &str) -> Result<f64, Refused<'_>> {
    s.trim().parse().map_err(|_| Refused::NotNumber(s))
}

/// `--lr`: positive and finite.
pub fn lr(s: &str) -> Result<f64, Refused<'_>> {
    let x = number(s)?;
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(Refused::Lr(s))
    }
}

/// `--weight-decay`: zero or positive, and finite.
pub fn weight_decay(s: &str) -> Result<f64, Refused<'_>> {
    let x = number(s)?;
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(Refused::WeightDecay(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn counts_take_what_the_cli_always_took() {
        for (s, n) in [
            ("1", 1),
            (" 10_000 ", 10_000),
            ("+5", 5),
            ("_7", 7),
            ("0064", 64),
        ] {
            assert_eq!(count(s, "x", 100_000), Ok(n), "{s:?}");
        }
        for s in ["", " ", "_", "-", "+", "1.5", "1e3", "0x10", "1 000", "٣"] {
            assert_eq!(count(s, "x", 10), Err(Refused::NotWhole(s)), "{s:?}");
        }
        let big = "1000000000000000000000000000000000000000000";
        assert_eq!(count(big, "x", 10), Err(Refused::NotWhole(big)));
        for s in ["0", "-3", "-0", "11", "99999999999"] {
            assert!(
                matches!(count(s, "x", 10), Err(Refused::Range { .. })),
                "{s:?}"
            );
        }
        assert_eq!(
            epochs("0").unwrap_err().to_string(),
            "the epoch count must be between 1 and 10000000 (got 0)"
        );
        assert_eq!(d_model_in_tiers("64"), Ok(64));
        assert!(d_model_in_tiers("65").is_err());
        assert_eq!(d_model("65536"), Ok(65_536));
        assert!(d_model("65537").is_err());
    }

    #[test]
    fn numbers_and_seeds() {
        assert_eq!(seed(" 18446744073709551615 "), Ok(u64::MAX));
        assert_eq!(seed("-1"), Err(Refused::Seed("-1")));
        assert_eq!(lr("1e-3"), Ok(1e-3));
        assert_eq!(weight_decay("0"), Ok(0.0));
        for s in ["0", "-1", "inf", "NaN"] {
            assert_eq!(lr(s), Err(Refused::Lr(s)));
        }
        assert_eq!(weight_decay("-0.1"), Err(Refused::WeightDecay("-0.1")));
        assert_eq!(lr("x"), Err(Refused::NotNumber("x")));
        assert_eq!(lr("x").unwrap_err().to_string(), "'x' is not a number");
    }
}
