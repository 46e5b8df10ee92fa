//! Counting that stops early. `COUNT(*)` over a filter reads every matching
//! row, which on a large table costs more than the page it labels. Counting
//! the rows of `SELECT … LIMIT cap + 1` instead costs at most `cap + 1` index
//! entries, and still tells "exactly 1,234" from "more than 10,000".

use std::fmt;

use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::methods::LimitDsl;
use diesel::sql_types::BigInt;

use crate::db::DbConn;

/// A count that was allowed to stop at a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// This many, counted to the end.
    Exactly(i64),
    /// More than this many; counting stopped there.
    MoreThan(i64),
}

impl Counted {
    /// Adds the count of another part of the same list, keeping the cap.
    pub fn plus(self, other: Counted, cap: i64) -> Counted {
        match (self, other) {
            (Counted::Exactly(a), Counted::Exactly(b)) if a + b <= cap => Counted::Exactly(a + b),
            _ => Counted::MoreThan(cap),
        }
    }

    /// How many more rows may be counted before `cap` is passed: the cap for
    /// counting the next part.
    pub fn room_under(self, cap: i64) -> i64 {
        match self {
            Counted::Exactly(n) => (cap - n).max(0),
            Counted::MoreThan(_) => 0,
        }
    }
}

/// `1,234` or `10,000+`.
impl fmt::Display for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Counted::Exactly(n) => f.write_str(&thousands(n)),
            Counted::MoreThan(n) => write!(f, "{}+", thousands(n)),
        }
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Counts the rows of `query`, stopping after `cap`.
///
/// `query` is any select statement (usually boxed, with its filters, selecting
/// one indexed column such as the id so the count reads the index only); it
/// runs as `SELECT COUNT(*) FROM (query LIMIT cap + 1)`. Give it no ORDER BY:
/// the order does not change a count, and sorting would read every row.
///
/// ```ignore
/// let query = audit_events::table.filter(audit_events::action.eq("key.created"))
///     .select(audit_events::id).into_boxed();
/// match count_up_to(conn, query, 10_000)? { Counted::Exactly(n) => …, Counted::MoreThan(_) => … }
/// ```
pub fn count_up_to<Q>(conn: &mut DbConn, query: Q, cap: i64) -> QueryResult<Counted>
where
    Q: LimitDsl,
    CountRows<Q::Output>: diesel::query_dsl::LoadQuery<'static, DbConn, i64>,
{
    let cap = cap.max(0);
    let n: i64 = CountRows(query.limit(cap + 1)).get_result(conn)?;
    Ok(if n > cap {
        Counted::MoreThan(cap)
    } else {
        Counted::Exactly(n)
    })
}

/// `SELECT COUNT(*) FROM (inner) AS counted`.
#[derive(Debug, Clone, QueryId)]
pub struct CountRows<Q>(Q);

impl<Q> Query for CountRows<Q> {
    type SqlType = BigInt;
}

impl<Q, DB> QueryFragment<DB> for CountRows<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("SELECT COUNT(*) FROM (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(") AS counted");
        Ok(())
    }
}

impl<Q, C> RunQueryDsl<C> for CountRows<Q> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_people_write_them() {
        let cases = [
            (Counted::Exactly(0), "0"),
            (Counted::Exactly(999), "999"),
            (Counted::Exactly(1_000), "1,000"),
            (Counted::Exactly(1_234_567), "1,234,567"),
            (Counted::MoreThan(10_000), "10,000+"),
        ];
        for (count, text) in cases {
            assert_eq!(count.to_string(), text);
        }
        assert_eq!(thousands(-12_345), "-12,345");
    }

    #[test]
    fn parts_add_up_until_the_cap() {
        let cap = 10_000;
        assert_eq!(
            Counted::Exactly(4_000).plus(Counted::Exactly(6_000), cap),
            Counted::Exactly(10_000)
        );
        assert_eq!(
            Counted::Exactly(4_000).plus(Counted::Exactly(6_001), cap),
            Counted::MoreThan(10_000)
        );
        assert_eq!(
            Counted::Exactly(1).plus(Counted::MoreThan(10_000), cap),
            Counted::MoreThan(10_000)
        );
        assert_eq!(Counted::Exactly(9_000).room_under(cap), 1_000);
        assert_eq!(Counted::MoreThan(cap).room_under(cap), 0);
    }
}
