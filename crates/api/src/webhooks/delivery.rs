//! The delivery worker every instance runs. Each poll it picks the
//! subscriptions that are behind the change feed and not backing off, takes
//! a lease on each (a conditional UPDATE only one instance can win, on
//! PostgreSQL and SQLite alike), and posts their next changes in feed order.
//! The position only moves on a 2xx, under the lease, in the same
//! transaction as the delivery's audit event.

use std::sync::{Arc, Weak};
use std::time::Duration;

use actix_web::web;
use chrono::{NaiveDateTime, Utc};
use futures_util::future::join_all;
use sinergi_db::audit::{self, AuditEntry};
use sinergi_db::changes::{self, ChangeRow};
use sinergi_db::identity;
use sinergi_db::subscriptions::{self as store, DeadLetterRow, Failure, SubscriptionRow};
use sinergi_db::{conn::savepoint, DbConn, StoreError};

use super::signature::{header_value, EVENT_ID_HEADER, SIGNATURE_HEADER};
use super::ssrf::{self, AllowList, GuardedResolver};
use super::{audit_entry, backoff, event_body, event_id, subscriber};
use crate::auth::Caller;
use crate::state::AppState;

/// How long a claim on a subscription lasts; renewed before every delivery,
/// so it always outlasts one request (10 s timeout).
const LEASE_SECS: i64 = 30;
/// Longest wait for an endpoint's answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Subscriptions (and redeliveries) handled concurrently per poll.
const PARALLEL: i64 = 16;
/// Events read per subscription per poll.
const BATCH: i64 = 50;
/// How often old dead letters are removed.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Time one subscription may take per poll before the others get their turn.
const BUDGET: Duration = Duration::from_secs(5);

/// What became of one POST.
enum Outcome {
    Delivered(u16),
    Failed {
        error: String,
        status: Option<i32>,
        /// Whether the request (and its data) may have reached the endpoint.
        sent: bool,
    },
}

impl Outcome {
    /// The audit event of this attempt, when data may have reached the endpoint.
    fn audit(
        &self,
        sub: &SubscriptionRow,
        event: &str,
        worker: Option<&str>,
    ) -> Option<AuditEntry> {
        let status = match self {
            Outcome::Delivered(s) => i32::from(*s),
            Outcome::Failed {
                sent: true, status, ..
            } => status.unwrap_or(0),
            Outcome::Failed { .. } => return None,
        };
        Some(audit_entry(sub, event, worker, status))
    }
}

/// Appends the audit event, if any, in the current transaction.
fn audited(c: &mut DbConn, entry: &Option<AuditEntry>) -> Result<(), StoreError> {
    if let Some(e) = entry {
        audit::append(c, e)?;
    }
    Ok(())
}

struct Worker {
    owner: String,
    http: reqwest::Client,
    allow: AllowList,
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn lease_until() -> NaiveDateTime {
    now() + chrono::Duration::seconds(LEASE_SECS)
}

/// Runs until the server owning `state` has stopped (its state is dropped).
pub async fn run(state: Weak<AppState>) {
    let Some(first) = state.upgrade() else { return };
    let allow = AllowList::new(&first.settings.webhook_allow_hosts);
    let poll = Duration::from_millis(first.settings.webhook_poll_ms.max(10));
    drop(first);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .no_proxy()
        .user_agent("Sinergi-Webhooks/1")
        .dns_resolver(Arc::new(GuardedResolver(allow.clone())))
        .build();
    let http = match http {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "webhook delivery disabled: HTTP client unavailable");
            return;
        }
    };
    let worker = Worker {
        owner: format!("worker-{}", uuid::Uuid::new_v4()),
        http,
        allow,
    };
    let mut pruned: Option<std::time::Instant> = None;
    loop {
        let Some(state) = state.upgrade() else { break };
        // Registered before the poll, so a commit during it wakes the next wait.
        let woken = state.changes_notify.notified();
        if pruned.is_none_or(|t| t.elapsed() > PRUNE_EVERY) {
            pruned = Some(std::time::Instant::now());
            let keep = chrono::Duration::days(state.settings.change_retention_days);
            let db = state.db.clone();
            let done = blocking(move || db.write(|c| store::prune_dead_letters(c, now() - keep)));
            if let Err(e) = done.await {
                tracing::warn!(error = %e, "pruning dead letters failed; will retry");
            }
        }
        worker.tick(&state).await;
        let _ = tokio::time::timeout(poll, woken).await;
    }
    tracing::info!("webhook delivery worker stopped");
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    web::block(f)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
}

impl Worker {
    /// Runs `f` in a write transaction, with this instance's lease owner name.
    async fn write<T: Send + 'static>(
        &self,
        state: &AppState,
        mut f: impl FnMut(&mut DbConn, &str) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (db, owner) = (state.db.clone(), self.owner.clone());
        blocking(move || db.write(|c| f(c, &owner))).await
    }

    async fn tick(&self, state: &Arc<AppState>) {
        let db = state.db.clone();
        let owner = self.owner.clone();
        let found = blocking(move || {
            // Move what is queued unless another instance is at it; either
            // way the feed is read as sequenced (the next tick sees the rest).
            db.read(sinergi_db::sequencer::drain_if_free)?;
            // And keep the queues' indexes short, whatever autovacuum does.
            db.read(sinergi_db::sequencer::tidy_queues)?;
            let (head, _) = db.read(changes::head_as_sequenced)?;
            let due = db.read(|c| store::due(c, head, now(), PARALLEL))?;
            let queued = db.read(|c| store::queued_redeliveries(c, now(), PARALLEL))?;
            let mut redo = Vec::new();
            for id in queued {
                let claim =
                    |c: &mut _| store::claim_redelivery(c, &id, &owner, now(), lease_until());
                redo.extend(db.write(claim)?);
            }
            Ok((due, redo))
        })
        .await;
        let (due, redo) = match found {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "webhook poll failed; will retry");
                return;
            }
        };
        let subs = due.into_iter().map(|id| self.subscription(state, id));
        let redos = redo.into_iter().map(|d| self.redeliver(state, d));
        let (a, b) = futures_util::future::join(join_all(subs), join_all(redos)).await;
        for e in a.into_iter().chain(b).filter_map(Result::err) {
            tracing::warn!(error = %e, "webhook delivery step failed; will retry");
        }
    }

    /// Delivers what is pending for one subscription, if this instance wins its lease.
    async fn subscription(&self, state: &Arc<AppState>, id: String) -> Result<(), StoreError> {
        let sid = id.clone();
        let won = self
            .write(state, move |c, me| {
                store::acquire(c, &sid, me, now(), lease_until())
            })
            .await?;
        if !won {
            return Ok(());
        }
        let result = self.pending(state, &id).await;
        self.write(state, move |c, me| store::release(c, &id, me))
            .await?;
        result
    }

    async fn pending(&self, state: &Arc<AppState>, id: &str) -> Result<(), StoreError> {
        let (db, sid) = (state.db.clone(), id.to_string());
        let (mut sub, head, rows, client) = blocking(move || {
            db.read(|c| {
                let sub = store::get(c, &sid)?.ok_or(StoreError::NotFound)?;
                let head = changes::head_as_sequenced(c)?.0;
                let rows =
                    changes::list_after_as_sequenced(c, sub.cursor_seq, &sub.types(), BATCH)?;
                let client = identity::find_client(c, &sub.client_id)?;
                Ok((sub, head, rows, client))
            })
        })
        .await?;
        let caller = match subscriber(&sub, client) {
            Ok(c) => c,
            Err(reason) => {
                let (sid, until) = (sub.id.clone(), now() + chrono::Duration::seconds(60));
                return self
                    .write(state, move |c, me| {
                        store::pause(c, &sid, me, until, &reason)
                    })
                    .await;
            }
        };
        let started = std::time::Instant::now();
        for row in &rows {
            let sid = sub.id.clone();
            if started.elapsed() > BUDGET
                || !self
                    .write(state, move |c, me| store::renew(c, &sid, me, lease_until()))
                    .await?
            {
                return Ok(());
            }
            if !self.deliver(state, &mut sub, &caller, row).await? {
                return Ok(());
            }
        }
        if (rows.len() as i64) < BATCH && (head > sub.cursor_seq || sub.failing_since.is_some()) {
            // Caught up: skip ahead past other types, and end a run of failures
            // that only dead letters were left of.
            let (sid, from, failing) = (sub.id.clone(), sub.cursor_seq, sub.failing_since);
            self.write(state, move |c, me| {
                if head > from {
                    store::advance(c, &sid, me, from, head, None)?;
                }
                if failing.is_some() {
                    store::end_failure_run(c, &sid, me)?;
                }
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    /// Sends one change; true when the subscription moved past it (delivered
    /// or dead-lettered), false when it waits for a retry or the lease was lost.
    async fn deliver(
        &self,
        state: &AppState,
        sub: &mut SubscriptionRow,
        caller: &Caller,
        row: &ChangeRow,
    ) -> Result<bool, StoreError> {
        let eid = event_id(sub, row.seq);
        let body = event_body(sub, caller, row).map_err(StoreError::Corrupt)?;
        let outcome = self.send(sub, &eid, body.clone()).await;
        let audit = outcome.audit(sub, &eid, row.worker_id.as_deref());
        let (at, sid, from, seq) = (now(), sub.id.clone(), sub.cursor_seq, row.seq);
        let (error, status) = match outcome {
            Outcome::Delivered(_) => {
                let moved = self
                    .write(state, move |c, me| {
                        audited(c, &audit)?;
                        store::advance(c, &sid, me, from, seq, Some(at))
                    })
                    .await?;
                (sub.cursor_seq, sub.attempts, sub.failing_since) = (seq, 0, None);
                return Ok(moved);
            }
            Outcome::Failed { error, status, .. } => (error, status),
        };
        let settings = &state.settings;
        let since = sub.failing_since.unwrap_or(at);
        let attempts = sub.attempts + 1;
        if at - since < chrono::Duration::seconds(settings.webhook_retry_window_secs) {
            let (base, max) = (
                settings.webhook_backoff_base_ms,
                settings.webhook_backoff_max_ms,
            );
            let delay =
                chrono::Duration::from_std(backoff(base, max, attempts)).unwrap_or_default();
            let f = Failure {
                attempts,
                failing_since: since,
                next_attempt_at: at + delay,
                error,
                status,
            };
            self.write(state, move |c, me| {
                audited(c, &audit)?;
                store::record_failure(c, &sid, me, &f)
            })
            .await?;
            return Ok(false);
        }
        // Failing for longer than the retry window: keep it as a dead letter and go
        // on; events already waiting get one attempt each until the subscription
        // has caught up or a delivery succeeds.
        let dead = DeadLetterRow {
            id: uuid::Uuid::new_v4().to_string(),
            subscription_id: sub.id.clone(),
            seq,
            event_id: eid,
            record_type: row.record_type.clone(),
            record_key: row.record_key.clone(),
            op: row.op.clone(),
            version: row.version,
            worker_id: row.worker_id.clone(),
            body,
            changed_at: row.changed_at,
            attempts,
            first_failed_at: since,
            last_error: error,
            last_status: status,
            dead_at: at,
            state: "dead".into(),
            redelivered_at: None,
            lease_owner: None,
            lease_until: None,
        };
        let moved = self
            .write(state, move |c, me| {
                audited(c, &audit)?;
                // Under the lease only: losing it undoes the dead letter, not the audit event.
                let kept = savepoint(c, |c| {
                    store::add_dead_letter(c, &dead)?;
                    match store::advance(c, &sid, me, from, seq, None)? {
                        true => Ok(()),
                        false => Err(StoreError::Retry),
                    }
                });
                match kept {
                    Ok(()) => Ok(true),
                    Err(StoreError::Retry) => Ok(false),
                    Err(e) => Err(e),
                }
            })
            .await?;
        if moved {
            tracing::warn!(subscription = %sub.id, seq, "webhook event dead-lettered");
            (sub.cursor_seq, sub.attempts, sub.failing_since) = (seq, 0, Some(since));
        }
        Ok(moved)
    }

    /// Sends a queued dead letter again.
    async fn redeliver(&self, state: &Arc<AppState>, d: DeadLetterRow) -> Result<(), StoreError> {
        let (db, sid) = (state.db.clone(), d.subscription_id.clone());
        let found = blocking(move || {
            db.read(|c| match store::get(c, &sid)? {
                Some(s) => Ok(Some((identity::find_client(c, &s.client_id)?, s))),
                None => Ok(None),
            })
        })
        .await?;
        let Some((client, sub)) = found else {
            return Ok(());
        };
        let outcome = match subscriber(&sub, client) {
            Ok(_) => self.send(&sub, &d.event_id, d.body.clone()).await,
            Err(error) => Outcome::Failed {
                error,
                status: None,
                sent: false,
            },
        };
        let audit = outcome.audit(&sub, &d.event_id, d.worker_id.as_deref());
        let result = match outcome {
            Outcome::Delivered(_) => Ok(now()),
            Outcome::Failed { error, status, .. } => Err((error, status)),
        };
        self.write(state, move |c, me| {
            audited(c, &audit)?;
            store::finish_redelivery(c, &d.id, me, result.clone())
        })
        .await?;
        Ok(())
    }

    /// POSTs one signed event; the target is checked again first (an IP
    /// literal never reaches the resolver, which checks names).
    async fn send(&self, sub: &SubscriptionRow, event_id: &str, body: String) -> Outcome {
        if let Err(r) = ssrf::check_target(&sub.target_url, &self.allow).await {
            return Outcome::Failed {
                error: r.message,
                status: None,
                sent: false,
            };
        }
        let signature = header_value(&sub.secret, Utc::now().timestamp(), body.as_bytes());
        let sent = self
            .http
            .post(&sub.target_url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(EVENT_ID_HEADER, event_id)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => Outcome::Delivered(resp.status().as_u16()),
            Ok(resp) => {
                let status = resp.status();
                let hint = if status.is_redirection() {
                    " (redirects are not followed)"
                } else {
                    ""
                };
                Outcome::Failed {
                    error: format!("the endpoint answered {}{hint}", status.as_u16()),
                    status: Some(status.as_u16() as i32),
                    sent: true,
                }
            }
            Err(e) => {
                let refused = std::error::Error::source(&e)
                    .and_then(|s| find_refusal(s))
                    .map(|r| r.message.clone());
                let error = match refused {
                    Some(m) => m,
                    None if e.is_timeout() => "no answer within 10 seconds".to_string(),
                    None if e.is_connect() => "could not connect to the endpoint".to_string(),
                    None => "the request failed before an answer came".to_string(),
                };
                Outcome::Failed {
                    error,
                    status: None,
                    sent: !e.is_connect() && !e.is_builder(),
                }
            }
        }
    }
}

/// The SSRF refusal behind a connection error, if that was the cause.
fn find_refusal<'a>(mut e: &'a (dyn std::error::Error + 'static)) -> Option<&'a ssrf::Refusal> {
    loop {
        if let Some(r) = e.downcast_ref::<ssrf::Refusal>() {
            return Some(r);
        }
        e = e.source()?;
    }
}
