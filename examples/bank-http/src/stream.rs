//! `GET /accounts/{id}/balance/stream`: the account's balance as server-sent events, the
//! current one first, then one after each of its events, in order, none skipped or repeated.
//!
//! It follows the account's own stream rather than the `Balances` read model: the read model
//! answers with a state but not with the position that state is at, so following it could
//! only show "some newer balance" after each wake-up. The aggregate's events each carry their
//! version, so each change is shown exactly once, with the `version` and `position` it has in
//! the log (the position a command answered with).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use bank::{BankAccount, Status};
use es_core::{Aggregate, EventStore, Json, RecordedEvent};
use futures_util::Stream;
use serde::Serialize;
use tokio::sync::watch;

use crate::error::ApiError;
use crate::input::AccountPath;
use crate::routes::{Bank, Service};

/// How long to wait for the store's hint of a new append before reading anyway: the hint does
/// not see appends of other processes on one SQLite file (the same fallback as es-core's
/// `Subscription`).
const POLL: Duration = Duration::from_millis(500);

/// How many of the account's events one read takes.
const BATCH: usize = 256;

/// One event of the stream: the account after its event `version` (global `position`).
#[derive(Debug, Serialize)]
struct BalanceView<'a> {
    id: &'a str,
    owner: &'a str,
    /// In cents.
    balance: u64,
    closed: bool,
    version: u64,
    position: u64,
}

/// Streams the account's balance; 404 when it was never opened.
pub(crate) async fn balance_stream(
    State(service): State<Service>,
    AccountPath(id): AccountPath,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = id.into_string();
    let (state, version) = service.app.load::<BankAccount>(&id).await?;
    if state.status == Status::New {
        return Err(ApiError::not_found("no such account"));
    }
    let stream = BankAccount::stream_name(&id);
    // The position of the event the loaded state ends with (events never change).
    let position = service
        .app
        .store()
        .read_stream(&stream, version, 1)
        .await?
        .first()
        .map_or(0, |record| record.position);
    let mut follow = Follow {
        head: service.app.store().head(),
        app: service.app,
        shutdown: service.shutdown,
        id,
        stream,
        state,
        next_version: version + 1,
        pending: VecDeque::new(),
        ended: false,
    };
    follow.show(version, position);
    let events = futures_util::stream::unfold(follow, Follow::next);
    // Comments every 15 s keep proxies from closing an idle stream.
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// One client's stream: the account as of `next_version - 1`, and the events not yet sent.
struct Follow {
    app: Bank,
    /// The store's hint that the log has grown.
    head: watch::Receiver<u64>,
    /// Set when the server shuts down: ends the stream, as graceful shutdown waits for every
    /// response to end.
    shutdown: watch::Receiver<bool>,
    id: String,
    stream: String,
    state: BankAccount,
    next_version: u64,
    pending: VecDeque<Event>,
    ended: bool,
}

impl Follow {
    /// The next event to send, waiting for the account to change; `None` ends the stream.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if self.ended {
                return None;
            }
            match self.follow().await {
                Ok(true) => {}
                Ok(false) => self.ended = true,
                Err(error) => {
                    // The client's `EventSource` reconnects and starts again from the current
                    // balance: nothing is lost by ending here.
                    let error = ApiError::from(error);
                    self.pending
                        .push_back(Event::default().event("error").data(error.to_json()));
                    self.ended = true;
                }
            }
        }
    }

    /// Reads the account's events after the last one shown into `pending`, waiting until
    /// there are some: `Ok(false)` when the server shuts down first.
    async fn follow(&mut self) -> Result<bool, es_core::Error> {
        loop {
            // Seen before reading, so that an append racing the read wakes the wait below.
            self.head.borrow_and_update();
            let records = self
                .app
                .store()
                .read_stream(&self.stream, self.next_version, BATCH)
                .await?;
            if !records.is_empty() {
                for record in &records {
                    self.apply(record)?;
                }
                return Ok(true);
            }
            tokio::select! {
                // The guard `wait_for` returns must not live across an await: dropped at once.
                () = async { drop(self.shutdown.wait_for(|stop| *stop).await) } => {
                    return Ok(false);
                }
                changed = tokio::time::timeout(POLL, self.head.changed()) => {
                    // A closed hint leaves polling alone.
                    if let Ok(Err(_closed)) = changed {
                        tokio::time::sleep(POLL).await;
                    }
                }
            }
        }
    }

    fn apply(&mut self, record: &RecordedEvent) -> Result<(), es_core::Error> {
        let event: <BankAccount as Aggregate>::Event = record.decode(&Json)?;
        self.state.apply(&event);
        self.next_version = record.version + 1;
        self.show(record.version, record.position);
        Ok(())
    }

    fn show(&mut self, version: u64, position: u64) {
        let view = BalanceView {
            id: &self.id,
            owner: &self.state.owner,
            balance: self.state.balance,
            closed: self.state.status == Status::Closed,
            version,
            position,
        };
        let event = Event::default()
            .event("balance")
            .id(version.to_string())
            .json_data(view)
            .expect("a balance serializes to JSON");
        self.pending.push_back(event);
    }
}
