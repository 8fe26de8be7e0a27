//! Opening a store from what the operator typed: a SQLite file or a `postgres://..` URL.

use std::path::Path;
use std::sync::Arc;

use es_core::store::postgres::driver;
use es_core::store::{PostgresEventStore, SqliteEventStore, StoreAdmin, StoredSnapshot};
use es_core::{AnyEventStore, EventStore};

use crate::Failure;

/// Snapshots per page.
const SNAPSHOT_PAGE: usize = 500;

/// An open store: its log through the contract, and the operator's view of it.
#[derive(Clone)]
pub(crate) struct Store {
    /// The log, as the application reads it.
    pub(crate) log: AnyEventStore,
    /// Listing, totals and import.
    pub(crate) admin: Arc<dyn StoreAdmin>,
    /// What it is, for messages: the file's path, or the URL without its password.
    pub(crate) name: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The next page of stored snapshots, after the one `after` names, which it moves to the
    /// page's last; empty after the last.
    pub(crate) async fn snapshot_page(
        &self,
        after: &mut Option<(String, u64)>,
    ) -> Result<Vec<StoredSnapshot>, Failure> {
        let from = after
            .as_ref()
            .map(|(stream, version)| (stream.as_str(), *version));
        let page = self.admin.snapshots(from, SNAPSHOT_PAGE).await?;
        if let Some(last) = page.last() {
            *after = Some((last.stream.clone(), last.snapshot.version));
        }
        Ok(page)
    }

    fn new(store: impl EventStore + StoreAdmin + Clone, name: String) -> Self {
        Self {
            log: AnyEventStore::new(store.clone()),
            admin: Arc::new(store),
            name,
        }
    }
}

fn is_postgres(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// Opens a store that must already exist: a SQLite file is not created, nor is a file that
/// holds no event store given the store's tables.
pub(crate) async fn existing(location: &str) -> Result<Store, Failure> {
    if !is_postgres(location) {
        if !Path::new(location).is_file() {
            return Err(Failure::Usage(format!(
                "no SQLite file at `{location}` (give a SQLite file or a postgres:// URL)"
            )));
        }
        is_sqlite_store(location)?;
    }
    open(location, false).await
}

/// Refuses a file that is not an event store, looking at it read-only: opening it as a store
/// would add the store's tables to it.
fn is_sqlite_store(location: &str) -> Result<(), Failure> {
    let refuse = |why: String| {
        Failure::Usage(format!(
            "`{location}` is not an event store of this framework: {why}"
        ))
    };
    let conn = rusqlite::Connection::open_with_flags(
        location,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|error| refuse(error.to_string()))?;
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'events'",
            [],
            |row| row.get(0),
        )
        .map_err(|error| refuse(error.to_string()))?;
    if tables == 0 {
        return Err(refuse("it has no `events` table".into()));
    }
    Ok(())
}

/// Whether two locations name one store: the same URL, or the same file however spelled.
pub(crate) fn same_location(one: &str, other: &str) -> bool {
    if one == other {
        return true;
    }
    if is_postgres(one) || is_postgres(other) {
        return false;
    }
    match (std::fs::canonicalize(one), std::fs::canonicalize(other)) {
        (Ok(one), Ok(other)) => one == other,
        _ => false,
    }
}

/// Opens a store to write into: a SQLite file is created if missing, PostgreSQL tables too.
pub(crate) async fn target(location: &str) -> Result<Store, Failure> {
    open(location, true).await
}

async fn open(location: &str, create: bool) -> Result<Store, Failure> {
    if location.is_empty() || location.eq_ignore_ascii_case("memory") {
        return Err(Failure::Usage(
            "an in-memory store lives inside its process; give a SQLite file or a postgres:// URL"
                .into(),
        ));
    }
    if is_postgres(location) {
        let store = PostgresEventStore::builder(location)
            .pool_size(4)
            .connect()
            .await?;
        let name = without_password(location);
        if create {
            store.migrate().await?;
        } else {
            has_tables(&store, &name).await?;
        }
        return Ok(Store::new(store, name));
    }
    if let Some((scheme, _)) = location.split_once("://") {
        return Err(Failure::Usage(format!(
            "`{scheme}://..` is not a store this tool knows; give a SQLite file or a postgres:// URL"
        )));
    }
    let store = SqliteEventStore::open(location).await?;
    Ok(Store::new(store, location.to_owned()))
}

/// Refuses a database without the store's tables, naming the likely mistake, rather than
/// failing on the first query with "relation does not exist".
async fn has_tables(store: &PostgresEventStore, name: &str) -> Result<(), Failure> {
    let failed = |error: &dyn std::fmt::Display| {
        Failure::Usage(format!(
            "cannot check for the event store at {name}: {error}"
        ))
    };
    let client = driver::pool(store).get().await.map_err(|e| failed(&e))?;
    let row = client
        .query_one("SELECT to_regclass('es_events') IS NOT NULL", &[])
        .await
        .map_err(|e| failed(&e))?;
    if row.get::<_, bool>(0) {
        return Ok(());
    }
    Err(Failure::Usage(format!(
        "no event store at {name}: the schema its search_path names has no es_events table \
         (the application creates it, and so does `copy` into it; the URL's \
         options=-csearch_path%3Dname picks another schema)"
    )))
}

/// The URL with its password replaced, fit to print: in the user info (up to the authority's
/// last `@`, as a password may hold `@`) and in a `password=` query parameter.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) if user.contains(':') => {
            let user = user.split(':').next().unwrap_or_default();
            format!("{user}:***@{host}")
        }
        _ => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(
            without_password("postgres://app:secret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            without_password("postgres://app@db/x"),
            "postgres://app@db/x"
        );
        assert_eq!(
            without_password("postgres://app:p@ss@db/x?sslmode=disable"),
            "postgres://app:***@db/x?sslmode=disable"
        );
        assert_eq!(
            without_password("postgres://db/x?user=app&password=secret&options=-c"),
            "postgres://db/x?user=app&password=***&options=-c"
        );
    }
}
