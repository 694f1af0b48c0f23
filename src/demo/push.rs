//! Pushes the demo data through the same functions as the HTTP API, so the
//! same validation, ownership and jurisdiction checks apply; any refusal means
//! the demo data is wrong and stops the load.

use std::fmt;

use anyhow::anyhow;
use sinergi_api::auth::{Caller, Scope};
use sinergi_api::error::ApiError;
use sinergi_api::records::assignments::{self, AssignmentInput, CompanionInput as Companion};
use sinergi_api::records::employers::{self, EmployerInput};
use sinergi_api::records::person::PersonInput;
use sinergi_api::records::presence_reports::{self, PresenceReportInput};
use sinergi_api::records::residence_permits::{self, ResidencePermitInput};
use sinergi_api::records::rptka_approvals::{self, PositionInput, RptkaApprovalInput};
use sinergi_api::records::work_sites::{self, WorkSiteInput};
use sinergi_api::records::workers::{self, PassportInput, WorkerInput};
use sinergi_api::AppState;
use sinergi_db::records::{RecordRow, WriteOutcome};
use sinergi_domain::records::AnyRecord;
use sinergi_domain::{AgencyKind, RegionCode};

use super::model::{Ag, Data, Worker};

/// The client id recorded as the writer of demo records (provenance).
pub const LOADER_CLIENT: &str = "sinergi-demo-loader";

/// Stores one validated record as `caller`, through the API's write path.
async fn push<R: Into<AnyRecord>>(
    state: &AppState,
    caller: &Caller,
    record: Result<R, ApiError>,
) -> Result<(WriteOutcome, RecordRow), ApiError> {
    let stored = sinergi_api::records::store::store(state, caller, record?.into(), None).await?;
    Ok((stored.outcome, stored.row))
}

/// What the pushes of one record type did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl Tally {
    fn add(&mut self, o: WriteOutcome) {
        match o {
            WriteOutcome::Created => self.created += 1,
            WriteOutcome::Updated => self.updated += 1,
            WriteOutcome::Unchanged => self.unchanged += 1,
        }
    }

    fn total(&self) -> usize {
        self.created + self.updated + self.unchanged
    }
}

/// Outcomes per record type.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub employers: Tally,
    pub work_sites: Tally,
    pub approvals: Tally,
    /// Registrations: `created` new people, `unchanged` already known.
    pub workers: Tally,
    pub permits: Tally,
    pub assignments: Tally,
    pub presence: Tally,
}

impl Counts {
    fn all(&self) -> [Tally; 7] {
        [
            self.employers,
            self.work_sites,
            self.approvals,
            self.workers,
            self.permits,
            self.assignments,
            self.presence,
        ]
    }

    /// Records created or changed by this load.
    #[cfg(test)]
    pub fn changed(&self) -> usize {
        self.all().iter().map(|t| t.created + t.updated).sum()
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sum = |g: fn(&Tally) -> usize| self.all().iter().map(g).sum::<usize>();
        write!(
            f,
            "{} employers, {} work sites, {} RPTKA approvals, {} workers, {} residence permits, \
             {} assignments, {} presence reports ({} created, {} updated, {} unchanged)",
            self.employers.total(),
            self.work_sites.total(),
            self.approvals.total(),
            self.workers.total(),
            self.permits.total(),
            self.assignments.total(),
            self.presence.total(),
            sum(|t| t.created),
            sum(|t| t.updated),
            sum(|t| t.unchanged),
        )
    }
}

/// The caller a demo agency pushes as.
pub fn caller(ag: Ag) -> Caller {
    Caller::system(
        LOADER_CLIENT,
        ag.code(),
        AgencyKind::parse(ag.kind()).expect("demo agency kinds are valid"),
        ag.jurisdiction()
            .map(|j| RegionCode::parse(j).expect("demo jurisdictions are valid")),
        vec![Scope::RecordsRead, Scope::RecordsWrite],
    )
}

fn refused(what: &str, key: &str, e: ApiError) -> anyhow::Error {
    let detail = match &e {
        ApiError::Validation(p) | ApiError::Unprocessable(_, p) => p
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("; "),
        ApiError::Internal(m) => m.clone(),
        other => format!("{other:?}"),
    };
    anyhow!("the demo {what} {key} was refused: {e} ({detail})")
}

/// The person as the passport gives them.
fn person(w: &Worker) -> PersonInput {
    PersonInput {
        passport_no: w.passport_no.clone(),
        nationality: w.nationality.to_string(),
        full_name: w.full_name.clone(),
        sex: Some(w.sex.to_string()),
        birth_date: Some(w.birth_date),
        passport_expires_on: Some(w.passport_expires_on),
        previous_passport_no: None,
    }
}

/// Pushes everything in dependency order.
pub async fn push_all(state: &AppState, d: &Data) -> anyhow::Result<Counts> {
    let mut c = Counts::default();
    let callers: Vec<(Ag, Caller)> = Ag::ALL.iter().map(|&a| (a, caller(a))).collect();
    let as_ag = |ag: Ag| &callers.iter().find(|x| x.0 == ag).expect("every agency").1;
    let nib = |e: usize| d.employers[e].nib.clone();

    let disnaker = as_ag(Ag::Disnaker);
    for (i, e) in d.employers.iter().enumerate() {
        let input = EmployerInput {
            npwp: Some(e.npwp.clone()),
            name: e.name.clone(),
            capital: e.capital.to_string(),
            kbli: e.kbli.iter().map(|k| k.to_string()).collect(),
            address: Some(e.address.clone()),
            region_code: e.region.clone(),
            source_ref: Some(format!("DKK-PRS-{:04}", i + 1)),
        };
        let (o, _) = push(state, disnaker, employers::record(&e.nib, &input))
            .await
            .map_err(|x| refused("employer", &e.nib, x))?;
        c.employers.add(o);
    }

    for s in &d.sites {
        let input = WorkSiteInput {
            source_ref: s.source_ref.clone(),
            employer_nib: nib(s.employer),
            name: s.name.clone(),
            kind: s.kind.to_string(),
            region_code: s.region.clone(),
            lat: Some(s.lat),
            lon: Some(s.lon),
        };
        let (o, _) = push(state, disnaker, work_sites::record(&input))
            .await
            .map_err(|x| refused("work site", &s.source_ref, x))?;
        c.work_sites.add(o);
    }

    let kemnaker = as_ag(Ag::Kemnaker);
    for ap in &d.approvals {
        let input = RptkaApprovalInput {
            employer_nib: nib(ap.employer),
            type_: ap.type_.to_string(),
            issued_on: ap.issued_on,
            valid_from: ap.valid_from,
            valid_until: ap.valid_until,
            location_scope: ap.scope.clone(),
            positions: ap
                .positions
                .iter()
                .map(|p| PositionInput {
                    code: p.code.clone(),
                    title: p.title.clone(),
                    level: p.level.to_string(),
                    headcount: p.headcount,
                })
                .collect(),
            status: ap.status.to_string(),
            source_ref: None,
        };
        let (o, _) = push(
            state,
            kemnaker,
            rptka_approvals::record(&ap.approval_no, &input),
        )
        .await
        .map_err(|x| refused("RPTKA approval", &ap.approval_no, x))?;
        c.approvals.add(o);
    }

    let imigrasi = as_ag(Ag::Imigrasi);
    for w in &d.workers {
        let p = person(w);
        let input = WorkerInput {
            passport_no: p.passport_no,
            nationality: p.nationality,
            full_name: p.full_name,
            sex: p.sex,
            birth_date: p.birth_date,
            passport_expires_on: p.passport_expires_on,
            other_passports: w
                .old_passport
                .iter()
                .map(|(number, expires)| PassportInput {
                    number: number.clone(),
                    country: w.nationality.to_string(),
                    expires_on: Some(*expires),
                })
                .collect(),
        };
        let (_, created) = workers::register(state, imigrasi, &input)
            .await
            .map_err(|x| refused("worker", &w.passport_no, x))?;
        c.workers.add(if created {
            WriteOutcome::Created
        } else {
            WriteOutcome::Unchanged
        });
    }

    for p in &d.permits {
        let mut worker = person(&d.workers[p.worker]);
        worker.previous_passport_no = d.workers[p.worker].renewed_from.clone();
        let input = ResidencePermitInput {
            worker,
            kind: p.kind.to_string(),
            visa_index: p.visa_index.map(str::to_string),
            sponsor_nib: p.sponsor.map(nib),
            issued_on: p.issued_on,
            valid_from: p.valid_from,
            valid_until: p.valid_until,
            issuing_office: Some(Ag::Imigrasi.name().to_string()),
            address_region_code: Some(p.address_region.clone()),
            status: p.status.to_string(),
            source_ref: None,
        };
        let (o, _) = push(
            state,
            imigrasi,
            residence_permits::record(&p.permit_no, &input),
        )
        .await
        .map_err(|x| refused("residence permit", &p.permit_no, x))?;
        c.permits.add(o);
    }

    for a in &d.assignments {
        let mut worker = person(&d.workers[a.worker]);
        if let Some(name) = &a.reported_name {
            worker.full_name = name.clone();
        }
        if let Some(birth) = a.reported_birth {
            worker.birth_date = Some(birth);
        }
        if let Some(passport) = &a.reported_passport {
            worker.passport_no = passport.clone();
        }
        let input = AssignmentInput {
            source_ref: a.source_ref.clone(),
            worker,
            approval_no: Some(d.approvals[a.approval].approval_no.clone()),
            position_code: Some(a.position_code.clone()),
            employer_nib: nib(a.employer),
            start_on: a.start_on,
            end_on: a.end_on,
            status: a.status.to_string(),
            companion: a.companion.as_ref().map(|x| Companion {
                nik: x.nik.clone(),
                name: x.name.clone(),
            }),
            legacy_notifikasi_no: a.legacy_notifikasi_no.clone(),
            work_site_id: None,
        };
        let (o, _) = push(state, as_ag(a.by), assignments::record(&input))
            .await
            .map_err(|x| refused("assignment", &a.source_ref, x))?;
        c.assignments.add(o);
    }

    for p in &d.presence {
        let input = PresenceReportInput {
            source_ref: p.source_ref.clone(),
            observed_on: p.observed_on,
            source: p.source.to_string(),
            region_code: p.region.clone(),
            work_site_ref: p.site.map(|s| d.sites[s].source_ref.clone()),
            employer_nib: p.employer.map(nib),
            worker: p.worker.map(|w| person(&d.workers[w])),
            headcount: p.headcount,
            activity: p.activity.clone(),
            notes: p.notes.clone(),
        };
        let (o, _) = push(state, as_ag(p.by), presence_reports::record(&input))
            .await
            .map_err(|x| refused("presence report", &p.source_ref, x))?;
        c.presence.add(o);
    }
    Ok(c)
}
