//! Rules across the methods of one `#[projection]` block. Duplicates are reported and dropped,
//! so that the model left behind expands without clashes.

use crate::internals::Errors;
use crate::internals::tokens::display;

use super::model::Projection;

pub(super) fn check(projection: &mut Projection, errors: &mut Errors) {
    if let Some(name) = &projection.options.name {
        let value = name.value();
        if value.is_empty() || value.len() > 255 || value.chars().any(char::is_control) {
            errors.error(
                name,
                format!(
                    "projection `{}` needs a name of 1 to 255 bytes without control characters: it names its checkpoint",
                    projection.ident
                ),
            );
        }
    }
    let mut kept = Vec::new();
    for on in std::mem::take(&mut projection.ons) {
        let key = (
            display(&on.event),
            on.cfgs.iter().map(display).collect::<Vec<_>>(),
        );
        match kept.iter().find(|(first_key, _): &&(_, super::model::On)| *first_key == key) {
            Some((_, first)) => errors.duplicate(
                &on.event,
                format!(
                    "event `{}` already has an `#[on]` method (`{}`) in this projection; keep one `#[on]` per event type",
                    display(&on.event),
                    first.method
                ),
                &first.event,
            ),
            None => kept.push((key, on)),
        }
    }
    projection.ons = kept.into_iter().map(|(_, on)| on).collect();
    let mut kept = Vec::new();
    for query in std::mem::take(&mut projection.queries) {
        let key = display(&query.ty);
        match kept
            .iter()
            .find(|(first_key, _): &&(String, super::model::Query)| *first_key == key)
        {
            Some((_, first)) => errors.duplicate(
                &query.ty,
                format!(
                    "query `{key}` already has a `#[query]` method (`{}`); a query has one handler",
                    first.method
                ),
                &first.ty,
            ),
            None => kept.push((key, query)),
        }
    }
    projection.queries = kept.into_iter().map(|(_, query)| query).collect();
}
