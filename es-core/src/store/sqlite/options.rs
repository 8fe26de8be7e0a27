//! What users set when opening a store: durability, busy timeout, read pool, group size.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::error::SqliteError;
use super::open::open_writer;
use super::{Shared, SqliteEventStore, writer};
use crate::error::Error;

/// How appends are made durable: SQLite's `synchronous` setting, always in WAL mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// `synchronous = FULL` (the default): the WAL is synced at every commit. An acknowledged
    /// append survives a process kill and a power loss.
    #[default]
    Full,
    /// `synchronous = NORMAL`: the WAL is synced at checkpoints only. An acknowledged append
    /// survives a process kill; a power loss may lose the last transactions (never tear one).
    Normal,
}

impl Synchronous {
    pub(super) fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

/// How to open a [`SqliteEventStore`]: durability and tuning. Get one from
/// [`SqliteEventStore::builder`], set what differs from the defaults, then [`open`](Self::open).
///
/// | option | default | what it sets |
/// |---|---|---|
/// | [`synchronous`](Self::synchronous) | [`Synchronous::Full`] | how commits are made durable |
/// | [`busy_timeout`](Self::busy_timeout) | 5 s | how long to wait for another process's lock |
/// | [`readers`](Self::readers) | 4 | how many read connections are pooled |
/// | [`max_group`](Self::max_group) | 1,024 | the most appends committed in one transaction |
///
/// WAL journal mode is not an option: the store always uses it.
///
/// # Examples
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// use std::time::Duration;
///
/// use es_core::store::{SqliteEventStore, Synchronous};
///
/// let store = SqliteEventStore::builder(dir.path().join("bank.db"))
///     .synchronous(Synchronous::Normal)
///     .busy_timeout(Duration::from_secs(10))
///     .readers(8)
///     .max_group(256)
///     .open()
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub(super) path: PathBuf,
    pub(super) synchronous: Synchronous,
    pub(super) busy_timeout: Duration,
    pub(super) readers: usize,
    max_group: usize,
}

impl SqliteOptions {
    /// Options for the database file at `path` (created if missing), with the defaults:
    /// [`Synchronous::Full`], a 5 s busy timeout, 4 pooled read connections, groups of up to
    /// 1,024 appends. The same as [`SqliteEventStore::builder`].
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_path_buf(),
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            readers: 4,
            max_group: 1024,
        }
    }

    /// How commits are made durable (default [`Synchronous::Full`]).
    #[must_use]
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// How long a connection waits for a lock held by another process before failing with a
    /// backend error (default 5 s).
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// How many read connections to pool (default 4, at least 1): at most this many reads run
    /// at once; more wait for a free connection.
    #[must_use]
    pub fn readers(mut self, readers: usize) -> Self {
        self.readers = readers.max(1);
        self
    }

    /// The most appends committed in one transaction (default 1,024; from 1 to 65,536).
    #[must_use]
    pub fn max_group(mut self, appends: usize) -> Self {
        self.max_group = appends.clamp(1, 65_536);
        self
    }

    /// Opens the store: creates the file and the schema if needed, sets WAL mode and starts the
    /// writer thread. Needs a Tokio runtime.
    ///
    /// # Errors
    /// [`Error::Backend`] when the file cannot be opened or created, is not a database, or holds
    /// a newer schema than this code knows.
    pub async fn open(self) -> Result<SqliteEventStore, Error> {
        let options = self.clone();
        let (conn, head) = tokio::task::spawn_blocking(move || open_writer(&options))
            .await
            .map_err(SqliteError::Task)??;
        let (head_tx, _) = watch::channel(head);
        let head_tx = Arc::new(head_tx);
        let (requests, receiver) = mpsc::channel(self.max_group * 4);
        let writer_head = Arc::clone(&head_tx);
        let max_group = self.max_group;
        let thread = std::thread::Builder::new()
            .name("es-sqlite-writer".into())
            .spawn(move || writer::run(conn, receiver, &writer_head, max_group))
            .map_err(Error::backend)?;
        Ok(SqliteEventStore {
            inner: Arc::new(Shared {
                requests: Some(requests),
                writer: Some(thread),
                head: head_tx,
                readers: Mutex::new(Vec::new()),
                read_permits: tokio::sync::Semaphore::new(self.readers),
                options: self,
            }),
        })
    }
}
