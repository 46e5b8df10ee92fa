//! Webhook endpoints, their subscriptions, the delivery outbox and the
//! key.expiring reminders.
//!
//! Events enter the outbox in the transaction of the change they report
//! ([`enqueue`], called by `audit::record`), so a change and its deliveries
//! are written together or not at all. Workers on any number of instances
//! take due rows under a lease ([`claim_due`]): a conditional UPDATE that only
//! one of them can win, so no row is sent by two at once.

use chrono::{Duration, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::dsl::{exists, not};
use diesel::prelude::*;

use crate::db::audit::{self, AuditEvent, NewAuditRow};
use crate::db::schema::{
    api_keys, expiry_reminders, webhook_deliveries, webhook_endpoints, webhook_subscriptions,
};
use crate::db::{DbConn, write_transaction};
use crate::domain::webhook::{
    self, EXPIRY_THRESHOLDS, EventType, KeyEventData, MAX_ENDPOINTS, WebhookEvent,
};

diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

/// A new endpoint's row; its secret is already sealed to its id.
pub struct NewEndpoint {
    pub id: String,
    pub url: String,
    pub secret_sealed: Vec<u8>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub events: Vec<EventType>,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("an endpoint with this URL already exists")]
    DuplicateUrl,
    #[error("the console already has its maximum of {MAX_ENDPOINTS} endpoints")]
    TooMany,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Stores an endpoint and its events, and records `event`, in one
/// transaction that holds the endpoint table's write lock, so the endpoint
/// limit holds however many requests race on however many instances.
pub fn create(
    conn: &mut DbConn,
    endpoint: &NewEndpoint,
    event: &AuditEvent,
) -> Result<(), CreateError> {
    write_transaction(conn, |conn| {
        // SQLite's BEGIN IMMEDIATE already serialises writers.
        if let DbConn::Postgres(c) = conn {
            c.batch_execute("LOCK TABLE webhook_endpoints IN SHARE ROW EXCLUSIVE MODE")?;
        }
        let count: i64 = webhook_endpoints::table.count().get_result(conn)?;
        if count >= MAX_ENDPOINTS {
            return Err(CreateError::TooMany);
        }
        let taken = diesel::select(exists(
            webhook_endpoints::table.filter(webhook_endpoints::url.eq(&endpoint.url)),
        ))
        .get_result::<bool>(conn)?;
        if taken {
            return Err(CreateError::DuplicateUrl);
        }
        diesel::insert_into(webhook_endpoints::table)
            .values((
                webhook_endpoints::id.eq(&endpoint.id),
                webhook_endpoints::url.eq(&endpoint.url),
                webhook_endpoints::secret_sealed.eq(&endpoint.secret_sealed),
                webhook_endpoints::created_by.eq(&endpoint.created_by),
                webhook_endpoints::created_at.eq(endpoint.created_at),
            ))
            .execute(conn)?;
        let subscriptions: Vec<_> = endpoint
            .events
            .iter()
            .map(|e| {
                (
                    webhook_subscriptions::event_type.eq(e.as_str()),
                    webhook_subscriptions::endpoint_id.eq(&endpoint.id),
                )
            })
            .collect();
        crate::on_backend!(conn, |c| diesel::insert_into(webhook_subscriptions::table)
            .values(&subscriptions)
            .execute(c))?;
        audit::record(conn, event)?;
        Ok(())
    })
}

/// Removes an endpoint, its subscriptions and its deliveries (pending ones
/// are never sent), and records `event`. Returns false if there was none.
pub fn delete(conn: &mut DbConn, id: &str, event: &AuditEvent) -> QueryResult<bool> {
    write_transaction(conn, |conn| {
        if diesel::delete(webhook_endpoints::table.find(id)).execute(conn)? == 0 {
            return Ok(false);
        }
        diesel::delete(
            webhook_subscriptions::table.filter(webhook_subscriptions::endpoint_id.eq(id)),
        )
        .execute(conn)?;
        diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::endpoint_id.eq(id)))
            .execute(conn)?;
        audit::record(conn, event)?;
        Ok(true)
    })
}

/// An endpoint as the settings page shows it. The secret is not read.
#[derive(Debug, Clone)]
pub struct EndpointView {
    pub id: String,
    pub url: String,
    pub created_at: NaiveDateTime,
    /// In the form's order.
    pub events: Vec<EventType>,
}

/// Every endpoint (at most [`MAX_ENDPOINTS`]), oldest first.
pub fn list(conn: &mut DbConn) -> QueryResult<Vec<EndpointView>> {
    let rows: Vec<(String, String, NaiveDateTime)> = webhook_endpoints::table
        .order((webhook_endpoints::created_at, webhook_endpoints::id))
        .select((
            webhook_endpoints::id,
            webhook_endpoints::url,
            webhook_endpoints::created_at,
        ))
        .load(conn)?;
    let subscriptions: Vec<(String, String)> = webhook_subscriptions::table
        .select((
            webhook_subscriptions::endpoint_id,
            webhook_subscriptions::event_type,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, url, created_at)| {
            let events = EventType::ALL
                .into_iter()
                .filter(|e| {
                    subscriptions
                        .iter()
                        .any(|(endpoint, event)| *endpoint == id && event == e.as_str())
                })
                .collect();
            EndpointView {
                id,
                url,
                created_at,
                events,
            }
        })
        .collect())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<EndpointView>> {
    Ok(list(conn)?.into_iter().find(|e| e.id == id))
}

/// One row of the outbox, as an endpoint's page shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryView {
    pub id: String,
    pub event_type: String,
    pub created_at: NaiveDateTime,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub finished_at: Option<NaiveDateTime>,
}

/// An endpoint's newest deliveries, newest first.
pub fn recent_deliveries(
    conn: &mut DbConn,
    endpoint_id: &str,
    limit: i64,
) -> QueryResult<Vec<DeliveryView>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(limit)
        .select(DeliveryView::as_select())
        .load(conn)
}

/// Puts `event` in the outbox once for every endpoint subscribed to its type
/// (each row with its own `webhook-id`), due at once. Call it inside the
/// transaction of the change it reports. Returns the rows written.
pub fn enqueue(conn: &mut DbConn, event: &WebhookEvent) -> QueryResult<usize> {
    let endpoints = subscribers(conn, event.event_type)?;
    enqueue_to(conn, &endpoints, event)
}

fn subscribers(conn: &mut DbConn, event: EventType) -> QueryResult<Vec<String>> {
    webhook_subscriptions::table
        .filter(webhook_subscriptions::event_type.eq(event.as_str()))
        .select(webhook_subscriptions::endpoint_id)
        .load(conn)
}

fn enqueue_to(conn: &mut DbConn, endpoints: &[String], event: &WebhookEvent) -> QueryResult<usize> {
    if endpoints.is_empty() {
        return Ok(0);
    }
    let payload = event.payload();
    let rows: Vec<_> = endpoints
        .iter()
        .map(|endpoint| {
            (
                webhook_deliveries::id.eq(webhook::new_webhook_id()),
                webhook_deliveries::endpoint_id.eq(endpoint),
                webhook_deliveries::event_type.eq(event.event_type.as_str()),
                webhook_deliveries::payload.eq(&payload),
                webhook_deliveries::created_at.eq(event.timestamp),
                webhook_deliveries::state.eq(PENDING),
                webhook_deliveries::attempts.eq(0),
                webhook_deliveries::next_attempt_at.eq(Some(event.timestamp)),
            )
        })
        .collect();
    crate::on_backend!(conn, |c| diesel::insert_into(webhook_deliveries::table)
        .values(&rows)
        .execute(c))
}

/// The audit hook: an audit row whose action raises an event (see
/// `domain::webhook::FROM_AUDIT`) is enqueued with its key's public facts,
/// read in the same transaction. Other actions cost nothing.
pub(crate) fn enqueue_for_audit(conn: &mut DbConn, row: &NewAuditRow) -> QueryResult<usize> {
    let (Some(event_type), Some(key_id)) = (
        webhook::for_audit_action(&row.action),
        row.key_id.as_deref(),
    ) else {
        return Ok(0);
    };
    let endpoints = subscribers(conn, event_type)?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let Some((type_code, name)) = api_keys::table
        .find(key_id)
        .select((api_keys::type_code, api_keys::name))
        .first::<(String, String)>(conn)
        .optional()?
    else {
        return Ok(0);
    };
    let mut data = KeyEventData::new(key_id, &type_code, &name);
    data.actor_email = row.actor_email.clone();
    data.detail = row.detail.clone();
    let event = WebhookEvent {
        event_type,
        timestamp: row.at,
        data,
    };
    enqueue_to(conn, &endpoints, &event)
}

/// Enqueues key.expiring for live keys whose expiry has come within a
/// threshold (14 days, then 1 day) of `now`, at most `limit` keys per
/// threshold, oldest expiry first. Each key is reminded once per threshold,
/// ever: the reminder's row, inserted if absent in the same transaction as
/// its deliveries, decides which instance sends it. A key already within 1
/// day gets only the 1-day reminder. Nothing is read or marked while no
/// endpoint wants key.expiring, so endpoints added later still hear of keys
/// inside a window. Returns the reminders enqueued.
pub fn remind_expiring(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    let mut reminded = 0;
    for (i, days) in EXPIRY_THRESHOLDS.into_iter().enumerate() {
        let after = EXPIRY_THRESHOLDS
            .get(i + 1)
            .map_or(now, |d| now + Duration::days(i64::from(*d)));
        let until = now + Duration::days(i64::from(days));
        // Read first: with no subscriber, no write lock is taken at all.
        if subscribers(conn, EventType::KeyExpiring)?.is_empty() {
            return Ok(reminded);
        }
        reminded += write_transaction(conn, |conn| {
            let endpoints = subscribers(conn, EventType::KeyExpiring)?;
            if endpoints.is_empty() {
                return Ok(0);
            }
            let due: Vec<ExpiringKey> = expiring_query(after, until, days, limit).load(conn)?;
            let mut enqueued = 0;
            for (key_id, type_code, name, expires_at) in due {
                let Some(expires_at) = expires_at else {
                    continue;
                };
                let claimed =
                    crate::on_backend!(conn, |c| diesel::insert_into(expiry_reminders::table)
                        .values((
                            expiry_reminders::key_id.eq(&key_id),
                            expiry_reminders::days.eq(days as i32),
                            expiry_reminders::sent_at.eq(now),
                        ))
                        .on_conflict_do_nothing()
                        .execute(c))?;
                if claimed == 1 {
                    let data = KeyEventData::new(&key_id, &type_code, &name);
                    let event = WebhookEvent::expiring(now, data, expires_at, days);
                    enqueue_to(conn, &endpoints, &event)?;
                    enqueued += 1;
                }
            }
            Ok::<_, diesel::result::Error>(enqueued)
        })?;
    }
    Ok(reminded)
}

type ExpiringKey = (String, String, String, Option<NaiveDateTime>);

type Backend = <DbConn as diesel::Connection>::Backend;

/// The query [`remind_expiring`] runs per threshold (public for the plan test).
pub type ExpiringQuery = api_keys::BoxedQuery<
    'static,
    Backend,
    (
        diesel::sql_types::Text,
        diesel::sql_types::Text,
        diesel::sql_types::Text,
        diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
    ),
>;

/// Live keys expiring in (after, until] not yet reminded at `days`, soonest
/// first: a range of the api_keys_listed_by_expiry index.
pub fn expiring_query(
    after: NaiveDateTime,
    until: NaiveDateTime,
    days: u32,
    limit: i64,
) -> ExpiringQuery {
    api_keys::table
        .filter(api_keys::deleted_at.is_null())
        .filter(api_keys::expires_at.gt(after))
        .filter(api_keys::expires_at.le(until))
        .filter(not(exists(
            expiry_reminders::table
                .filter(expiry_reminders::key_id.eq(api_keys::id))
                .filter(expiry_reminders::days.eq(days as i32)),
        )))
        .order((api_keys::expires_at, api_keys::id))
        .limit(limit)
        .select((
            api_keys::id,
            api_keys::type_code,
            api_keys::name,
            api_keys::expires_at,
        ))
        .into_boxed()
}

/// The outbox rows due at `now` and not leased, oldest due first: a range of
/// the webhook_deliveries_due index (public for the plan test).
pub fn due_query(
    now: NaiveDateTime,
    limit: i64,
) -> webhook_deliveries::BoxedQuery<'static, Backend, diesel::sql_types::Text> {
    use webhook_deliveries::{claimed_until, id, next_attempt_at};
    webhook_deliveries::table
        .filter(next_attempt_at.le(now))
        .filter(claimed_until.is_null().or(claimed_until.lt(now)))
        .order((next_attempt_at, id))
        .limit(limit)
        .select(id)
        .into_boxed()
}

/// A delivery a worker holds the lease on, with what it needs to send it.
#[derive(Debug, Queryable)]
pub struct Claimed {
    pub id: String,
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: i32,
    pub endpoint_id: String,
    pub url: String,
    pub secret_sealed: Vec<u8>,
}

/// Takes up to `limit` due deliveries for `lease_until`, marking them with
/// `claim` (random, one per worker pass). Each row is taken by a conditional
/// UPDATE that succeeds only while the row is due and unleased, so of two
/// workers reaching for one row, one gets it.
pub fn claim_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    claim: &str,
    limit: i64,
) -> QueryResult<Vec<Claimed>> {
    use webhook_deliveries::{claimed_by, claimed_until, id, next_attempt_at};
    let unleased = || claimed_until.is_null().or(claimed_until.lt(now));
    let due: Vec<String> = due_query(now, limit).load(conn)?;
    let mut won = Vec::new();
    for row in due {
        let taken = diesel::update(
            webhook_deliveries::table
                .filter(id.eq(&row))
                .filter(next_attempt_at.le(now))
                .filter(unleased()),
        )
        .set((claimed_until.eq(lease_until), claimed_by.eq(claim)))
        .execute(conn)?;
        if taken == 1 {
            won.push(row);
        }
    }
    if won.is_empty() {
        return Ok(Vec::new());
    }
    let claimed: Vec<Claimed> = webhook_deliveries::table
        .inner_join(webhook_endpoints::table)
        .filter(id.eq_any(&won))
        .filter(claimed_by.eq(claim))
        .select((
            id,
            webhook_deliveries::payload,
            webhook_deliveries::attempts,
            webhook_deliveries::endpoint_id,
            webhook_endpoints::url,
            webhook_endpoints::secret_sealed,
        ))
        .load(conn)?;
    // A row enqueued by a change that committed after its endpoint was
    // deleted has no endpoint left: it can never be sent, so it goes.
    let orphans: Vec<&String> = won
        .iter()
        .filter(|w| !claimed.iter().any(|c| &c.id == *w))
        .collect();
    if !orphans.is_empty() {
        diesel::delete(
            webhook_deliveries::table
                .filter(id.eq_any(orphans))
                .filter(claimed_by.eq(claim)),
        )
        .execute(conn)?;
    }
    Ok(claimed)
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The endpoint answered 2xx.
    Delivered { status: u16 },
    /// Any other answer, or none (`error` says why).
    Failed {
        status: Option<u16>,
        error: Option<String>,
    },
}

/// Records an attempt made at `at` on a row this worker pass claimed: done,
/// due again after the retry schedule's wait, or given up. Returns false if
/// the lease was lost (the row was deleted, or taken after the lease ran out).
pub fn record_attempt(
    conn: &mut DbConn,
    claimed: &Claimed,
    claim: &str,
    attempt: &Attempt,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    use webhook_deliveries as d;
    let attempts = claimed.attempts + 1;
    let (state, next, status, error) = match attempt {
        Attempt::Delivered { status } => (DELIVERED, None, Some(*status), None),
        Attempt::Failed { status, error } => {
            match webhook::retry_after(u32::try_from(attempts).unwrap_or(u32::MAX)) {
                Some(wait) => (PENDING, Some(at + wait), *status, error.clone()),
                None => (FAILED, None, *status, error.clone()),
            }
        }
    };
    let finished = next.is_none().then_some(at);
    let updated = diesel::update(
        d::table
            .filter(d::id.eq(&claimed.id))
            .filter(d::claimed_by.eq(claim)),
    )
    .set((
        d::state.eq(state),
        d::attempts.eq(attempts),
        d::next_attempt_at.eq(next),
        d::claimed_until.eq(None::<NaiveDateTime>),
        d::claimed_by.eq(None::<String>),
        d::last_attempt_at.eq(Some(at)),
        d::last_status.eq(status.map(i32::from)),
        d::last_error.eq(error),
        d::finished_at.eq(finished),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Deletes up to `limit` deliveries delivered or given up before `before`.
pub fn prune(conn: &mut DbConn, before: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    let old: Vec<String> = webhook_deliveries::table
        .filter(webhook_deliveries::finished_at.lt(before))
        .select(webhook_deliveries::id)
        .limit(limit)
        .load(conn)?;
    if old.is_empty() {
        return Ok(0);
    }
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&old)))
        .execute(conn)
}
