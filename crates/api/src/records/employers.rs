//! Employers, keyed by NIB. Written by manpower and immigration agencies
//! (shared master data); read by all.

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use sinergi_db::records::{
    Ownership, RecordFilter, RecordIndex, RecordRow, RecordWrite, WriteOutcome,
};
use sinergi_domain::{Capital, Kbli, Nib, Npwp, RecordType, RegionCode, SourceRef};
use utoipa::{IntoParams, ToSchema};

use super::common::{self, passed, Checker, Meta, Page, Prepared};
use crate::auth::{Caller, Scope};
use crate::error::{ApiError, Problem};
use crate::extract::{if_match, page_request, parse_query, JsonBody};
use crate::state::AppState;

const TYPE: RecordType = RecordType::Employer;

/// An employer as an agency pushes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployerInput {
    /// Tax number: 16 digits, or the legacy 15-digit form (`01.234.567.8-901.000`), which is normalised.
    #[schema(example = "0012345678901000")]
    pub npwp: Option<String>,
    /// Registered company name.
    #[schema(example = "PT Batu Bara Mahakam Sejahtera")]
    pub name: String,
    /// `PMA` (foreign capital) or `PMDN` (domestic).
    #[schema(example = "PMA")]
    pub capital: String,
    /// KBLI 2020 codes, 5 digits each; the first is the main activity and gives the sector.
    #[schema(example = json!(["05100", "09900"]))]
    pub kbli: Vec<String>,
    /// Address.
    #[schema(example = "Jl. Mulawarman No. 12, Tenggarong")]
    pub address: Option<String>,
    /// Kemendagri region code (a known BPS code is converted).
    #[schema(example = "64.02.06")]
    pub region_code: String,
    /// Your agency's own id for this employer.
    #[schema(example = "OSS-2024-000123")]
    pub source_ref: Option<String>,
}

/// An employer as stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EmployerDoc {
    /// NIB, 13 digits.
    #[schema(example = "9120001234567")]
    pub nib: String,
    /// NPWP, 16 digits.
    pub npwp: Option<String>,
    /// Company name.
    pub name: String,
    /// `PMA` or `PMDN`.
    pub capital: String,
    /// KBLI 2020 codes.
    pub kbli: Vec<String>,
    /// Sector code of the main KBLI (`mining`, `agriculture`, ...).
    #[schema(example = "mining")]
    pub sector: String,
    /// Address.
    pub address: Option<String>,
    /// Kemendagri region code.
    pub region_code: String,
}

/// An employer with provenance.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmployerRecord {
    /// The employer.
    #[serde(flatten)]
    pub data: EmployerDoc,
    /// Who stored it and when.
    pub meta: Meta,
}

fn view(row: &RecordRow) -> Result<EmployerRecord, ApiError> {
    Ok(EmployerRecord {
        data: common::doc(row)?,
        meta: Meta::of(row),
    })
}

fn validate(
    nib: &str,
    input: &EmployerInput,
) -> Result<(EmployerDoc, Option<String>, RegionCode), ApiError> {
    let mut ck = Checker::default();
    let nib = ck.check("nib", Nib::parse(nib));
    let npwp = ck.check_opt("npwp", input.npwp.as_deref(), Npwp::parse);
    let name = ck.text("name", &input.name, 200);
    let capital = ck.check("capital", Capital::parse(&input.capital));
    let mut kbli = Vec::new();
    if input.kbli.is_empty() {
        ck.fail(
            "kbli",
            "required",
            "give at least one KBLI 2020 code; the first is the main activity",
        );
    }
    if input.kbli.len() > 20 {
        ck.fail("kbli", "too_many", "at most 20 KBLI codes");
    }
    for (i, k) in input.kbli.iter().enumerate() {
        if let Some(k) = ck.check(&format!("kbli[{i}]"), Kbli::parse(k)) {
            kbli.push(k);
        }
    }
    let address = ck.opt_text("address", input.address.as_deref(), 500);
    let region = ck.check("region_code", RegionCode::parse(&input.region_code));
    let source_ref = ck.check_opt("source_ref", input.source_ref.as_deref(), SourceRef::parse);
    ck.finish()?;
    let sector = kbli
        .first()
        .map(|k| k.sector().code().to_string())
        .unwrap_or_default();
    let region = passed(region)?;
    Ok((
        EmployerDoc {
            nib: passed(nib)?.as_str().to_string(),
            npwp: passed(npwp)?.map(|n| n.as_str().to_string()),
            name: passed(name)?,
            capital: passed(capital)?.as_str().to_string(),
            kbli: kbli.iter().map(|k| k.as_str().to_string()).collect(),
            sector,
            address: passed(address)?,
            region_code: region.as_str().to_string(),
        },
        passed(source_ref)?.map(|s| s.as_str().to_string()),
        region,
    ))
}

/// Validates an employer for `caller` into a write ready to store.
pub fn prepare(
    caller: &Caller,
    nib: &str,
    input: &EmployerInput,
    precondition: Option<sinergi_db::records::IfMatch>,
) -> Result<Prepared, ApiError> {
    caller.require_writer(TYPE)?;
    let (doc, source_ref, region) = validate(nib, input)?;
    caller.require_within("region_code", &region)?;
    let write = RecordWrite {
        record_type: TYPE.as_str(),
        natural_key: Some(doc.nib.clone()),
        source_ref,
        agency_code: caller.agency_code.clone(),
        client_id: caller.client_id.clone(),
        person: None,
        index: RecordIndex {
            employer_nib: Some(doc.nib.clone()),
            region_code: Some(doc.region_code.clone()),
            kind: Some(doc.sector.clone()),
            ..Default::default()
        },
        doc: common::to_doc(&doc)?,
        if_match: precondition,
        ownership: Ownership::Shared,
        now: chrono::Utc::now().naive_utc(),
    };
    Ok(Prepared::unchecked(write))
}

/// Validates and stores an employer for `caller`.
pub async fn push(
    state: &AppState,
    caller: &Caller,
    nib: &str,
    input: &EmployerInput,
    precondition: Option<sinergi_db::records::IfMatch>,
) -> Result<(WriteOutcome, RecordRow), ApiError> {
    let prepared = prepare(caller, nib, input, precondition)?;
    common::store(state, caller, prepared).await
}

/// Create or update an employer by NIB.
///
/// Idempotent: pushing the same content again changes nothing and keeps the
/// version. Send `If-Match` with the ETag you read to avoid overwriting a
/// newer version (412 if it changed). Manpower and immigration agencies may
/// write employers; an agency with a jurisdiction only inside it.
#[utoipa::path(
    tag = "employers",
    params(("nib" = String, Path, description = "NIB, 13 digits", example = "9120001234567"),
           ("If-Match" = Option<String>, Header, description = "ETag of the version you read, or *")),
    request_body = EmployerInput,
    responses(
        (status = 201, description = "Created", body = EmployerRecord, headers(("ETag" = String), ("Location" = String))),
        (status = 200, description = "Updated, or unchanged when identical", body = EmployerRecord, headers(("ETag" = String))),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Agency may not write employers or outside its jurisdiction", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match does not match the stored version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/api/v1/employers/{nib}")]
pub async fn upsert_employer(
    req: HttpRequest,
    caller: Caller,
    nib: web::Path<String>,
    body: JsonBody<EmployerInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (outcome, row) = push(&state, &caller, &nib, &body.0, if_match(&req)?).await?;
    let location = format!("/api/v1/employers/{}", row.record_key);
    common::written(&caller, outcome, &row, location, view(&row)?)
}

/// Read one employer.
#[utoipa::path(
    tag = "employers",
    params(("nib" = String, Path, description = "NIB, 13 digits")),
    responses(
        (status = 200, description = "The employer", body = EmployerRecord, headers(("ETag" = String))),
        (status = 404, description = "Unknown NIB", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/employers/{nib}")]
pub async fn get_employer(
    caller: Caller,
    nib: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::RecordsRead)?;
    let nib = Nib::parse(&nib).map_err(|e| ApiError::field("nib", e.code, e.message))?;
    let row = common::load(&state, TYPE.as_str(), nib.as_str().to_string()).await?;
    common::item(&caller, &row, view(&row)?)
}

/// Filters for listing employers.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EmployerQuery {
    /// Kemendagri region prefix, e.g. `64.02` (Kukar) or `64.02.06` (Tenggarong).
    pub region: Option<String>,
    /// Sector code of the main KBLI, e.g. `mining`, `agriculture`.
    pub sector: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List employers, in NIB order.
#[utoipa::path(
    tag = "employers",
    params(EmployerQuery),
    responses(
        (status = 200, description = "One page of employers", body = Page<EmployerRecord>),
        (status = 400, description = "Invalid filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/employers")]
pub async fn list_employers(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::RecordsRead)?;
    let q: EmployerQuery = parse_query(&req)?;
    let mut ck = Checker::default();
    let region = ck.check_opt("region", q.region.as_deref(), RegionCode::parse);
    let sector = ck.check_opt("sector", q.sector.as_deref(), sinergi_domain::Sector::parse);
    ck.finish()?;
    let page = page_request(
        &state.cursor_key(&caller),
        TYPE.as_str(),
        q.limit.as_deref(),
        q.cursor.as_deref(),
    )?;
    let filter = RecordFilter {
        region_prefix: passed(region)?.map(|r| r.as_str().to_string()),
        kind: passed(sector)?.map(|s| s.code().to_string()),
        ..Default::default()
    };
    let (rows, next_cursor) =
        common::list_page(&state, &caller, TYPE.as_str(), filter, page).await?;
    common::page(
        &caller,
        Page {
            items: common::views(&rows, view)?,
            next_cursor,
        },
    )
}
