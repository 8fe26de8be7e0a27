//! `GET /api/live?after=N`: the global log as server-sent events. Every event after position
//! `N` (default: the head when the request comes in), then each new one as it is appended, by
//! this process or any other, until the browser goes away or the server stops.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use es_core::AnyEventStore;
use es_core::store::Subscription;
use futures_util::Stream;
use serde_json::json;
use tokio::sync::watch;

use super::Served;
use super::api::{ApiError, Params};
use crate::output::record_json;
use crate::with_causes;

/// How often the subscription reads the log when nothing woke it: another process's appends
/// wake nothing in this one, so this is how late they show.
const POLL: Duration = Duration::from_millis(200);

/// A comment line this often keeps proxies and browsers from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Each event is an SSE event named `event` whose `id` is its position and whose data is
/// the event as JSON. When the store fails, one event named `failure` with `{"error": ..}`
/// ends the stream; the browser's `EventSource` then reconnects by itself and resumes.
pub(super) async fn live(
    State(served): State<Served>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let after = match resumed_after(&headers)? {
        Some(after) => after,
        None => match Params(params).number("after")? {
            Some(after) => after,
            None => served.store.admin.last_position().await?,
        },
    };
    let log = Subscription::new(served.store.log.clone(), after).poll_interval(POLL);
    let events = futures_util::stream::unfold(Some((log, served.stopping)), follow);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// The position an `EventSource` that reconnects resumes after: it sends the id of the last
/// event it received, and the page's `?after=` would replay what it already has.
fn resumed_after(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.parse().ok())
        .map(Some)
        .ok_or_else(|| ApiError::BadParameter {
            parameter: "Last-Event-ID",
            message: "not a position".into(),
        })
}

type Following = Option<(Subscription<AnyEventStore>, watch::Receiver<bool>)>;

/// The next SSE event of a live stream, and what follows it; `None` ends the stream.
async fn follow(following: Following) -> Option<(Result<Event, Infallible>, Following)> {
    let (mut log, mut stopping) = following?;
    let next = tokio::select! {
        next = log.next() => next,
        // A closed channel means the server is gone: stop as well.
        _ = stopping.wait_for(|stop| *stop) => return None,
    };
    Some(match next {
        Ok(event) => (
            Ok(Event::default()
                .event("event")
                .id(event.position.to_string())
                .data(record_json(&event).to_string())),
            Some((log, stopping)),
        ),
        Err(error) => (
            Ok(Event::default()
                .event("failure")
                .data(json!({"error": with_causes(&error)}).to_string())),
            None,
        ),
    })
}
