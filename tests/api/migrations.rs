//! Migrations: the same names for both backends, and up -> down -> up is clean.

use std::collections::BTreeSet;
use std::path::Path;

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use sinergi_db::conn::{revert_all_migrations, run_migrations};
use sinergi_db::{Db, DbConn};

use crate::harness::TestDb;

db_tests!(up_down_up_is_clean);

fn folders(backend: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| {
            for file in ["up.sql", "down.sql"] {
                assert!(p.join(file).is_file(), "{} has no {file}", p.display());
            }
            p.file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect()
}

#[test]
fn both_backends_have_the_same_migrations() {
    let pg = folders("postgres");
    assert!(!pg.is_empty());
    assert_eq!(pg, folders("sqlite"));
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

/// The versions diesel records for the migration folders (`2026-11-30-000001_core` -> `20261130000001`).
fn folder_versions() -> BTreeSet<String> {
    folders("postgres")
        .iter()
        .map(|f| f.split('_').next().unwrap().replace('-', ""))
        .collect()
}

/// Tables, indexes, views and triggers other than diesel's own bookkeeping.
fn objects(conn: &mut DbConn) -> Vec<String> {
    let rows: Vec<Name> = match conn {
        DbConn::Postgresql(c) => diesel::sql_query(
            "SELECT c.relname::text AS name FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relname NOT LIKE '\\_\\_diesel%' \
             UNION ALL SELECT t.typname::text FROM pg_type t \
             JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd') ORDER BY 1",
        )
        .load(c),
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             AND name NOT LIKE '\\_\\_diesel%' ESCAPE '\\' ORDER BY 1",
        )
        .load(c),
    }
    .expect("list schema objects");
    rows.into_iter().map(|r| r.name).collect()
}

fn applied(conn: &mut DbConn) -> BTreeSet<String> {
    let q = diesel::sql_query("SELECT version FROM __diesel_schema_migrations");
    let rows: Vec<Version> = match conn {
        DbConn::Postgresql(c) => q.load(c),
        DbConn::Sqlite(c) => q.load(c),
    }
    .expect("read applied migrations");
    rows.into_iter().map(|r| r.version).collect()
}

fn up_down_up_is_clean(test_db: TestDb) {
    let migrations = folder_versions();
    let db = Db::connect(test_db.url(), 1).expect("connect");
    let mut conn = db.conn().expect("connection");
    run_migrations(&mut conn).expect("first up");
    assert_eq!(
        applied(&mut conn),
        migrations,
        "the embedded migrations differ from the folders; a new folder needs a rebuild of sinergi-db"
    );
    let schema = objects(&mut conn);
    assert!(schema.iter().any(|t| t == "records"), "{schema:?}");

    revert_all_migrations(&mut conn).expect("down");
    assert!(applied(&mut conn).is_empty());
    assert_eq!(
        objects(&mut conn),
        Vec::<String>::new(),
        "down left objects behind"
    );

    run_migrations(&mut conn).expect("second up");
    assert_eq!(applied(&mut conn), migrations);
    assert_eq!(objects(&mut conn), schema);
}
