//! Small text helpers shared by the validators.

/// True when `s` is non-empty and made of ASCII digits only.
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// True when `s` has exactly `n` characters, all ASCII digits.
pub(crate) fn is_n_digits(s: &str, n: usize) -> bool {
    s.len() == n && is_digits(s)
}

#[cfg(test)]
pub(crate) mod test_support {
    use serde::de::value::{Error, StrDeserializer};
    use serde::de::IntoDeserializer;
    use serde::Deserialize;

    /// Deserialises `T` from a bare string, the way JSON would hand it over.
    pub(crate) fn from_str<'de, T: Deserialize<'de>>(s: &'de str) -> Result<T, Error> {
        let d: StrDeserializer<'de, Error> = s.into_deserializer();
        T::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits() {
        assert!(is_digits("0123"));
        assert!(!is_digits(""));
        assert!(!is_digits("12a"));
        assert!(!is_digits("١٢")); // Arabic-Indic digits are not accepted
        assert!(is_n_digits("12345", 5));
        assert!(!is_n_digits("1234", 5));
    }
}
