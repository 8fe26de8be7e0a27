//! The group writer: one task per store instance takes every append queued while the previous
//! group was committing and runs them in one transaction, each through `es_append`, which
//! returns a conflict or a duplicate id as a result rather than raising, so one append's
//! refusal does not undo its neighbours. A lone append is one statement in autocommit.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::Row;
use uuid::Uuid;

use super::error::{PgError, db};
use super::listen::advance;
use super::row::to_u64;
use super::sql::{APPEND, BEGIN};
use crate::error::Error;
use crate::record::NewEvent;
use crate::store::{AppendResult, ExpectedVersion};

/// The most appends one group commit carries.
const MAX_GROUP: usize = 64;

/// How many appends may wait for the writer task before `append` waits for room.
pub(super) const QUEUE: usize = 1024;

/// One append, as queued for the writer task.
#[derive(Debug)]
pub(super) struct Request {
    pub(super) stream: String,
    pub(super) expected: ExpectedVersion,
    pub(super) events: Vec<NewEvent>,
    pub(super) reply: oneshot::Sender<Result<AppendResult, Error>>,
}

/// One append's parameters, in the column-per-field shape `es_append` takes.
struct Params<'a> {
    stream: &'a str,
    kind: i16,
    expected: i64,
    ids: Vec<Uuid>,
    names: Vec<&'a str>,
    schema_versions: Vec<i32>,
    payloads: Vec<&'a [u8]>,
    timestamps: Vec<i64>,
    correlation_ids: Vec<Option<Uuid>>,
    causation_ids: Vec<Option<Uuid>>,
    extras: Vec<Option<String>>,
}

impl<'a> Params<'a> {
    fn new(request: &'a Request) -> Self {
        let (kind, expected) = match request.expected {
            ExpectedVersion::Any => (0, 0),
            ExpectedVersion::NoStream => (1, 0),
            ExpectedVersion::StreamExists => (2, 0),
            // A version past i64::MAX matches no stream: -1 never does either.
            ExpectedVersion::Exact(version) => (3, i64::try_from(version).unwrap_or(-1)),
        };
        let events = &request.events;
        Self {
            stream: &request.stream,
            kind,
            expected,
            ids: events.iter().map(|e| e.id).collect(),
            names: events.iter().map(|e| &*e.name).collect(),
            schema_versions: events.iter().map(|e| i32::from(e.schema_version)).collect(),
            payloads: events.iter().map(|e| &e.payload[..]).collect(),
            timestamps: events.iter().map(|e| e.metadata.timestamp.0).collect(),
            correlation_ids: events.iter().map(|e| e.metadata.correlation_id).collect(),
            causation_ids: events.iter().map(|e| e.metadata.causation_id).collect(),
            extras: events
                .iter()
                .map(|e| {
                    (!e.metadata.extra.is_empty())
                        .then(|| serde_json::to_string(&e.metadata.extra).unwrap_or_default())
                })
                .collect(),
        }
    }

    fn as_sql(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 11] {
        [
            &self.stream,
            &self.kind,
            &self.expected,
            &self.ids,
            &self.names,
            &self.schema_versions,
            &self.payloads,
            &self.timestamps,
            &self.correlation_ids,
            &self.causation_ids,
            &self.extras,
        ]
    }
}

/// The result of one `es_append` call.
fn outcome(request: &Request, row: &Row) -> Result<AppendResult, Error> {
    // Every column is read as nullable: a value the function did not fill is an error naming
    // it, never a panic.
    let missing = |what| -> Error { PgError::BadAppendResult(what).into() };
    let status: Option<i16> = row.try_get(0).map_err(db)?;
    let field = |index: usize| -> Result<u64, Error> {
        let value: Option<i64> = row.try_get(index).map_err(db)?;
        to_u64(
            value.ok_or_else(|| missing("a version or position"))?,
            0,
            "negative version or position in append result",
        )
    };
    match status.ok_or_else(|| missing("the status"))? {
        0 => Ok(AppendResult {
            first_version: field(1)?,
            version: field(2)?,
            first_position: field(3)?,
            position: field(4)?,
        }),
        1 => Err(Error::Conflict {
            stream: request.stream.clone(),
            expected: request.expected,
            actual: field(2)?,
        }),
        _ => {
            let stream: Option<String> = row.try_get(5).map_err(db)?;
            let event_id: Option<Uuid> = row.try_get(6).map_err(db)?;
            Err(Error::DuplicateEvent {
                stream: stream.ok_or_else(|| missing("the duplicate's stream"))?,
                version: field(1)?,
                event_id: event_id.ok_or_else(|| missing("the duplicate's id"))?,
            })
        }
    }
}

/// The writer task: takes every append queued, commits them as one group, answers each.
pub(super) async fn write_groups(
    pool: Pool,
    mut queue: mpsc::Receiver<Request>,
    head: Arc<watch::Sender<u64>>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while let Some(first) = queue.recv().await {
        group.push(first);
        // Let the appenders woken by the previous group's answers queue up behind this one.
        tokio::task::yield_now().await;
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        tracing::trace!(appends = group.len(), "group commit");
        let results = match pool.get().await {
            Ok(client) => {
                if group.len() == 1 {
                    vec![append_one(&client, &group[0]).await]
                } else {
                    append_group(&client, &group).await
                }
            }
            Err(error) => {
                let error: Error = PgError::from(error).into();
                group.iter().map(|_| Err(copy(&error))).collect()
            }
        };
        if let Some(position) = results
            .iter()
            .filter_map(|result| result.as_ref().ok())
            .map(|result| result.position)
            .max()
        {
            advance(&head, i64::try_from(position).unwrap_or(0));
        }
        for (request, result) in group.drain(..).zip(results) {
            // The caller may have given up waiting; its append stands either way.
            let _ = request.reply.send(result);
        }
    }
}

/// A copy of a backend error, for each append of a failed group.
fn copy(error: &Error) -> Error {
    match error {
        Error::Backend(source) => Error::Backend(Arc::clone(source)),
        other => Error::backend(other.to_string()),
    }
}

/// One append in autocommit: one statement, one round trip.
async fn append_one(
    client: &deadpool_postgres::Client,
    request: &Request,
) -> Result<AppendResult, Error> {
    let statement = client.prepare_cached(APPEND).await.map_err(db)?;
    let params = Params::new(request);
    let row = client
        .query_one(&statement, &params.as_sql())
        .await
        .map_err(db)?;
    outcome(request, &row)
}

/// Several appends in one transaction, sent pipelined: `BEGIN`, each `es_append`, `COMMIT`.
/// When the transaction fails, each append is retried alone.
async fn append_group(
    client: &deadpool_postgres::Client,
    group: &[Request],
) -> Vec<Result<AppendResult, Error>> {
    let statement = match client.prepare_cached(APPEND).await {
        Ok(statement) => statement,
        Err(error) => {
            let error = db(error);
            return group.iter().map(|_| Err(copy(&error))).collect();
        }
    };
    let params: Vec<Params<'_>> = group.iter().map(Params::new).collect();
    let sql: Vec<_> = params.iter().map(Params::as_sql).collect();
    // Polled in order, each future sends its message on its first poll: one burst on the wire.
    let mut steps: Vec<Pin<Box<dyn Future<Output = Step> + Send + '_>>> =
        Vec::with_capacity(group.len() + 2);
    steps.push(Box::pin(async {
        Step::Done(client.batch_execute(BEGIN).await)
    }));
    for params in &sql {
        steps.push(Box::pin(async {
            Step::Row(client.query_one(&statement, params).await)
        }));
    }
    steps.push(Box::pin(async {
        Step::Done(client.batch_execute("COMMIT").await)
    }));
    let (mut begun, mut committed, mut rows) = (Ok(()), Ok(()), Vec::with_capacity(group.len()));
    for (index, step) in join_in_order(steps).await.into_iter().enumerate() {
        match step {
            Step::Done(result) if index == 0 => begun = result,
            Step::Done(result) => committed = result,
            Step::Row(result) => rows.push(result),
        }
    }
    let all_ran = rows.iter().all(Result::is_ok);
    match (begun, committed) {
        (Ok(()), Ok(())) if all_ran => group
            .iter()
            .zip(rows)
            .map(|(request, row)| row.map_err(db).and_then(|row| outcome(request, &row)))
            .collect(),
        (Err(error), _) | (_, Err(error)) if client.is_closed() => {
            // The connection died: whether the group committed is unknown; a retry is safe.
            let error = db(error);
            group.iter().map(|_| Err(copy(&error))).collect()
        }
        _ => {
            // The transaction rolled back (one append raised): retry each alone.
            let _ = client.batch_execute("ROLLBACK").await;
            let mut results = Vec::with_capacity(group.len());
            for request in group {
                results.push(append_one(client, request).await);
            }
            results
        }
    }
}

/// What one step of a pipelined group returns.
enum Step {
    Done(Result<(), tokio_postgres::Error>),
    Row(Result<Row, tokio_postgres::Error>),
}

/// Polls every future in order on each wake-up; the outputs in the same order.
async fn join_in_order<F: Future + Unpin>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Option<F>> = futures.into_iter().map(Some).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (slot, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match Pin::new(future).poll(cx) {
                    Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
