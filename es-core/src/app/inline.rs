//! Inline projections fed by the command path: right after its append, a command's own records
//! are applied to them, so a query after `send` sees the command's effect without a read.

use std::sync::Arc;

use crate::codec::Codec;
use crate::record::{NewEvent, RecordedEvent};
use crate::store::{AppendResult, EventStore};

use super::App;
use super::projections::error_chain;

impl<S: EventStore, C: Codec> App<S, C> {
    /// Brings the inline projections up to a command's last event, taking its records as
    /// appended. A projection that fails stays before the failing event and logs it; the next
    /// query retries and reports the error. The command stands either way.
    pub(super) async fn project_inline(
        &self,
        stream: &str,
        sent: Option<Vec<NewEvent>>,
        appended: &AppendResult,
    ) {
        let records = sent.map_or_else(Vec::new, |sent| {
            recorded_as_appended(stream, sent, appended)
        });
        for projection in self.inner.projections.iter().filter(|p| p.is_inline()) {
            let advanced = projection
                .advance_dyn(&self.inner, appended.position, &records)
                .await;
            if let Err(error) = advanced {
                tracing::warn!(
                    projection = projection.name(),
                    error = %error_chain(&error),
                    "inline projection stopped; the next query retries"
                );
            }
        }
    }
}

/// The records the store made of `sent` when it answered `appended`, without reading them
/// back; none when the batch's positions are not contiguous (then the projection reads them).
/// Every bundled store gives a batch contiguous positions; the check keeps a store that does
/// not from having wrong positions applied.
fn recorded_as_appended(
    stream: &str,
    sent: Vec<NewEvent>,
    appended: &AppendResult,
) -> Vec<RecordedEvent> {
    let count = sent.len() as u64;
    if appended.position - appended.first_position + 1 != count {
        return Vec::new();
    }
    let stream: Arc<str> = Arc::from(stream);
    (0..)
        .zip(sent)
        .map(|(offset, event)| RecordedEvent {
            id: event.id,
            stream: Arc::clone(&stream),
            version: appended.first_version + offset,
            position: appended.first_position + offset,
            name: Arc::from(event.name),
            schema_version: event.schema_version,
            payload: event.payload,
            metadata: event.metadata,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent() -> Vec<NewEvent> {
        vec![NewEvent::new("A", 1, "1"), NewEvent::new("B", 2, "2")]
    }

    #[test]
    fn a_contiguous_batch_is_recorded_at_its_versions_and_positions() {
        let sent = sent();
        let appended = AppendResult {
            first_version: 4,
            version: 5,
            first_position: 10,
            position: 11,
        };
        let records = recorded_as_appended("s", sent.clone(), &appended);
        let placed: Vec<_> = records
            .iter()
            .map(|r| (&*r.stream, r.version, r.position, &*r.name, r.id))
            .collect();
        assert_eq!(
            placed,
            [("s", 4, 10, "A", sent[0].id), ("s", 5, 11, "B", sent[1].id)]
        );
        assert_eq!(records[1].schema_version, 2);
        assert_eq!(records[1].payload, sent[1].payload);
        assert_eq!(records[1].metadata, sent[1].metadata);
    }

    #[test]
    fn a_batch_with_a_gap_in_positions_is_read_back_instead() {
        let appended = AppendResult {
            first_version: 1,
            version: 2,
            first_position: 10,
            position: 12,
        };
        assert!(recorded_as_appended("s", sent(), &appended).is_empty());
    }
}
