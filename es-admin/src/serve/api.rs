//! The JSON API: totals, streams, a stream's events, one event, the global log, projections.
//! Every answer is JSON, errors too: `{"error": "..", "parameter": ".."}` with 400 for a
//! parameter the API cannot use, 404 for what is not there, 500 when the store fails.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use es_core::EventStore;
use es_core::store::validate_stream_name;
use serde_json::{Value, json};
use uuid::Uuid;

use super::Served;
use crate::output::{projection_json, record_json, stats_json, stream_json};
use crate::with_causes;

/// The most items one answer holds: a larger `limit` is cut to this, so one request cannot
/// make the server read the whole store into memory.
const MAX_LIMIT: usize = 1000;

/// Items per answer when no `limit` is given.
const DEFAULT_LIMIT: usize = 100;

/// Why a request got no answer.
#[derive(Debug)]
pub(super) enum ApiError {
    /// A parameter the API cannot use: 400, naming it.
    BadParameter {
        parameter: &'static str,
        message: String,
    },
    /// Nothing there: 404.
    NotFound(String),
    /// The store failed: 500.
    Store(es_core::Error),
}

impl From<es_core::Error> for ApiError {
    fn from(error: es_core::Error) -> Self {
        Self::Store(error)
    }
}

impl ApiError {
    fn bad(parameter: &'static str, message: impl Into<String>) -> Self {
        Self::BadParameter {
            parameter,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::BadParameter { parameter, message } => (
                StatusCode::BAD_REQUEST,
                json!({"error": format!("`{parameter}`: {message}"), "parameter": parameter}),
            ),
            Self::NotFound(message) => (StatusCode::NOT_FOUND, json!({"error": message})),
            Self::Store(error) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": with_causes(&error)}),
            ),
        };
        (status, Json(body)).into_response()
    }
}

type Answer = Result<Json<Value>, ApiError>;

/// A request's query parameters, read one at a time so that a bad one is named in the answer.
/// An empty value (`?after=`, as a form sends it) counts as absent.
pub(super) struct Params(pub(super) HashMap<String, String>);

impl Params {
    /// The parameter's text, `""` when absent.
    fn text(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    /// The parameter as a whole number, `None` when absent.
    pub(super) fn number(&self, name: &'static str) -> Result<Option<u64>, ApiError> {
        match self.text(name) {
            "" => Ok(None),
            text => text
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad(name, format!("`{text}` is not a whole number"))),
        }
    }

    /// `limit`: at least 1, [`DEFAULT_LIMIT`] when absent, cut to [`MAX_LIMIT`].
    fn limit(&self) -> Result<usize, ApiError> {
        match self.number("limit")? {
            None => Ok(DEFAULT_LIMIT),
            Some(0) => Err(ApiError::bad("limit", "must be at least 1")),
            Some(limit) => Ok(usize::try_from(limit).map_or(MAX_LIMIT, |l| l.min(MAX_LIMIT))),
        }
    }
}

/// `GET /api/stats`: the store's totals (a scan of the whole log on most backends).
pub(super) async fn stats(State(served): State<Served>) -> Answer {
    let stats = served.store.admin.stats().await?;
    Ok(Json(stats_json(&served.store.name, &stats)))
}

/// `GET /api/streams?prefix=&after=&limit=`: streams in the store's order of names; `next`
/// is the `after` of the next page, `null` after the last.
pub(super) async fn streams(
    State(served): State<Served>,
    Query(params): Query<HashMap<String, String>>,
) -> Answer {
    let params = Params(params);
    let limit = params.limit()?;
    let page = served
        .store
        .admin
        .streams(params.text("prefix"), params.text("after"), limit)
        .await?;
    let next = page
        .last()
        .filter(|_| page.len() == limit)
        .map(|last| last.stream.clone());
    Ok(Json(json!({
        "streams": page.iter().map(stream_json).collect::<Vec<_>>(),
        "next": next,
    })))
}

/// `GET /api/stream?name=&from=&limit=`: a stream's events from version `from` (default 1);
/// `next` is the `from` of the next page, `null` after the last. A stream without events is
/// an empty one, as the store sees it.
pub(super) async fn stream(
    State(served): State<Served>,
    Query(params): Query<HashMap<String, String>>,
) -> Answer {
    let params = Params(params);
    let name = params.text("name");
    validate_stream_name(name).map_err(|error| ApiError::bad("name", error.to_string()))?;
    let from = params.number("from")?.unwrap_or(1).max(1);
    let limit = params.limit()?;
    let version = served.store.log.stream_version(name).await?;
    let events = served.store.log.read_stream(name, from, limit).await?;
    let next = events
        .last()
        .filter(|_| events.len() == limit)
        .map(|last| last.version + 1);
    Ok(Json(json!({
        "stream": name,
        "version": version,
        "events": events.iter().map(record_json).collect::<Vec<_>>(),
        "next": next,
    })))
}

/// `GET /api/events/{id}`: one event, found by its id.
pub(super) async fn event(State(served): State<Served>, Path(id): Path<String>) -> Answer {
    let parsed =
        Uuid::try_parse(&id).map_err(|_| ApiError::bad("id", format!("`{id}` is not a UUID")))?;
    match served.store.log.find_event(parsed).await? {
        Some(event) => Ok(Json(record_json(&event))),
        None => Err(ApiError::NotFound(format!("no event has the id {parsed}"))),
    }
}

/// `GET /api/log?after=&limit=`: the global log after position `after` (default 0); `next`
/// is the `after` of the next page, `null` when the page reached the head.
pub(super) async fn log(
    State(served): State<Served>,
    Query(params): Query<HashMap<String, String>>,
) -> Answer {
    let params = Params(params);
    let after = params.number("after")?.unwrap_or(0);
    let limit = params.limit()?;
    let events = served.store.log.read_all(after, limit).await?;
    let next = events
        .last()
        .filter(|_| events.len() == limit)
        .map(|last| last.position);
    Ok(Json(json!({
        "events": events.iter().map(record_json).collect::<Vec<_>>(),
        "next": next,
    })))
}

/// `GET /api/projections`: each projection's checkpoint and its lag behind the head.
pub(super) async fn projections(State(served): State<Served>) -> Answer {
    let head = served.store.admin.last_position().await?;
    let checkpoints = served.store.admin.checkpoints().await?;
    Ok(Json(json!({
        "head": head,
        "projections": checkpoints
            .iter()
            .map(|(name, position)| projection_json(name, *position, head))
            .collect::<Vec<_>>(),
    })))
}

/// Any other path: 404, in JSON like every other answer of the API.
pub(super) async fn not_found(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::NotFound(format!("nothing at {}", uri.path()))
}
