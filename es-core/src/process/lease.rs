//! The lease that lets one node at a time run a process: the last event of the stream
//! `process-{NAME}.lease` names its holder and until when. A node takes it (or renews it) by
//! appending with the exact version it read, so of two nodes racing for it one wins; every
//! step the holder writes is guarded by the lease stream's version, so a node that lost the
//! lease (paused past its end, then resumed) cannot write again.

use std::time::Duration;

use uuid::Uuid;

use super::clock::Clock;
use super::record::{LEASE, LeaseRecord, decode, new_event};
use crate::error::Error;
use crate::record::Timestamp;
use crate::store::{EventStore, ExpectedVersion, StreamAppend};

/// This node's view of the lease.
#[derive(Debug)]
pub(super) struct Lease {
    stream: String,
    node: Uuid,
    ttl: Duration,
    /// The lease stream's version after our last take or renewal, and until when it holds;
    /// `None` while another node holds it (or nobody does and we have not taken it).
    held: Option<(u64, Timestamp)>,
}

/// What [`Lease::hold`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Holding {
    /// We hold it, as we did before.
    Kept,
    /// We have just taken it: what others wrote before must be read again.
    Taken,
    /// Another node holds it.
    Elsewhere,
}

impl Lease {
    pub(super) fn new(process: &str, node: Uuid, ttl: Duration) -> Self {
        Self {
            stream: format!("process-{process}.lease"),
            node,
            ttl,
            held: None,
        }
    }

    /// Takes or renews the lease when it is free, ours, or ours and past half its time.
    pub(super) async fn hold<S: EventStore>(
        &mut self,
        store: &S,
        clock: &dyn Clock,
    ) -> Result<Holding, Error> {
        let now = clock.now();
        let half = micros(self.ttl / 2);
        if let Some((_, until)) = self.held {
            if until.0.saturating_sub(half) > now.0 {
                return Ok(Holding::Kept);
            }
        }
        let version = store.stream_version(&self.stream).await?;
        if version > 0 {
            let last = store.read_stream(&self.stream, version, 1).await?;
            if let Some(record) = last.first() {
                let lease: LeaseRecord = decode(record)?;
                if lease.holder != self.node && lease.until > now.0 {
                    self.held = None;
                    return Ok(Holding::Elsewhere);
                }
            }
        }
        let until = Timestamp(now.0.saturating_add(micros(self.ttl)));
        let record = LeaseRecord {
            holder: self.node,
            until: until.0,
        };
        // A fresh id: two nodes racing for the same version must not look like one append
        // retried (the store would answer the second with the first one's success).
        let event = new_event(Uuid::now_v7(), LEASE, &record)?;
        let was_ours = self.held.is_some_and(|(held, _)| held == version);
        match store
            .append(&self.stream, ExpectedVersion::Exact(version), vec![event])
            .await
        {
            Ok(result) => {
                self.held = Some((result.version, until));
                Ok(if was_ours {
                    Holding::Kept
                } else {
                    Holding::Taken
                })
            }
            Err(error) if error.is_conflict() || matches!(error, Error::DuplicateEvent { .. }) => {
                self.held = None;
                Ok(Holding::Elsewhere)
            }
            Err(error) => Err(error),
        }
    }

    /// The guard every step appends with: the lease stream as we last wrote it.
    ///
    /// # Errors
    /// When the lease is not held: nothing may be written.
    pub(super) fn guard(&self) -> Result<StreamAppend, Error> {
        let (version, _) = self.held.ok_or_else(not_held)?;
        Ok(StreamAppend::new(
            &self.stream,
            ExpectedVersion::Exact(version),
            Vec::new(),
        ))
    }

    /// Whether the guard a call returned with is the lease as we hold it: a call the store
    /// answered as a retry of another node's identical step reports the lease's version now.
    pub(super) fn still_ours(&self, guard: &crate::store::AppendResult) -> bool {
        self.held
            .is_some_and(|(version, _)| guard.version == version)
    }

    /// Checks, before a command is sent, that the lease holds for a quarter of its length
    /// more: a node paused past its lease must not send what the new holder decides anew.
    ///
    /// # Errors
    /// When it does not: the step stops, to be taken again once the lease is renewed.
    pub(super) fn check(&self, clock: &dyn Clock) -> Result<(), Error> {
        let margin = micros(self.ttl / 4);
        match self.held {
            Some((_, until)) if until.0.saturating_sub(margin) > clock.now().0 => Ok(()),
            _ => Err(not_held()),
        }
    }

    /// Forgets the lease: a step's guard failed, so another node took it.
    pub(super) fn lost(&mut self) {
        self.held = None;
    }
}

fn not_held() -> Error {
    Error::backend("this node does not hold the process's lease (or not for long enough)")
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}
