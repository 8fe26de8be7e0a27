//! Live appends from other nodes: one connection per store instance listens on the schema's
//! channel and moves the head hint forward, reconnecting after the database restarts.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use super::sql::HEAD;

/// Moves the head hint forward (never back).
pub(super) fn advance(head: &watch::Sender<u64>, position: i64) {
    let position = u64::try_from(position).unwrap_or(0);
    head.send_if_modified(|current| {
        if position > *current {
            *current = position;
            true
        } else {
            false
        }
    });
}

/// Keeps one connection listening on the schema's channel; reconnects after failures.
pub(super) async fn listen_loop(
    config: tokio_postgres::Config,
    channel: String,
    head: Arc<watch::Sender<u64>>,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        if let Ok((client, mut connection)) = config.connect(NoTls).await {
            let quoted = format!("LISTEN \"{}\"", channel.replace('"', "\"\""));
            let ready = {
                let setup = async {
                    client.batch_execute(&quoted).await?;
                    client.query_one(HEAD, &[]).await
                };
                // Drive the connection while the setup runs on it.
                let mut setup = std::pin::pin!(setup);
                poll_fn(|cx| {
                    if let Poll::Ready(result) = setup.as_mut().poll(cx) {
                        return Poll::Ready(Some(result));
                    }
                    match connection.poll_message(cx) {
                        Poll::Ready(None | Some(Err(_))) => Poll::Ready(None),
                        // Notifications before the head read are covered by it.
                        Poll::Ready(Some(Ok(_))) => {
                            cx.waker().wake_by_ref();
                            Poll::Pending
                        }
                        Poll::Pending => Poll::Pending,
                    }
                })
                .await
            };
            if let Some(Ok(Ok(position))) = ready.map(|read| read.map(|row| row.try_get(0))) {
                backoff = Duration::from_millis(50);
                advance(&head, position);
                while let Some(Ok(message)) = poll_fn(|cx| connection.poll_message(cx)).await {
                    if let AsyncMessage::Notification(note) = message {
                        if let Ok(position) = note.payload().parse::<i64>() {
                            advance(&head, position);
                        }
                    }
                }
            }
            drop(client);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}
