//! Rates written as `"N/s"`, `"N/m"`, `"N/h"` or `"N/d"`; `""` switches a limit off.
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::time::Duration;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rate {
    /// 0 = unlimited.
    pub count: u32,
    pub period: Duration,
}

impl Rate {
    pub fn parse(s: &str) -> Option<Rate> {
        let s = s.trim();
        if s.is_empty() || s == "0" {
            return Some(Rate::default());
        }
        let (n, unit) = s.split_once('/')?;
        let secs = match unit.trim() {
            "s" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hour" => 3600,
            "d" | "day" => 86400,
            _ => return None,
        };
        Some(Rate { count: n.trim().parse().ok()?, period: Duration::from_secs(secs) })
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.period.as_secs() {
            1 => "s",
            60 => "m",
            3600 => "h",
            _ => "d",
        };
        if self.count == 0 { Ok(()) } else { write!(f, "{}/{unit}", self.count) }
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Rate::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid rate {s:?} (use e.g. \"30/m\", \"500/h\", or \"\" for no limit)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(Rate::parse("30/m"), Some(Rate { count: 30, period: Duration::from_secs(60) }));
        assert_eq!(Rate::parse(" 500 / h ").unwrap().period, Duration::from_secs(3600));
        assert_eq!(Rate::parse("").unwrap().count, 0);
        assert!(Rate::parse("30").is_none() && Rate::parse("x/m").is_none() && Rate::parse("3/week").is_none());
        assert_eq!(Rate::parse("10/d").unwrap().to_string(), "10/d");
    }
}
