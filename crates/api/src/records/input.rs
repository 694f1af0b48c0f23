//! Turning request input into domain values: every field problem of a
//! request is collected before answering.

use chrono::NaiveDate;
use sinergi_domain::records::Violation;
use sinergi_domain::FieldError;

use crate::error::{ApiError, FieldProblem};

/// Collects every field problem of a request before answering.
#[derive(Debug, Default)]
pub struct Checker {
    problems: Vec<FieldProblem>,
}

impl Checker {
    /// Keeps the value, or records the problem under `field`.
    pub fn check<T>(&mut self, field: &str, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.problems
                    .push(FieldProblem::new(field, e.code, e.message));
                None
            }
        }
    }

    /// Records a problem directly.
    pub fn fail(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.problems.push(FieldProblem::new(field, code, message));
    }

    /// Parses an optional value.
    pub fn check_opt<T>(
        &mut self,
        field: &str,
        v: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, FieldError>,
    ) -> Option<Option<T>> {
        match v {
            None => Some(None),
            Some(s) => self.check(field, parse(s)).map(Some),
        }
    }

    /// Parses each item of a list, naming problems `field[i]`.
    pub fn check_each<T>(
        &mut self,
        field: &str,
        items: &[String],
        parse: impl Fn(&str) -> Result<T, FieldError>,
    ) -> Option<Vec<T>> {
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, s) in items.iter().enumerate() {
            match self.check(&format!("{field}[{i}]"), parse(s)) {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Requires text of bounded length (trimmed, no control characters).
    pub fn text(&mut self, field: &str, v: &str, max: usize) -> Option<String> {
        let mut found = Vec::new();
        sinergi_domain::records::check_text(&mut found, field, v.trim(), max);
        let ok = found.is_empty();
        self.violations(found);
        ok.then(|| v.trim().to_string())
    }

    /// Optional bounded text (blank is absent).
    pub fn opt_text(&mut self, field: &str, v: Option<&str>, max: usize) -> Option<Option<String>> {
        match v.map(str::trim).filter(|s| !s.is_empty()) {
            None => Some(None),
            Some(s) => self.text(field, s, max).map(Some),
        }
    }

    /// Records the rules a record breaks (under `prefix`, e.g. a batch operation's body).
    pub fn violations(&mut self, violations: Vec<Violation>) {
        for v in violations {
            self.problems
                .push(FieldProblem::new(v.field, v.code, v.message));
        }
    }

    /// 400 with every problem found, or Ok.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.problems))
        }
    }
}

/// Unwraps the values a `Checker` passed once `finish` returned Ok.
pub fn passed<T>(v: Option<T>) -> Result<T, ApiError> {
    v.ok_or_else(|| ApiError::Internal("validated value missing".into()))
}

/// Parses an optional `YYYY-MM-DD` query value.
pub fn date_param(ck: &mut Checker, field: &str, v: Option<&str>) -> Option<Option<NaiveDate>> {
    ck.check_opt(field, v, |s| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
            FieldError::new(
                "invalid_date",
                format!("{field} must be a real date YYYY-MM-DD"),
            )
        })
    })
}
