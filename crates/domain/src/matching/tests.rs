use super::*;

fn day(s: &str) -> Option<NaiveDate> {
    Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
}

fn person(id: &str, passport: &str, name: &str, birth: Option<NaiveDate>) -> Person {
    Person {
        worker_id: id.into(),
        nationality: "CHN".into(),
        passports: vec![passport.into()],
        reported: vec![Reported::new(
            "IMI-SMD".into(),
            passport.into(),
            None,
            name.into(),
            Some("M".into()),
            birth,
        )],
    }
}

fn outcome(m: &Match, field: &str) -> String {
    m.evidence
        .iter()
        .find(|e| e.field == field)
        .unwrap()
        .outcome
        .clone()
}

#[test]
fn names_compare_after_normalisation() {
    assert_eq!(name_key("Zhang  Wei"), name_key("WEI ZHANG"));
    assert_eq!(name_key("CHANG WEI"), name_key("ZHANG WEI"));
    assert_eq!(name_key("MOHAMMED ALI"), name_key("ALI MUHAMMAD"));
    assert_eq!(name_key("NGUYỄN VĂN AN"), "AN NGUYEN VAN");
    assert_eq!(name_key("O'BRIEN-SMITH"), "BRIEN O SMITH");
    assert_eq!(
        name_relation("LI XIAO MING", "LI MING"),
        NameRelation::Similar
    );
    assert_eq!(
        name_relation("WANG JIANHUA", "WANG JIANHAU"),
        NameRelation::Different
    );
    assert_eq!(
        name_relation("WANG JIAN HUA", "WANG JIAN HWA"),
        NameRelation::Similar
    );
    assert_eq!(
        name_relation("ZHANG WEI", "ZHANG LEI"),
        NameRelation::Different
    );
    assert_eq!(
        name_relation("WANG LEI", "WANG FANG"),
        NameRelation::Different
    );
}

#[test]
fn passport_slips_are_recognised() {
    use PassportRelation::*;
    assert_eq!(
        passport_relation("E5123456", "E51234567"),
        Some(ExtraCharacter)
    );
    assert_eq!(
        passport_relation("E51234567", "E5123456"),
        Some(ExtraCharacter)
    );
    assert_eq!(
        passport_relation("E51234567", "E51243567"),
        Some(Transposition)
    );
    assert_eq!(
        passport_relation("E51234567", "E51234568"),
        Some(Substitution)
    );
    assert_eq!(passport_relation("EO1234567", "E01234567"), Some(LookAlike));
    assert_eq!(passport_relation("EI1234567", "E11234567"), Some(LookAlike));
    assert_eq!(passport_relation("E51234567", "E51234567"), None);
    assert_eq!(passport_relation("E51234567", "E59934567"), None);
    assert_eq!(passport_relation("E51234567", "E512345"), None);
    assert_eq!(passport_relation("E51234567", "5E1234576"), None);
}

#[test]
fn a_typed_slip_with_the_same_name_is_a_candidate() {
    let a = person("a", "E51234567", "ZHANG WEI", day("1985-04-12"));
    let b = person("b", "E5123456", "ZHANG WEI", day("1985-04-12"));
    let m = compare(&b, &a).expect("candidate");
    assert_eq!((m.worker_a.as_str(), m.worker_b.as_str()), ("a", "b"));
    assert_eq!(outcome(&m, "passport_no"), "extra_character");
    assert_eq!(outcome(&m, "full_name"), "equal");
    assert_eq!(outcome(&m, "birth_date"), "equal");
    assert!(m.score > 0.99, "{}", m.score);
    assert_eq!(m.evidence[0].agencies_a, vec!["IMI-SMD".to_string()]);
}

#[test]
fn a_slip_with_only_the_name_or_only_the_birth_date_is_a_candidate() {
    let a = person("a", "E51234567", "ZHANG WEI", None);
    let b = person("b", "E51243567", "WEI ZHANG", None);
    let m = compare(&a, &b).expect("same name");
    assert_eq!(outcome(&m, "birth_date"), "unknown");
    let a = person("a", "E51234567", "LI XIAO MING", day("1990-01-01"));
    let b = person("b", "E52234567", "LI MING", day("1990-01-01"));
    let m = compare(&a, &b).expect("same birth date, similar name");
    assert_eq!(outcome(&m, "full_name"), "similar");
    assert_eq!(outcome(&m, "passport_no"), "substitution");
}

#[test]
fn same_name_and_birth_date_under_two_passports_is_a_candidate() {
    let a = person("a", "E11111111", "ZHANG WEI", day("1985-04-12"));
    let b = person("b", "G99999999", "Wei Zhang", day("1985-04-12"));
    let m = compare(&a, &b).expect("candidate");
    assert_eq!(outcome(&m, "passport_no"), "different");
    assert!(m.score > 0.9 && m.score < 0.999, "{}", m.score);
}

#[test]
fn a_renewal_links_the_two_numbers() {
    let a = person("a", "E11111111", "ZHANG WEI", day("1985-04-12"));
    let mut b = person("b", "EK2222222", "ZHANG WEI", None);
    b.reported[0].previous_passport_no = Some("E11111111".into());
    let m = compare(&a, &b).expect("renewal");
    assert_eq!(outcome(&m, "passport_no"), "renewal");
    assert_eq!(m.evidence[0].agencies_b, vec!["IMI-SMD".to_string()]);
    assert!(m.score >= 0.999);
    assert!(blocks(&a).intersection(&blocks(&b)).count() > 0);
}

#[test]
fn near_misses_do_not_match() {
    // Twins: same birth date, passports issued one after the other, different names.
    let a = person("a", "E51234567", "ZHANG WEI", day("1995-03-03"));
    let b = person("b", "E51234568", "ZHANG LEI", day("1995-03-03"));
    assert_eq!(compare(&a, &b), None);
    // A common name, different birth dates, unrelated passports.
    let a = person("a", "E11111111", "WANG FANG", day("1980-01-01"));
    let b = person("b", "E22222222", "WANG FANG", day("1991-07-15"));
    assert_eq!(compare(&a, &b), None);
    // A common name, one slip apart, but different birth dates.
    let b = person("b", "E11111112", "WANG FANG", day("1991-07-15"));
    assert_eq!(compare(&a, &b), None);
    // Same name and birth date but different sexes.
    let a = person("a", "E11111111", "LIU YANG", day("1988-08-08"));
    let mut b = person("b", "E33333333", "LIU YANG", day("1988-08-08"));
    b.reported[0].sex = Some("F".into());
    assert_eq!(compare(&a, &b), None);
    // Different nationalities never match.
    let a = person("a", "E11111111", "KIM MIN", day("1988-08-08"));
    let mut b = person("b", "E11111111", "KIM MIN", day("1988-08-08"));
    b.nationality = "KOR".into();
    assert_eq!(compare(&a, &b), None);
    // Same name, no birth dates, unrelated passports: too little to say.
    let a = person("a", "E11111111", "CHEN JIE", None);
    let b = person("b", "E44444444", "CHEN JIE", None);
    assert_eq!(compare(&a, &b), None);
}

#[test]
fn the_sweep_compares_within_blocks_only_and_finds_every_kind() {
    let mut people = vec![
        person("w1", "E51234567", "ZHANG WEI", day("1985-04-12")),
        person("w2", "E5123456", "ZHANG WEI", day("1985-04-12")),
        person("w3", "E70000001", "WANG FANG", day("1980-01-01")),
        person("w4", "E70000002", "WANG FANG", day("1991-07-15")),
        person("w5", "E80000000", "LI NA", day("1979-09-09")),
        person("w6", "EK8000000", "LI NA", None),
    ];
    people[5].reported[0].previous_passport_no = Some("E80000000".into());
    let found = sweep(&people);
    let pairs: Vec<(&str, &str)> = found
        .iter()
        .map(|m| (m.worker_a.as_str(), m.worker_b.as_str()))
        .collect();
    assert_eq!(pairs, vec![("w1", "w2"), ("w5", "w6")]);
    // The basis names fields and outcomes only: what a rejected pair is decided on.
    assert_eq!(
        found[0].basis(),
        "passport_no=extra_character;full_name=equal;birth_date=equal;sex=equal"
    );
    assert_ne!(found[0].basis(), found[1].basis());
}

#[test]
fn a_block_too_common_to_tell_people_apart_is_not_compared() {
    // A placeholder: everyone born on 1970-01-01 with the same name.
    let mut people: Vec<Person> = (0..=MAX_BLOCK)
        .map(|i| {
            person(
                &format!("w{i:04}"),
                &format!("E{:08}", 10_000_000 + i * 7),
                "ZHANG WEI",
                day("1970-01-01"),
            )
        })
        .collect();
    assert_eq!(sweep(&people), vec![]);
    // A real slip among them still shares a small block: the passport renewed.
    people[1].reported[0].previous_passport_no = Some(people[0].passports[0].clone());
    let found = sweep(&people);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].evidence[0].outcome, "renewal");
    // Within the limit they are compared, and each worker keeps its
    // likeliest few candidates.
    people.truncate(MAX_BLOCK);
    people[1].reported[0].previous_passport_no = None;
    let found = sweep(&people);
    let mut per = std::collections::BTreeMap::new();
    for m in &found {
        *per.entry(m.worker_a.clone()).or_insert(0) += 1;
        *per.entry(m.worker_b.clone()).or_insert(0) += 1;
    }
    assert!(per.values().all(|n| *n <= MAX_CANDIDATES), "{per:?}");
    assert!(found.len() >= MAX_BLOCK * MAX_CANDIDATES / 2 - MAX_CANDIDATES);
    people.truncate(3);
    assert_eq!(sweep(&people).len(), 3);
}
