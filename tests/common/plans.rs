//! Query plans, for tests that check a query reads an index in order rather
//! than scanning or sorting a table.
//!
//! [`explain`] takes the query object the app itself runs (a boxed diesel
//! query, its bind values included) and returns the plan as text: SQLite's
//! `EXPLAIN QUERY PLAN` lines, indented by depth, or PostgreSQL's `EXPLAIN`.
//! [`explain_sql`] does the same for SQL text. [`assert_reads_index_in_order`]
//! and its siblings then check the plan.
//!
//! ```ignore
//! let query = audit::page_queries(&selection, None, Towards::Older, 51).remove(0);
//! let plan = plans::explain(&mut conn, query);
//! plans::assert_reads_index_range(&plan, &["audit_events_by_action"]);
//! ```

use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Integer, Text};
use latchkey::db::DbConn;

type Multi = <DbConn as Connection>::Backend;

/// The plan of `query` on this connection's database, as text.
pub fn explain<Q>(conn: &mut DbConn, query: Q) -> String
where
    Q: QueryFragment<Multi> + QueryId,
{
    match conn {
        DbConn::Sqlite(_) => {
            let rows: Vec<(i32, i32, i32, String)> =
                SqlitePlan(query).load(conn).expect("EXPLAIN QUERY PLAN");
            sqlite_tree(rows)
        }
        DbConn::Postgres(_) => {
            let lines: Vec<String> = PgPlan(query).load(conn).expect("EXPLAIN");
            lines.join("\n")
        }
    }
}

/// The plan of SQL text (no bind parameters) on this connection's database.
pub fn explain_sql(conn: &mut DbConn, sql: &str) -> String {
    #[derive(QueryableByName)]
    struct SqliteLine {
        #[diesel(sql_type = Integer)]
        id: i32,
        #[diesel(sql_type = Integer)]
        parent: i32,
        #[diesel(sql_type = Text)]
        detail: String,
    }
    #[derive(QueryableByName)]
    struct PgLine {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    match conn {
        DbConn::Sqlite(c) => {
            let rows: Vec<SqliteLine> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .load(c)
                .expect("EXPLAIN QUERY PLAN");
            sqlite_tree(
                rows.into_iter()
                    .map(|r| (r.id, r.parent, 0, r.detail))
                    .collect(),
            )
        }
        DbConn::Postgres(c) => {
            let rows: Vec<PgLine> = diesel::sql_query(format!("EXPLAIN {sql}"))
                .load(c)
                .expect("EXPLAIN");
            rows.into_iter()
                .map(|r| r.line)
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

/// SQLite's plan rows (id, parent, -, detail) as lines indented by depth.
fn sqlite_tree(rows: Vec<(i32, i32, i32, String)>) -> String {
    let mut depth = std::collections::HashMap::new();
    let mut lines = Vec::new();
    for (id, parent, _, detail) in rows {
        let d = depth.get(&parent).map_or(0, |d| d + 1);
        depth.insert(id, d);
        lines.push(format!("{}{detail}", "  ".repeat(d)));
    }
    lines.join("\n")
}

/// Most rows PostgreSQL may expect to sort in a plan that reads an index
/// range (see [`assert_reads_index_range`]).
pub const SMALL_SORT: u64 = 1_000;

/// Checks that `plan` walks the index `index` in the order the query asks
/// for and stops at its LIMIT: the index is named, nothing sorts, nothing
/// scans a table. (SQLite's `SCAN t USING INDEX i` passes: an ordered walk.)
pub fn assert_reads_index_in_order(plan: &str, index: &str) {
    assert!(
        plan.lines().any(|line| names_index(line, index)),
        "the plan does not read {index}:\n{plan}"
    );
    for refused in ["TEMP B-TREE", "Sort", "Seq Scan", "Bitmap Heap Scan"] {
        assert!(!plan.contains(refused), "the plan has {refused:?}:\n{plan}");
    }
    assert_no_table_scan(plan);
}

/// Checks that `plan` reads a range of one of `indexes` that its conditions
/// pick (SQLite `SEARCH … USING INDEX i (…)`, PostgreSQL `Index Cond`), and
/// never scans or sorts the table. SQLite must return the range in index
/// order (no `TEMP B-TREE`). PostgreSQL may instead sort what the range
/// holds when it expects at most [`SMALL_SORT`] rows there (a short range:
/// a rare actor, action or key, or a narrow date range), which is its
/// cheapest plan then; a Sort of more, or any `Seq Scan`, fails.
pub fn assert_reads_index_range(plan: &str, indexes: &[&str]) {
    let lines: Vec<&str> = plan.lines().collect();
    let ranged = lines.iter().enumerate().any(|(n, line)| {
        indexes.iter().any(|index| {
            let sqlite = line.trim_start().starts_with("SEARCH ") && names_index(line, index);
            let postgres = (line.contains(&format!(" using {index} "))
                || line.contains(&format!("Bitmap Index Scan on {index} ")))
                && lines[n + 1..]
                    .iter()
                    .take_while(|next| !next.contains("->"))
                    .any(|next| next.contains("Index Cond"));
            sqlite || postgres
        })
    });
    assert!(ranged, "the plan reads no range of {indexes:?}:\n{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "the plan sorts:\n{plan}");
    assert!(
        !plan.contains("Seq Scan"),
        "the plan scans the table:\n{plan}"
    );
    for line in lines.iter().filter(|l| l.contains("Sort  (")) {
        assert!(
            estimated_rows(line) <= SMALL_SORT,
            "the plan sorts more than {SMALL_SORT} rows:\n{plan}"
        );
    }
    assert_no_table_scan(plan);
}

/// Checks a bounded count's plan (`SELECT … LIMIT cap + 1`): it never sorts,
/// and on PostgreSQL the LIMIT is the top node, so however the rows are found
/// (through an index, or a scan the planner expects to stop early), reading
/// stops at the cap.
pub fn assert_count_is_bounded(plan: &str) {
    assert!(!plan.contains("TEMP B-TREE"), "the count sorts:\n{plan}");
    assert!(!plan.contains("Sort"), "the count sorts:\n{plan}");
    let first = plan.lines().next().unwrap_or_default();
    assert!(
        !first.contains("cost=") || first.starts_with("Limit"),
        "the count is not bounded by its LIMIT:\n{plan}"
    );
}

/// No SQLite `SCAN t` without an index.
fn assert_no_table_scan(plan: &str) {
    for line in plan.lines() {
        let line = line.trim_start();
        assert!(
            !line.starts_with("SCAN ") || line.contains(" USING "),
            "the plan scans a table:\n{plan}"
        );
    }
}

/// The `rows=N` a PostgreSQL plan line expects.
fn estimated_rows(line: &str) -> u64 {
    line.split("rows=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

/// SQLite: "… USING [COVERING ]INDEX i[ (…)]"; PostgreSQL: "Index [Only ]Scan [Backward ]using i on t".
fn names_index(line: &str, index: &str) -> bool {
    ["USING INDEX", "USING COVERING INDEX"].iter().any(|using| {
        let named = format!("{using} {index}");
        line.ends_with(&named) || line.contains(&format!("{named} "))
    }) || (line.contains("Index") && line.contains(&format!(" using {index} ")))
}

/// `EXPLAIN QUERY PLAN <query>` on SQLite: rows (id, parent, notused, detail).
#[derive(QueryId)]
struct SqlitePlan<Q>(Q);

impl<Q> Query for SqlitePlan<Q> {
    type SqlType = (Integer, Integer, Integer, Text);
}

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for SqlitePlan<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("EXPLAIN QUERY PLAN ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q, C> RunQueryDsl<C> for SqlitePlan<Q> {}

/// `EXPLAIN <query>` on PostgreSQL: one text row per plan line.
#[derive(QueryId)]
struct PgPlan<Q>(Q);

impl<Q> Query for PgPlan<Q> {
    type SqlType = Text;
}

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for PgPlan<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("EXPLAIN ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q, C> RunQueryDsl<C> for PgPlan<Q> {}
