-- Schema version 4: `es_append_streams`, several streams appended in one atomic call.
--
-- The parts run through `es_append` one after the other under the lock row, so their events
-- take contiguous positions; a part refused (a conflict, a duplicate id) raises inside a block
-- with an exception handler, which rolls back the parts already written (a subtransaction) and
-- returns the refusal as a result, so a group commit sharing the transaction goes on. A part
-- without events is a guard: its version is checked, after the others, so that a retry of a
-- stored call succeeds even when a guarded stream has moved on since.
--   p_counts: how many of the flattened event arrays' entries each part takes, in order.
--   One row per part on success (o_part its 1-based index); on a refusal one row, o_part the
--   refused part, with `es_append`'s statuses. A part of which every id is already stored
--   (a retry) comes back as stored; a call that mixes stored and new parts is refused as a
--   duplicate (status 2) naming the stored part.
CREATE FUNCTION es_append_streams(
    p_streams         text[],
    p_kinds           smallint[],
    p_expected        bigint[],
    p_counts          integer[],
    p_ids             uuid[],
    p_names           text[],
    p_schema_versions integer[],
    p_payloads        bytea[],
    p_timestamps      bigint[],
    p_correlation_ids uuid[],
    p_causation_ids   uuid[],
    p_extras          text[]
) RETURNS TABLE (
    o_part           integer,
    o_status         smallint,
    o_first_version  bigint,
    o_version        bigint,
    o_first_position bigint,
    o_position       bigint,
    o_dup_stream     text,
    o_dup_id         uuid
) LANGUAGE plpgsql AS $$
DECLARE
    v_head     bigint;
    v_start    integer := 1;
    v_end      integer;
    v_row      record;
    v_refused  integer;
    v_fail     record;
    v_stored   integer;
    v_new      integer := 0;
    v_at       bigint;
    v_actual   bigint;
    v_guard    integer;
    v_guard_at bigint;
    v_parts    integer[] := '{}';
    v_statuses smallint[] := '{}';
    v_firsts   bigint[] := '{}';
    v_versions bigint[] := '{}';
    v_fpos     bigint[] := '{}';
    v_pos      bigint[] := '{}';
BEGIN
    PERFORM FROM es_append_lock l WHERE l.id = 1 FOR UPDATE;
    SELECT coalesce(max(e.position), 0) INTO v_head FROM es_events e;
    v_at := v_head;
    BEGIN
        FOR i IN 1 .. coalesce(cardinality(p_streams), 0) LOOP
            IF p_counts[i] = 0 THEN
                SELECT e.version INTO v_actual FROM es_events e
                    WHERE e.stream = p_streams[i] ORDER BY e.version DESC LIMIT 1;
                v_actual := coalesce(v_actual, 0);
                IF v_guard IS NULL AND NOT (
                    p_kinds[i] = 0
                    OR (p_kinds[i] = 1 AND v_actual = 0)
                    OR (p_kinds[i] = 2 AND v_actual > 0)
                    OR (p_kinds[i] = 3 AND v_actual = p_expected[i])
                ) THEN
                    v_guard := i;
                    v_guard_at := v_actual;
                END IF;
                v_parts := v_parts || i;
                v_statuses := v_statuses || 0::smallint;
                v_firsts := v_firsts || (v_actual + 1);
                v_versions := v_versions || v_actual;
                v_fpos := v_fpos || (v_at + 1);
                v_pos := v_pos || v_at;
                CONTINUE;
            END IF;
            v_end := v_start + p_counts[i] - 1;
            SELECT * INTO v_row FROM es_append(p_streams[i], p_kinds[i], p_expected[i],
                p_ids[v_start:v_end], p_names[v_start:v_end],
                p_schema_versions[v_start:v_end], p_payloads[v_start:v_end],
                p_timestamps[v_start:v_end], p_correlation_ids[v_start:v_end],
                p_causation_ids[v_start:v_end], p_extras[v_start:v_end]);
            v_start := v_end + 1;
            IF v_row.o_status <> 0 THEN
                v_refused := i;
                v_fail := v_row;
                RAISE EXCEPTION 'es_append_streams: part % refused', i USING ERRCODE = 'ES001';
            END IF;
            IF v_row.o_position <= v_head THEN
                v_stored := coalesce(v_stored, i);
            ELSE
                v_new := v_new + 1;
            END IF;
            v_at := v_row.o_position;
            v_parts := v_parts || i;
            v_statuses := v_statuses || v_row.o_status;
            v_firsts := v_firsts || v_row.o_first_version;
            v_versions := v_versions || v_row.o_version;
            v_fpos := v_fpos || v_row.o_first_position;
            v_pos := v_pos || v_row.o_position;
        END LOOP;
        IF v_stored IS NOT NULL AND v_new > 0 THEN
            v_refused := v_stored;
            SELECT 2::smallint AS o_status, v_firsts[v_stored] AS o_first_version,
                   NULL::bigint AS o_version, NULL::bigint AS o_first_position,
                   NULL::bigint AS o_position, p_streams[v_stored] AS o_dup_stream,
                   p_ids[(SELECT coalesce(sum(c), 0) FROM unnest(p_counts[1:v_stored - 1]) c)::integer + 1]
                       AS o_dup_id
                INTO v_fail;
            RAISE EXCEPTION 'es_append_streams: part % already stored', v_stored
                USING ERRCODE = 'ES001';
        END IF;
        -- A guard that fails refuses the call, unless the call is a retry of a stored one.
        IF v_guard IS NOT NULL AND v_stored IS NULL THEN
            v_refused := v_guard;
            SELECT 1::smallint AS o_status, NULL::bigint AS o_first_version,
                   v_guard_at AS o_version, NULL::bigint AS o_first_position,
                   NULL::bigint AS o_position, NULL::text AS o_dup_stream, NULL::uuid AS o_dup_id
                INTO v_fail;
            RAISE EXCEPTION 'es_append_streams: guard % refused', v_guard USING ERRCODE = 'ES001';
        END IF;
    EXCEPTION WHEN SQLSTATE 'ES001' THEN
        RETURN QUERY SELECT v_refused, v_fail.o_status, v_fail.o_first_version,
            v_fail.o_version, NULL::bigint, NULL::bigint, v_fail.o_dup_stream, v_fail.o_dup_id;
        RETURN;
    END;
    RETURN QUERY SELECT * FROM unnest(v_parts, v_statuses, v_firsts, v_versions, v_fpos, v_pos,
        array_fill(NULL::text, ARRAY[cardinality(v_parts)]),
        array_fill(NULL::uuid, ARRAY[cardinality(v_parts)]));
END
$$;
ALTER FUNCTION es_append_streams(text[], smallint[], bigint[], integer[], uuid[], text[],
    integer[], bytea[], bigint[], uuid[], uuid[], text[])
    SET enable_seqscan = off;
