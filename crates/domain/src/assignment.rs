//! Assignments of foreign workers to approved positions.

code_enum! {
    /// Lifecycle status of an assignment.
    pub enum AssignmentStatus ("assignment status") {
        /// In force (subject to its start and end dates).
        Active => "active",
        /// Ended as planned.
        Ended => "ended",
        /// Ended early by the employer or the worker.
        Terminated => "terminated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(
            AssignmentStatus::ALL.map(|s| s.as_str()),
            ["active", "ended", "terminated"]
        );
        assert_eq!(
            AssignmentStatus::parse("terminated"),
            Ok(AssignmentStatus::Terminated)
        );
        assert!(AssignmentStatus::parse("ACTIVE").is_err());
    }
}
