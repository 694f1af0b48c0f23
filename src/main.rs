//! `sinergi`: the server and its administration commands.

mod audit_cmd;
mod demo;
mod sync;

use std::net::TcpListener;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sinergi_api::{admin, AppState, Settings};
use sinergi_db::Db;

#[derive(Parser)]
#[command(
    name = "sinergi",
    version,
    about = "Inter-agency data-sharing API for records about foreign workers (TKA)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server (migrates the database first).
    Serve {
        /// Load the Kukar demo data and demo clients (prints their credentials).
        #[arg(long)]
        demo: bool,
        /// Listen address (env SINERGI_BIND, default 127.0.0.1:8080).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Manage agencies.
    Agency {
        #[command(subcommand)]
        command: AgencyCommand,
    },
    /// Manage API clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Manage token signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Compliance findings.
    Findings {
        #[command(subcommand)]
        command: FindingsCommand,
    },
    /// Find workers that are probably one person.
    Persons {
        #[command(subcommand)]
        command: PersonsCommand,
    },
    /// Check the audit log, sign its checkpoints.
    Audit {
        #[command(subcommand)]
        command: audit_cmd::AuditCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Batch sync client: push a file to a server, pull its change feed.
    Sync {
        #[command(subcommand)]
        command: sync::SyncCommand,
    },
}

#[derive(Subcommand)]
enum FindingsCommand {
    /// Recompute every worker's and employer's findings as of today (dates passing).
    Sweep,
}

#[derive(Subcommand)]
enum PersonsCommand {
    /// Compare every worker with those sharing a block and bring the
    /// candidate pairs and their findings up to date (the daily run does the same).
    Sweep {
        /// Also time the on-write matcher for this many workers (median and
        /// slowest are printed).
        #[arg(long, default_value_t = 0)]
        time_writes: usize,
        /// Print the figures as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AgencyCommand {
    /// Register an agency.
    Create {
        /// Short code, e.g. IMI-SMD.
        #[arg(long)]
        code: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// immigration, manpower, regional, district or admin.
        #[arg(long)]
        kind: String,
        /// Kemendagri region prefix the agency may write in (required for district).
        #[arg(long)]
        jurisdiction: Option<String>,
    },
    /// List agencies.
    List,
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Create an API client; prints its secret once.
    Create {
        /// Agency code.
        #[arg(long)]
        agency: String,
        /// Space- or comma-separated scopes (records:read records:write pii:read audit:read).
        #[arg(long, default_value = "records:read records:write")]
        scopes: String,
        /// Purposes it may declare (X-Purpose) when reading personal data:
        /// supervision, permit-processing, enforcement, statistics.
        #[arg(long, default_value = "")]
        purposes: String,
        /// Label.
        #[arg(long, default_value = "")]
        name: String,
        /// Print {"client_id": ..., "client_secret": ...} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a client at once.
    Revoke {
        /// Client id.
        client_id: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new signing key; older keys stay published until their tokens expire.
    Rotate,
}

/// Splits a space- or comma-separated list.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn open_db(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database_url, settings.db_pool_size)
        .context("cannot open the database")?;
    db.migrate().context("cannot migrate the database")?;
    Ok(db)
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SINERGI_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("SINERGI_LOG_FORMAT")
        .map(|v| v == "json")
        .unwrap_or(false);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The allocator is jemalloc, set for a small, steady footprint: one arena
/// for all of the server's threads, and pages a request freed handed back to
/// the system after 10 ms unless they are used again by then. glibc's
/// allocator kept every arena's high-water mark (a 1,000-row batch, a page
/// of documents): the server grew by about 50 MiB under load and spent a
/// fifth of its time in `malloc` and `free`. Handing pages back at once
/// instead made every page of changes, every export page and many reads
/// fault their memory in again (a third of the server's time on a feed
/// page); one arena keeps what one thread freed usable by the next, so the
/// short delay costs no peak memory. `_RJEM_MALLOC_CONF` in the environment
/// adds to or overrides these options (`docs/performance.md`).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc reads its options from this symbol when it starts.
#[cfg(not(target_env = "msvc"))]
#[export_name = "_rjem_malloc_conf"]
static JEMALLOC_OPTIONS: Option<&'static std::ffi::c_char> =
    // SAFETY: a pointer to the first byte of a NUL-terminated static string.
    Some(unsafe { &*c"narenas:1,dirty_decay_ms:10,muzzy_decay_ms:0".as_ptr() });

/// The database client libraries (libpq, OpenSSL, SQLite) allocate through
/// the C library, not through jemalloc. glibc gives each thread that
/// allocates at the same time as another an arena of its own, up to eight per
/// core, and each keeps its high-water mark: under 32 concurrent reads on
/// SQLite that held about 11 MiB. Two arenas, unless
/// `MALLOC_ARENA_MAX` is set in the environment (glibc reads it itself).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_c_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes the allocator's settings; it is called
        // before any thread of ours is started.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_c_arenas() {}

fn main() -> anyhow::Result<()> {
    limit_c_arenas();
    let cli = Cli::parse();
    init_tracing();
    let mut settings = Settings::from_env().map_err(anyhow::Error::msg)?;
    match cli.command {
        Command::Serve { demo, bind } => {
            if let Some(b) = bind {
                settings.bind = b;
            }
            if demo && settings.key_encryption_key.is_none() {
                // Zero setup for the demo only: a production server without a
                // configured key refuses to start.
                let path = sinergi_api::auth::kek::demo_key_path(&settings.database_url);
                let kek = sinergi_api::auth::kek::KeyEncryptionKey::load_or_create(&path)
                    .map_err(anyhow::Error::msg)?;
                tracing::warn!(
                    path = %path.display(),
                    "demo: signing keys are encrypted with the key-encryption key in this file; \
                     in production set SINERGI_KEY_ENCRYPTION_KEY or SINERGI_KEY_ENCRYPTION_KEY_FILE"
                );
                settings.key_encryption_key = Some(kek);
            }
            let db = open_db(&settings)?;
            let state =
                AppState::new(db.clone(), settings.clone()).context("cannot load signing keys")?;
            let listener = TcpListener::bind(&settings.bind)
                .with_context(|| format!("cannot listen on {}", settings.bind))?;
            let addr = listener.local_addr()?;
            actix_web::rt::System::new().block_on(async move {
                if demo {
                    let creds = demo::load(&state).await.context("cannot load demo data")?;
                    demo::print_credentials(&creds, &addr.to_string());
                }
                tracing::info!(%addr, "Sinergi listening; Swagger UI at /swagger-ui/");
                sinergi_api::run(listener, state)?.await?;
                Ok::<(), anyhow::Error>(())
            })?;
        }
        Command::Migrate => {
            open_db(&settings)?;
            println!("migrations applied");
        }
        Command::Agency { command } => {
            let db = open_db(&settings)?;
            match command {
                AgencyCommand::Create {
                    code,
                    name,
                    kind,
                    jurisdiction,
                } => {
                    let row =
                        admin::create_agency(&db, &code, &name, &kind, jurisdiction.as_deref())?;
                    println!("agency {} ({}) created", row.code, row.kind);
                }
                AgencyCommand::List => {
                    for a in db.read(sinergi_db::identity::list_agencies)? {
                        println!(
                            "{}\t{}\t{}\t{}",
                            a.code,
                            a.kind,
                            a.jurisdiction.unwrap_or_else(|| "-".into()),
                            a.name
                        );
                    }
                }
            }
        }
        Command::Client { command } => {
            let db = open_db(&settings)?;
            match command {
                ClientCommand::Create {
                    agency,
                    scopes,
                    purposes,
                    name,
                    json,
                } => {
                    let c = admin::create_client_with_purposes(
                        &db,
                        &agency,
                        &name,
                        &words(&scopes),
                        &words(&purposes),
                    )?;
                    if json {
                        println!(
                            "{}",
                            serde_json::json!({"client_id": c.client_id, "client_secret": c.client_secret})
                        );
                    } else {
                        println!("client_id:     {}", c.client_id);
                        println!("client_secret: {}", c.client_secret);
                        println!("(the secret is shown only now; store it safely)");
                    }
                }
                ClientCommand::Revoke { client_id } => {
                    admin::revoke_client(&db, &client_id)?;
                    println!("client {client_id} revoked");
                }
            }
        }
        Command::Keys {
            command: KeysCommand::Rotate,
        } => {
            let kek = settings.key_encryption_key.as_ref().context(
                "set SINERGI_KEY_ENCRYPTION_KEY or SINERGI_KEY_ENCRYPTION_KEY_FILE (for a demo \
                 database: SINERGI_KEY_ENCRYPTION_KEY_FILE=data/key-encryption-key)",
            )?;
            let db = open_db(&settings)?;
            let kid = sinergi_api::auth::keys::rotate(&db, kek)?;
            println!("new signing key {kid} is active; older keys stay published until their tokens expire");
        }
        Command::Findings {
            command: FindingsCommand::Sweep,
        } => {
            let db = open_db(&settings)?;
            let started = std::time::Instant::now();
            let (subjects, changed) =
                sinergi_api::findings::engine::sweep(&db, sinergi_api::findings::engine::today())?;
            println!(
                "findings sweep: {subjects} workers and employers checked, {changed} findings changed in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        Command::Persons {
            command: PersonsCommand::Sweep { time_writes, json },
        } => {
            let db = open_db(&settings)?;
            let started = std::time::Instant::now();
            let r = sinergi_db::persons::sweep(&db)?;
            let seconds = started.elapsed().as_secs_f64();
            let ids: Vec<String> = db
                .read(sinergi_db::workers::all_ids)?
                .into_iter()
                .take(time_writes)
                .collect();
            let mut per_write = sinergi_db::persons::time_on_write(&db, &ids)?;
            per_write.sort_by(f64::total_cmp);
            let median_ms = per_write.get(per_write.len() / 2).map(|s| s * 1000.0);
            let max_ms = per_write.last().map(|s| s * 1000.0);
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "workers": r.workers, "candidates": r.candidates,
                        "links_changed": r.changed, "names_keyed": r.keyed,
                        "seconds": seconds, "load_seconds": r.load_seconds,
                        "compare_seconds": r.compare_seconds, "write_seconds": r.write_seconds,
                        "on_write_samples": per_write.len(),
                        "on_write_median_ms": median_ms, "on_write_max_ms": max_ms,
                    })
                );
            } else {
                println!(
                    "person matching: {} workers compared, {} candidate pairs, {} links changed \
                     in {seconds:.2} s (read {:.2} s, compare {:.2} s, write {:.2} s)",
                    r.workers,
                    r.candidates,
                    r.changed,
                    r.load_seconds,
                    r.compare_seconds,
                    r.write_seconds
                );
                if let (Some(m), Some(x)) = (median_ms, max_ms) {
                    println!(
                        "on one write: median {m:.2} ms, slowest {x:.2} ms over {} workers",
                        per_write.len()
                    );
                }
            }
        }
        Command::Audit { command } => {
            let status = audit_cmd::run(command, &settings, || open_db(&settings))?;
            if status != 0 {
                std::process::exit(status);
            }
        }
        Command::Openapi => {
            print!("{}", sinergi_api::openapi_json());
        }
        Command::Sync { command } => {
            let status = sync::run(command)?;
            if status != 0 {
                std::process::exit(status);
            }
        }
    }
    Ok(())
}
