//! The audit record of one request, filled in as the request is handled and
//! stored by the accountability middleware (or, for writes, in the write's
//! own transaction).

use std::sync::{Arc, Mutex};

use chrono::Utc;
use sinergi_db::audit::AuditEntry;
use sinergi_domain::Purpose;

/// What is known so far about the request, for its audit event.
#[derive(Debug, Clone, Default)]
struct AuditNote {
    request_id: String,
    client_id: Option<String>,
    agency_code: Option<String>,
    purpose: Option<String>,
    case_ref: Option<String>,
    subject_worker_id: Option<String>,
    result_count: Option<i64>,
    audited: bool,
    committed: bool,
}

/// The audit record of one request, filled in as the request is handled.
#[derive(Debug, Clone)]
pub struct AuditHandle(Arc<Mutex<AuditNote>>);

impl AuditHandle {
    /// A handle for the request with this id.
    pub fn new(request_id: String) -> AuditHandle {
        AuditHandle(Arc::new(Mutex::new(AuditNote {
            request_id,
            ..Default::default()
        })))
    }

    fn with<T>(&self, f: impl FnOnce(&mut AuditNote) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The request id.
    pub fn request_id(&self) -> String {
        self.with(|n| n.request_id.clone())
    }

    /// Records who is calling and why.
    pub fn identify(
        &self,
        client: &str,
        agency: &str,
        purpose: Option<Purpose>,
        case_ref: Option<&str>,
    ) {
        self.with(|n| {
            n.client_id = Some(client.to_string());
            n.agency_code = Some(agency.to_string());
            n.purpose = purpose.map(|p| p.as_str().to_string());
            n.case_ref = case_ref.map(str::to_string);
        })
    }

    /// Records whose data the answer holds.
    pub fn subject(&self, worker_id: Option<&str>) {
        self.with(|n| n.subject_worker_id = worker_id.map(str::to_string))
    }

    /// Records how many items a list returned.
    pub fn count(&self, n: usize) {
        self.with(|note| note.result_count = Some(n as i64))
    }

    /// The event for this request.
    pub fn entry(
        &self,
        action: &str,
        resource_type: &str,
        key: Option<&str>,
        status: u16,
    ) -> AuditEntry {
        self.with(|n| AuditEntry {
            occurred_at: Utc::now().naive_utc(),
            client_id: n.client_id.clone(),
            agency_code: n.agency_code.clone(),
            action: action.to_string(),
            resource_type: resource_type.to_string(),
            resource_key: key.map(str::to_string),
            subject_worker_id: n.subject_worker_id.clone(),
            result_count: n.result_count,
            purpose: n.purpose.clone(),
            case_ref: n.case_ref.clone(),
            status: status as i32,
            request_id: n.request_id.clone(),
        })
    }

    /// Marks the request as audited (a write records its event in its own transaction).
    pub fn mark_audited(&self) {
        self.with(|n| n.audited = true)
    }

    /// Whether the request's event was already stored with its write.
    pub fn audited(&self) -> bool {
        self.with(|n| n.audited)
    }

    /// Marks the request as having committed writes, each audited in its
    /// own transaction (a batch): its summary event is then no condition of
    /// the answer, which must not say "not stored" about stored data.
    pub fn mark_committed(&self) {
        self.with(|n| n.committed = true)
    }

    /// Whether the request committed writes that were audited with them.
    pub fn committed(&self) -> bool {
        self.with(|n| n.committed)
    }
}
