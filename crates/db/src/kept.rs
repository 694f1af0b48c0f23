//! Statements each connection prepares once.
//!
//! `diesel::sql_query` marks every statement it builds as one not to keep
//! prepared, so PostgreSQL parses and plans it again on every call: the
//! `unnest` reads of a batch (dozens per batch of 1,000 records) were parsed
//! each time. A [`Kept`] statement is kept prepared by its text and the
//! types of its parameters for the connection's life, as diesel keeps the
//! statements of its own query builder. Use it only for text that is fixed
//! for a given shape of call (a table, a column, an order), never for text
//! that carries values: each distinct text is a statement the connection keeps.
//!
//! Diesel also marks every `UPDATE` it builds as one not to keep (a
//! changeset of optional values has one text per combination of those left
//! out), so each update was parsed and planned again on both databases:
//! the audit log's and the change feed's head rows once per group, a
//! record's or a finding's row once per change. [`Keep`] keeps a statement
//! of diesel's builder prepared by its text, for the same rule: a text
//! fixed for the call's shape. It is run on the database's own connection
//! and loaded (an update with `RETURNING`): the connection that serves both
//! databases, and diesel's execute-for-a-count, hand a statement to the
//! cache behind a reference, which asks the statement's parts instead.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::LoadQuery;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp, Untyped};
use diesel::{PgConnection, QueryResult, RunQueryDsl, SqliteConnection};

use crate::conn::DbConn;

/// A statement of diesel's builder that each connection prepares once, by
/// its text, though diesel would parse it on every call.
pub(crate) struct Keep<Q>(pub(crate) Q);

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for Keep<Q> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        // Keyed by its text (below), so a statement kept is always the one
        // that text names; the callers only wrap texts fixed for their shape.
        Ok(true)
    }
}

impl<Q> QueryId for Keep<Q> {
    type QueryId = ();
    // Kept by its text, never by its Rust type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Keep<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, C> RunQueryDsl<C> for Keep<Q> {}

impl<Q> Keep<Q> {
    /// Runs a statement that returns one row on the database's own
    /// connection (see the module's notes), and reads the row.
    pub(crate) fn one<'a, T>(self, conn: &mut DbConn) -> QueryResult<T>
    where
        Self: LoadQuery<'a, PgConnection, T> + LoadQuery<'a, SqliteConnection, T>,
    {
        match conn {
            DbConn::Postgresql(c) => self.get_result(c),
            DbConn::Sqlite(c) => self.get_result(c),
        }
    }

    /// Runs an `UPDATE ... RETURNING <a column>` on the database's own
    /// connection and counts the rows it changed (see the module's notes).
    pub(crate) fn changed<'a, T>(self, conn: &mut DbConn) -> QueryResult<usize>
    where
        Self: LoadQuery<'a, PgConnection, T> + LoadQuery<'a, SqliteConnection, T>,
    {
        Ok(match conn {
            DbConn::Postgresql(c) => self.load::<T>(c)?.len(),
            DbConn::Sqlite(c) => self.load::<T>(c)?.len(),
        })
    }
}

/// One parameter's value.
pub(crate) enum Param<'a> {
    /// A `text[]`.
    Texts(&'a [String]),
    /// A `text[]` of borrowed strings.
    Strs(Vec<&'a str>),
    /// A `text`.
    Text(&'a str),
    /// A `bigint`.
    BigInt(i64),
    /// An `integer`.
    Integer(i32),
    /// A `text[]` whose elements may be null.
    OptStrs(Vec<Option<&'a str>>),
    /// A `bigint[]`.
    BigInts(Vec<i64>),
    /// A `bigint[]` whose elements may be null.
    OptBigInts(Vec<Option<i64>>),
    /// An `integer[]`.
    Integers(Vec<i32>),
    /// A `timestamp[]`.
    Stamps(Vec<NaiveDateTime>),
}

impl<'a> Param<'a> {
    /// A `text[]` of one field of each row.
    pub(crate) fn texts<T>(rows: &'a [T], field: impl Fn(&'a T) -> &'a str) -> Param<'a> {
        Param::Strs(rows.iter().map(field).collect())
    }

    /// A `text[]` of one optional field of each row.
    pub(crate) fn opt_texts<T>(
        rows: &'a [T],
        field: impl Fn(&'a T) -> Option<&'a str>,
    ) -> Param<'a> {
        Param::OptStrs(rows.iter().map(field).collect())
    }
}

/// A statement whose text names its parameters `$1`, `$2`, ... and their
/// values, in that order.
pub(crate) struct Kept<'a> {
    sql: String,
    params: Vec<Param<'a>>,
}

impl<'a> Kept<'a> {
    /// The statement `sql` with `params` for its `$1`, `$2`, ...
    pub(crate) fn new(sql: impl Into<String>, params: Vec<Param<'a>>) -> Kept<'a> {
        Kept {
            sql: sql.into(),
            params,
        }
    }
}

impl QueryId for Kept<'_> {
    type QueryId = ();
    // Not one statement per type: diesel keys the cache by the text instead.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Kept<'_> {
    type SqlType = Untyped;
}

impl RunQueryDsl<PgConnection> for Kept<'_> {}

impl QueryFragment<Pg> for Kept<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut rest = self.sql.as_str();
        while let Some(at) = rest.find('$') {
            let digits = rest[at + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len() - at - 1);
            let number: usize = rest[at + 1..at + 1 + digits].parse().map_err(|_| {
                diesel::result::Error::QueryBuilderError(
                    format!("a '$' not followed by a parameter number in: {}", self.sql).into(),
                )
            })?;
            let param = number
                .checked_sub(1)
                .and_then(|i| self.params.get(i))
                .ok_or_else(|| {
                    diesel::result::Error::QueryBuilderError(
                        format!("no value for ${number} in: {}", self.sql).into(),
                    )
                })?;
            out.push_sql(&rest[..at]);
            // diesel numbers the placeholders it writes in the order they come.
            match param {
                Param::Texts(v) => out.push_bind_param::<Array<Text>, _>(v)?,
                Param::Strs(v) => out.push_bind_param::<Array<Text>, _>(v)?,
                Param::Text(v) => out.push_bind_param::<Text, _>(v)?,
                Param::BigInt(v) => out.push_bind_param::<BigInt, _>(v)?,
                Param::Integer(v) => out.push_bind_param::<Integer, _>(v)?,
                Param::OptStrs(v) => out.push_bind_param::<Array<Nullable<Text>>, _>(v)?,
                Param::BigInts(v) => out.push_bind_param::<Array<BigInt>, _>(v)?,
                Param::OptBigInts(v) => out.push_bind_param::<Array<Nullable<BigInt>>, _>(v)?,
                Param::Integers(v) => out.push_bind_param::<Array<Integer>, _>(v)?,
                Param::Stamps(v) => out.push_bind_param::<Array<Timestamp>, _>(v)?,
            }
            rest = &rest[at + 1 + digits..];
        }
        out.push_sql(rest);
        Ok(())
    }
}
