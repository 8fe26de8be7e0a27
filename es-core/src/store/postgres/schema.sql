-- Schema version 1 of the PostgreSQL event store. Applied by `PostgresEventStore::migrate`,
-- inside one transaction, in the schema that `search_path` names first.

-- The global log. `position` is gapless and handed out under the `es_append_lock` row lock
-- (see `es_append`), so it becomes visible in order.
CREATE TABLE es_events (
    position       bigint   NOT NULL PRIMARY KEY CHECK (position > 0),
    stream         text     NOT NULL CHECK (octet_length(stream) BETWEEN 1 AND 255),
    version        bigint   NOT NULL CHECK (version > 0),
    id             uuid     NOT NULL,
    name           text     NOT NULL,
    schema_version integer  NOT NULL CHECK (schema_version BETWEEN 0 AND 65535),
    payload        bytea    NOT NULL,
    timestamp_us   bigint   NOT NULL,
    correlation_id uuid,
    causation_id   uuid,
    extra          jsonb,
    CONSTRAINT es_events_stream_version UNIQUE (stream, version),
    CONSTRAINT es_events_id UNIQUE (id)
);

-- One row that every append locks (FOR UPDATE, never updated: no dead row versions) until it
-- commits; the holder takes the positions after max(position).
CREATE TABLE es_append_lock (
    id integer NOT NULL PRIMARY KEY CHECK (id = 1)
);
INSERT INTO es_append_lock (id) VALUES (1);

-- Stored events are immutable: the database itself refuses UPDATE, DELETE and TRUNCATE.
CREATE FUNCTION es_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'es_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER es_events_immutable BEFORE UPDATE OR DELETE ON es_events
    FOR EACH ROW EXECUTE FUNCTION es_refuse_change();
CREATE TRIGGER es_events_no_truncate BEFORE TRUNCATE ON es_events
    FOR EACH STATEMENT EXECUTE FUNCTION es_refuse_change();

-- One append, in one statement (one round trip). Expected outcomes are results, not errors, so
-- several appends can share one transaction (group commit) without savepoints.
--   p_kind: 0 any, 1 no stream, 2 stream exists, 3 exact p_expected.
--   o_status: 0 stored or replayed (versions and positions), 1 conflict (o_version = actual),
--             2 duplicate id (o_dup_stream, o_first_version, o_dup_id).
CREATE FUNCTION es_append(
    p_stream          text,
    p_kind            smallint,
    p_expected        bigint,
    p_ids             uuid[],
    p_names           text[],
    p_schema_versions integer[],
    p_payloads        bytea[],
    p_timestamps      bigint[],
    p_correlation_ids uuid[],
    p_causation_ids   uuid[],
    p_extras          text[]
) RETURNS TABLE (
    o_status         smallint,
    o_first_version  bigint,
    o_version        bigint,
    o_first_position bigint,
    o_position       bigint,
    o_dup_stream     text,
    o_dup_id         uuid
) LANGUAGE plpgsql AS $$
DECLARE
    v_count  bigint := coalesce(cardinality(p_ids), 0);
    v_head   bigint;
    v_actual bigint;
    v_first  record;
    v_stored bigint;
    v_placed boolean;
    v_last   bigint;
BEGIN
    -- The global order: one row lock, held to commit, serializes appends across every node.
    PERFORM FROM es_append_lock l WHERE l.id = 1 FOR UPDATE;

    -- An idempotent retry: every id stored, in this stream, in order, where `expected` says.
    IF v_count > 0 AND EXISTS (SELECT FROM es_events e WHERE e.id = ANY (p_ids)) THEN
        SELECT e.stream, e.version, e.position, e.id INTO v_first
            FROM unnest(p_ids) WITH ORDINALITY AS u(id, o)
            JOIN es_events e ON e.id = u.id
            ORDER BY u.o LIMIT 1;
        IF FOUND THEN
            SELECT count(*), bool_and(e.version = v_first.version + (u.o - 1)), max(e.position)
                INTO v_stored, v_placed, v_last
                FROM unnest(p_ids) WITH ORDINALITY AS u(id, o)
                JOIN es_events e ON e.id = u.id AND e.stream = v_first.stream;
            IF v_stored = v_count AND v_placed AND v_first.stream = p_stream AND (
                p_kind = 0
                OR (p_kind = 1 AND v_first.version = 1)
                OR (p_kind = 2 AND v_first.version > 1)
                OR (p_kind = 3 AND v_first.version - 1 = p_expected)
            ) THEN
                RETURN QUERY SELECT 0::smallint, v_first.version, v_first.version + v_count - 1,
                    v_first.position, v_last, NULL::text, NULL::uuid;
            ELSE
                RETURN QUERY SELECT 2::smallint, v_first.version, NULL::bigint, NULL::bigint,
                    NULL::bigint, v_first.stream, v_first.id;
            END IF;
            RETURN;
        END IF;
    END IF;

    -- A fresh snapshot, taken after the lock: it sees every earlier append committed.
    SELECT coalesce(max(e.position), 0) INTO v_head FROM es_events e;
    SELECT e.version INTO v_actual FROM es_events e
        WHERE e.stream = p_stream ORDER BY e.version DESC LIMIT 1;
    v_actual := coalesce(v_actual, 0);
    IF NOT (
        p_kind = 0
        OR (p_kind = 1 AND v_actual = 0)
        OR (p_kind = 2 AND v_actual > 0)
        OR (p_kind = 3 AND v_actual = p_expected)
    ) THEN
        RETURN QUERY SELECT 1::smallint, NULL::bigint, v_actual, NULL::bigint, NULL::bigint,
            NULL::text, NULL::uuid;
        RETURN;
    END IF;
    IF v_count = 0 THEN
        RETURN QUERY SELECT 0::smallint, v_actual + 1, v_actual, v_head + 1, v_head,
            NULL::text, NULL::uuid;
        RETURN;
    END IF;

    INSERT INTO es_events (position, stream, version, id, name, schema_version, payload,
                           timestamp_us, correlation_id, causation_id, extra)
        SELECT v_head + u.o, p_stream, v_actual + u.o, u.id, u.name, u.schema_version,
               u.payload, u.timestamp_us, u.correlation_id, u.causation_id, u.extra::jsonb
        FROM unnest(p_ids, p_names, p_schema_versions, p_payloads, p_timestamps,
                    p_correlation_ids, p_causation_ids, p_extras)
             WITH ORDINALITY AS u(id, name, schema_version, payload, timestamp_us,
                                  correlation_id, causation_id, extra, o);
    -- Delivered at commit, to the listeners of this schema's channel.
    PERFORM pg_notify(left('es_head:' || current_schema(), 63), (v_head + v_count)::text);
    RETURN QUERY SELECT 0::smallint, v_actual + 1, v_actual + v_count, v_head + 1,
        v_head + v_count, NULL::text, NULL::uuid;
END
$$;
