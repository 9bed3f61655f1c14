//! A measured number printed beside the threshold that decided it. Rounded to a fixed number of
//! digits, a ratio of 1.96 judged by "≥ 2×" would read "2.0×": the printed pair would say the
//! rule holds where it failed. Here the number (and the threshold, where it is rounded too) gets
//! the fewest digits, from the caller's usual count up, at which the printed numbers order the
//! way the exact ones do: printed equal only where exactly equal.

use std::cmp::Ordering;

/// How a number is written, with the usual count of digits after the point: the least it gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `{:.d$}`.
    Fixed(usize),
    /// `{:.d$e}`: d digits after the mantissa's point.
    Sci(usize),
    /// A share as a percentage, `{:.d$}%` of 100·x; a share short of 1 also never reads as the
    /// whole (100%).
    Percent(usize),
}

/// The most digits added to a form's own: enough to tell apart any two distinct f64 values in
/// the fixed forms (the smallest positive one has 324 decimals), and in scientific notation.
const MAX_EXTRA: [usize; 2] = [330, 17];

impl Form {
    fn digits(self) -> usize {
        match self {
            Form::Fixed(d) | Form::Sci(d) | Form::Percent(d) => d,
        }
    }

    fn with(self, d: usize) -> Form {
        match self {
            Form::Fixed(_) => Form::Fixed(d),
            Form::Sci(_) => Form::Sci(d),
            Form::Percent(_) => Form::Percent(d),
        }
    }

    /// `x` in this form, with its digits as they are.
    pub fn write(self, x: f64) -> String {
        match self {
            Form::Fixed(d) => format!("{x:.d$}"),
            Form::Sci(d) => format!("{x:.d$e}"),
            Form::Percent(d) => format!("{:.d$}%", 100.0 * x),
        }
    }

    /// The number a reader takes `s` (written by [`Form::write`]) for, in the units it is
    /// written in.
    fn read(s: &str) -> f64 {
        s.trim_end_matches('%')
            .parse()
            .expect("a number zl wrote reads back")
    }

    /// The first form from this one, adding digits, in which `ok` holds; this one where none
    /// does (two values a percentage's scaling makes equal).
    fn first(self, ok: impl Fn(Form) -> bool) -> Form {
        let extra = match self {
            Form::Sci(_) => MAX_EXTRA[1],
            Form::Fixed(_) | Form::Percent(_) => MAX_EXTRA[0],
        };
        (self.digits()..=self.digits() + extra)
            .map(|d| self.with(d))
            .find(|&f| ok(f))
            .unwrap_or(self)
    }
}

/// Whether `value` written in `form` orders against `limit` (the threshold as printed, in
/// `form`'s units) as the exact value does against `threshold`.
fn orders(form: Form, value: f64, threshold: f64, limit: f64) -> bool {
    Form::read(&form.write(value)).partial_cmp(&limit) == value.partial_cmp(&threshold)
}

/// Whether `value` written in `form` orders against `limit` as it does against `threshold`, and,
/// as a percentage, a share short of 1 reads short of 100%.
fn reads_as(form: Form, value: f64, threshold: f64, limit: f64) -> bool {
    let whole = match form {
        Form::Percent(_) => value >= 1.0 || Form::read(&form.write(value)) < 100.0,
        Form::Fixed(_) | Form::Sci(_) => true,
    };
    whole && orders(form, value, threshold, limit)
}

/// `value` and the `threshold` it was judged by, both written in `form`: the threshold with the
/// digits the pair needs to order as the exact pair does at equal digits, the value with those
/// or more (a share short of 1 may need more not to read 100%).
pub fn against(value: f64, threshold: f64, form: Form) -> (String, String) {
    let (mut values, threshold) = against_all(&[value], threshold, form);
    (values.remove(0), threshold)
}

/// [`against`] for several values judged by one threshold, printed once: its digits are the
/// fewest at which every value orders against it as its exact value does.
pub fn against_all(values: &[f64], threshold: f64, form: Form) -> (Vec<String>, String) {
    let t = form.first(|f| {
        let limit = Form::read(&f.write(threshold));
        values.iter().all(|&x| orders(f, x, threshold, limit))
    });
    let limit = Form::read(&t.write(threshold));
    let values = values
        .iter()
        .map(|&x| t.first(|f| reads_as(f, x, threshold, limit)).write(x))
        .collect();
    (values, t.write(threshold))
}

/// `value` written in `form` beside a `threshold` written exactly (a constant such as 2 or 0.9,
/// printed with `{}`): as many digits as it needs to order against it as the exact value does.
pub fn beside(value: f64, threshold: f64, form: Form) -> String {
    let limit = match form {
        Form::Percent(_) => 100.0 * threshold,
        Form::Fixed(_) | Form::Sci(_) => threshold,
    };
    let f = form.first(|f| reads_as(f, value, threshold, limit));
    f.write(value)
}

/// `value` written in `form` or with more digits, beside `printed`: the `threshold` it was judged
/// by as [`against`] or [`against_all`] wrote it, so that the two order as the exact pair does.
pub fn beside_printed(value: f64, threshold: f64, printed: &str, form: Form) -> String {
    let limit = Form::read(printed);
    form.first(|f| reads_as(f, value, threshold, limit))
        .write(value)
}

/// The ratio `value / base` beside the `factor` of a rule that compared `value` with
/// `factor · base`: with the digits, from `form`'s up, at which it orders against `factor` the
/// way `value` did against `factor · base`; `∞` where `base` is 0.
pub fn times(value: f64, base: f64, factor: f64, form: Form) -> String {
    if base == 0.0 {
        return "∞".into();
    }
    let went = value.partial_cmp(&(factor * base));
    let ratio = value / base;
    form.first(|f| Form::read(&f.write(ratio)).partial_cmp(&factor) == went)
        .write(ratio)
}

/// A margin, signed, beside the 0 that decides whether it is positive.
pub fn signed(x: f64, form: Form) -> String {
    match beside(x, 0.0, form) {
        s if s.starts_with('-') => s,
        s => format!("+{s}"),
    }
}

/// A share as a percentage, with digits enough that a share short of 1 never reads "100.00%".
pub fn share(x: f64) -> String {
    beside(x, 1.0, Form::Percent(2))
}

/// How the printed `value` and `threshold` order, as a reader compares them.
pub fn printed_order(value: &str, threshold: &str) -> Option<Ordering> {
    Form::read(value).partial_cmp(&Form::read(threshold))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order a reader sees must be the exact order, for every pair.
    fn agrees(value: f64, threshold: f64, form: Form) -> (String, String) {
        let (v, t) = against(value, threshold, form);
        assert_eq!(
            printed_order(&v, &t),
            value.partial_cmp(&threshold),
            "{value} vs {threshold} printed {v} vs {t}"
        );
        (v, t)
    }

    #[test]
    fn usual_numbers_keep_their_usual_digits() {
        assert_eq!(beside(57792.63, 2.0, Form::Fixed(1)), "57792.6");
        assert_eq!(beside(1.3, 2.0, Form::Fixed(1)), "1.3");
        assert_eq!(beside(4.0, 10.0, Form::Fixed(1)), "4.0");
        assert_eq!(beside(253.4, 10.0, Form::Fixed(0)), "253");
        assert_eq!(
            against(3.0751e-5, 1.79e-2, Form::Sci(2)),
            ("3.08e-5".into(), "1.79e-2".into())
        );
        assert_eq!(
            against(0.99995, 2.0 / 3.0, Form::Percent(2)),
            ("99.995%".into(), "66.67%".into())
        );
        assert_eq!(
            against(0.9432, 0.01, Form::Percent(2)),
            ("94.32%".into(), "1.00%".into())
        );
    }

    #[test]
    fn just_below_or_above_a_threshold_never_reads_as_it() {
        // 1.96 fails ≥ 2: not "2.0".
        assert_eq!(beside(1.96, 2.0, Form::Fixed(1)), "1.96");
        assert_eq!(beside(2.04, 2.0, Form::Fixed(1)), "2.04");
        assert_eq!(beside(9.96, 10.0, Form::Fixed(1)), "9.96");
        assert_eq!(beside(1.99999, 2.0, Form::Fixed(1)), "1.99999");
        assert_eq!(beside(2.000001, 2.0, Form::Fixed(1)), "2.000001");
        // The next f64 below 2 still reads below it.
        let below = f64::from_bits(2f64.to_bits() - 1);
        let s = beside(below, 2.0, Form::Fixed(1));
        assert!(Form::read(&s) < 2.0, "{s}");
        assert!(Form::read(&beside(0.8996, 0.9, Form::Fixed(2))) < 0.9);
        for x in [
            1.95, 1.999, 2.0, 2.001, 2.05, 9.949, 9.95, 9.999, 10.0, 10.04,
        ] {
            for t in [2.0, 10.0] {
                let s = beside(x, t, Form::Fixed(1));
                assert_eq!(
                    printed_order(&s, &t.to_string()),
                    x.partial_cmp(&t),
                    "{x} {s}"
                );
            }
        }
    }

    #[test]
    fn exactly_equal_reads_equal_at_the_usual_digits() {
        assert_eq!(beside(2.0, 2.0, Form::Fixed(1)), "2.0");
        assert_eq!(
            against(0.01, 0.01, Form::Percent(2)),
            ("1.00%".into(), "1.00%".into())
        );
        assert_eq!(
            against(1.79e-2, 1.79e-2, Form::Sci(2)),
            ("1.79e-2".into(), "1.79e-2".into())
        );
    }

    #[test]
    fn a_rounded_threshold_gets_the_digits_too() {
        // 66.6668% holds ≥ 2/3 (66.6667%): at 3 digits it would read 66.667% < 66.670%.
        let (v, t) = agrees(0.666668, 2.0 / 3.0, Form::Percent(2));
        assert_eq!((v.as_str(), t.as_str()), ("66.6668%", "66.6667%"));
        agrees(0.666665, 2.0 / 3.0, Form::Percent(2));
        agrees(0.66666, 2.0 / 3.0, Form::Percent(2));
        // A gap a hair above the small gap is not small.
        let (v, t) = agrees(1.7905e-2, 1.79e-2, Form::Sci(2));
        assert_eq!((v.as_str(), t.as_str()), ("1.791e-2", "1.790e-2"));
        agrees(1.78996e-2, 1.79e-2, Form::Sci(2));
    }

    #[test]
    fn several_values_share_the_threshold_digits() {
        let (v, t) = against_all(&[8.85e-2, 2.09e-3], 1.79e-2, Form::Sci(2));
        assert_eq!(
            (v, t.as_str()),
            (vec!["8.85e-2".into(), "2.09e-3".into()], "1.79e-2")
        );
        let (xs, t) = against_all(&[8.85e-2, 1.7905e-2, 1.78996e-2], 1.79e-2, Form::Sci(2));
        for (s, x) in xs.iter().zip([8.85e-2, 1.7905e-2, 1.78996e-2]) {
            assert_eq!(printed_order(s, &t), x.partial_cmp(&1.79e-2), "{s} vs {t}");
        }
    }

    #[test]
    fn ratios_of_a_hundred_or_more_and_tiny_values() {
        assert_eq!(beside(100.4, 10.0, Form::Fixed(0)), "100");
        assert_eq!(beside(1e6, 2.0, Form::Fixed(1)), "1000000.0");
        // Near a threshold of 100 or more, digits after the point are added.
        assert_eq!(beside(99.6, 100.0, Form::Fixed(0)), "99.6");
        assert_eq!(beside(100.4, 100.0, Form::Fixed(0)), "100.4");
        // Tiny values against 0 and against tiny thresholds.
        let s = beside(1e-20, 0.0, Form::Fixed(3));
        assert!(Form::read(&s) > 0.0, "{s}");
        let s = beside(-1e-300, 0.0, Form::Fixed(3));
        assert!(Form::read(&s) < 0.0, "{s}");
        agrees(1.0000001e-12, 1e-12, Form::Sci(2));
        agrees(9.999999e-13, 1e-12, Form::Sci(2));
        agrees(5e-324, 0.0, Form::Fixed(2));
    }

    /// A ratio beside its factor reads the way the product's comparison went, even where the
    /// ratio's own rounding (or the division) would put it on the factor.
    #[test]
    fn a_ratio_reads_the_way_its_product_rule_went() {
        assert_eq!(times(1.853, 1.84e-4, 10.0, Form::Fixed(0)), "10071");
        assert_eq!(times(0.2, 0.203, 1.5, Form::Fixed(2)), "0.99");
        assert_eq!(times(1.0, 0.0, 10.0, Form::Fixed(1)), "∞");
        for (value, base, factor) in [
            (9.96, 1.0, 10.0),
            (10.04, 1.0, 10.0),
            (10.0, 1.0, 10.0),
            (0.30449, 0.203, 1.5),
            (0.30451, 0.203, 1.5),
            (1.5 * 0.2 + 1e-12, 0.2, 1.5),
            (1.5 * 0.2 - 1e-12, 0.2, 1.5),
        ] {
            let s = times(value, base, factor, Form::Fixed(1));
            assert_eq!(
                printed_order(&s, &factor.to_string()),
                value.partial_cmp(&(factor * base)),
                "{value} against {factor}×{base}: {s}"
            );
        }
    }

    /// A value beside a threshold printed elsewhere (a table's column beside its rule's line)
    /// orders against the printed threshold as the exact pair does.
    #[test]
    fn a_value_reads_against_the_threshold_as_printed() {
        for (x, t) in [
            (3.01704e-4, 3.01705e-4),
            (3.01706e-4, 3.01705e-4),
            (8.4e1, 3.0e-4),
        ] {
            let (_, printed) = against_all(&[x], t, Form::Sci(3));
            let s = beside_printed(x, t, &printed, Form::Sci(6));
            assert_eq!(
                printed_order(&s, &printed),
                x.partial_cmp(&t),
                "{s} {printed}"
            );
        }
        assert_eq!(
            beside_printed(8.4e1, 3.0e-4, "3.000e-4", Form::Sci(6)),
            "8.400000e1"
        );
    }

    #[test]
    fn a_margin_keeps_its_sign() {
        assert_eq!(signed(9.438, Form::Fixed(3)), "+9.438");
        assert_eq!(signed(-1e-4, Form::Fixed(3)), "-0.0001");
        assert_eq!(signed(1e-4, Form::Fixed(3)), "+0.0001");
        assert_eq!(signed(0.0, Form::Fixed(3)), "+0.000");
    }

    #[test]
    fn a_share_short_of_the_whole_never_reads_as_it() {
        assert_eq!(share(0.99999), "99.999%");
        assert_eq!(share(1.0), "100.00%");
        assert_eq!(share(0.5), "50.00%");
        assert_ne!(share(1.0 - 1e-12), "100.00%");
        // Beside a rule, both bounds hold at once.
        let (v, _) = agrees(0.9999999, 2.0 / 3.0, Form::Percent(2));
        assert!(Form::read(&v) < 100.0, "{v}");
    }
}
