//! Decimal newtypes for sizes and prices.
//!
//! `ccxt` turns on rust_decimal's `serde-str` feature for the whole workspace build, after which
//! a plain `Decimal` rejects JSON numbers. These wrappers deserialize through `deserialize_any`,
//! so a number and a string both work in every build, and always serialize as a string so no
//! digit is lost on the way out.

use std::{fmt, str::FromStr};

use rust_decimal::Decimal;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Parses a decimal from a JSON number or string, rejecting non-finite values.
fn parse_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    struct V;
    impl de::Visitor<'_> for V {
        type Value = Decimal;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a decimal number or a string holding one")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
            if !v.is_finite() {
                return Err(E::custom("not a finite number"));
            }
            // f64's Display is the shortest string that round-trips, so 0.1 stays 0.1.
            Decimal::from_str(&v.to_string())
                .or_else(|_| Decimal::from_scientific(&format!("{v:e}")))
                .map_err(|_| E::custom(format!("number {v} is out of range")))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
            let t = v.trim();
            Decimal::from_str(t)
                .or_else(|_| Decimal::from_scientific(t))
                .map_err(|_| E::custom(format!("'{v}' is not a decimal number")))
        }
    }
    d.deserialize_any(V)
}

macro_rules! decimal_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub Decimal);

        impl $name {
            /// The value with trailing zeros removed, so 100 and 100.0 compare and print alike.
            pub fn canonical(self) -> Self {
                Self(self.0.normalize())
            }
            /// The inner decimal.
            pub fn value(self) -> Decimal {
                self.0
            }
        }

        impl From<Decimal> for $name {
            fn from(d: Decimal) -> Self {
                Self(d)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.normalize(), f)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0.normalize())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                parse_decimal(d).map(Self)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "type": ["number", "string"],
                    "description": "a decimal number; a JSON number or a string such as \"12.50\""
                })
            }
        }
    };
}

decimal_newtype!(
    /// A size in units of the instrument (shares, coins); fractional sizes allowed.
    Qty
);
decimal_newtype!(
    /// A price per unit in the instrument's quote currency.
    Price
);
decimal_newtype!(
    /// An amount of money in the venue's quote currency.
    Money
);

/// Formats an amount with its currency the way messages show it: `US$50` for USD,
/// `50 USDT` for anything else (a stablecoin is not a dollar).
pub fn fmt_money(amount: Decimal, ccy: &str) -> String {
    let a = amount.round_dp(2).normalize();
    if ccy.eq_ignore_ascii_case("USD") { format!("US${a}") } else { format!("{a} {ccy}") }
}

#[cfg(test)]
#[path = "money_tests.rs"]
mod tests;
