//! The commands, as `POST`s: each answers with the `position` it committed at, which a client
//! sends back as `?position=` to read its own write.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bank::{BankAccount, CloseAccount, Deposit, OpenAccount, Withdraw};
use es_core::{Aggregate, Committed};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::input::{AccountId, AccountPath, JsonBody, cents};
use crate::routes::Service;

/// `POST /accounts`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = r#"an object {"id": .., "owner": ..}"#
)]
pub(crate) struct OpenBody {
    id: AccountId,
    owner: String,
}

/// `POST /accounts/{id}/deposits` and `/withdrawals`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = r#"an object {"amount": cents}"#)]
pub(crate) struct AmountBody {
    #[serde(deserialize_with = "cents")]
    amount: u64,
}

/// `POST /transfers`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = r#"an object {"from": .., "to": .., "amount": cents}"#
)]
pub(crate) struct TransferBody {
    from: AccountId,
    to: AccountId,
    #[serde(deserialize_with = "cents")]
    amount: u64,
}

/// What a command to one account answers: where its account's stream and the global log
/// stand after it.
#[derive(Debug, Serialize)]
pub(crate) struct Accepted {
    id: String,
    version: u64,
    position: u64,
}

impl Accepted {
    fn new(id: String, committed: &Committed<BankAccount>) -> Self {
        Self {
            id,
            version: committed.version,
            position: committed.position,
        }
    }
}

/// What a transfer answers: both accounts' versions after it, and the position of its append.
#[derive(Debug, Serialize)]
pub(crate) struct Transferred {
    versions: BTreeMap<String, u64>,
    position: u64,
}

/// Opens an account: 201 with its `Location`.
pub(crate) async fn open(
    State(service): State<Service>,
    JsonBody(body): JsonBody<OpenBody>,
) -> Result<Response, ApiError> {
    let id = body.id.into_string();
    let committed = service
        .app
        .send(OpenAccount {
            account: id.clone(),
            owner: body.owner,
        })
        .await?;
    let location = HeaderValue::try_from(format!("/accounts/{}", path_segment(&id)))
        .expect("a percent-encoded path is a valid header value");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(Accepted::new(id, &committed)),
    )
        .into_response())
}

/// Pays money in.
pub(crate) async fn deposit(
    State(service): State<Service>,
    AccountPath(id): AccountPath,
    JsonBody(body): JsonBody<AmountBody>,
) -> Result<Json<Accepted>, ApiError> {
    let id = id.into_string();
    let committed = service
        .app
        .send(Deposit {
            account: id.clone(),
            amount: body.amount,
        })
        .await?;
    Ok(Json(Accepted::new(id, &committed)))
}

/// Pays money out.
pub(crate) async fn withdraw(
    State(service): State<Service>,
    AccountPath(id): AccountPath,
    JsonBody(body): JsonBody<AmountBody>,
) -> Result<Json<Accepted>, ApiError> {
    let id = id.into_string();
    let committed = service
        .app
        .send(Withdraw {
            account: id.clone(),
            amount: body.amount,
        })
        .await?;
    Ok(Json(Accepted::new(id, &committed)))
}

/// Closes an account whose balance is zero; takes no body.
pub(crate) async fn close(
    State(service): State<Service>,
    AccountPath(id): AccountPath,
) -> Result<Json<Accepted>, ApiError> {
    let id = id.into_string();
    let committed = service
        .app
        .send(CloseAccount {
            account: id.clone(),
        })
        .await?;
    Ok(Json(Accepted::new(id, &committed)))
}

/// Moves money between two accounts, atomically (the bank's own [`bank::transfer`]).
pub(crate) async fn transfer(
    State(service): State<Service>,
    JsonBody(body): JsonBody<TransferBody>,
) -> Result<Json<Transferred>, ApiError> {
    let (from, to) = (body.from.as_str(), body.to.as_str());
    let done = bank::transfer(&service.app, from, to, body.amount).await?;
    let versions = [from, to]
        .into_iter()
        .filter_map(|id| {
            let stream = BankAccount::stream_name(id);
            let (_, version) = done.streams.iter().find(|(name, _)| *name == stream)?;
            Some((id.to_owned(), *version))
        })
        .collect();
    Ok(Json(Transferred {
        versions,
        position: done.position,
    }))
}

/// `id` as one path segment: every byte but the unreserved ones of RFC 3986 percent-encoded.
fn path_segment(id: &str) -> String {
    use std::fmt::Write;

    let mut encoded = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            write!(encoded, "%{byte:02X}").expect("writing to a String cannot fail");
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::path_segment;

    #[test]
    fn a_path_segment_escapes_all_but_unreserved_bytes() {
        assert_eq!(path_segment("alice-1_b.c~"), "alice-1_b.c~");
        assert_eq!(path_segment("a/b c?é"), "a%2Fb%20c%3F%C3%A9");
    }
}
