//! The single error type of the domain: one rejected field value.

/// A validation failure for one field: stable machine code + human message (English).
///
/// Messages never echo the rejected value, because it may be personal data
/// (passport numbers, names) and errors end up in logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    /// Stable machine-readable code, e.g. `invalid_nib`.
    pub code: &'static str,
    /// Human-readable explanation in English.
    pub message: String,
}

impl FieldError {
    /// Builds an error from a stable code and a message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_prints_the_message_only() {
        let e = FieldError::new("invalid_nib", "NIB must be exactly 13 digits");
        assert_eq!(e.to_string(), "NIB must be exactly 13 digits");
        assert_eq!(e.code, "invalid_nib");
    }

    #[test]
    fn is_a_std_error() {
        let e: Box<dyn std::error::Error> = Box::new(FieldError::new("x", "y"));
        assert_eq!(e.to_string(), "y");
    }
}
