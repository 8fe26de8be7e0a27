//! Every way a request fails, as a status code and a JSON body `{"error": .., "code": ..}`.
//!
//! 400 and 422 are kept apart on purpose: 400 says the request is not a well-formed command
//! (the client must change it), 422 that the bank decided against a well-formed one (the same
//! request may pass later, when the balance allows it).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bank::{BankError, TransferError};
use es_core::{CommandError, QueryError, TransactionError};
use serde::Serialize;

/// A failed request: its status, a stable machine-readable code, a message for people, and the
/// input field at fault when there is one.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

#[derive(Debug, Serialize)]
struct ErrorBody {
    error: String,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, error: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error: error.into(),
                code,
                field: None,
            },
        }
    }

    /// The body alone, for a channel without a status (an event of a stream).
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(&self.body).expect("an error body serializes to JSON")
    }

    /// 400: the request is malformed; `field` names the input at fault when one is.
    pub(crate) fn bad_request(field: Option<String>, error: impl Into<String>) -> Self {
        let mut this = Self::new(StatusCode::BAD_REQUEST, "bad_request", error);
        this.body.field = field;
        this
    }

    /// 404: nothing is known under this id (yet: a background read model may lag, see
    /// `?position=`).
    pub(crate) fn not_found(error: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", error)
    }

    /// 405, for a known path asked with a method it does not take.
    pub(crate) fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this path does not take this method",
        )
    }

    /// 413: a body over the service's limit.
    pub(crate) fn too_large(error: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", error)
    }

    /// A store failure: 503 when the backend itself failed (it may work again; a command may
    /// or may not have been applied), 500 for everything else (a stored event that cannot be
    /// read, a failing read model: retrying will not help).
    fn store(error: &es_core::Error) -> Self {
        match error {
            es_core::Error::Backend(_) => {
                log_chain(error);
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the store failed; a command may or may not have been applied: read the \
                     account before sending it again",
                )
            }
            // The command path retries conflicts itself; one that surfaces is still a conflict.
            es_core::Error::Conflict { .. } => {
                Self::new(StatusCode::CONFLICT, "conflict", error.to_string())
            }
            _ => {
                log_chain(error);
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    error.to_string(),
                )
            }
        }
    }

    fn refused(refusal: &BankError) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            refusal_code(refusal),
            refusal.to_string(),
        )
    }

    fn conflict(error: &impl std::fmt::Display) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", error.to_string())
    }

    fn internal(error: &(impl std::error::Error + 'static)) -> Self {
        log_chain(error);
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            error.to_string(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// The error and its causes, logged: the response shows only the first line, as the causes may
/// name files, hosts or database details a client has no business seeing.
fn log_chain(error: &(dyn std::error::Error + 'static)) {
    let mut causes = String::new();
    let mut source = error.source();
    while let Some(cause) = source {
        causes.push_str(": ");
        causes.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!("{error}{causes}");
}

impl From<es_core::Error> for ApiError {
    fn from(error: es_core::Error) -> Self {
        Self::store(&error)
    }
}

impl From<CommandError<BankError>> for ApiError {
    fn from(error: CommandError<BankError>) -> Self {
        match &error {
            CommandError::Rejected(refusal) => Self::refused(refusal),
            CommandError::TooManyConflicts { .. } => Self::conflict(&error),
            CommandError::Store(store) => Self::store(store),
            // Not registered, or a variant added later: a bug of this service, not the client's.
            _ => Self::internal(&error),
        }
    }
}

impl From<TransferError> for ApiError {
    fn from(error: TransferError) -> Self {
        match error {
            TransactionError::Rejected(command) => command.into(),
            TransactionError::Store(store) => Self::store(&store),
            // Both mean: others won; nothing of this transfer was written. (`AlreadyCommitted`
            // needs an idempotency key, which this service does not send, but is a conflict all
            // the same should it come.)
            TransactionError::TooManyConflicts { .. }
            | TransactionError::AlreadyCommitted { .. } => Self::conflict(&error),
            _ => Self::internal(&error),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match &error {
            // The read model stopped on an event it cannot apply: waiting longer will not help,
            // and what it stopped on is for the log, not the client.
            QueryError::Timeout {
                projection,
                failure: Some(_),
                ..
            } => {
                log_chain(&error);
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("read model `{projection}` is stopped on an error; the server logs it"),
                )
            }
            // The read model did not reach the client's position in time: the write is stored,
            // only not readable here yet.
            QueryError::Timeout { .. } => Self::new(
                StatusCode::GATEWAY_TIMEOUT,
                "not_caught_up",
                error.to_string(),
            ),
            QueryError::Store(store) => Self::store(store),
            _ => Self::internal(&error),
        }
    }
}

/// A stable name for each refusal, so that clients need not match messages.
fn refusal_code(refusal: &BankError) -> &'static str {
    match refusal {
        BankError::AlreadyOpen => "already_open",
        BankError::NotOpen => "no_such_account",
        BankError::Closed => "account_closed",
        BankError::ZeroAmount => "zero_amount",
        BankError::EmptyAccountId => "empty_account_id",
        BankError::InvalidOwner => "invalid_owner",
        BankError::BalanceOverflow { .. } => "balance_overflow",
        BankError::InsufficientFunds { .. } => "insufficient_funds",
        BankError::SameAccount => "same_account",
        BankError::BalanceNotZero { .. } => "balance_not_zero",
        // Wires are not served over HTTP, but the bank's error type is shared.
        BankError::NoSuchWire => "no_such_wire",
        BankError::WireNotSent => "wire_not_sent",
        BankError::WireSettled => "wire_settled",
    }
}

#[cfg(test)]
mod tests {
    //! The mapping of failures that a test over HTTP cannot cause on demand (a store that fails
    //! mid-request, a read model that cannot catch up); conflicts are also provoked over HTTP,
    //! by two processes on one file (`tests/http.rs`).

    use std::time::Duration;

    use super::*;

    fn json(error: impl Into<ApiError>) -> (StatusCode, serde_json::Value) {
        let error = error.into();
        let body = serde_json::to_value(&error.body).expect("an error body serializes");
        (error.status, body)
    }

    #[test]
    fn a_command_that_loses_every_retry_is_409() {
        let (status, body) = json(CommandError::<BankError>::TooManyConflicts {
            stream: "bank-account-a".into(),
            retries: 30,
        });
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["code"], "conflict");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("30 conflicting retries")
        );
    }

    #[test]
    fn a_transfer_that_loses_every_retry_is_409() {
        let (status, body) = json(TransferError::TooManyConflicts {
            stream: "bank-account-a".into(),
            retries: 30,
        });
        assert_eq!(
            (status, &body["code"]),
            (StatusCode::CONFLICT, &"conflict".into())
        );
    }

    #[test]
    fn a_refusal_inside_a_transfer_is_422_with_the_banks_message() {
        let (status, body) = json(TransferError::Rejected(CommandError::Rejected(
            BankError::InsufficientFunds {
                balance: 5,
                requested: 7,
            },
        )));
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["code"], "insufficient_funds");
        assert_eq!(body["error"], "insufficient funds: balance 5, requested 7");
    }

    #[test]
    fn a_failing_backend_is_503_and_hides_its_causes() {
        let backend = es_core::Error::backend("password authentication failed for user bank");
        let (status, body) = json(CommandError::<BankError>::Store(backend));
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["code"], "store_unavailable");
        assert!(!body["error"].as_str().unwrap().contains("password"));
    }

    #[test]
    fn an_unreadable_stored_event_is_500() {
        let decode = es_core::Error::Decode {
            stream: "bank-account-a".into(),
            version: 2,
            event: "MoneyDeposited".into(),
            source: "invalid type: string \"x\", expected u64".into(),
        };
        let (status, body) = json(QueryError::Store(decode));
        assert_eq!(
            (status, &body["code"]),
            (StatusCode::INTERNAL_SERVER_ERROR, &"internal".into())
        );
    }

    #[test]
    fn a_read_model_that_does_not_catch_up_in_time_is_504() {
        let (status, body) = json(QueryError::Timeout {
            projection: "balances",
            position: 9,
            reached: 7,
            timeout: Duration::from_secs(5),
            failure: None,
        });
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(body["code"], "not_caught_up");
    }
}
