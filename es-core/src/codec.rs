//! The serializer layer between typed events and stored records.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Turns typed payloads into bytes and back. [`Json`] is the default.
///
/// A codec error is a boxed source; the caller wraps it in an [`Error`](crate::Error) that names
/// the event, stream and version.
pub trait Codec: Send + Sync + 'static {
    /// Serializes `value`.
    ///
    /// # Errors
    /// When `value` cannot be represented in this format.
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, BoxError>;

    /// Deserializes a `T` from `bytes`.
    ///
    /// # Errors
    /// When `bytes` is not a valid `T` in this format.
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, BoxError>;
}

/// A boxed error source, as codecs and backends return them.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// JSON through `serde_json`: readable in the database, and what upcasters operate on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl Codec for Json {
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, BoxError> {
        Ok(serde_json::to_vec(value)?)
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, BoxError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}
