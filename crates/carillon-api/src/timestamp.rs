use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time with millisecond precision, on the wire as epoch seconds with a millisecond
/// fraction (`1764326400.123`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// From milliseconds since the Unix epoch.
    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }
    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // i64 millis / 1000.0 is the double nearest to the decimal value, which prints back as it.
        s.serialize_f64(self.0 as f64 / 1000.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let secs = f64::deserialize(d)?;
        Ok(Timestamp((secs * 1000.0).round() as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_epoch_seconds_with_millis() {
        assert_eq!(serde_json::to_string(&Timestamp(1_764_326_400_123)).unwrap(), "1764326400.123");
        assert_eq!(serde_json::to_string(&Timestamp(1_764_326_400_000)).unwrap(), "1764326400.0");
        assert_eq!(serde_json::to_string(&Timestamp(1_764_326_400_007)).unwrap(), "1764326400.007");
    }
}
