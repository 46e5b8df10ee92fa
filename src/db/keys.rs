//! API key rows. The plaintext secret never reaches this module: only its
//! keyed hash and, for HMAC types, its sealed form.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::audit::{self, AuditEvent};
use crate::db::schema::{api_keys, applications, key_drafts, key_types, users};
use crate::db::{DbConn, write_transaction};
use crate::domain::api_key::NewApiKey;
use crate::domain::crypto::{SecretBox, SecretHasher};
use crate::domain::key_type::Scheme;

#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
// None is written as NULL (not DEFAULT), which lets SQLite take many rows in
// one statement.
#[diesel(treat_none_as_default_value = false)]
pub struct NewKeyRow {
    pub id: String,
    pub type_code: String,
    pub scheme: String,
    pub name: String,
    pub contact_email: String,
    pub secret_hash: Vec<u8>,
    pub secret_sealed: Option<Vec<u8>>,
    pub last_four: String,
    pub allowed_ips: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub rate_limit: Option<i32>,
    pub changed_at: NaiveDateTime,
    pub application_id: String,
}

/// A development row: a new key's row with the use and deletion a real key
/// would have gathered (see `latchkey dev seed`).
#[derive(Insertable)]
#[diesel(table_name = api_keys)]
#[diesel(treat_none_as_default_value = false)]
pub struct SeededKeyRow {
    #[diesel(embed)]
    pub key: NewKeyRow,
    pub last_used_at: Option<NaiveDateTime>,
    pub last_used_ip: Option<String>,
    pub deleted_at: Option<NaiveDateTime>,
    pub disabled_at: Option<NaiveDateTime>,
    pub disabled_by: Option<String>,
    pub replaced_by: Option<String>,
    pub replaces: Option<String>,
    pub stops_at: Option<NaiveDateTime>,
    pub leaked_at: Option<NaiveDateTime>,
    pub leaked_where: Option<String>,
}

impl SeededKeyRow {
    /// A row that was never used, deleted, switched off, rolled or reported.
    pub fn of(key: NewKeyRow) -> Self {
        SeededKeyRow {
            key,
            last_used_at: None,
            last_used_ip: None,
            deleted_at: None,
            disabled_at: None,
            disabled_by: None,
            replaced_by: None,
            replaces: None,
            stops_at: None,
            leaked_at: None,
            leaked_where: None,
        }
    }
}

/// Writes many development rows in one statement.
pub fn insert_seeded(conn: &mut DbConn, rows: &[SeededKeyRow]) -> QueryResult<usize> {
    crate::on_backend!(conn, |c| diesel::insert_into(api_keys::table)
        .values(rows)
        .execute(c))
}

/// Whether any key's contact address lies outside `domain` (that is, was not
/// written by `latchkey dev seed`).
pub fn any_contact_outside(conn: &mut DbConn, domain: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        api_keys::table.filter(api_keys::contact_email.not_like(format!("%@%{domain}"))),
    ))
    .get_result(conn)
}

/// What a new key's row says besides its secret.
pub struct KeyDetails {
    pub name: String,
    pub contact_email: String,
    /// Canonical, as `IpAllowlist::to_stored` writes it.
    pub allowed_ips: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub rate_limit: Option<i32>,
}

impl NewKeyRow {
    /// The row stored for a freshly generated key: the keyed hash of its
    /// secret and, for HMAC types, the API secret sealed (clients sign with
    /// it exactly as shown, so that is what the server must read back).
    pub fn new(
        key: &NewApiKey,
        scheme: Scheme,
        hasher: &SecretHasher,
        secret_box: &SecretBox,
        details: KeyDetails,
    ) -> Self {
        NewKeyRow {
            id: key.public_id.clone(),
            type_code: key.type_code.clone(),
            scheme: scheme.as_str().to_owned(),
            name: details.name,
            contact_email: details.contact_email,
            secret_hash: hasher.hash(&key.secret),
            secret_sealed: (scheme == Scheme::Hmac)
                .then(|| secret_box.seal(key.pair_secret().as_bytes(), key.public_id.as_bytes())),
            last_four: key.last_four(),
            allowed_ips: details.allowed_ips,
            created_by: details.created_by,
            created_at: details.created_at,
            expires_at: details.expires_at,
            rate_limit: details.rate_limit,
            changed_at: details.created_at,
            application_id: crate::domain::application::DEFAULT_ID.to_owned(),
        }
    }

    /// The same row, in another Application than the Default.
    pub fn in_application(self, application_id: &str) -> Self {
        NewKeyRow {
            application_id: application_id.to_owned(),
            ..self
        }
    }
}

/// A key as the console shows it, with its creator's email if the creator still exists.
#[derive(Debug, Clone, Queryable)]
pub struct KeyView {
    pub id: String,
    pub type_code: String,
    pub scheme: String,
    pub name: String,
    pub contact_email: String,
    pub last_four: String,
    pub allowed_ips: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub rate_limit: Option<i32>,
    pub last_used_at: Option<NaiveDateTime>,
    pub last_used_ip: Option<String>,
    pub created_by_email: Option<String>,
    pub changed_at: NaiveDateTime,
    pub state: KeyState,
    pub application_id: String,
}

/// Where a key stands besides its expiry: switched off, rolled, reported leaked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Queryable, QueryableByName)]
#[diesel(table_name = api_keys)]
pub struct KeyState {
    pub disabled_at: Option<NaiveDateTime>,
    /// Who switched it off, in words: an email, or "a leak report".
    pub disabled_by: Option<String>,
    pub replaced_by: Option<String>,
    pub replaces: Option<String>,
    /// When a rolled key stops (or stopped) working.
    pub stops_at: Option<NaiveDateTime>,
    pub leaked_at: Option<NaiveDateTime>,
    pub leaked_where: Option<String>,
}

type KeyStateColumns = (
    api_keys::disabled_at,
    api_keys::disabled_by,
    api_keys::replaced_by,
    api_keys::replaces,
    api_keys::stops_at,
    api_keys::leaked_at,
    api_keys::leaked_where,
);

const KEY_STATE_COLUMNS: KeyStateColumns = (
    api_keys::disabled_at,
    api_keys::disabled_by,
    api_keys::replaced_by,
    api_keys::replaces,
    api_keys::stops_at,
    api_keys::leaked_at,
    api_keys::leaked_where,
);

type KeyViewColumns = (
    api_keys::id,
    api_keys::type_code,
    api_keys::scheme,
    api_keys::name,
    api_keys::contact_email,
    api_keys::last_four,
    api_keys::allowed_ips,
    api_keys::created_at,
    api_keys::expires_at,
    api_keys::rate_limit,
    api_keys::last_used_at,
    api_keys::last_used_ip,
    diesel::dsl::Nullable<users::email>,
    api_keys::changed_at,
    KeyStateColumns,
    api_keys::application_id,
);

fn key_view_columns() -> KeyViewColumns {
    (
        api_keys::id,
        api_keys::type_code,
        api_keys::scheme,
        api_keys::name,
        api_keys::contact_email,
        api_keys::last_four,
        api_keys::allowed_ips,
        api_keys::created_at,
        api_keys::expires_at,
        api_keys::rate_limit,
        api_keys::last_used_at,
        api_keys::last_used_ip,
        users::email.nullable(),
        api_keys::changed_at,
        KEY_STATE_COLUMNS,
        api_keys::application_id,
    )
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("this generate form was already used or has expired")]
    DraftUsed,
    #[error("the type already has its maximum of {0} active keys")]
    LimitReached(u32),
    #[error("the Application was archived, or no longer exists")]
    ApplicationClosed,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Stores a new key, consuming its draft, in one transaction that holds the
/// type's lock, so the active-key limit holds however many requests race.
pub fn insert_generated(
    conn: &mut DbConn,
    key: &NewKeyRow,
    draft_id: &str,
    user_id: &str,
    max_active: Option<u32>,
    event: &AuditEvent,
) -> Result<(), GenerateError> {
    write_transaction(conn, |conn| {
        lock_type(conn, &key.type_code)?;
        let consumed = diesel::update(
            key_drafts::table
                .filter(key_drafts::id.eq(draft_id))
                .filter(key_drafts::user_id.eq(user_id))
                .filter(key_drafts::used_at.is_null()),
        )
        .set(key_drafts::used_at.eq(key.created_at))
        .execute(conn)?;
        if consumed != 1 {
            return Err(GenerateError::DraftUsed);
        }
        let open = applications::table
            .find(&key.application_id)
            .filter(applications::archived_at.is_null())
            .select(applications::id)
            .first::<String>(conn)
            .optional()?;
        if open.is_none() {
            return Err(GenerateError::ApplicationClosed);
        }
        if let Some(limit) = max_active
            && active_count(conn, &key.type_code, &key.application_id, key.created_at)?
                >= i64::from(limit)
        {
            return Err(GenerateError::LimitReached(limit));
        }
        diesel::insert_into(api_keys::table)
            .values(key)
            .execute(conn)?;
        audit::record(conn, event)?;
        Ok(())
    })
}

/// Serialises generation per type: the row update blocks other writers of the
/// same row until this transaction ends.
fn lock_type(conn: &mut DbConn, code: &str) -> QueryResult<()> {
    crate::on_backend!(conn, |c| diesel::insert_into(key_types::table)
        .values((key_types::code.eq(code), key_types::generation.eq(0)))
        .on_conflict_do_nothing()
        .execute(c))?;
    diesel::update(key_types::table.find(code))
        .set(key_types::generation.eq(key_types::generation + 1))
        .execute(conn)
        .map(drop)
}

/// Keys that count against a type's limit: not deleted and not expired.
/// Switched-off keys count; a rolled key does not (its replacement does, so
/// the two count as one and a type at its limit can still be rolled).
#[diesel::dsl::auto_type]
fn active_at(now: NaiveDateTime) -> _ {
    api_keys::deleted_at
        .is_null()
        .and(api_keys::replaced_by.is_null())
        .and(
            api_keys::expires_at
                .is_null()
                .or(api_keys::expires_at.gt(now)),
        )
}

/// How many keys of the type count against its limit in the Application at
/// `now` (limits apply per Application).
pub fn active_count(
    conn: &mut DbConn,
    type_code: &str,
    application_id: &str,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    api_keys::table
        .filter(active_at(now))
        .filter(api_keys::application_id.eq(application_id))
        .filter(api_keys::type_code.eq(type_code))
        .count()
        .get_result(conn)
}

/// `active_count` for each of `type_codes` at once (one query, whatever the
/// number of types); types without active keys are left out.
pub fn active_counts(
    conn: &mut DbConn,
    type_codes: &[String],
    application_id: &str,
    now: NaiveDateTime,
) -> QueryResult<Vec<(String, i64)>> {
    if type_codes.is_empty() {
        return Ok(Vec::new());
    }
    api_keys::table
        .filter(active_at(now))
        .filter(api_keys::application_id.eq(application_id))
        .filter(api_keys::type_code.eq_any(type_codes))
        .group_by(api_keys::type_code)
        .select((api_keys::type_code, diesel::dsl::count_star()))
        .load(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<KeyView>> {
    api_keys::table
        .left_join(users::table.on(users::id.nullable().eq(api_keys::created_by)))
        .filter(api_keys::id.eq(id))
        .filter(api_keys::deleted_at.is_null())
        .select(key_view_columns())
        .first(conn)
        .optional()
}

/// Deletes for good, as far as anyone using the key is concerned. The row
/// stays, marked, so the audit trail can still name it. Returns false when
/// there was no such key to delete.
pub fn delete(
    conn: &mut DbConn,
    id: &str,
    user_id: &str,
    at: NaiveDateTime,
    event: &AuditEvent,
) -> QueryResult<bool> {
    change_live_key(conn, event, |conn| {
        diesel::update(live_key(id))
            .set((
                api_keys::deleted_at.eq(at),
                api_keys::deleted_by.eq(user_id),
                api_keys::changed_at.eq(at),
            ))
            .execute(conn)
    })
}

type LiveKey<'a> = diesel::dsl::Filter<
    diesel::dsl::Filter<api_keys::table, diesel::dsl::Eq<api_keys::id, &'a str>>,
    diesel::dsl::IsNull<api_keys::deleted_at>,
>;

/// The row of a key that has not been deleted.
fn live_key(id: &str) -> LiveKey<'_> {
    api_keys::table
        .filter(api_keys::id.eq(id))
        .filter(api_keys::deleted_at.is_null())
}

/// Whether a key with this id exists and is not deleted.
fn is_live(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(live_key(id))).get_result(conn)
}

/// Applies `change` to a live key and, if it touched one, records `event`, in
/// one transaction. Returns whether there was such a key.
fn change_live_key(
    conn: &mut DbConn,
    event: &AuditEvent,
    change: impl FnOnce(&mut DbConn) -> QueryResult<usize>,
) -> QueryResult<bool> {
    write_transaction(conn, |conn| {
        let changed = change(conn)? == 1;
        if changed {
            audit::record(conn, event)?;
        }
        Ok(changed)
    })
}

/// What is stored of a key's secret: never the secret itself. (Tests read it to prove so.)
#[derive(Debug, Queryable)]
pub struct SecretMaterial {
    /// HMAC-SHA-256 of the secret under the server's pepper.
    pub hash: Vec<u8>,
    /// AES-256-GCM sealed secret, for HMAC-signed types only.
    pub sealed: Option<Vec<u8>>,
}

pub fn secret_material(conn: &mut DbConn, id: &str) -> QueryResult<Option<SecretMaterial>> {
    api_keys::table
        .find(id)
        .select((api_keys::secret_hash, api_keys::secret_sealed))
        .first(conn)
        .optional()
}

/// What verification keeps in memory for each key.
#[derive(Debug, Queryable)]
pub struct VerifyRow {
    pub id: String,
    pub type_code: String,
    pub scheme: String,
    pub name: String,
    pub secret_hash: Vec<u8>,
    pub secret_sealed: Option<Vec<u8>>,
    pub expires_at: Option<NaiveDateTime>,
    pub allowed_ips: String,
    pub rate_limit: Option<i32>,
    pub deleted: bool,
    pub changed_at: NaiveDateTime,
    pub disabled: bool,
    pub stops_at: Option<NaiveDateTime>,
    pub application_id: String,
}

type VerifyColumns = (
    api_keys::id,
    api_keys::type_code,
    api_keys::scheme,
    api_keys::name,
    api_keys::secret_hash,
    api_keys::secret_sealed,
    api_keys::expires_at,
    api_keys::allowed_ips,
    api_keys::rate_limit,
    diesel::dsl::IsNotNull<api_keys::deleted_at>,
    api_keys::changed_at,
    diesel::dsl::IsNotNull<api_keys::disabled_at>,
    api_keys::stops_at,
    api_keys::application_id,
);

fn verify_columns() -> VerifyColumns {
    (
        api_keys::id,
        api_keys::type_code,
        api_keys::scheme,
        api_keys::name,
        api_keys::secret_hash,
        api_keys::secret_sealed,
        api_keys::expires_at,
        api_keys::allowed_ips,
        api_keys::rate_limit,
        api_keys::deleted_at.is_not_null(),
        api_keys::changed_at,
        api_keys::disabled_at.is_not_null(),
        api_keys::stops_at,
        api_keys::application_id,
    )
}

impl From<&NewKeyRow> for VerifyRow {
    fn from(key: &NewKeyRow) -> Self {
        VerifyRow {
            id: key.id.clone(),
            type_code: key.type_code.clone(),
            scheme: key.scheme.clone(),
            name: key.name.clone(),
            secret_hash: key.secret_hash.clone(),
            secret_sealed: key.secret_sealed.clone(),
            expires_at: key.expires_at,
            allowed_ips: key.allowed_ips.clone(),
            rate_limit: key.rate_limit,
            deleted: false,
            changed_at: key.changed_at,
            disabled: false,
            stops_at: None,
            application_id: key.application_id.clone(),
        }
    }
}

/// Keys that can still be presented, `limit` at a time in id order, after `after`.
pub fn live_for_verification(
    conn: &mut DbConn,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<VerifyRow>> {
    api_keys::table
        .filter(api_keys::deleted_at.is_null())
        .filter(api_keys::id.gt(after))
        .order(api_keys::id.asc())
        .limit(limit)
        .select(verify_columns())
        .load(conn)
}

/// Keys created, changed or deleted at or after `since`, deleted ones included.
pub fn changed_since(conn: &mut DbConn, since: NaiveDateTime) -> QueryResult<Vec<VerifyRow>> {
    api_keys::table
        .filter(api_keys::changed_at.ge(since))
        .select(verify_columns())
        .load(conn)
}

pub fn one_for_verification(conn: &mut DbConn, id: &str) -> QueryResult<Option<VerifyRow>> {
    api_keys::table
        .filter(api_keys::id.eq(id))
        .select(verify_columns())
        .first(conn)
        .optional()
}

/// Sets or clears a key's rate limit. Returns false if there is no such live key.
pub fn set_rate_limit(
    conn: &mut DbConn,
    id: &str,
    rate_limit: Option<i32>,
    at: NaiveDateTime,
    event: &AuditEvent,
) -> QueryResult<bool> {
    change_live_key(conn, event, |conn| {
        diesel::update(live_key(id))
            .set((
                api_keys::rate_limit.eq(rate_limit),
                api_keys::changed_at.eq(at),
            ))
            .execute(conn)
    })
}

/// What the edit form may change.
#[derive(Debug, Clone)]
pub struct KeyEdit {
    pub name: String,
    pub contact_email: String,
    /// Canonical, as `IpAllowlist::to_stored` writes it.
    pub allowed_ips: String,
    pub expires_at: Option<NaiveDateTime>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum EditOutcome {
    Saved,
    /// No live key has this id.
    Gone,
    /// The key changed after the form was opened (another tab, another
    /// Administrator): nothing was written.
    ChangedMeanwhile,
}

/// Writes an edit made on a form opened when the key's row was last changed
/// at `seen`, so two people editing at once never overwrite each other unseen.
pub fn edit(
    conn: &mut DbConn,
    id: &str,
    seen: NaiveDateTime,
    edit: &KeyEdit,
    at: NaiveDateTime,
    event: &AuditEvent,
) -> QueryResult<EditOutcome> {
    write_transaction(conn, |conn| {
        let written = diesel::update(live_key(id).filter(api_keys::changed_at.eq(seen)))
            .set((
                api_keys::name.eq(&edit.name),
                api_keys::contact_email.eq(&edit.contact_email),
                api_keys::allowed_ips.eq(&edit.allowed_ips),
                api_keys::expires_at.eq(edit.expires_at),
                api_keys::changed_at.eq(at),
            ))
            .execute(conn)?;
        if written == 1 {
            audit::record(conn, event)?;
            return Ok(EditOutcome::Saved);
        }
        Ok(if is_live(conn, id)? {
            EditOutcome::ChangedMeanwhile
        } else {
            EditOutcome::Gone
        })
    })
}

/// Switches a live key off (`by` says who, in words) or back on. Returns
/// false when there is no such live key or it already was in that state
/// (then nothing is recorded).
pub fn set_disabled(
    conn: &mut DbConn,
    id: &str,
    by: Option<&str>,
    at: NaiveDateTime,
    event: &AuditEvent,
) -> QueryResult<bool> {
    change_live_key(conn, event, |conn| match by {
        Some(by) => diesel::update(live_key(id).filter(api_keys::disabled_at.is_null()))
            .set((
                api_keys::disabled_at.eq(at),
                api_keys::disabled_by.eq(by),
                api_keys::changed_at.eq(at),
            ))
            .execute(conn),
        None => diesel::update(live_key(id).filter(api_keys::disabled_at.is_not_null()))
            .set((
                api_keys::disabled_at.eq(None::<NaiveDateTime>),
                api_keys::disabled_by.eq(None::<String>),
                api_keys::changed_at.eq(at),
            ))
            .execute(conn),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum RollError {
    #[error("there is no such key")]
    Gone,
    #[error("the key was already rolled")]
    AlreadyRolled,
    #[error("the key has expired")]
    Expired,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Rolls a key: the old one names its replacement and stops working at
/// `stops_at`; the replacement is stored naming the old one. One transaction,
/// and the old row is claimed by a conditional update, so however many
/// requests roll the same key at once (tabs, instances) exactly one succeeds.
pub fn roll(
    conn: &mut DbConn,
    old_id: &str,
    replacement: &NewKeyRow,
    stops_at: NaiveDateTime,
    events: &[AuditEvent],
) -> Result<(), RollError> {
    let at = replacement.created_at;
    write_transaction(conn, |conn| {
        let claimed = diesel::update(
            live_key(old_id)
                .filter(api_keys::replaced_by.is_null())
                .filter(
                    api_keys::expires_at
                        .is_null()
                        .or(api_keys::expires_at.gt(at)),
                ),
        )
        .set((
            api_keys::replaced_by.eq(&replacement.id),
            api_keys::stops_at.eq(stops_at),
            api_keys::changed_at.eq(at),
        ))
        .execute(conn)?;
        if claimed != 1 {
            let state: Option<(Option<String>, Option<NaiveDateTime>)> = live_key(old_id)
                .select((api_keys::replaced_by, api_keys::expires_at))
                .first(conn)
                .optional()?;
            return Err(match state {
                None => RollError::Gone,
                Some((Some(_), _)) => RollError::AlreadyRolled,
                Some((None, _)) => RollError::Expired,
            });
        }
        diesel::insert_into(api_keys::table)
            .values(replacement)
            .execute(conn)?;
        diesel::update(api_keys::table.find(&replacement.id))
            .set(api_keys::replaces.eq(old_id))
            .execute(conn)?;
        for event in events {
            audit::record(conn, event)?;
        }
        Ok(())
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakOutcome {
    /// First report of this key: marked (and switched off if asked), recorded.
    Marked,
    /// Already reported: nothing changes.
    AlreadyReported,
    /// No live key has this id.
    Gone,
}

/// Marks a live key as leaked (found at `found_at`) and, when `disable`,
/// switches it off, recording `event`, all on the first report only.
pub fn report_leaked(
    conn: &mut DbConn,
    id: &str,
    found_at: &str,
    disable: bool,
    at: NaiveDateTime,
    event: &AuditEvent,
) -> QueryResult<LeakOutcome> {
    write_transaction(conn, |conn| {
        let marked = diesel::update(live_key(id).filter(api_keys::leaked_at.is_null()))
            .set((
                api_keys::leaked_at.eq(at),
                api_keys::leaked_where.eq(found_at),
                api_keys::changed_at.eq(at),
            ))
            .execute(conn)?;
        if marked == 1 && disable {
            // A key already switched off keeps who did it and when.
            diesel::update(live_key(id).filter(api_keys::disabled_at.is_null()))
                .set((
                    api_keys::disabled_at.eq(at),
                    api_keys::disabled_by.eq(LEAK_REPORT),
                ))
                .execute(conn)?;
        }
        if marked == 1 {
            audit::record(conn, event)?;
            return Ok(LeakOutcome::Marked);
        }
        Ok(if is_live(conn, id)? {
            LeakOutcome::AlreadyReported
        } else {
            LeakOutcome::Gone
        })
    })
}

/// Who switched off a key found by a secret scanner, as the list says it.
pub const LEAK_REPORT: &str = "a leak report";
