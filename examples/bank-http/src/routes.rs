//! The routes and what every request goes through: a tracing span, metrics, a body limit.

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use es_core::{AnyEventStore, App};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::watch;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::ApiError;
use crate::{commands, queries, stream, telemetry};

/// The bank's app over the store `--database` chose.
pub(crate) type Bank = App<AnyEventStore>;

/// The largest body taken: every command's body is a few dozen bytes.
const BODY_LIMIT: usize = 64 * 1024;

/// What every handler shares.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub(crate) app: Bank,
    /// How long `?position=` waits for a read model before a 504.
    pub(crate) read_timeout: Duration,
    /// Becomes `true` when the server shuts down: ends the balance streams.
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) metrics: PrometheusHandle,
}

/// Every route of the service.
pub(crate) fn router(service: Service) -> Router {
    Router::new()
        .route("/accounts", post(commands::open))
        .route("/accounts/{id}", get(queries::balance))
        .route("/accounts/{id}/deposits", post(commands::deposit))
        .route("/accounts/{id}/withdrawals", post(commands::withdraw))
        .route("/accounts/{id}/close", post(commands::close))
        .route("/accounts/{id}/history", get(queries::history))
        .route("/accounts/{id}/balance/stream", get(stream::balance_stream))
        .route("/transfers", post(commands::transfer))
        .route("/health", get(queries::health))
        .route("/metrics", get(telemetry::render))
        // On the routes only, where the matched route is known to label the metrics.
        .route_layer(middleware::from_fn(telemetry::track))
        .fallback(async || ApiError::not_found("no such route"))
        .method_not_allowed_fallback(async || ApiError::method_not_allowed())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(service)
}
