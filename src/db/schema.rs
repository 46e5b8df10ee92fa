// The tables of migrations/sqlite, written out for diesel.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        last_sign_in_at -> Nullable<Timestamp>,
        totp_secret -> Nullable<Binary>,
        totp_pending -> Nullable<Binary>,
        totp_enrolled_at -> Nullable<Timestamp>,
        totp_last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    recovery_codes (user_id, code_hash) {
        user_id -> Text,
        code_hash -> Text,
    }
}

diesel::table! {
    key_types (code) {
        code -> Text,
        generation -> BigInt,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        type_code -> Text,
        scheme -> Text,
        name -> Text,
        contact_email -> Text,
        secret_hash -> Binary,
        secret_sealed -> Nullable<Binary>,
        last_four -> Text,
        allowed_ips -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        rate_limit -> Nullable<Integer>,
        deleted_at -> Nullable<Timestamp>,
        deleted_by -> Nullable<Text>,
        changed_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        last_used_ip -> Nullable<Text>,
        disabled_at -> Nullable<Timestamp>,
        disabled_by -> Nullable<Text>,
        replaced_by -> Nullable<Text>,
        replaces -> Nullable<Text>,
        stops_at -> Nullable<Timestamp>,
        leaked_at -> Nullable<Timestamp>,
        leaked_where -> Nullable<Text>,
        application_id -> Text,
    }
}

diesel::table! {
    applications (id) {
        id -> Text,
        name -> Text,
        created_at -> Timestamp,
        archived_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    key_usage (key_id, day, outcome) {
        key_id -> Text,
        day -> Text,
        outcome -> Text,
        count -> BigInt,
    }
}

diesel::table! {
    key_drafts (id) {
        id -> Text,
        user_id -> Text,
        type_code -> Text,
        name -> Text,
        contact_email -> Text,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        application_id -> Text,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_email -> Nullable<Text>,
        action -> Text,
        key_id -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::table! {
    audit_actors (email) {
        email -> Text,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        state -> Text,
        expires_at -> Timestamp,
        handle -> Nullable<Text>,
        user_id -> Nullable<Text>,
        started_at -> Nullable<Timestamp>,
        last_seen_at -> Nullable<Timestamp>,
        client_ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        ended -> Nullable<Text>,
    }
}

diesel::table! {
    setup_tokens (token_hash) {
        token_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(users, api_keys);
diesel::allow_tables_to_appear_in_same_query!(applications, api_keys);

diesel::table! {
    login_throttle (subject) {
        subject -> Text,
        failures -> Integer,
        window_start -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        refused -> Integer,
        last_success_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    signature_replay (digest) {
        digest -> Binary,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    request_log (key_id, at, seq) {
        key_id -> Text,
        at -> Timestamp,
        seq -> BigInt,
        outcome -> Text,
        client_ip -> Nullable<Text>,
        reason -> Text,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        url -> Text,
        secret_sealed -> Binary,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_subscriptions (event_type, endpoint_id) {
        event_type -> Text,
        endpoint_id -> Text,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        endpoint_id -> Text,
        event_type -> Text,
        payload -> Text,
        created_at -> Timestamp,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        claimed_until -> Nullable<Timestamp>,
        claimed_by -> Nullable<Text>,
        last_attempt_at -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    expiry_reminders (key_id, days) {
        key_id -> Text,
        days -> Integer,
        sent_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(webhook_deliveries, webhook_endpoints);
diesel::allow_tables_to_appear_in_same_query!(api_keys, expiry_reminders);

diesel::table! {
    invitations (email) {
        email -> Text,
        role -> Text,
        token_hash -> Text,
        invited_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}
