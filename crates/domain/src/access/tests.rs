//! The policy as a matrix: every channel × record type × agency kind ×
//! inside/outside jurisdiction × purpose present/absent/unregistered,
//! against the rules written in docs/access-policy.md.

use super::*;
use crate::AgencyKind::*;

fn region(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

const ALL_SCOPES: &[Scope] = &[
    Scope::RecordsRead,
    Scope::RecordsWrite,
    Scope::PiiRead,
    Scope::AuditRead,
];

const CHANNELS: [Channel; 12] = [
    Channel::Write,
    Channel::ReadItem,
    Channel::List,
    Channel::Feed,
    Channel::Export,
    Channel::Webhook,
    Channel::Findings,
    Channel::FindingAct,
    Channel::Stats,
    Channel::AccessLog,
    Channel::AuditLog,
    Channel::AuditCheckpoint,
];

/// The expected answer, written independently of `decide` from the table.
fn expected(
    kind: AgencyKind,
    channel: Channel,
    t: RecordType,
    inside: bool,
    purpose: Declared,
) -> Result<(), &'static str> {
    let personal = match channel {
        Channel::Stats | Channel::AuditCheckpoint => false,
        Channel::Findings | Channel::FindingAct | Channel::AccessLog | Channel::AuditLog => true,
        _ => t.is_personal(),
    };
    let purpose_ok = match purpose {
        Declared::Registered(_) => Ok(()),
        Declared::Nothing => Err("purpose_required"),
        Declared::Unregistered(_) => Err("purpose_not_registered"),
    };
    match channel {
        Channel::Write => {
            if !t.writers().contains(&kind) {
                Err("kind")
            } else if !inside {
                Err("jurisdiction")
            } else {
                Ok(())
            }
        }
        Channel::FindingAct => {
            if kind != Immigration {
                Err("responsible")
            } else if !inside {
                Err("jurisdiction")
            } else {
                Ok(())
            }
        }
        Channel::Stats | Channel::AuditLog | Channel::AuditCheckpoint => Ok(()),
        Channel::AccessLog => purpose_ok,
        _ if personal => purpose_ok,
        _ => Ok(()),
    }
}

fn label(d: &Denial) -> &'static str {
    match d {
        Denial::Scope(_) => "scope",
        Denial::KindNotAllowed(..) => "kind",
        Denial::OutsideJurisdiction { .. } | Denial::Unlocated => "jurisdiction",
        Denial::PurposeRequired => "purpose_required",
        Denial::PurposeNotRegistered(_) => "purpose_not_registered",
        Denial::NotResponsible(_) => "responsible",
        Denial::NoRecordAboutPerson => "no_record",
        Denial::MaskedIdentifier => "masked",
    }
}

#[test]
fn matrix() {
    let jurisdiction = region("64.02");
    let inside = [region("64.02.06")];
    let outside = [region("64.03.01")];
    let mut checked = 0;
    for kind in AgencyKind::ALL {
        for channel in CHANNELS {
            for t in RecordType::ALL {
                for is_inside in [true, false] {
                    for purpose in [
                        Declared::Nothing,
                        Declared::Registered(Purpose::Supervision),
                        Declared::Unregistered(Purpose::Enforcement),
                    ] {
                        let who = Principal {
                            kind,
                            jurisdiction: Some(&jurisdiction),
                            scopes: ALL_SCOPES,
                            purpose,
                        };
                        let types = [t];
                        let what = Request {
                            responsible: Some(Immigration),
                            holds_record: true,
                            ..Request::new(channel, &types).located(if is_inside {
                                &inside
                            } else {
                                &outside
                            })
                        };
                        let got = decide(&who, &what);
                        let want = expected(kind, channel, t, is_inside, purpose);
                        assert_eq!(
                            got.as_ref().map(|_| ()).map_err(label),
                            want,
                            "{kind:?} {channel:?} {t:?} inside={is_inside} {purpose:?}"
                        );
                        if let Ok(g) = got {
                            let personal = what.personal();
                            assert_eq!(g.audited, personal, "{channel:?} {t:?}");
                            let masked = kind == District && channel != Channel::Write;
                            // Every scope is held, pii:read too: nothing is masked.
                            assert!(!g.mask || masked, "{kind:?} {channel:?}");
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 5 * 12 * 7 * 2 * 3);
}

#[test]
fn scopes_gate_every_channel() {
    let none: &[Scope] = &[];
    let who = Principal {
        kind: Immigration,
        jurisdiction: None,
        scopes: none,
        purpose: Declared::Registered(Purpose::Supervision),
    };
    for channel in CHANNELS {
        let types = [RecordType::ResidencePermit];
        let d = decide(&who, &Request::new(channel, &types)).unwrap_err();
        assert!(matches!(d, Denial::Scope(_)), "{channel:?}: {d:?}");
    }
}

#[test]
fn districts_without_pii_scope_see_masks_and_cannot_look_up_numbers() {
    let scopes = [Scope::RecordsRead];
    let j = region("64.02.06");
    let district = Principal {
        kind: District,
        jurisdiction: Some(&j),
        scopes: &scopes,
        purpose: Declared::Registered(Purpose::Supervision),
    };
    let types = [RecordType::Worker];
    let g = decide(&district, &Request::new(Channel::List, &types)).unwrap();
    assert!(g.mask && g.audited);
    let lookup = Request {
        by_identifier: true,
        ..Request::new(Channel::List, &types)
    };
    assert_eq!(decide(&district, &lookup), Err(Denial::MaskedIdentifier));
    let with_pii = [Scope::RecordsRead, Scope::PiiRead];
    let trusted = Principal {
        scopes: &with_pii,
        ..district
    };
    assert!(!decide(&trusted, &lookup).unwrap().mask);
    let manpower = Principal {
        kind: Manpower,
        jurisdiction: None,
        ..district
    };
    assert!(!decide(&manpower, &lookup).unwrap().mask);
}

#[test]
fn findings_without_a_region_are_not_acted_on_by_a_limited_agency() {
    let scopes = [Scope::RecordsWrite];
    let j = region("64");
    let limited = Principal {
        kind: Immigration,
        jurisdiction: Some(&j),
        scopes: &scopes,
        purpose: Declared::Nothing,
    };
    let act = Request {
        responsible: Some(Immigration),
        ..Request::new(Channel::FindingAct, &[])
    };
    assert_eq!(decide(&limited, &act), Err(Denial::Unlocated));
    let national = Principal {
        jurisdiction: None,
        ..limited
    };
    assert!(decide(&national, &act).is_ok());
}

#[test]
fn access_log_for_holders_hides_other_agencies_case_refs_and_auditors_see_all() {
    let scopes = [Scope::RecordsRead, Scope::AuditRead];
    let purpose = Declared::Registered(Purpose::Supervision);
    let holder = Principal {
        kind: Regional,
        jurisdiction: None,
        scopes: &scopes,
        purpose,
    };
    let mut req = Request::new(Channel::AccessLog, &[]);
    assert_eq!(decide(&holder, &req), Err(Denial::NoRecordAboutPerson));
    req.holds_record = true;
    assert!(decide(&holder, &req).unwrap().foreign_case_refs_hidden);
    let auditor = Principal {
        kind: Admin,
        ..holder
    };
    req.holds_record = false;
    assert!(!decide(&auditor, &req).unwrap().foreign_case_refs_hidden);
}

#[test]
fn the_feed_of_every_type_is_personal_and_of_employers_is_not() {
    assert!(Request::new(Channel::Feed, &[]).personal());
    assert!(!Request::new(Channel::Feed, &[RecordType::Employer, RecordType::WorkSite]).personal());
    assert!(Request::new(Channel::Export, &[RecordType::Worker]).personal());
    assert!(!Request::new(Channel::Stats, &[RecordType::Worker]).personal());
}
