//! Portable diesel schema: the same tables on PostgreSQL and SQLite.

diesel::table! {
    agencies (code) {
        code -> Text,
        name -> Text,
        kind -> Text,
        jurisdiction -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_clients (client_id) {
        client_id -> Text,
        agency_code -> Text,
        name -> Text,
        secret_hash -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        purposes -> Text,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        private_key -> Text,
        public_key -> Text,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    workers (id) {
        id -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        merged_into -> Nullable<Text>,
    }
}

diesel::table! {
    worker_documents (worker_id) {
        worker_id -> Text,
        version -> BigInt,
        merged_into -> Nullable<Text>,
        body -> Text,
    }
}

diesel::table! {
    worker_passports (number, country) {
        number -> Text,
        country -> Text,
        worker_id -> Text,
        expires_on -> Nullable<Date>,
        agency_code -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    worker_identities (worker_id, agency_code) {
        worker_id -> Text,
        agency_code -> Text,
        client_id -> Text,
        passport_no -> Text,
        nationality -> Text,
        full_name -> Text,
        sex -> Nullable<Text>,
        birth_date -> Nullable<Date>,
        record_type -> Text,
        record_key -> Text,
        updated_at -> Timestamp,
        previous_passport_no -> Nullable<Text>,
        name_key -> Nullable<Text>,
    }
}

diesel::table! {
    person_links (id) {
        id -> Text,
        worker_a -> Text,
        worker_b -> Text,
        status -> Text,
        score -> Double,
        evidence -> Text,
        basis -> Text,
        survivor -> Nullable<Text>,
        moved -> Nullable<Text>,
        reason -> Nullable<Text>,
        case_ref -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    records (record_type, record_key) {
        record_type -> Text,
        record_key -> Text,
        agency_code -> Text,
        client_id -> Text,
        source_ref -> Nullable<Text>,
        worker_id -> Nullable<Text>,
        employer_nib -> Nullable<Text>,
        region_code -> Nullable<Text>,
        status -> Nullable<Text>,
        kind -> Nullable<Text>,
        nationality -> Nullable<Text>,
        ref_key -> Nullable<Text>,
        valid_from -> Nullable<Date>,
        valid_until -> Nullable<Date>,
        doc -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        id -> Text,
        occurred_at -> Timestamp,
        client_id -> Nullable<Text>,
        agency_code -> Nullable<Text>,
        action -> Text,
        resource_type -> Text,
        resource_key -> Nullable<Text>,
        subject_worker_id -> Nullable<Text>,
        result_count -> Nullable<BigInt>,
        purpose -> Nullable<Text>,
        case_ref -> Nullable<Text>,
        status -> Integer,
        request_id -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        last_hash -> Text,
    }
}

diesel::table! {
    audit_tree (level, idx) {
        level -> Integer,
        idx -> BigInt,
        hash -> Binary,
    }
}

diesel::table! {
    audit_checkpoints (tree_size) {
        tree_size -> BigInt,
        root -> Binary,
        signed_at -> Timestamp,
        note -> Text,
    }
}

diesel::table! {
    change_queue (id) {
        id -> BigInt,
        record_type -> Text,
        record_key -> Text,
        op -> Text,
        version -> BigInt,
        agency_code -> Text,
        worker_id -> Nullable<Text>,
        payload -> Nullable<Text>,
        source_ref -> Nullable<Text>,
    }
}

diesel::table! {
    audit_queue (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        client_id -> Nullable<Text>,
        agency_code -> Nullable<Text>,
        action -> Text,
        resource_type -> Text,
        resource_key -> Nullable<Text>,
        subject_worker_id -> Nullable<Text>,
        result_count -> Nullable<BigInt>,
        purpose -> Nullable<Text>,
        case_ref -> Nullable<Text>,
        status -> Integer,
        request_id -> Text,
    }
}

diesel::table! {
    changes (seq) {
        seq -> BigInt,
        record_type -> Text,
        record_key -> Text,
        op -> Text,
        version -> BigInt,
        agency_code -> Text,
        worker_id -> Nullable<Text>,
        payload -> Nullable<Text>,
        changed_at -> Timestamp,
        source_ref -> Nullable<Text>,
    }
}

diesel::table! {
    change_head (id) {
        id -> Integer,
        seq -> BigInt,
        pruned_through -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (client_id, idem_key) {
        client_id -> Text,
        idem_key -> Text,
        request_hash -> Text,
        state -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    findings (id) {
        id -> Text,
        rule -> Text,
        severity -> Text,
        subject_kind -> Text,
        subject_id -> Text,
        discriminator -> Text,
        responsible -> Text,
        status -> Text,
        evidence -> Text,
        message_en -> Text,
        message_id -> Text,
        region_code -> Nullable<Text>,
        employer_nib -> Nullable<Text>,
        worker_id -> Nullable<Text>,
        status_by -> Text,
        status_note -> Nullable<Text>,
        status_changed_at -> Timestamp,
        first_seen_at -> Timestamp,
        last_seen_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::joinable!(api_clients -> agencies (agency_code));
diesel::joinable!(worker_passports -> workers (worker_id));
diesel::joinable!(worker_identities -> workers (worker_id));
diesel::joinable!(records -> workers (worker_id));
diesel::joinable!(worker_documents -> workers (worker_id));

diesel::allow_tables_to_appear_in_same_query!(
    agencies,
    api_clients,
    signing_keys,
    workers,
    worker_documents,
    worker_passports,
    worker_identities,
    records,
    audit_events,
    audit_head,
    audit_tree,
    audit_checkpoints,
    change_queue,
    audit_queue,
    changes,
    change_head,
    idempotency_keys,
    findings,
    person_links,
);
