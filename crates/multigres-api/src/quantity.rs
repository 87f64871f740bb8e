//! Kubernetes resource quantities exactly as Go's apimachinery `resource.Quantity` (v0.35.0) parses,
//! prints and compares them.
//!
//! Place: shared by the operator and the API crate. The pool pod spec hash (spec-controllers.md
//! §7.5) feeds Go's `json.Marshal` of resource lists, PVC templates, `emptyDir.sizeLimit` and
//! `resourceFieldRef.divisor` to FNV-1a. Go prints a quantity in its canonical form (`1024Mi` →
//! `1Gi`, `0.1` → `100m`, `1000m` → `1`), except that when its parser judged the input already
//! canonical it keeps the input's own spelling (so `+1` and `1.500` stay as written).
//! [`GoQuantity::go_string`] reproduces both, bit for bit, so a pod built here hashes like the one
//! the Go operator built from the same Shard. Validation (spec-api.md §11.3 "limits ≥ requests",
//! §12.4 "storage cannot shrink") compares quantities with [`GoQuantity::cmp_value`], like Go's
//! `Quantity.Cmp`.
//!
//! Must not: do I/O, panic on any input, or spend time or memory growing with an exponent's value.
//! Go's parser can (it builds 10^k to rescale, and hangs on `15e-999999999`); here no power of ten
//! larger than the input's own digits is built, and exponents beyond ±10⁹ are rejected with
//! [`QuantityError::ExponentOutOfRange`].

use num_bigint::BigUint;

/// The largest exponent magnitude accepted (after Go's truncation of the exponent to 32 bits).
/// Real quantities use at most ±18 (`E`, `n`) or a few dozen in `e<N>` notation. Within the bound
/// Go's 32-bit scale arithmetic cannot wrap, so its results are plain arithmetic, which is what
/// this module computes; beyond it Go prints wrapped exponents or never finishes parsing.
pub const MAX_EXPONENT: i64 = 1_000_000_000;

/// Go's `maxInt64Factors`: the decimal digits an `int64` always holds.
const MAX_INT64_FACTORS: i64 = 18;

/// Go's `Nano` scale: quantities are rounded up (away from zero) to 10⁻⁹.
const NANO_EXPONENT: i64 = -9;

/// How a quantity prints its scale (Go's `resource.Format`), decided by the suffix it was parsed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `e<N>` / `E<N>` notation, e.g. `12e6`.
    DecimalExponent,
    /// Powers of 1024: `Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei`.
    BinarySi,
    /// Powers of 1000 (or no suffix): `n`, `u`, `m`, `k`, `M`, `G`, `T`, `P`, `E`.
    DecimalSi,
}

/// Why a string is not a quantity; the messages name the input, the rule and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error(
        "quantity {input:?} must match ^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$ \
         (a signed decimal number followed by an optional suffix)"
    )]
    Format { input: String },
    #[error("quantity {input:?}: the number {number:?} has no digits to parse")]
    Numeric { input: String, number: String },
    #[error(
        "quantity {input:?}: unknown suffix {suffix:?}; allowed are n, u, m, k, M, G, T, P, E, \
         Ki, Mi, Gi, Ti, Pi, Ei, or an exponent e<N> / E<N>"
    )]
    Suffix { input: String, suffix: String },
    #[error(
        "quantity {input:?}: exponent {exponent} is outside the supported range \
         -{MAX_EXPONENT}..={MAX_EXPONENT}"
    )]
    ExponentOutOfRange { input: String, exponent: i64 },
}

/// A parsed quantity: `(-1)^negative × magnitude × 10^exp10`, its format, and the spelling Go
/// keeps when its parser found the input canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoQuantity {
    negative: bool,
    magnitude: BigUint,
    exp10: i64,
    format: Format,
    cached: Option<String>,
}

/// The pieces `parseQuantityString` splits an input into.
struct Parts<'a> {
    positive: bool,
    /// Sign, digits and point: what Go hands to `inf.Dec.SetString` on the slow path.
    value: &'a str,
    /// Integer digits without leading zeros (`"0"` when there are none).
    num: &'a str,
    /// Fraction digits.
    denom: &'a str,
    suffix: &'a str,
}

impl GoQuantity {
    /// Parses `input` as Go's `resource.ParseQuantity` does (no trimming; see [`go_marshal`]).
    pub fn parse(input: &str) -> Result<Self, QuantityError> {
        if input.is_empty() {
            return Err(QuantityError::Format {
                input: input.to_owned(),
            });
        }
        if input == "0" {
            return Ok(Self {
                negative: false,
                magnitude: BigUint::ZERO,
                exp10: 0,
                format: Format::DecimalSi,
                cached: Some(input.to_owned()),
            });
        }
        let parts = split(input).ok_or_else(|| QuantityError::Format {
            input: input.to_owned(),
        })?;
        let (base, exponent, format) =
            interpret_suffix(parts.suffix).ok_or_else(|| QuantityError::Suffix {
                input: input.to_owned(),
                suffix: parts.suffix.to_owned(),
            })?;
        if exponent.abs() > MAX_EXPONENT {
            return Err(QuantityError::ExponentOutOfRange {
                input: input.to_owned(),
                exponent,
            });
        }
        if let Some(fast) = fast_path(input, &parts, exponent, format) {
            return Ok(fast);
        }
        slow_path(input, &parts, base, exponent, format)
    }

    /// What Go's `Quantity.String()` and `MarshalJSON` print for this parsed quantity: the input
    /// itself when the parser cached it, else [`GoQuantity::canonical`].
    pub fn go_string(&self) -> String {
        match &self.cached {
            Some(spelling) => spelling.clone(),
            None => self.canonical(),
        }
    }

    /// The canonical form (Go's `CanonicalizeBytes`): the largest suffix of the quantity's own
    /// format that keeps an integer mantissa; binary quantities below 1024 or not whole fall back
    /// to decimal. Decimal exponents outside `n`..`E` print without a suffix, as in Go.
    pub fn canonical(&self) -> String {
        if is_zero(&self.magnitude) {
            return "0".to_owned();
        }
        let sign = if self.negative { "-" } else { "" };
        if self.format == Format::BinarySi
            && self.compare_magnitude_with(&BigUint::from(1024u32)) != std::cmp::Ordering::Less
            && let Some(whole) = self.exact_integer_magnitude()
        {
            let (mantissa, times) = remove_factors(whole, &BigUint::from(1024u32));
            let suffix = match times {
                1 => "Ki",
                2 => "Mi",
                3 => "Gi",
                4 => "Ti",
                5 => "Pi",
                6 => "Ei",
                // 0, and anything past Ei, which the clamp to 2^63-1 makes unreachable.
                _ => "",
            };
            return format!("{sign}{mantissa}{suffix}");
        }
        let format = match self.format {
            Format::DecimalExponent => Format::DecimalExponent,
            Format::BinarySi | Format::DecimalSi => Format::DecimalSi,
        };
        let (mut mantissa, times) = remove_factors(self.magnitude.clone(), &BigUint::from(10u32));
        let mut exponent = self.exp10 + times;
        while exponent % 3 != 0 {
            mantissa *= 10u32;
            exponent -= 1;
        }
        let suffix = match format {
            Format::DecimalExponent if exponent == 0 => String::new(),
            Format::DecimalExponent => format!("e{exponent}"),
            _ => decimal_si_suffix(exponent).to_owned(),
        };
        format!("{sign}{mantissa}{suffix}")
    }

    /// Compares the values of two quantities, as Go's `Quantity.Cmp` does: `1Gi` equals `1024Mi`,
    /// `1` is greater than `500m`, and the format plays no part.
    ///
    /// Orders of magnitude are compared first, so no power of ten larger than the inputs' own
    /// digits is built, whatever their exponents.
    pub fn cmp_value(&self, other: &GoQuantity) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let sign = |q: &GoQuantity| match (is_zero(&q.magnitude), q.negative) {
            (true, _) => 0i8,
            (false, true) => -1,
            (false, false) => 1,
        };
        let (sign_self, sign_other) = (sign(self), sign(other));
        if sign_self != sign_other || sign_self == 0 {
            return sign_self.cmp(&sign_other);
        }
        // |q| lies in [10^(order-1), 10^order) where order = digits + exp10.
        let order = |q: &GoQuantity| q.magnitude.to_string().len() as i64 + q.exp10;
        let magnitude_order = match order(self).cmp(&order(other)) {
            Ordering::Equal => {
                // Equal orders: the exponents differ by at most the longer digit string.
                let common = self.exp10.min(other.exp10);
                let scaled = |q: &GoQuantity| &q.magnitude * pow10(q.exp10 - common);
                scaled(self).cmp(&scaled(other))
            }
            unequal => unequal,
        };
        if sign_self < 0 {
            magnitude_order.reverse()
        } else {
            magnitude_order
        }
    }

    /// Compares |self| with `other` (an integer).
    fn compare_magnitude_with(&self, other: &BigUint) -> std::cmp::Ordering {
        if self.exp10 >= 0 {
            (&self.magnitude * pow10(self.exp10)).cmp(other)
        } else {
            self.magnitude.cmp(&(other * pow10(-self.exp10)))
        }
    }

    /// |self| as an integer when it has no fraction (Go's `AsScale(0)` reporting `exact`).
    fn exact_integer_magnitude(&self) -> Option<BigUint> {
        if self.exp10 >= 0 {
            return Some(&self.magnitude * pow10(self.exp10));
        }
        let divisor = pow10(-self.exp10);
        let remainder = &self.magnitude % &divisor;
        is_zero(&remainder).then(|| &self.magnitude / divisor)
    }
}

/// The string Go's `json.Marshal` writes (without quotes) for a quantity that a Go client
/// unmarshalled from `raw`: `UnmarshalJSON` trims white space, then [`GoQuantity::go_string`].
pub fn go_marshal(raw: &str) -> Result<String, QuantityError> {
    GoQuantity::parse(raw.trim()).map(|quantity| quantity.go_string())
}

/// Go's `parseQuantityString`, over bytes (every byte it accepts is ASCII).
fn split(input: &str) -> Option<Parts<'_>> {
    let bytes = input.as_bytes();
    let end = bytes.len();
    let mut pos = 0;
    let mut positive = true;
    match bytes.first() {
        Some(b'-') => {
            positive = false;
            pos += 1;
        }
        Some(b'+') => pos += 1,
        _ => {}
    }
    // Leading zeros are dropped; only zeros (or nothing) after the sign means zero.
    while pos < end && bytes[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Some(Parts {
            positive,
            value: "0",
            num: "0",
            denom: "",
            suffix: "",
        });
    }
    let num_start = pos;
    while pos < end && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    let mut num = &input[num_start..pos];
    if pos >= end {
        return Some(Parts {
            positive,
            value: input,
            num,
            denom: "",
            suffix: "",
        });
    }
    if num.is_empty() {
        num = "0";
    }
    let mut denom = "";
    if bytes[pos] == b'.' {
        pos += 1;
        let denom_start = pos;
        while pos < end && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &input[denom_start..pos];
        if pos >= end {
            return Some(Parts {
                positive,
                value: input,
                num,
                denom,
                suffix: "",
            });
        }
    }
    let value = &input[..pos];
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&bytes[pos]) {
        pos += 1;
    }
    if pos < end && (bytes[pos] == b'-' || bytes[pos] == b'+') {
        pos += 1;
    }
    while pos < end && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    (pos >= end).then(|| Parts {
        positive,
        value,
        num,
        denom,
        suffix: &input[suffix_start..],
    })
}

/// Go's suffixer `interpret`: `(base, exponent, format)`. The `e<N>` exponent is parsed as an
/// `int64` and truncated to 32 bits, as Go does.
fn interpret_suffix(suffix: &str) -> Option<(u32, i64, Format)> {
    let decimal = |exponent| Some((10, exponent, Format::DecimalSi));
    let binary = |exponent| Some((2, exponent, Format::BinarySi));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let rest = suffix.strip_prefix(['e', 'E'])?;
            // Go's ParseInt accepts a sign but neither white space nor an empty string; Rust's
            // `i64::from_str` agrees on all three.
            let parsed: i64 = rest.parse().ok()?;
            // `int32(parsed)`: Go keeps the low 32 bits.
            let truncated = i64::from(parsed as i32);
            Some((10, truncated, Format::DecimalExponent))
        }
    }
}

/// Go's `int64` fast path of `ParseQuantity`: `None` when Go would fall through to `inf.Dec`.
fn fast_path(input: &str, parts: &Parts<'_>, exponent: i64, format: Format) -> Option<GoQuantity> {
    let digits = i64::try_from(parts.num.len() + parts.denom.len()).ok()?;
    let (precision, mut scale, shift) = match format {
        Format::DecimalExponent | Format::DecimalSi => (MAX_INT64_FACTORS - digits, exponent, 0),
        Format::BinarySi if parts.denom.is_empty() => {
            let num_len = i64::try_from(parts.num.len()).ok()?;
            // Go: 15 - len(num) - int32(float32(exponent)*3/10) - 1; exact for multiples of 10.
            (15 - num_len - exponent * 3 / 10 - 1, 0, exponent)
        }
        Format::BinarySi => (-1, 0, 0),
    };
    if precision < 0 {
        return None;
    }
    scale -= i64::try_from(parts.denom.len()).ok()?;
    if scale < NANO_EXPONENT {
        return None;
    }
    let shifted = format!("{}{}", parts.num, parts.denom);
    // At most 18 digits when precision >= 0, so this parse cannot overflow.
    let value: i64 = shifted.parse().ok()?;
    let result = value.checked_mul(1i64.checked_shl(u32::try_from(shift).ok()?)?)?;
    let keeps_spelling = match format {
        Format::BinarySi => exponent % 10 == 0 && value & 0x07 != 0,
        Format::DecimalExponent | Format::DecimalSi => {
            scale % 3 == 0 && !shifted.ends_with("000") && !shifted.starts_with('0')
        }
    };
    Some(GoQuantity {
        negative: !parts.positive && result != 0,
        magnitude: BigUint::from(result.unsigned_abs()),
        exp10: scale,
        format,
        cached: keeps_spelling.then(|| input.to_owned()),
    })
}

/// Go's `inf.Dec` slow path of `ParseQuantity`: exact value, rounded up (away from zero) to 10⁻⁹,
/// binary values clamped to 2^63-1, binary fractions below 1 printed as decimal.
fn slow_path(
    input: &str,
    parts: &Parts<'_>,
    base: u32,
    exponent: i64,
    mut format: Format,
) -> Result<GoQuantity, QuantityError> {
    let numeric_error = || QuantityError::Numeric {
        input: input.to_owned(),
        number: parts.value.to_owned(),
    };
    // inf.Dec.SetString: an optional sign, digits with at most one point, at least one digit.
    let (negative, unsigned) = match parts.value.as_bytes().first() {
        Some(b'-') => (true, &parts.value[1..]),
        Some(b'+') => (false, &parts.value[1..]),
        _ => (false, parts.value),
    };
    let (integer, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = format!("{integer}{fraction}");
    if digits.is_empty() {
        return Err(numeric_error());
    }
    let mut magnitude = BigUint::parse_bytes(digits.as_bytes(), 10).ok_or_else(numeric_error)?;
    let mut exp10 = -i64::try_from(fraction.len()).map_err(|_| numeric_error())?;
    if base == 10 {
        exp10 += exponent;
    } else {
        magnitude <<= u64::try_from(exponent).map_err(|_| numeric_error())?;
    }
    if !is_zero(&magnitude) && exp10 < NANO_EXPONENT {
        magnitude = divide_rounding_up(&magnitude, NANO_EXPONENT - exp10);
        exp10 = NANO_EXPONENT;
    }
    let mut quantity = GoQuantity {
        negative,
        magnitude,
        exp10,
        format,
        cached: None,
    };
    if format == Format::BinarySi {
        let max_allowed = BigUint::from(i64::MAX.unsigned_abs());
        if quantity.compare_magnitude_with(&max_allowed) == std::cmp::Ordering::Greater {
            quantity.magnitude = max_allowed;
            quantity.exp10 = 0;
        }
        if !is_zero(&quantity.magnitude)
            && quantity.compare_magnitude_with(&BigUint::from(1u32)) == std::cmp::Ordering::Less
        {
            format = Format::DecimalSi;
        }
    }
    quantity.negative = negative && !is_zero(&quantity.magnitude);
    quantity.format = format;
    Ok(quantity)
}

/// `⌈magnitude / 10^places⌉` for a non-zero magnitude, without building 10^places when it is
/// obviously larger than the magnitude (then the answer is 1).
fn divide_rounding_up(magnitude: &BigUint, places: i64) -> BigUint {
    let places_u64 = places.unsigned_abs();
    if places_u64 > magnitude.bits() {
        // 10^places > 2^places > magnitude > 0.
        return BigUint::from(1u32);
    }
    let divisor = pow10(places);
    let quotient = magnitude / &divisor;
    if is_zero(&(magnitude % &divisor)) {
        quotient
    } else {
        quotient + 1u32
    }
}

/// 10^exponent for a non-negative exponent already bounded by the caller.
fn pow10(exponent: i64) -> BigUint {
    let exponent = u32::try_from(exponent)
        .expect("exponents are bounded by MAX_EXPONENT plus the input length");
    BigUint::from(10u32).pow(exponent)
}

fn is_zero(value: &BigUint) -> bool {
    *value == BigUint::ZERO
}

/// Divides out `factor` as often as it goes, returning the rest and the count.
fn remove_factors(mut value: BigUint, factor: &BigUint) -> (BigUint, i64) {
    let mut times = 0;
    while !is_zero(&value) && is_zero(&(&value % factor)) {
        value /= factor;
        times += 1;
    }
    (value, times)
}

/// Go's decimal SI suffix table; exponents without an entry print no suffix (Go ignores the miss).
fn decimal_si_suffix(exponent: i64) -> &'static str {
    match exponent {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// `(input, what Go's MarshalJSON prints, what Go's canonical form is)`, from apimachinery
    /// v0.35.0's rules (see the module doc): canonical inputs keep their spelling.
    const CASES: &[(&str, &str, &str)] = &[
        ("0", "0", "0"),
        ("0.1", "100m", "100m"),
        ("100m", "100m", "100m"),
        ("1000m", "1", "1"),
        ("1024Mi", "1Gi", "1Gi"),
        ("1.5Gi", "1536Mi", "1536Mi"),
        ("2000Mi", "2000Mi", "2000Mi"),
        ("1e3", "1e3", "1e3"),
        ("1G", "1G", "1G"),
        ("1000k", "1M", "1M"),
        ("512Mi", "512Mi", "512Mi"),
        ("256Mi", "256Mi", "256Mi"),
        ("1Gi", "1Gi", "1Gi"),
        ("1Ki", "1Ki", "1Ki"),
        ("2048Ki", "2Mi", "2Mi"),
        ("1032Ki", "1032Ki", "1032Ki"),
        ("1.5Ki", "1536", "1536"),
        ("1.0001Ki", "1024102400u", "1024102400u"),
        ("0.5Gi", "512Mi", "512Mi"),
        ("0.5Ki", "512", "512"),
        ("0.0001Ki", "102400u", "102400u"),
        ("-0.0001Ki", "-102400u", "-102400u"),
        ("1500m", "1500m", "1500m"),
        ("1.5", "1500m", "1500m"),
        ("1.500", "1.500", "1500m"),
        ("+1", "+1", "1"),
        ("01", "01", "1"),
        ("-1", "-1", "-1"),
        ("-1Ki", "-1Ki", "-1Ki"),
        ("-1024Mi", "-1Gi", "-1Gi"),
        ("5.", "5.", "5"),
        ("-", "0", "0"),
        (".", "0", "0"),
        ("000", "0", "0"),
        ("0Ki", "0", "0"),
        ("1E", "1E", "1E"),
        ("1000E", "1", "1"),
        ("1e+3", "1e+3", "1e3"),
        ("10e3", "10e3", "10e3"),
        ("100e-1", "10", "10"),
        ("1.1e-3", "1100e-6", "1100e-6"),
        ("12e6", "12e6", "12e6"),
        ("1n", "1n", "1n"),
        ("0.000000000001", "1n", "1n"),
        ("1.0000000001", "1000000001n", "1000000001n"),
        ("-0.0000000001", "-1n", "-1n"),
        (
            "123456789012345678901234567890",
            "123456789012345678901234567890",
            "123456789012345678901234567890",
        ),
        (
            "99999999999Ei",
            "9223372036854775807",
            "9223372036854775807",
        ),
        ("8Ei", "9223372036854775807", "9223372036854775807"),
        ("7Ei", "7Ei", "7Ei"),
        ("1e1000001", "100e999999", "100e999999"),
        ("1000e999999999", "1e1000000002", "1e1000000002"),
    ];

    #[test]
    fn values_compare_regardless_of_spelling() {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let cases = [
            ("1Gi", "1024Mi", Equal),
            ("1", "1000m", Equal),
            ("1", "500m", Greater),
            ("256Mi", "512Mi", Less),
            ("1Gi", "1G", Greater),
            ("0", "-0", Equal),
            ("0", "1n", Less),
            ("-1", "0", Less),
            ("-1Gi", "-1Mi", Less),
            ("-2", "-1", Less),
            ("1e3", "1k", Equal),
            ("999", "1k", Less),
            ("1e999999999", "1e-999999999", Greater),
            ("100e999999", "1e1000001", Equal),
            ("1.5", "1500m", Equal),
            ("9", "10", Less),
        ];
        let compared: Vec<_> = cases
            .iter()
            .map(|(a, b, _)| {
                let parse = |s: &str| GoQuantity::parse(s).expect("table quantities are valid");
                (*a, *b, parse(a).cmp_value(&parse(b)))
            })
            .collect();
        let expected: Vec<_> = cases.iter().map(|(a, b, o)| (*a, *b, *o)).collect();
        assert_eq!(compared, expected);
    }

    #[test]
    fn go_marshal_matches_apimachinery_for_every_table_row() {
        for (input, marshalled, canonical) in CASES {
            let quantity = GoQuantity::parse(input).expect("table inputs are valid");
            assert_eq!(
                (input, quantity.go_string()),
                (input, (*marshalled).to_owned())
            );
            assert_eq!(
                (input, quantity.canonical()),
                (input, (*canonical).to_owned())
            );
        }
    }

    #[test]
    fn go_marshal_trims_white_space_like_unmarshal_json() {
        assert_eq!(go_marshal(" 1024Mi\t"), Ok("1Gi".to_owned()));
    }

    #[test]
    fn invalid_quantities_are_rejected_with_the_reason() {
        let format = |input: &str| QuantityError::Format {
            input: input.to_owned(),
        };
        let suffix = |input: &str, suffix: &str| QuantityError::Suffix {
            input: input.to_owned(),
            suffix: suffix.to_owned(),
        };
        let cases = [
            ("", format("")),
            ("1.2.3", format("1.2.3")),
            ("1 Gi", format("1 Gi")),
            ("abc", format("abc")),
            ("1Zi", format("1Zi")),
            ("1ki", suffix("1ki", "ki")),
            ("1e", suffix("1e", "e")),
            ("1e+", suffix("1e+", "e+")),
            ("1Mi5", suffix("1Mi5", "Mi5")),
            ("1Ee3", suffix("1Ee3", "Ee3")),
            (
                ".e-10",
                QuantityError::Numeric {
                    input: ".e-10".to_owned(),
                    number: ".".to_owned(),
                },
            ),
            (
                "1e1000000001",
                QuantityError::ExponentOutOfRange {
                    input: "1e1000000001".to_owned(),
                    exponent: 1_000_000_001,
                },
            ),
            // Go truncates the parsed exponent to 32 bits: 2^31 becomes -2^31.
            (
                "1e2147483648",
                QuantityError::ExponentOutOfRange {
                    input: "1e2147483648".to_owned(),
                    exponent: -2_147_483_648,
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!((input, GoQuantity::parse(input)), (input, Err(expected)));
        }
    }

    #[test]
    fn error_messages_name_the_input_and_what_is_allowed() {
        let error = GoQuantity::parse("1ki").expect_err("ki is not a suffix");
        assert_eq!(
            error.to_string(),
            "quantity \"1ki\": unknown suffix \"ki\"; allowed are n, u, m, k, M, G, T, P, E, Ki, \
             Mi, Gi, Ti, Pi, Ei, or an exponent e<N> / E<N>"
        );
    }

    #[test]
    fn a_huge_negative_scale_rounds_up_without_building_the_power_of_ten() {
        let quantity = GoQuantity::parse("1234567890123456789e-999999").expect("within the bound");
        assert_eq!(quantity.go_string(), "1e-9");
    }
}
