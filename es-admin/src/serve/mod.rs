//! `serve`: a live web view of the store. One HTTP server gives the page (HTML, CSS and
//! JavaScript compiled into the binary), a read-only JSON API over the store, and the global
//! log's new events as server-sent events.

mod api;
mod live;
mod page;

use std::io::Write;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;

use crate::Failure;
use crate::open::Store;

/// What every handler is given.
#[derive(Debug, Clone)]
struct Served {
    store: Store,
    /// Turns true when the server stops. Live streams end then: a browser keeps its stream
    /// open for ever, and the server waits for open streams before it exits.
    stopping: watch::Receiver<bool>,
}

/// Serves the web view on `listen` until Ctrl-C or SIGTERM.
///
/// # Errors
/// [`Failure::Usage`] when it cannot listen on the address, [`Failure::Closed`] when stdout
/// is gone.
pub(crate) async fn run(store: Store, listen: SocketAddr) -> Result<(), Failure> {
    let cannot_listen =
        |error: std::io::Error| Failure::Usage(format!("cannot listen on {listen}: {error}"));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(cannot_listen)?;
    let address = listener.local_addr().map_err(cannot_listen)?;
    // Before the line below: a SIGTERM sent as soon as it is read must stop the server
    // gracefully, not kill it the default way.
    let stop_signal = stop_requested();
    // One line, flushed at once: a script that asked for port 0 reads the real one here.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{address}")
        .and_then(|()| stdout.flush())
        .map_err(|_| Failure::Closed)?;
    drop(stdout);

    let (stop, stopping) = watch::channel(false);
    let app = routes(Served { store, stopping }).layer(axum::middleware::from_fn(
        move |request: Request, next: Next| own_host(address, request, next),
    ));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            stop_signal.await;
            stop.send_replace(true);
        })
        .await
        .map_err(cannot_listen)
}

fn routes(served: Served) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/app.js", get(page::script))
        .route("/style.css", get(page::style))
        .route("/api/stats", get(api::stats))
        .route("/api/streams", get(api::streams))
        // A stream's name is a query parameter, not a path segment: names may hold `/`, `%`,
        // `.` and `..`, which clients and routers rewrite in paths but never in a query.
        .route("/api/stream", get(api::stream))
        .route("/api/events/{id}", get(api::event))
        .route("/api/log", get(api::log))
        .route("/api/projections", get(api::projections))
        .route("/api/live", get(live::live))
        .fallback(api::not_found)
        .with_state(served)
}

/// On a loopback address, refuses (403) a request whose `Host` is not this server's: a page of
/// another site that rebinds its own name to 127.0.0.1 (DNS rebinding) would otherwise read the
/// whole store through the visitor's browser. An address the operator opened to the network
/// is reached under names this server cannot know, so there the check is off.
async fn own_host(address: SocketAddr, request: Request, next: Next) -> Response {
    if !address.ip().is_loopback() {
        return next.run(request).await;
    }
    let port = address.port();
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    let known = [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ];
    if known.iter().any(|name| name.eq_ignore_ascii_case(host)) {
        next.run(request).await
    } else {
        let body = serde_json::json!({
            "error": format!("this server answers as localhost:{port} only"),
            "parameter": "Host",
        });
        (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
    }
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what service managers and `kill` send). The SIGTERM
/// handler is set up when this is called, not when it is first awaited.
fn stop_requested() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    #[cfg(unix)]
    let terminated = async move {
        match terminate {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            // Without the handler SIGTERM still ends the process, the default way.
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminated = std::future::pending::<()>();
    let interrupted = async {
        // Without the handler Ctrl-C still ends the process, the default way.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    async move {
        tokio::select! {
            () = interrupted => {}
            () = terminated => {}
        }
    }
}
