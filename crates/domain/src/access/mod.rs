//! The access policy: who may do what with which data, decided in one
//! place for every channel (writes, item reads, lists, the change feed,
//! exports, webhooks, findings, statistics, the access and audit logs).
//!
//! `docs/access-policy.md` is this module as a table; the two must agree.

use crate::{AgencyKind, RecordType, RegionCode};

code_enum! {
    /// What a client may do, granted when it is registered and per token.
    pub enum Scope ("scope") {
        /// Read records, findings and statistics.
        RecordsRead => "records:read",
        /// Write the record types the agency owns; act on findings.
        RecordsWrite => "records:write",
        /// See personal identifiers (passport numbers, NIKs) unmasked.
        PiiRead => "pii:read",
        /// Read the audit log.
        AuditRead => "audit:read",
    }
}

code_enum! {
    /// Why personal data is read (`X-Purpose`), registered per client.
    pub enum Purpose ("purpose") {
        /// Supervision of foreign workers (Tim PORA).
        Supervision => "supervision",
        /// Processing a permit or approval.
        PermitProcessing => "permit-processing",
        /// Enforcement action.
        Enforcement => "enforcement",
        /// Statistics.
        Statistics => "statistics",
    }
}

/// The ways data leaves or enters Sinergi.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Creating, changing or withdrawing a record (single or batch).
    Write,
    /// Reading one record (or a worker's joined view).
    ReadItem,
    /// Reading a page of a collection.
    List,
    /// Following the change feed.
    Feed,
    /// A bulk export.
    Export,
    /// A webhook subscription (and its dead letters).
    Webhook,
    /// Reading compliance findings.
    Findings,
    /// Acknowledging, resolving or reopening a finding.
    FindingAct,
    /// Aggregate statistics and the dashboard.
    Stats,
    /// Who read one person's data.
    AccessLog,
    /// The whole audit log.
    AuditLog,
    /// The audit log's signed checkpoints, consistency proofs and public
    /// key: sizes and hashes, nothing personal.
    AuditCheckpoint,
}

/// The purpose a request declared, as checked against the client's registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declared {
    /// No `X-Purpose`.
    Nothing,
    /// A purpose the client is registered for.
    Registered(Purpose),
    /// A purpose the client is not registered for.
    Unregistered(Purpose),
}

impl Declared {
    /// Classifies `declared` against the purposes a client is registered for.
    pub fn of(declared: Option<Purpose>, registered: &[Purpose]) -> Declared {
        match declared {
            None => Declared::Nothing,
            Some(p) if registered.contains(&p) => Declared::Registered(p),
            Some(p) => Declared::Unregistered(p),
        }
    }
}

/// Who asks: the client's agency and what the client holds.
#[derive(Debug, Clone, Copy)]
pub struct Principal<'a> {
    /// The agency's kind.
    pub kind: AgencyKind,
    /// The region prefix the agency is limited to, if any.
    pub jurisdiction: Option<&'a RegionCode>,
    /// The scopes the token carries and the client still holds.
    pub scopes: &'a [Scope],
    /// The purpose the request declared.
    pub purpose: Declared,
}

impl Principal<'_> {
    fn holds(&self, s: Scope) -> Result<(), Denial> {
        if self.scopes.contains(&s) {
            Ok(())
        } else {
            Err(Denial::Scope(s))
        }
    }

    fn within(&self, regions: &[RegionCode]) -> Result<(), Denial> {
        let Some(j) = self.jurisdiction else {
            return Ok(());
        };
        match regions.iter().find(|r| !r.is_within(j)) {
            Some(r) => Err(Denial::OutsideJurisdiction {
                region: r.clone(),
                jurisdiction: j.clone(),
            }),
            None => Ok(()),
        }
    }

    fn purpose(&self) -> Result<Purpose, Denial> {
        match self.purpose {
            Declared::Registered(p) => Ok(p),
            Declared::Nothing => Err(Denial::PurposeRequired),
            Declared::Unregistered(p) => Err(Denial::PurposeNotRegistered(p)),
        }
    }

    /// Districts see personal identifiers masked unless the client holds `pii:read`.
    pub fn masks(&self) -> bool {
        self.kind == AgencyKind::District && !self.scopes.contains(&Scope::PiiRead)
    }

    fn auditor(&self) -> bool {
        self.kind == AgencyKind::Admin && self.scopes.contains(&Scope::AuditRead)
    }
}

/// What is asked for.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The channel.
    pub channel: Channel,
    /// The record types concerned (empty on the feed, exports and webhooks:
    /// every type; ignored where a channel is not about records).
    pub types: &'a [RecordType],
    /// Where the data is located: a record's regions (before and after a
    /// write), a finding's district.
    pub regions: &'a [RegionCode],
    /// The agency kind responsible for a finding (acting on findings).
    pub responsible: Option<AgencyKind>,
    /// Whether the agency holds a record naming the person (access log).
    pub holds_record: bool,
    /// Whether the request looks a person up by a full identifier (a
    /// passport number filter): refused where the identifier would be masked.
    pub by_identifier: bool,
}

impl<'a> Request<'a> {
    /// A request on `channel` about `types`, located nowhere in particular.
    pub fn new(channel: Channel, types: &'a [RecordType]) -> Self {
        Request {
            channel,
            types,
            regions: &[],
            responsible: None,
            holds_record: false,
            by_identifier: false,
        }
    }

    /// The same request, located in `regions`.
    pub fn located(self, regions: &'a [RegionCode]) -> Self {
        Request { regions, ..self }
    }

    /// Whether the answer holds personal data.
    pub fn personal(&self) -> bool {
        match self.channel {
            Channel::Write
            | Channel::ReadItem
            | Channel::List
            | Channel::Feed
            | Channel::Export
            | Channel::Webhook => {
                self.types.is_empty() || self.types.iter().any(RecordType::is_personal)
            }
            Channel::Findings | Channel::FindingAct | Channel::AccessLog | Channel::AuditLog => {
                true
            }
            Channel::Stats | Channel::AuditCheckpoint => false,
        }
    }
}

/// What a granted request may see and must leave behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// Personal identifiers are masked in the answer.
    pub mask: bool,
    /// The access touches personal data: it is written to the audit log.
    pub audited: bool,
    /// The declared purpose, when one was needed.
    pub purpose: Option<Purpose>,
    /// Access log: case references of other agencies' events are withheld.
    pub foreign_case_refs_hidden: bool,
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The token lacks a scope.
    Scope(Scope),
    /// The agency's kind does not own the record type.
    KindNotAllowed(AgencyKind, RecordType),
    /// The data lies outside the agency's jurisdiction.
    OutsideJurisdiction {
        /// The region outside.
        region: RegionCode,
        /// The jurisdiction.
        jurisdiction: RegionCode,
    },
    /// A finding that no region places, for an agency limited to a jurisdiction.
    Unlocated,
    /// Personal data read without `X-Purpose`.
    PurposeRequired,
    /// A purpose the client is not registered for.
    PurposeNotRegistered(Purpose),
    /// Acting on a finding another kind of agency is responsible for.
    NotResponsible(AgencyKind),
    /// The access log of a person the agency holds no record about.
    NoRecordAboutPerson,
    /// A look-up by an identifier the client would only see masked.
    MaskedIdentifier,
}

/// Decides a request. Every channel asks here; none re-implements a rule.
pub fn decide(who: &Principal<'_>, what: &Request<'_>) -> Result<Grant, Denial> {
    let personal = what.personal();
    let mut grant = Grant {
        mask: who.masks(),
        audited: personal,
        purpose: None,
        foreign_case_refs_hidden: false,
    };
    match what.channel {
        Channel::Write => {
            who.holds(Scope::RecordsWrite)?;
            for t in what.types {
                if !t.may_write(who.kind) {
                    return Err(Denial::KindNotAllowed(who.kind, *t));
                }
            }
            who.within(what.regions)?;
            // A write answers with what the agency itself sent: nothing to mask.
            grant.mask = false;
        }
        Channel::FindingAct => {
            who.holds(Scope::RecordsWrite)?;
            if let Some(r) = what.responsible {
                if r != who.kind {
                    return Err(Denial::NotResponsible(r));
                }
            }
            if who.jurisdiction.is_some() && what.regions.is_empty() {
                return Err(Denial::Unlocated);
            }
            who.within(what.regions)?;
        }
        Channel::ReadItem
        | Channel::List
        | Channel::Feed
        | Channel::Export
        | Channel::Webhook
        | Channel::Findings => {
            who.holds(Scope::RecordsRead)?;
            if personal {
                grant.purpose = Some(who.purpose()?);
            }
            if what.by_identifier && grant.mask {
                return Err(Denial::MaskedIdentifier);
            }
        }
        Channel::Stats => who.holds(Scope::RecordsRead)?,
        Channel::AccessLog => {
            who.holds(Scope::RecordsRead)?;
            grant.purpose = Some(who.purpose()?);
            if !who.auditor() {
                if !what.holds_record {
                    return Err(Denial::NoRecordAboutPerson);
                }
                grant.foreign_case_refs_hidden = true;
            }
        }
        Channel::AuditLog => who.holds(Scope::AuditRead)?,
        // Any client that may do anything may check the log it is audited in.
        Channel::AuditCheckpoint => {
            if who.scopes.is_empty() {
                return Err(Denial::Scope(Scope::RecordsRead));
            }
        }
    }
    Ok(grant)
}

#[cfg(test)]
mod tests;
