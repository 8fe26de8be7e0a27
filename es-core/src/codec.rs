//! The serializer layer between typed events and stored records.

use std::cell::RefCell;

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
    /// Serializes into a buffer kept per thread and returns an exact-size copy: one allocation
    /// per payload that becomes `Bytes` without another (`serde_json::to_vec` starts at 128
    /// bytes, and `Bytes` keeps a vector with spare capacity behind a second allocation).
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, BoxError> {
        /// Above this the buffer is not kept: one large event must not pin its size.
        const KEPT: usize = 64 * 1024;
        thread_local! {
            static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        BUFFER.with(|buffer| {
            // Busy only if a `Serialize` impl encodes through this codec itself.
            let Ok(mut buffer) = buffer.try_borrow_mut() else {
                return Ok(serde_json::to_vec(value)?);
            };
            buffer.clear();
            let payload =
                serde_json::to_writer(&mut *buffer, value).map(|()| buffer.as_slice().to_vec());
            if buffer.capacity() > KEPT {
                *buffer = Vec::new();
            }
            Ok(payload?)
        })
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, BoxError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}
