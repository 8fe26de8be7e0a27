-- Schema version 3: `es_append` plans every statement with its indexes.
--
-- PL/pgSQL caches a plan per statement and session. A session whose first appends ran while
-- `es_events` was empty kept the plan made then: a sequential scan for the duplicate-id check,
-- so on a new database every later append read the whole table (appends slowed from 4 ms to
-- 570 ms over 100,000 events). Every statement of the function is a lookup by a unique index
-- (the lock row, an id, a stream's version, the newest position), so a scan is never right.
ALTER FUNCTION es_append(text, smallint, bigint, uuid[], text[], integer[], bytea[], bigint[],
    uuid[], uuid[], text[])
    SET enable_seqscan = off;
