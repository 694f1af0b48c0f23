//! The authenticated caller of a request and what the access policy lets it do.

use sinergi_db::store::Provenance;
use sinergi_domain::access::{self, Declared, Denial, Grant, Principal, Request};
use sinergi_domain::{AgencyKind, RegionCode};

use crate::audit_handle::AuditHandle;
use crate::error::ApiError;

pub use super::claims::Claims;
pub use crate::error::denied;
pub use sinergi_domain::access::{Purpose, Scope};

/// The verified client behind a request, with its agency as stored now.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Client id.
    pub client_id: String,
    /// Agency code.
    pub agency_code: String,
    /// Agency kind.
    pub agency_kind: AgencyKind,
    /// Region prefix the agency may write in, if limited.
    pub jurisdiction: Option<RegionCode>,
    /// Scopes granted by the token and still held by the client.
    pub scopes: Vec<Scope>,
    /// Purposes the client is registered for.
    pub allowed_purposes: Vec<Purpose>,
    /// Purpose declared on this request.
    pub purpose: Option<Purpose>,
    /// Case reference declared on this request (`X-Case-Ref`).
    pub case_ref: Option<String>,
    /// The request's audit record in the making.
    pub audit: AuditHandle,
}

impl Caller {
    /// A caller acting for an agency outside an HTTP request (demo loading, imports).
    pub fn system(
        client_id: &str,
        agency_code: &str,
        agency_kind: AgencyKind,
        jurisdiction: Option<RegionCode>,
        scopes: Vec<Scope>,
    ) -> Caller {
        Caller {
            client_id: client_id.to_string(),
            agency_code: agency_code.to_string(),
            agency_kind,
            jurisdiction,
            scopes,
            allowed_purposes: vec![],
            purpose: None,
            case_ref: None,
            audit: AuditHandle::new(format!("system-{}", uuid::Uuid::new_v4())),
        }
    }

    /// The caller as the access policy sees it.
    pub fn principal(&self) -> Principal<'_> {
        Principal {
            kind: self.agency_kind,
            jurisdiction: self.jurisdiction.as_ref(),
            scopes: &self.scopes,
            purpose: Declared::of(self.purpose, &self.allowed_purposes),
        }
    }

    /// Asks the access policy; a refusal is the error to answer with.
    pub fn allow(&self, request: Request<'_>) -> Result<Grant, ApiError> {
        access::decide(&self.principal(), &request).map_err(denied)
    }

    /// Whether personal identifiers must be masked for this caller (data minimisation).
    pub fn masks_pii(&self) -> bool {
        self.principal().masks()
    }

    /// 403 unless the token carries `scope` (routes outside the access policy's channels).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(denied(Denial::Scope(scope)))
        }
    }

    /// Who writes and why, for the persistence layer's write path.
    pub fn provenance(&self, action: &'static str) -> Provenance {
        Provenance {
            agency_code: self.agency_code.clone(),
            agency_kind: self.agency_kind,
            jurisdiction: self.jurisdiction.clone(),
            client_id: self.client_id.clone(),
            scopes: self.scopes.clone(),
            request_id: self.audit.request_id(),
            purpose: self.purpose,
            case_ref: self.case_ref.clone(),
            action,
        }
    }
}
