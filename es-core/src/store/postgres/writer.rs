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
use super::sql::{APPEND, APPEND_STREAMS, BEGIN};
use crate::error::Error;
use crate::record::Metadata;
use crate::store::{AppendResult, ExpectedVersion, StreamAppend};

/// The most appends one group commit carries.
const MAX_GROUP: usize = 64;

/// How many appends may wait for the writer task before `append` waits for room.
pub(super) const QUEUE: usize = 1024;

/// One append, as queued for the writer task.
#[derive(Debug)]
pub(super) enum Request {
    /// One stream, through `es_append`.
    One {
        part: StreamAppend,
        reply: oneshot::Sender<Result<AppendResult, Error>>,
    },
    /// Several streams, all or nothing, through `es_append_streams`.
    Many {
        parts: Vec<StreamAppend>,
        reply: oneshot::Sender<Result<Vec<AppendResult>, Error>>,
    },
}

impl Request {
    fn parts(&self) -> &[StreamAppend] {
        match self {
            Self::One { part, .. } => std::slice::from_ref(part),
            Self::Many { parts, .. } => parts,
        }
    }

    /// Sends the outcome to the caller, who may have given up waiting: the append stands
    /// either way.
    fn answer(self, outcome: Result<Vec<AppendResult>, Error>) {
        match self {
            Self::One { reply, .. } => {
                let _ = reply.send(outcome.and_then(|results| {
                    results
                        .into_iter()
                        .next()
                        .ok_or_else(|| PgError::BadAppendResult("a row").into())
                }));
            }
            Self::Many { reply, .. } => {
                let _ = reply.send(outcome);
            }
        }
    }
}

/// The expectation as `es_append` takes it: a kind (0 any, 1 no stream, 2 stream exists,
/// 3 exact) and a version.
fn expectation(expected: ExpectedVersion) -> (i16, i64) {
    match expected {
        ExpectedVersion::Any => (0, 0),
        ExpectedVersion::NoStream => (1, 0),
        ExpectedVersion::StreamExists => (2, 0),
        // A version past i64::MAX matches no stream: -1 never does either.
        ExpectedVersion::Exact(version) => (3, i64::try_from(version).unwrap_or(-1)),
    }
}

/// The events of a call, in the column-per-field shape the append functions take.
struct Columns<'a> {
    ids: Vec<Uuid>,
    names: Vec<&'a str>,
    schema_versions: Vec<i32>,
    payloads: Vec<&'a [u8]>,
    timestamps: Vec<i64>,
    correlation_ids: Vec<Option<Uuid>>,
    causation_ids: Vec<Option<Uuid>>,
    extras: Vec<Option<String>>,
}

impl<'a> Columns<'a> {
    fn new(parts: &'a [StreamAppend]) -> Self {
        let events = || parts.iter().flat_map(|part| &part.events);
        Self {
            ids: events().map(|e| e.id).collect(),
            names: events().map(|e| &*e.name).collect(),
            schema_versions: events().map(|e| i32::from(e.schema_version)).collect(),
            payloads: events().map(|e| &e.payload[..]).collect(),
            timestamps: events().map(|e| e.metadata.timestamp.0).collect(),
            correlation_ids: events().map(|e| e.metadata.correlation_id).collect(),
            causation_ids: events().map(|e| e.metadata.causation_id).collect(),
            extras: events().map(|e| extra_json(&e.metadata)).collect(),
        }
    }
}

/// The user key-values as the `extra` column takes them: a JSON object, or NULL for none.
pub(super) fn extra_json(metadata: &Metadata) -> Option<String> {
    (!metadata.extra.is_empty()).then(|| serde_json::to_string(&metadata.extra).unwrap_or_default())
}

/// One request's parameters: one stream's (`es_append`) or several streams' (`es_append_streams`).
enum Params<'a> {
    One {
        stream: &'a str,
        kind: i16,
        expected: i64,
        columns: Columns<'a>,
    },
    Many {
        streams: Vec<&'a str>,
        kinds: Vec<i16>,
        expected: Vec<i64>,
        counts: Vec<i32>,
        columns: Columns<'a>,
    },
}

impl<'a> Params<'a> {
    fn new(request: &'a Request) -> Self {
        match request {
            Request::One { part, .. } => {
                let (kind, expected) = expectation(part.expected);
                Self::One {
                    stream: &part.stream,
                    kind,
                    expected,
                    columns: Columns::new(std::slice::from_ref(part)),
                }
            }
            Request::Many { parts, .. } => {
                let (kinds, expected) = parts.iter().map(|p| expectation(p.expected)).unzip();
                Self::Many {
                    streams: parts.iter().map(|p| p.stream.as_str()).collect(),
                    kinds,
                    expected,
                    // The store caps a call's size far below 2^31 events.
                    counts: parts
                        .iter()
                        .map(|p| i32::try_from(p.events.len()).unwrap_or(i32::MAX))
                        .collect(),
                    columns: Columns::new(parts),
                }
            }
        }
    }

    fn sql(&self) -> &'static str {
        match self {
            Self::One { .. } => APPEND,
            Self::Many { .. } => APPEND_STREAMS,
        }
    }

    fn as_sql(&self) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
        let (mut params, columns): (Vec<&(dyn tokio_postgres::types::ToSql + Sync)>, _) = match self
        {
            Self::One {
                stream,
                kind,
                expected,
                columns,
            } => (vec![stream, kind, expected], columns),
            Self::Many {
                streams,
                kinds,
                expected,
                counts,
                columns,
            } => (vec![streams, kinds, expected, counts], columns),
        };
        params.extend([
            &columns.ids as &(dyn tokio_postgres::types::ToSql + Sync),
            &columns.names,
            &columns.schema_versions,
            &columns.payloads,
            &columns.timestamps,
            &columns.correlation_ids,
            &columns.causation_ids,
            &columns.extras,
        ]);
        params
    }
}

/// The results of one request, from the rows its function returned: `es_append`'s one row, or
/// `es_append_streams`' row per part (one row naming the refused part when it refused).
fn outcome(request: &Request, rows: &[Row]) -> Result<Vec<AppendResult>, Error> {
    let parts = request.parts();
    let many = matches!(request, Request::Many { .. });
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        // `es_append_streams` puts the part first; `es_append`'s columns follow.
        let (part, at) = if many {
            let part: Option<i32> = row.try_get(0).map_err(db)?;
            let index = part
                .and_then(|part| usize::try_from(part).ok())
                .and_then(|part| part.checked_sub(1))
                .filter(|&index| index < parts.len())
                .ok_or(PgError::BadAppendResult("the part"))?;
            (&parts[index], 1)
        } else {
            (&parts[0], 0)
        };
        results.push(part_outcome(part, row, at)?);
    }
    if results.len() != parts.len() {
        return Err(PgError::BadAppendResult("a row per part").into());
    }
    Ok(results)
}

/// One part's result, from the columns of `row` starting at `at`.
fn part_outcome(part: &StreamAppend, row: &Row, at: usize) -> Result<AppendResult, Error> {
    // Every column is read as nullable: a value the function did not fill is an error naming
    // it, never a panic.
    let missing = |what| -> Error { PgError::BadAppendResult(what).into() };
    let status: Option<i16> = row.try_get(at).map_err(db)?;
    let field = |index: usize| -> Result<u64, Error> {
        let value: Option<i64> = row.try_get(at + index).map_err(db)?;
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
            stream: part.stream.clone(),
            expected: part.expected,
            actual: field(2)?,
        }),
        _ => {
            let stream: Option<String> = row.try_get(at + 5).map_err(db)?;
            let event_id: Option<Uuid> = row.try_get(at + 6).map_err(db)?;
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
            .flatten()
            .map(|result| result.position)
            .max()
        {
            advance(&head, i64::try_from(position).unwrap_or(0));
        }
        for (request, result) in group.drain(..).zip(results) {
            request.answer(result);
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

/// One request in autocommit: one statement, one round trip.
async fn append_one(
    client: &deadpool_postgres::Client,
    request: &Request,
) -> Result<Vec<AppendResult>, Error> {
    let params = Params::new(request);
    let statement = client.prepare_cached(params.sql()).await.map_err(db)?;
    let rows = client
        .query(&statement, &params.as_sql())
        .await
        .map_err(db)?;
    outcome(request, &rows)
}

/// Several appends in one transaction, sent pipelined: `BEGIN`, each `es_append`, `COMMIT`.
/// When the transaction fails, each append is retried alone.
async fn append_group(
    client: &deadpool_postgres::Client,
    group: &[Request],
) -> Vec<Result<Vec<AppendResult>, Error>> {
    let params: Vec<Params<'_>> = group.iter().map(Params::new).collect();
    let mut statements = Vec::with_capacity(params.len());
    for params in &params {
        match client.prepare_cached(params.sql()).await {
            Ok(statement) => statements.push(statement),
            Err(error) => {
                let error = db(error);
                return group.iter().map(|_| Err(copy(&error))).collect();
            }
        }
    }
    let sql: Vec<_> = params.iter().map(Params::as_sql).collect();
    // Polled in order, each future sends its message on its first poll: one burst on the wire.
    let mut steps: Vec<Pin<Box<dyn Future<Output = Step> + Send + '_>>> =
        Vec::with_capacity(group.len() + 2);
    steps.push(Box::pin(async {
        Step::Done(client.batch_execute(BEGIN).await)
    }));
    for (statement, params) in statements.iter().zip(&sql) {
        steps.push(Box::pin(async {
            Step::Rows(client.query(statement, params).await)
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
            Step::Rows(result) => rows.push(result),
        }
    }
    let all_ran = rows.iter().all(Result::is_ok);
    match (begun, committed) {
        (Ok(()), Ok(())) if all_ran => group
            .iter()
            .zip(rows)
            .map(|(request, rows)| rows.map_err(db).and_then(|rows| outcome(request, &rows)))
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
    Rows(Result<Vec<Row>, tokio_postgres::Error>),
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
