-- Schema version 1 of the SQLite event store. Applied once, in one transaction, when
-- `PRAGMA user_version` is 0; the store then sets `user_version` to 1. A later version adds a
-- migration from the previous one and bumps `user_version`.

-- The global log. `position` is the rowid: the single writer assigns max(position) + 1 inside
-- its write transaction, so positions are gapless and committed in order.
CREATE TABLE events (
    position       INTEGER PRIMARY KEY,
    stream         TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    event_id       BLOB    NOT NULL UNIQUE CHECK (length(event_id) = 16),
    name           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL CHECK (schema_version BETWEEN 0 AND 65535),
    payload        BLOB    NOT NULL,
    -- Microseconds since the Unix epoch, UTC.
    timestamp      INTEGER NOT NULL,
    correlation_id BLOB CHECK (correlation_id IS NULL OR length(correlation_id) = 16),
    causation_id   BLOB CHECK (causation_id IS NULL OR length(causation_id) = 16),
    -- User key-values as a JSON object of strings; NULL when there are none.
    extra          TEXT CHECK (extra IS NULL OR json_valid(extra)),
    UNIQUE (stream, version)
) STRICT;

-- Events are facts: the database itself refuses to change or remove them.
CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are immutable: UPDATE of the events table is refused');
END;

CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are immutable: DELETE from the events table is refused');
END;
