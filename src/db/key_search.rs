//! The key list's queries, built for 1,000,000 keys on both backends.
//!
//! A page is found one of two ways, chosen by bounded lookups rather than by
//! the planner's guesses (which change once `ANALYZE` has run):
//! - **Few candidates.** When one indexed part of the request (the search, a
//!   type, a creator, an expiry window, "never used") names at most
//!   `CANDIDATES` keys, those keys are fetched by id, filtered and sorted:
//!   never more than `CANDIDATES` rows, and the count is exact.
//! - **Walk the order.** Otherwise matches are common, so the page walks the
//!   index of the chosen order from the cursor and tests each key against the
//!   filters until the page is full. Filter columns are wrapped so no planner
//!   can trade that walk for a sort; the count stops at `COUNT_CAP`.
//!
//! Statements are written once, with `?` placeholders renumbered for
//! PostgreSQL, so the plan tests can `EXPLAIN` exactly what a page runs.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::db::DbConn;
use crate::db::count::Counted;
use crate::domain::cursor::Direction;
use crate::domain::key_search::{Condition, ListRequest, Position, Search, SortKey, SortValue};

/// Most keys the few-candidates way fetches.
pub const CANDIDATES: usize = 2_000;
/// The count is exact up to this many keys when nothing is filtered…
pub const COUNT_CAP: i64 = 10_000;
/// …and up to this many when filters are (each key counted costs a test).
pub const FILTERED_COUNT_CAP: i64 = 1_000;
/// Most people a search's text can match as creators.
const MATCHING_PEOPLE: i64 = 100;

/// One page of the list, in the order asked for.
#[derive(Debug, Default)]
pub struct Page {
    pub keys: Vec<ListedKey>,
    /// Where the first and last keys of the page stand, for the links.
    pub first: Option<Position>,
    pub last: Option<Position>,
    pub has_before: bool,
    pub has_after: bool,
}

/// One statement run for a page, with its plan when asked (tests).
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    pub plan: String,
    /// Rows it returned.
    pub rows: usize,
}

/// Finds one page of keys and counts the selection.
pub fn find_page(
    conn: &mut DbConn,
    request: &ListRequest,
    size: usize,
) -> QueryResult<(Page, Counted)> {
    planned(conn, |conn| Finder::new(conn, false).run(request, size))
}

/// The next `size` keys of the selection, in its order, without counting it
/// (for exports, which read it in batches).
pub fn find_keys(conn: &mut DbConn, request: &ListRequest, size: usize) -> QueryResult<Page> {
    planned(conn, |conn| {
        let mut finder = Finder::new(conn, false);
        finder.counting = false;
        Ok(finder.run(request, size)?.0)
    })
}

/// Runs a page's statements; on PostgreSQL with the plans this module is
/// built around made certain for the transaction. Every statement here is
/// bounded by an ordered index range, a LIMIT or a list of at most
/// `CANDIDATES` ids, yet without fresh statistics PostgreSQL guesses a large
/// table small and would read all of it (a sequential or bitmap scan) and sort
/// it. Pricing those out leaves it the index walks; a sort that has no
/// alternative (of candidates only) still happens. (The priced-out plans'
/// huge costs would also switch on JIT compiling, which costs more than
/// these statements take: it is off too.) The trigram index is read by
/// bitmap only, so its lookup turns bitmaps back on for itself.
pub fn planned<T>(
    conn: &mut DbConn,
    run: impl FnOnce(&mut DbConn) -> QueryResult<T>,
) -> QueryResult<T> {
    if matches!(conn, DbConn::Sqlite(_)) {
        return run(conn);
    }
    conn.transaction(|conn| {
        diesel::connection::SimpleConnection::batch_execute(
            conn,
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; \
             SET LOCAL enable_sort = off; SET LOCAL jit = off",
        )?;
        run(conn)
    })
}

/// What `find_page` runs, each statement with its query plan.
pub fn explain_page(
    conn: &mut DbConn,
    request: &ListRequest,
    size: usize,
) -> QueryResult<Vec<Statement>> {
    planned(conn, |conn| {
        let mut finder = Finder::new(conn, true);
        finder.run(request, size)?;
        Ok(finder.statements)
    })
}

/// Adds keys written while the text index's triggers were set aside (see
/// `db::bulk`) to that index. SQLite only: PostgreSQL's index is an index.
pub fn index_new_keys(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Sqlite(c) = conn {
        diesel::connection::SimpleConnection::batch_execute(
            c,
            "CREATE TEMP TABLE indexed_before AS SELECT COALESCE(MAX(seq), 0) AS seq FROM key_search_rows;
             INSERT INTO key_search_rows (key_id)
                 SELECT id FROM api_keys WHERE id NOT IN (SELECT key_id FROM key_search_rows) ORDER BY id;
             INSERT INTO key_text (rowid, text)
                 SELECT s.seq, k.name || char(1) || k.contact_email
                 FROM key_search_rows s JOIN api_keys k ON k.id = s.key_id
                 WHERE s.seq > (SELECT seq FROM indexed_before);
             DROP TABLE indexed_before;",
        )?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Bind {
    Text(String),
    Time(NaiveDateTime),
}

/// SQL text with `?` placeholders and the values they stand for.
#[derive(Debug, Default, Clone)]
struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    fn new(text: &str) -> Self {
        Sql {
            text: text.to_owned(),
            binds: Vec::new(),
        }
    }

    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    fn text(&mut self, value: &str) -> &mut Self {
        self.text.push('?');
        self.binds.push(Bind::Text(value.to_owned()));
        self
    }

    fn time(&mut self, value: NaiveDateTime) -> &mut Self {
        self.text.push('?');
        self.binds.push(Bind::Time(value));
        self
    }

    /// `(?, ?, …)`; callers never pass an empty list.
    fn list(&mut self, values: &[String]) -> &mut Self {
        self.text.push('(');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.text(value);
        }
        self.text.push(')');
        self
    }

    /// The text for PostgreSQL: `?` becomes `$1`, `$2`, …
    fn numbered(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 8);
        let mut n = 0;
        for ch in self.text.chars() {
            if ch == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(ch);
            }
        }
        out
    }
}

/// A listed key as the list and its CSV show it (its creator by id; the
/// few people are looked up by the caller). Never any secret material.
#[derive(Debug, Clone, QueryableByName)]
pub struct ListedKey {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub type_code: String,
    #[diesel(sql_type = Text)]
    pub scheme: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub contact_email: String,
    #[diesel(sql_type = Text)]
    pub last_four: String,
    #[diesel(sql_type = Text)]
    pub allowed_ips: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub created_by: Option<String>,
    #[diesel(sql_type = Timestamp)]
    pub created_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub expires_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Integer>)]
    pub rate_limit: Option<i32>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub last_used_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_used_ip: Option<String>,
    #[diesel(sql_type = Timestamp)]
    pub changed_at: NaiveDateTime,
    #[diesel(embed)]
    pub state: crate::db::keys::KeyState,
    #[diesel(sql_type = Text)]
    pub application_id: String,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct SqlitePlanRow {
    #[diesel(sql_type = Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PostgresPlanRow {
    #[diesel(sql_type = Text)]
    #[diesel(column_name = "QUERY PLAN")]
    line: String,
}

/// Runs `sql` on whichever backend `conn` is, loading rows of type `$row`.
macro_rules! load_rows {
    ($conn:expr, $sql:expr, $row:ty) => {{
        let sql: &Sql = $sql;
        match $conn {
            DbConn::Sqlite(c) => {
                let mut query = diesel::sql_query(sql.text.clone()).into_boxed();
                for bind in &sql.binds {
                    query = match bind {
                        Bind::Text(v) => query.bind::<Text, _>(v.clone()),
                        Bind::Time(v) => query.bind::<Timestamp, _>(*v),
                    };
                }
                query.load::<$row>(c)
            }
            DbConn::Postgres(c) => {
                let mut query = diesel::sql_query(sql.numbered()).into_boxed();
                for bind in &sql.binds {
                    query = match bind {
                        Bind::Text(v) => query.bind::<Text, _>(v.clone()),
                        Bind::Time(v) => query.bind::<Timestamp, _>(*v),
                    };
                }
                query.load::<$row>(c)
            }
        }
    }};
}

struct Finder<'c> {
    conn: &'c mut DbConn,
    explain: bool,
    /// Whether to count the selection (a page does; an export does not).
    counting: bool,
    statements: Vec<Statement>,
}

/// A column as the walk's filters see it: wrapped, so that no index can be
/// chosen for it in place of the order's own.
fn hidden(column: &str) -> String {
    format!("COALESCE(api_keys.{column}, api_keys.{column})")
}

/// The partial index that holds the listed keys in this order.
fn order_index(key: SortKey) -> &'static str {
    match key {
        SortKey::Created => "api_keys_listed_by_created",
        SortKey::Expires => "api_keys_listed_by_expiry",
        SortKey::LastUsed => "api_keys_listed_by_last_use",
        SortKey::Name => "api_keys_listed_by_name",
    }
}

fn sort_column(key: SortKey) -> &'static str {
    match key {
        SortKey::Created => "created_at",
        SortKey::Expires => "expires_at",
        SortKey::LastUsed => "last_used_at",
        SortKey::Name => "name",
    }
}

const PLACED: &str = "SELECT api_keys.id AS id, api_keys.type_code AS type_code, \
     api_keys.scheme AS scheme, api_keys.name AS name, api_keys.contact_email AS contact_email, \
     api_keys.last_four AS last_four, api_keys.allowed_ips AS allowed_ips, \
     api_keys.created_by AS created_by, api_keys.created_at AS created_at, \
     api_keys.expires_at AS expires_at, api_keys.rate_limit AS rate_limit, \
     api_keys.last_used_at AS last_used_at, api_keys.last_used_ip AS last_used_ip, \
     api_keys.changed_at AS changed_at, api_keys.disabled_at AS disabled_at, \
     api_keys.disabled_by AS disabled_by, api_keys.replaced_by AS replaced_by, \
     api_keys.replaces AS replaces, api_keys.stops_at AS stops_at, \
     api_keys.leaked_at AS leaked_at, api_keys.leaked_where AS leaked_where, \
     api_keys.application_id AS application_id FROM api_keys";

/// Listed keys, for a walk: the order's partial index covers exactly these.
const LISTED: &str = " WHERE api_keys.deleted_at IS NULL";
/// Listed keys, for candidates fetched by id: wrapped, so that no partial
/// index is read in full as a list of the listed keys.
const LISTED_BY_ID: &str =
    " WHERE COALESCE(api_keys.deleted_at, api_keys.deleted_at) IS NULL AND api_keys.id IN ";

/// `%text%` for LIKE with `\` as the escape character.
fn contains_pattern(folded: &str) -> String {
    let mut pattern = String::with_capacity(folded.len() + 2);
    pattern.push('%');
    for ch in folded.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// An FTS5 query over the trigram index: every trigram of the text must be
/// present. Texts shorter than three characters have none.
fn trigram_query(folded: &str) -> Option<String> {
    let chars: Vec<char> = folded.chars().collect();
    if chars.len() < 3 {
        return None;
    }
    let mut grams: Vec<String> = chars
        .windows(3)
        .map(|w| w.iter().collect::<String>())
        .collect();
    grams.sort();
    grams.dedup();
    Some(
        grams
            .iter()
            .map(|g| format!("\"{}\"", g.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" AND "),
    )
}

impl ListedKey {
    /// The key as the console's views take it, with its creator's email.
    pub fn into_view(self, created_by_email: Option<String>) -> crate::db::keys::KeyView {
        crate::db::keys::KeyView {
            id: self.id,
            type_code: self.type_code,
            scheme: self.scheme,
            name: self.name,
            contact_email: self.contact_email,
            last_four: self.last_four,
            allowed_ips: self.allowed_ips,
            created_at: self.created_at,
            expires_at: self.expires_at,
            rate_limit: self.rate_limit,
            last_used_at: self.last_used_at,
            last_used_ip: self.last_used_ip,
            created_by_email,
            changed_at: self.changed_at,
            state: self.state,
            application_id: self.application_id,
        }
    }

    /// This key's place in an order: what a page after it starts from.
    pub fn position(&self, key: SortKey) -> Position {
        let value = match key {
            SortKey::Created => SortValue::Time(Some(self.created_at)),
            SortKey::Expires => SortValue::Time(self.expires_at),
            SortKey::LastUsed => SortValue::Time(self.last_used_at),
            SortKey::Name => SortValue::Text(self.name.clone()),
        };
        Position {
            value,
            id: self.id.clone(),
        }
    }
}

impl<'c> Finder<'c> {
    fn new(conn: &'c mut DbConn, explain: bool) -> Self {
        Finder {
            conn,
            explain,
            counting: true,
            statements: Vec::new(),
        }
    }

    fn is_postgres(&self) -> bool {
        matches!(self.conn, DbConn::Postgres(_))
    }

    fn record(&mut self, sql: &Sql, rows: usize) -> QueryResult<()> {
        if !self.explain {
            return Ok(());
        }
        let plan = if self.is_postgres() {
            let mut explain = sql.clone();
            explain.text = format!("EXPLAIN {}", sql.text);
            load_rows!(&mut *self.conn, &explain, PostgresPlanRow)?
                .into_iter()
                .map(|r| r.line)
                .collect::<Vec<_>>()
        } else {
            let mut explain = sql.clone();
            explain.text = format!("EXPLAIN QUERY PLAN {}", sql.text);
            load_rows!(&mut *self.conn, &explain, SqlitePlanRow)?
                .into_iter()
                .map(|r| r.detail)
                .collect::<Vec<_>>()
        };
        self.statements.push(Statement {
            sql: sql.text.clone(),
            plan: plan.join("\n"),
            rows,
        });
        Ok(())
    }

    fn ids(&mut self, sql: &Sql) -> QueryResult<Vec<String>> {
        let ids: Vec<String> = load_rows!(&mut *self.conn, sql, IdRow)?
            .into_iter()
            .map(|r| r.id)
            .collect();
        self.record(sql, ids.len())?;
        Ok(ids)
    }

    fn placed(&mut self, sql: &Sql) -> QueryResult<Vec<ListedKey>> {
        let rows = load_rows!(&mut *self.conn, sql, ListedKey)?;
        self.record(sql, rows.len())?;
        Ok(rows)
    }

    fn count(&mut self, sql: &Sql) -> QueryResult<i64> {
        let n = load_rows!(&mut *self.conn, sql, CountRow)?
            .first()
            .map_or(0, |r| r.n);
        self.record(sql, 1)?;
        Ok(n)
    }

    fn run(&mut self, request: &ListRequest, size: usize) -> QueryResult<(Page, Counted)> {
        let creators = match &request.search {
            Some(search) => self.people_matching(&search.folded)?,
            None => Vec::new(),
        };
        match self.candidates(request, &creators)? {
            Some(ids) => self.page_of_candidates(request, &creators, &ids, size),
            None => self.page_by_walking(request, &creators, size),
        }
    }

    /// Runs `read` with bitmap scans allowed (PostgreSQL's GIN indexes,
    /// the trigram one among them, are read no other way).
    fn with_bitmaps<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> QueryResult<T>,
    ) -> QueryResult<T> {
        if !self.is_postgres() {
            return read(self);
        }
        diesel::connection::SimpleConnection::batch_execute(
            &mut *self.conn,
            "SET LOCAL enable_bitmapscan = on",
        )?;
        let result = read(self);
        diesel::connection::SimpleConnection::batch_execute(
            &mut *self.conn,
            "SET LOCAL enable_bitmapscan = off",
        )?;
        result
    }

    /// Users whose email contains the search text (there are few users).
    fn people_matching(&mut self, folded: &str) -> QueryResult<Vec<String>> {
        let mut sql = Sql::new("SELECT id FROM users WHERE lower(email) LIKE ");
        sql.text(&contains_pattern(folded))
            .push(&format!(" ESCAPE '\\' LIMIT {MATCHING_PEOPLE}"));
        self.ids(&sql)
    }

    /// The keys named by the most selective indexed part of the request, if
    /// one names at most `CANDIDATES`.
    fn candidates(
        &mut self,
        request: &ListRequest,
        creators: &[String],
    ) -> QueryResult<Option<Vec<String>>> {
        if let Some(search) = &request.search
            && let Some(ids) = self.search_candidates(search, creators)?
        {
            return Ok(Some(ids));
        }
        for condition in &request.conditions {
            let mut sql = Sql::new("SELECT id FROM api_keys WHERE deleted_at IS NULL AND ");
            // Each lookup is ordered by its own index, so that index is the
            // one read (however the statistics look) and the LIMIT bounds it.
            match condition {
                Condition::TypeIs(code) => sql
                    .push("type_code = ")
                    .text(code)
                    .push(" ORDER BY type_code"),
                Condition::Disabled(codes) => {
                    // Switched-off keys, and keys of switched-off types: two lookups.
                    sql.push("disabled_at IS NOT NULL ORDER BY disabled_at");
                    let Some(mut ids) = self.at_most_candidates(&mut sql)? else {
                        continue;
                    };
                    if !codes.is_empty() {
                        let mut by_type =
                            Sql::new("SELECT id FROM api_keys WHERE deleted_at IS NULL AND ");
                        by_type
                            .push("type_code IN ")
                            .list(codes)
                            .push(" ORDER BY type_code");
                        let Some(more) = self.at_most_candidates(&mut by_type)? else {
                            continue;
                        };
                        ids.extend(more);
                        ids.sort();
                        ids.dedup();
                    }
                    if ids.len() <= CANDIDATES {
                        return Ok(Some(ids));
                    }
                    continue;
                }
                Condition::Rolled => sql.push("replaced_by IS NOT NULL ORDER BY stops_at"),
                Condition::Leaked => sql.push("leaked_at IS NOT NULL ORDER BY leaked_at"),
                Condition::CreatedBy(user) => sql
                    .push("created_by = ")
                    .text(user)
                    .push(" ORDER BY created_by"),
                Condition::ExpiresBetween { after, until } => sql
                    .push("expires_at > ")
                    .time(*after)
                    .push(" AND expires_at <= ")
                    .time(*until)
                    .push(" ORDER BY expires_at"),
                Condition::ExpiredBy(at) => sql
                    .push("expires_at <= ")
                    .time(*at)
                    .push(" ORDER BY expires_at"),
                Condition::NeverUsed => sql.push("last_used_at IS NULL ORDER BY last_used_at"),
                Condition::NotDisabled(_)
                | Condition::NotRolled
                | Condition::ExpiresAfter(_)
                | Condition::UnusedSince(_) => continue,
            };
            if let Some(ids) = self.at_most_candidates(&mut sql)? {
                return Ok(Some(ids));
            }
        }
        Ok(None)
    }

    fn at_most_candidates(&mut self, sql: &mut Sql) -> QueryResult<Option<Vec<String>>> {
        sql.push(&format!(" LIMIT {}", CANDIDATES + 1));
        let ids = self.ids(sql)?;
        Ok((ids.len() <= CANDIDATES).then_some(ids))
    }

    /// Every key the search could match, if they are few: by id, by last
    /// four, by creator and by text (through the trigram index).
    fn search_candidates(
        &mut self,
        search: &Search,
        creators: &[String],
    ) -> QueryResult<Option<Vec<String>>> {
        let mut found: Vec<String> = Vec::new();
        if let Some(id) = &search.key_id {
            found.push(id.clone());
        }
        let text = if self.is_postgres() {
            (search.folded.chars().count() >= 3).then(|| {
                // Deleted keys too: the candidates are filtered afterwards.
                let mut sql = Sql::new(
                    "SELECT id FROM api_keys WHERE \
                     (lower(name) || chr(1) || lower(contact_email)) LIKE ",
                );
                sql.text(&contains_pattern(&search.folded))
                    .push(" ESCAPE '\\'");
                sql
            })
        } else {
            trigram_query(&search.folded).map(|query| {
                let mut sql = Sql::new(
                    "SELECT key_id AS id FROM key_search_rows WHERE seq IN \
                     (SELECT rowid FROM key_text WHERE key_text MATCH ",
                );
                sql.text(&query)
                    .push(&format!(" LIMIT {})", CANDIDATES + 1));
                sql
            })
        };
        let Some(mut text) = text else {
            // Too short to look up: almost every key contains it.
            return Ok(None);
        };
        if self.is_postgres() {
            text.push(&format!(" LIMIT {}", CANDIDATES + 1));
        }
        let text_ids = self.with_bitmaps(|finder| finder.ids(&text))?;
        if text_ids.len() > CANDIDATES {
            return Ok(None);
        }
        found.extend(text_ids);
        let mut lookups = Vec::new();
        if let Some(last_four) = &search.last_four {
            let mut sql =
                Sql::new("SELECT id FROM api_keys WHERE deleted_at IS NULL AND last_four = ");
            sql.text(last_four)
                .push(&format!(" ORDER BY last_four LIMIT {}", CANDIDATES + 1));
            lookups.push(sql);
        }
        if !creators.is_empty() {
            let mut sql =
                Sql::new("SELECT id FROM api_keys WHERE deleted_at IS NULL AND created_by IN ");
            sql.list(creators)
                .push(&format!(" ORDER BY created_by LIMIT {}", CANDIDATES + 1));
            lookups.push(sql);
        }
        for sql in &lookups {
            let ids = self.ids(sql)?;
            if ids.len() > CANDIDATES {
                return Ok(None);
            }
            found.extend(ids);
        }
        found.sort();
        found.dedup();
        Ok((found.len() <= CANDIDATES).then_some(found))
    }

    /// Appends ` AND <every condition>` over wrapped columns.
    fn filters(sql: &mut Sql, request: &ListRequest, creators: &[String]) {
        Self::conditions(sql, request, creators, hidden);
    }

    /// Appends ` AND <every condition>` over plain columns, so the planner
    /// may count through whichever index suits the filters best.
    fn plain_filters(sql: &mut Sql, request: &ListRequest, creators: &[String]) {
        Self::conditions(sql, request, creators, |c| format!("api_keys.{c}"));
    }

    fn conditions(
        sql: &mut Sql,
        request: &ListRequest,
        creators: &[String],
        hidden: fn(&str) -> String,
    ) {
        for condition in &request.conditions {
            sql.push(" AND ");
            match condition {
                Condition::TypeIs(code) => sql.push(&hidden("type_code")).push(" = ").text(code),
                Condition::Disabled(codes) => {
                    sql.push(&format!("({} IS NOT NULL", hidden("disabled_at")));
                    if !codes.is_empty() {
                        sql.push(&format!(" OR {} IN ", hidden("type_code")))
                            .list(codes);
                    }
                    sql.push(")")
                }
                Condition::NotDisabled(codes) => {
                    sql.push(&format!("{} IS NULL", hidden("disabled_at")));
                    if !codes.is_empty() {
                        sql.push(&format!(" AND {} NOT IN ", hidden("type_code")))
                            .list(codes);
                    }
                    &mut *sql
                }
                Condition::Rolled => sql.push(&hidden("replaced_by")).push(" IS NOT NULL"),
                Condition::NotRolled => sql.push(&hidden("replaced_by")).push(" IS NULL"),
                Condition::Leaked => sql.push(&hidden("leaked_at")).push(" IS NOT NULL"),
                Condition::CreatedBy(user) => {
                    sql.push(&hidden("created_by")).push(" = ").text(user)
                }
                Condition::ExpiresAfter(at) => {
                    let expires = hidden("expires_at");
                    sql.push(&format!("({expires} IS NULL OR {expires} > "))
                        .time(*at)
                        .push(")")
                }
                Condition::ExpiresBetween { after, until } => {
                    let expires = hidden("expires_at");
                    sql.push(&format!("({expires} > "))
                        .time(*after)
                        .push(&format!(" AND {expires} <= "))
                        .time(*until)
                        .push(")")
                }
                Condition::ExpiredBy(at) => sql.push(&hidden("expires_at")).push(" <= ").time(*at),
                Condition::NeverUsed => sql.push(&hidden("last_used_at")).push(" IS NULL"),
                Condition::UnusedSince(at) => {
                    let used = hidden("last_used_at");
                    let created = hidden("created_at");
                    sql.push(&format!("({used} < "))
                        .time(*at)
                        .push(&format!(" OR ({used} IS NULL AND {created} < "))
                        .time(*at)
                        .push("))")
                }
            };
        }
        if let Some(search) = &request.search {
            let pattern = contains_pattern(&search.folded);
            sql.push(" AND (lower(api_keys.name) LIKE ")
                .text(&pattern)
                .push(" ESCAPE '\\' OR lower(api_keys.contact_email) LIKE ")
                .text(&pattern)
                .push(" ESCAPE '\\'");
            if let Some(id) = &search.key_id {
                sql.push(&format!(" OR {} = ", hidden("id"))).text(id);
            }
            if let Some(last_four) = &search.last_four {
                sql.push(&format!(" OR {} = ", hidden("last_four")))
                    .text(last_four);
            }
            if !creators.is_empty() {
                sql.push(&format!(" OR {} IN ", hidden("created_by")))
                    .list(creators);
            }
            sql.push(")");
        }
    }

    fn page_of_candidates(
        &mut self,
        request: &ListRequest,
        creators: &[String],
        ids: &[String],
        size: usize,
    ) -> QueryResult<(Page, Counted)> {
        if ids.is_empty() {
            return Ok((Page::default(), Counted::Exactly(0)));
        }
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM api_keys");
        count.push(LISTED_BY_ID).list(ids);
        Self::filters(&mut count, request, creators);
        let total = if self.counting {
            self.count(&count)?
        } else {
            0
        };
        let mut reader =
            |finder: &mut Self, from: Option<&Position>, ascending: bool, limit: usize| {
                let mut sql = Sql::new(PLACED);
                sql.push(LISTED_BY_ID).list(ids);
                Self::filters(&mut sql, request, creators);
                let column = hidden(sort_column(request.sort.key));
                let id = hidden("id");
                let missing_greatest = request.sort.key.missing_is_greatest();
                if let Some(cursor) = from {
                    sql.push(" AND ");
                    after_cursor(&mut sql, &column, &id, cursor, ascending, missing_greatest);
                }
                // Keys without a value stand after (or before) every value.
                let dir = if ascending { "ASC" } else { "DESC" };
                if let Some(greatest) = missing_greatest {
                    let missing_last = greatest == ascending;
                    sql.push(&format!(
                        " ORDER BY CASE WHEN {column} IS NULL THEN {} ELSE {} END, ",
                        if missing_last { 1 } else { 0 },
                        if missing_last { 0 } else { 1 },
                    ));
                } else {
                    sql.push(" ORDER BY ");
                }
                sql.push(&format!("{column} {dir}, {id} {dir} LIMIT {limit}"));
                finder.placed(&sql)
            };
        let page = read_page(self, request, size, &mut reader)?;
        Ok((page, Counted::Exactly(total)))
    }

    fn page_by_walking(
        &mut self,
        request: &ListRequest,
        creators: &[String],
        size: usize,
    ) -> QueryResult<(Page, Counted)> {
        let cap = if request.is_filtered() {
            FILTERED_COUNT_CAP
        } else {
            COUNT_CAP
        };
        let key = request.sort.key;
        // SQLite is told which index to walk: with statistics it would
        // rather skip-scan another index that holds deleted_at and sort
        // (seconds at 1,000,000 keys). PostgreSQL is steered by `planned`.
        let walk_index = if self.is_postgres() {
            String::new()
        } else {
            format!(" INDEXED BY {}", order_index(key))
        };
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM (SELECT 1 FROM api_keys");
        if request.is_filtered() {
            count.push(LISTED);
            Self::plain_filters(&mut count, request, creators);
        } else {
            count.push(&walk_index).push(LISTED);
        }
        count.push(&format!(" LIMIT {}) AS selection", cap + 1));
        let counted = if self.counting {
            self.count(&count)?
        } else {
            0
        };
        let total = if counted > cap {
            Counted::MoreThan(cap)
        } else {
            Counted::Exactly(counted)
        };
        let column = format!("api_keys.{}", sort_column(key));
        let mut reader = |finder: &mut Self,
                          from: Option<&Position>,
                          ascending: bool,
                          limit: usize| {
            let dir = if ascending { "ASC" } else { "DESC" };
            let mut rows: Vec<ListedKey> = Vec::new();
            for segment in segments(key, ascending, from) {
                if rows.len() >= limit {
                    break;
                }
                let mut sql = Sql::new(PLACED);
                sql.push(&walk_index).push(LISTED);
                Self::filters(&mut sql, request, creators);
                match &segment {
                    Segment::Values(start) => {
                        if key.missing_is_greatest().is_some() {
                            sql.push(&format!(" AND {column} IS NOT NULL"));
                        }
                        if let Some(cursor) = start {
                            sql.push(" AND ");
                            after_cursor(&mut sql, &column, "api_keys.id", cursor, ascending, None);
                        }
                        sql.push(&format!(" ORDER BY {column} {dir}, api_keys.id {dir}"));
                    }
                    Segment::Missing(after_id) => {
                        sql.push(&format!(" AND {column} IS NULL"));
                        if let Some(id) = after_id {
                            sql.push(if ascending {
                                " AND api_keys.id > "
                            } else {
                                " AND api_keys.id < "
                            })
                            .text(id);
                        }
                        // Ordered like the index (its first column is NULL
                        // throughout), so PostgreSQL reads it in order too.
                        sql.push(&format!(" ORDER BY {column} {dir}, api_keys.id {dir}"));
                    }
                }
                sql.push(&format!(" LIMIT {}", limit - rows.len()));
                rows.extend(finder.placed(&sql)?);
            }
            Ok(rows)
        };
        let page = read_page(self, request, size, &mut reader)?;
        Ok((page, total))
    }
}

/// Reads `limit` placed keys in one direction from a cursor.
type Reader<'r, 'c> =
    dyn FnMut(&mut Finder<'c>, Option<&Position>, bool, usize) -> QueryResult<Vec<ListedKey>> + 'r;

/// Turns the request's cursor and direction into a page, with whether there
/// are keys on either side of it.
fn read_page<'c>(
    finder: &mut Finder<'c>,
    request: &ListRequest,
    size: usize,
    reader: &mut Reader<'_, 'c>,
) -> QueryResult<Page> {
    let forward = !request.sort.descending;
    let key = request.sort.key;
    let (mut rows, has_before, has_after) = match &request.from {
        None => {
            let mut rows = reader(finder, None, forward, size + 1)?;
            let more = rows.len() > size;
            rows.truncate(size);
            (rows, false, more)
        }
        Some((Direction::After, cursor)) => {
            let mut rows = reader(finder, Some(cursor), forward, size + 1)?;
            let more = rows.len() > size;
            rows.truncate(size);
            (rows, true, more)
        }
        Some((Direction::Before, cursor)) => {
            let mut rows = reader(finder, Some(cursor), !forward, size + 1)?;
            if rows.len() <= size {
                // Back at the start: show a whole first page.
                let mut rows = reader(finder, None, forward, size + 1)?;
                let more = rows.len() > size;
                rows.truncate(size);
                return Ok(page_of(rows, key, false, more));
            }
            rows.truncate(size);
            rows.reverse();
            (rows, true, true)
        }
    };
    rows.truncate(size);
    Ok(page_of(rows, key, has_before, has_after))
}

fn page_of(rows: Vec<ListedKey>, key: SortKey, has_before: bool, has_after: bool) -> Page {
    Page {
        first: rows.first().map(|r| r.position(key)),
        last: rows.last().map(|r| r.position(key)),
        keys: rows,
        has_before,
        has_after,
    }
}

/// A run of one order's index: the keys with a value, or those without one.
enum Segment {
    /// Keys with a value, from just past the cursor (or the start).
    Values(Option<Position>),
    /// Keys without one, by id, from just past this id (or the start).
    Missing(Option<String>),
}

/// The runs an order walks through from a cursor, in walking order.
fn segments(key: SortKey, ascending: bool, from: Option<&Position>) -> Vec<Segment> {
    let Some(missing_greatest) = key.missing_is_greatest() else {
        return vec![Segment::Values(from.cloned())];
    };
    // Walking towards greater values reaches the missing ones last when they count as greatest.
    let missing_last = missing_greatest == ascending;
    let on_missing = matches!(
        from,
        Some(Position {
            value: SortValue::Time(None),
            ..
        })
    );
    match (from, missing_last, on_missing) {
        (None, true, _) => vec![Segment::Values(None), Segment::Missing(None)],
        (None, false, _) => vec![Segment::Missing(None), Segment::Values(None)],
        (Some(c), true, false) => vec![Segment::Values(Some(c.clone())), Segment::Missing(None)],
        (Some(c), true, true) => vec![Segment::Missing(Some(c.id.clone()))],
        (Some(c), false, false) => vec![Segment::Values(Some(c.clone()))],
        (Some(c), false, true) => vec![Segment::Missing(Some(c.id.clone())), Segment::Values(None)],
    }
}

/// Appends the condition "comes after `cursor`" when walking `ascending`
/// (for the walk, `missing_greatest` is None: segments handle missing values).
fn after_cursor(
    sql: &mut Sql,
    column: &str,
    id: &str,
    cursor: &Position,
    ascending: bool,
    missing_greatest: Option<bool>,
) {
    let (gt, ge) = if ascending { (">", ">=") } else { ("<", "<=") };
    match (&cursor.value, missing_greatest) {
        (SortValue::Text(value), _) => {
            // `c >= v AND (c > v OR id > i)`: the first part is an index range.
            sql.push(&format!("{column} {ge} "))
                .text(value)
                .push(&format!(" AND ({column} {gt} "))
                .text(value)
                .push(&format!(" OR {id} {gt} "))
                .text(&cursor.id)
                .push(")");
        }
        (SortValue::Time(Some(at)), None) => {
            sql.push(&format!("{column} {ge} "))
                .time(*at)
                .push(&format!(" AND ({column} {gt} "))
                .time(*at)
                .push(&format!(" OR {id} {gt} "))
                .text(&cursor.id)
                .push(")");
        }
        // Candidates only (a few thousand rows): missing values sort as
        // greatest or least.
        (SortValue::Time(Some(at)), Some(greatest)) => {
            let missing_after = greatest == ascending;
            sql.push("(");
            if missing_after {
                sql.push(&format!("{column} IS NULL OR "));
            }
            sql.push(&format!("({column} {gt} "))
                .time(*at)
                .push(&format!(" OR ({column} = "))
                .time(*at)
                .push(&format!(" AND {id} {gt} "))
                .text(&cursor.id)
                .push(")))");
        }
        (SortValue::Time(None), Some(greatest)) => {
            let missing_after = greatest == ascending;
            sql.push(&format!("(({column} IS NULL AND {id} {gt} "))
                .text(&cursor.id)
                .push(")");
            if !missing_after {
                // The keys with values all come after the missing ones.
                sql.push(&format!(" OR {column} IS NOT NULL"));
            }
            sql.push(")");
        }
        (SortValue::Time(None), None) => {
            sql.push(&format!("{column} IS NULL AND {id} {gt} "))
                .text(&cursor.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("50%_off\\x"), "%50\\%\\_off\\\\x%");
    }

    #[test]
    fn trigram_queries_need_every_trigram() {
        assert_eq!(trigram_query("ab"), None);
        assert_eq!(
            trigram_query("acme\"x"),
            Some("\"acm\" AND \"cme\" AND \"e\"\"x\" AND \"me\"\"\"".to_owned())
        );
    }

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        let mut sql = Sql::new("SELECT 1 WHERE a = ");
        sql.text("x")
            .push(" AND b IN ")
            .list(&["1".into(), "2".into()]);
        assert_eq!(sql.numbered(), "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
    }
}
