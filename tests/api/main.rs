//! The API test suite: one binary, every scenario run on SQLite and on PostgreSQL.

/// Runs each `async fn name(app: TestApp)` of the calling module as
/// `<module>::sqlite::name` and `<module>::postgres::name`.
macro_rules! api_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    $crate::harness::run(sinergi_db::Backend::Sqlite, super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    $crate::harness::run(sinergi_db::Backend::Postgres, super::$name).await;
                }
            )*
        }
    };
}

/// Runs each `fn name(db: TestDb)` of the calling module on both backends, without a server.
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    if let Some(db) = $crate::harness::TestDb::create(sinergi_db::Backend::Sqlite) {
                        super::$name(db);
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(db) = $crate::harness::TestDb::create(sinergi_db::Backend::Postgres) {
                        super::$name(db);
                    }
                }
            )*
        }
    };
}

mod harness;

mod accountability;
mod attacks;
mod audit_checkpoints;
mod auth;
mod contract;
mod dashboard;
mod deploy;
mod employers;
mod findings;
mod health;
mod keys_at_rest;
mod logs;
mod metrics;
mod migrations;
mod openapi;
mod persons;
mod policy;
mod records;
mod rules;
mod stats_safety;
mod sync;
mod sync_client;
mod token_limits;
mod webhooks;
mod webhooks_crash;
mod worker_view;
