//! The queries, as `GET`s answered by the bank's read models through the query bus. The read
//! models follow the log in the background, so an answer may lag a command that just returned;
//! `?position=N` waits (boundedly) until they have applied the log up to `N`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use bank::{AccountSummary, Balances, GetBalance, GetHistory, History, HistoryEntry};
use es_core::{EventStore, Projection, Query};
use serde::Serialize;

use crate::error::ApiError;
use crate::input::{AccountPath, ReadAt};
use crate::routes::Service;

/// One account as `GET /accounts/{id}` shows it.
#[derive(Debug, Serialize)]
pub(crate) struct AccountView {
    id: String,
    owner: String,
    /// In cents.
    balance: u64,
    closed: bool,
}

impl AccountView {
    pub(crate) fn new(id: String, summary: AccountSummary) -> Self {
        Self {
            id,
            owner: summary.owner,
            balance: summary.balance,
            closed: summary.closed,
        }
    }
}

/// One account's history.
#[derive(Debug, Serialize)]
pub(crate) struct HistoryView {
    id: String,
    events: Vec<EntryView>,
}

#[derive(Debug, Serialize)]
struct EntryView {
    version: u64,
    position: u64,
    /// RFC 3339, UTC.
    timestamp: String,
    what: String,
    correlation_id: Option<es_core::uuid::Uuid>,
    causation_id: Option<es_core::uuid::Uuid>,
}

impl From<HistoryEntry> for EntryView {
    fn from(entry: HistoryEntry) -> Self {
        Self {
            version: entry.version,
            position: entry.position,
            timestamp: entry.timestamp.to_string(),
            what: entry.what,
            correlation_id: entry.correlation_id,
            causation_id: entry.causation_id,
        }
    }
}

/// The service's state: the store reachable, and how far each read model has followed the log.
#[derive(Debug, Serialize)]
pub(crate) struct Health {
    status: &'static str,
    /// The newest position of the global log this process knows of.
    head: u64,
    /// Per read model, the position of the last event it applied.
    read_models: BTreeMap<&'static str, u64>,
}

/// Answers `query`, after the read model has reached `read_at`'s position when one is given.
async fn ask<Q: Query>(
    service: &Service,
    query: Q,
    read_at: ReadAt,
) -> Result<Q::Response, ApiError> {
    Ok(match read_at.position {
        Some(position) => {
            service
                .app
                .query_at(query, position, service.read_timeout)
                .await?
        }
        None => service.app.query(query).await?,
    })
}

/// The account's owner, balance and whether it is closed, from the `Balances` read model.
pub(crate) async fn balance(
    State(service): State<Service>,
    AccountPath(id): AccountPath,
    read_at: ReadAt,
) -> Result<Json<AccountView>, ApiError> {
    let id = id.into_string();
    let query = GetBalance {
        account: id.clone(),
    };
    match ask(&service, query, read_at).await? {
        Some(summary) => Ok(Json(AccountView::new(id, summary))),
        None => Err(ApiError::not_found("no such account")),
    }
}

/// The account's events, oldest first, from the `History` read model.
pub(crate) async fn history(
    State(service): State<Service>,
    AccountPath(id): AccountPath,
    read_at: ReadAt,
) -> Result<Json<HistoryView>, ApiError> {
    let id = id.into_string();
    let query = GetHistory {
        account: id.clone(),
    };
    let entries = ask(&service, query, read_at).await?;
    if entries.is_empty() {
        return Err(ApiError::not_found("no such account"));
    }
    Ok(Json(HistoryView {
        id,
        events: entries.into_iter().map(EntryView::from).collect(),
    }))
}

/// 200 when the store answers a read; 503 when it does not.
pub(crate) async fn health(State(service): State<Service>) -> Result<Json<Health>, ApiError> {
    let store = service.app.store();
    let head = *store.head().borrow();
    // A read past the head: cheap (an index seek, usually nothing), and it needs the store.
    store.read_all(head, 1).await?;
    Ok(Json(Health {
        status: "ok",
        head,
        read_models: BTreeMap::from([
            (
                Balances::NAME,
                service.app.projection_position::<Balances>()?,
            ),
            (History::NAME, service.app.projection_position::<History>()?),
        ]),
    }))
}
