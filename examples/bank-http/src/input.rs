//! What a request carries, read strictly: a JSON body, an account id in the path, a position
//! in the query string. Every refusal is a 400 naming the field at fault, with a JSON body
//! (axum's own rejections answer 422 for a body of the wrong shape, which here means a refusal
//! by the bank, and plain text); only a body over the size limit is a 413.

use std::fmt;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use bank::BankAccount;
use es_core::Aggregate;
use es_core::store::MAX_STREAM_NAME_LEN;
use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::error::Category;

use crate::error::ApiError;

/// An account id fit for a stream name: not empty, no control characters (they would reach
/// logs and terminals), short enough for every store. Checked where the id enters, so that
/// the store's own refusal of a stream name never has to be told apart from its failures.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct AccountId(String);

impl AccountId {
    /// The id.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The id, owned.
    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

/// Why a string is not an account id.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InvalidAccountId {
    #[error("the account id must not be empty")]
    Empty,
    #[error("the account id must not contain control characters")]
    Control,
    #[error("the account id must be at most {max} bytes long")]
    TooLong { max: usize },
}

impl TryFrom<String> for AccountId {
    type Error = InvalidAccountId;

    fn try_from(id: String) -> Result<Self, Self::Error> {
        // The store's limit is on the stream name, which adds the aggregate's prefix.
        let max = MAX_STREAM_NAME_LEN - BankAccount::stream_name("").len();
        if id.is_empty() {
            Err(InvalidAccountId::Empty)
        } else if id.chars().any(char::is_control) {
            Err(InvalidAccountId::Control)
        } else if id.len() > max {
            Err(InvalidAccountId::TooLong { max })
        } else {
            Ok(Self(id))
        }
    }
}

/// The `{id}` of the path, as an [`AccountId`].
#[derive(Debug)]
pub(crate) struct AccountPath(pub(crate) AccountId);

impl<S: Send + Sync> FromRequestParts<S> for AccountPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let field = || Some("id".to_owned());
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::bad_request(field(), rejection.body_text()))?;
        let id = AccountId::try_from(id)
            .map_err(|invalid| ApiError::bad_request(field(), invalid.to_string()))?;
        Ok(Self(id))
    }
}

/// `?position=N`: answer only once the read model has applied the global log up to `N` (the
/// `position` a command answered with), so a client reads its own writes.
#[derive(Debug, Default, Deserialize)]
// A misspelt `?positon=` would otherwise read a stale answer without a word.
#[serde(deny_unknown_fields)]
pub(crate) struct ReadAt {
    pub(crate) position: Option<u64>,
}

impl<S: Send + Sync> FromRequestParts<S> for ReadAt {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(read_at) = Query::<Self>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::bad_request(None, rejection.body_text()))?;
        Ok(read_at)
    }
}

/// An amount of cents: a JSON integer from 0 to `u64::MAX`, said so when it is not (serde's
/// own "expected u64" means little to a client, nor does its "floating point `1e23`" for an
/// integer too large).
pub(crate) fn cents<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    struct Cents;

    impl Visitor<'_> for Cents {
        type Value = u64;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(formatter, "a whole number of cents from 0 to {}", u64::MAX)
        }

        fn visit_u64<E: de::Error>(self, cents: u64) -> Result<u64, E> {
            Ok(cents)
        }
    }

    deserializer.deserialize_u64(Cents)
}

/// A JSON body of type `T`, which should deny unknown fields.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        // Required, as axum's `Json` does: a browser sends `text/plain` across origins without
        // asking first, `application/json` only after a preflight.
        if !is_json(request.headers()) {
            return Err(ApiError::bad_request(
                None,
                "the body must be JSON, sent with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::too_large(rejection.body_text())
                } else {
                    ApiError::bad_request(None, rejection.body_text())
                }
            })?;
        let mut json = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut json).map_err(body_error)?;
        json.end().map_err(|trailing| {
            ApiError::bad_request(None, format!("the body is not valid JSON: {trailing}"))
        })?;
        // serde also fills a struct from an array of its fields in order (`[5]`): refused, so
        // that every field a client sends is named.
        if bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(ApiError::bad_request(
                None,
                "the body must be a JSON object",
            ));
        }
        Ok(Self(value))
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The 400 for a body that is not JSON, or not of the expected shape, naming the field: from
/// the path serde reached, or, for a field missing or unknown (reported at the object that
/// lacks or holds it), from serde's message.
fn body_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let error = error.into_inner();
    match error.classify() {
        Category::Syntax | Category::Eof => {
            ApiError::bad_request(None, format!("the body is not valid JSON: {error}"))
        }
        Category::Data | Category::Io => {
            let message = error.to_string();
            if path == "." {
                ApiError::bad_request(named_field(&message), message)
            } else {
                ApiError::bad_request(Some(path.clone()), format!("`{path}`: {message}"))
            }
        }
    }
}

/// `amount` from "missing field `amount` at line 1 column 2", "unknown field `amount`, .." or
/// "duplicate field `amount`".
fn named_field(message: &str) -> Option<String> {
    let rest = ["missing field `", "unknown field `", "duplicate field `"]
        .into_iter()
        .find_map(|prefix| message.strip_prefix(prefix))?;
    rest.split_once('`').map(|(field, _)| field.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_id_fits_a_stream_name() {
        let longest = "a".repeat(MAX_STREAM_NAME_LEN - "bank-account-".len());
        assert!(AccountId::try_from(longest.clone()).is_ok());
        es_core::store::validate_stream_name(&BankAccount::stream_name(&longest))
            .expect("the longest id makes a valid stream name");
        assert!(AccountId::try_from(format!("{longest}a")).is_err());
        assert!(AccountId::try_from(String::new()).is_err());
        assert!(AccountId::try_from("a\u{7f}b".to_owned()).is_err());
        assert!(AccountId::try_from("a\u{85}b".to_owned()).is_err());
        assert!(AccountId::try_from("élodie / 2".to_owned()).is_ok());
    }

    #[test]
    fn content_types_of_json() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
