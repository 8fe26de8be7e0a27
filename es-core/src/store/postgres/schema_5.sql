-- Schema version 5: `es_append_group`, every append of a group commit in one set-based call.
--
-- Before, a group ran one `es_append` per append, each taking the lock row, reading the head,
-- checking its ids and its stream's version, inserting and notifying on its own. This function
-- takes the lock row once; reads the head, every part's stream version and whether any id is
-- stored in one statement (and where the ids are only when some are: a retry); decides each
-- append's outcome in order in memory; then writes every accepted event with one INSERT and
-- sends one notification.
--
-- An append is one or more parts (`es_append_streams`' parts; a one-stream append is one part)
-- and its outcome is exactly what `es_append_streams` returns for it, run where it stands in
-- the group: appends see the ones before them (a second append to a stream sees the first
-- one's events, a retry sees the ids an earlier append of the group stored); a refused append
-- (a conflict, a duplicate id, a failing guard) writes nothing and does not touch its
-- neighbours; an append of which every id is stored where it says comes back as stored (the
-- idempotent retry); one that mixes stored and new ids is refused as a duplicate.
--   p_appends: per part, the 1-based index of its append; the parts of an append are adjacent.
--   p_counts:  per part, how many of the flattened event arrays' entries it takes, in order.
--   One row per part of an accepted append; one row for a refused append, o_part its refused
--   part. o_part is 1-based within its append; the other columns are `es_append`'s.
CREATE FUNCTION es_append_group(
    p_appends         integer[],
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
    o_append         integer,
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
    -- No array below has an initializer: each is built by appending to NULL, which costs
    -- nothing when the call does not need it.
    v_parts      integer := coalesce(cardinality(p_streams), 0);
    -- The head before the group, and the last position taken so far.
    v_base       bigint;
    v_head       bigint;
    -- Per part: its stream's version in the table, its first event.
    v_table_ver  bigint[];
    v_start      integer[];
    v_next       integer := 1;
    -- Per stream of the group: its version as decided so far.
    s_names      text[];
    s_versions   bigint[];
    -- Per event: where the table holds its id (read only when some id is stored).
    v_any_stored boolean;
    v_repeats    boolean;
    v_tab_stream text[];
    v_tab_ver    bigint[];
    v_tab_pos    bigint[];
    -- Per event: its part.
    v_part_of    integer[];
    -- Per event the group writes, in order (the n-th takes position v_base + n): its index in
    -- the event arrays, its id and its version.
    w_event      integer[];
    w_id         uuid[];
    w_version    bigint[];
    -- The rows returned, in order: the part, the versions and positions; for the rows that
    -- refuse an append, also the row's number, its status and the duplicate's stream and id.
    r_index      integer[];
    r_first      bigint[];
    r_version    bigint[];
    r_fpos       bigint[];
    r_pos        bigint[];
    x_row        integer[];
    x_status     smallint[];
    x_stream     text[];
    x_id         uuid[];
    -- One append being decided: its parts `a_first` .. `a_last`, what it changed (to undo
    -- when it is refused), and its outcome so far.
    a_first      integer := 1;
    a_last       integer;
    a_head       bigint;
    a_at         bigint;
    a_rows       integer;
    a_writes     integer;
    a_slots      integer[];
    a_befores    bigint[];
    a_refused    integer;
    a_stored     integer;
    a_new        integer;
    a_guard      integer;
    a_guard_at   bigint;
    f_status     smallint;
    f_first      bigint;
    f_version    bigint;
    f_stream     text;
    f_id         uuid;
    -- One part being decided.
    v_count      integer;
    v_end        integer;
    v_s          integer;
    v_actual     bigint;
    v_found      boolean;
    v_first_k    integer;
    v_k          integer;
    v_j          integer;
    v_k_stream   text;
    v_k_ver      bigint;
    v_k_pos      bigint;
    v_first_str  text;
    v_first_ver  bigint;
    v_first_pos  bigint;
    v_stored     integer;
    v_placed     boolean;
    v_last       bigint;
BEGIN
    -- The global order: one row lock, held to commit, serializes appends across every node.
    PERFORM FROM es_append_lock l WHERE l.id = 1 FOR UPDATE;
    -- One statement, a fresh snapshot taken after the lock (it sees every earlier append
    -- committed): the head, each part's stream version (a scalar subquery: one probe of the
    -- (stream, version) index per part) and whether any id is stored (the id index).
    SELECT (SELECT coalesce(max(e.position), 0) FROM es_events e),
           ARRAY(SELECT coalesce((SELECT e.version FROM es_events e WHERE e.stream = x.s
                                  ORDER BY e.version DESC LIMIT 1), 0)
                 FROM unnest(p_streams) WITH ORDINALITY AS x(s, o) ORDER BY x.o),
           EXISTS (SELECT FROM es_events e WHERE e.id = ANY (p_ids))
        INTO v_base, v_table_ver, v_any_stored;
    v_head := v_base;
    -- Whether an id appears twice in the group: only then can an append meet ids an earlier
    -- one of the group wrote, and only then are the group's writes searched (a search per
    -- part over every id written so far, which would grow with the square of a large group).
    v_repeats := EXISTS (SELECT FROM unnest(p_ids) AS u(id) GROUP BY u.id HAVING count(*) > 1);
    IF v_any_stored THEN
        -- A retry: where each id is stored (OFFSET 0 keeps one index probe per id).
        SELECT array_agg(e.stream ORDER BY x.o), array_agg(e.version ORDER BY x.o),
               array_agg(e.position ORDER BY x.o)
            INTO v_tab_stream, v_tab_ver, v_tab_pos
            FROM unnest(p_ids) WITH ORDINALITY AS x(id, o)
            LEFT JOIN LATERAL (SELECT t.stream, t.version, t.position FROM es_events t
                               WHERE t.id = x.id OFFSET 0) e ON true;
    END IF;
    FOR i IN 1 .. v_parts LOOP
        v_start := v_start || v_next;
        v_part_of := v_part_of || array_fill(i, ARRAY[p_counts[i]]);
        v_next := v_next + p_counts[i];
    END LOOP;

    WHILE a_first <= v_parts LOOP
        a_last := a_first;
        WHILE a_last < v_parts AND p_appends[a_last + 1] = p_appends[a_first] LOOP
            a_last := a_last + 1;
        END LOOP;
        a_head := v_head;
        a_at := v_head;
        a_rows := coalesce(cardinality(r_index), 0);
        a_writes := coalesce(cardinality(w_event), 0);
        a_slots := NULL;
        a_befores := NULL;
        a_refused := NULL;
        a_stored := NULL;
        a_new := 0;
        a_guard := NULL;
        FOR i IN a_first .. a_last LOOP
            v_count := p_counts[i];
            v_s := array_position(s_names, p_streams[i]);
            IF v_s IS NULL THEN
                s_names := s_names || p_streams[i];
                s_versions := s_versions || v_table_ver[i];
                v_s := cardinality(s_names);
            END IF;
            v_actual := s_versions[v_s];
            IF v_count = 0 THEN
                -- A guard: checked after the other parts (see below).
                IF a_guard IS NULL AND NOT (
                    p_kinds[i] = 0
                    OR (p_kinds[i] = 1 AND v_actual = 0)
                    OR (p_kinds[i] = 2 AND v_actual > 0)
                    OR (p_kinds[i] = 3 AND v_actual = p_expected[i])
                ) THEN
                    a_guard := i;
                    a_guard_at := v_actual;
                END IF;
                v_first_ver := v_actual + 1;
                v_first_pos := a_at + 1;
                v_last := a_at;
            ELSE
                -- Where the part's ids are stored: in the table, or by an earlier append of
                -- the group (looked for only when the group wrote one of them).
                v_end := v_start[i] + v_count - 1;
                v_found := false;
                IF v_any_stored OR (v_repeats AND v_head > v_base
                                    AND p_ids[v_start[i]:v_end] && w_id) THEN
                    v_stored := 0;
                    v_placed := true;
                    v_last := NULL;
                    FOR o IN 1 .. v_count LOOP
                        v_k := v_start[i] + o - 1;
                        v_k_pos := v_tab_pos[v_k];
                        v_k_stream := v_tab_stream[v_k];
                        v_k_ver := v_tab_ver[v_k];
                        IF v_k_pos IS NULL THEN
                            CONTINUE WHEN NOT v_repeats;
                            v_j := array_position(w_id, p_ids[v_k]);
                            CONTINUE WHEN v_j IS NULL;
                            v_k_pos := v_base + v_j;
                            v_k_stream := p_streams[v_part_of[w_event[v_j]]];
                            v_k_ver := w_version[v_j];
                        END IF;
                        IF NOT v_found THEN
                            v_found := true;
                            v_first_k := v_k;
                            v_first_str := v_k_stream;
                            v_first_ver := v_k_ver;
                            v_first_pos := v_k_pos;
                        END IF;
                        IF v_k_stream = v_first_str THEN
                            v_stored := v_stored + 1;
                            v_placed := v_placed AND v_k_ver = v_first_ver + (o - 1);
                            v_last := greatest(v_last, v_k_pos);
                        END IF;
                    END LOOP;
                END IF;

                IF v_found THEN
                    -- An idempotent retry: every id stored, in this stream, in order, where
                    -- `expected` says. Anything else is a duplicate.
                    IF NOT (v_stored = v_count AND v_placed AND v_first_str = p_streams[i] AND (
                        p_kinds[i] = 0
                        OR (p_kinds[i] = 1 AND v_first_ver = 1)
                        OR (p_kinds[i] = 2 AND v_first_ver > 1)
                        OR (p_kinds[i] = 3 AND v_first_ver - 1 = p_expected[i])
                    )) THEN
                        a_refused := i;
                        f_status := 2;
                        f_first := v_first_ver;
                        f_version := NULL;
                        f_stream := v_first_str;
                        f_id := p_ids[v_first_k];
                        EXIT;
                    END IF;
                ELSIF NOT (
                    p_kinds[i] = 0
                    OR (p_kinds[i] = 1 AND v_actual = 0)
                    OR (p_kinds[i] = 2 AND v_actual > 0)
                    OR (p_kinds[i] = 3 AND v_actual = p_expected[i])
                ) THEN
                    a_refused := i;
                    f_status := 1;
                    f_first := NULL;
                    f_version := v_actual;
                    f_stream := NULL;
                    f_id := NULL;
                    EXIT;
                ELSE
                    FOR o IN 1 .. v_count LOOP
                        w_event := w_event || (v_start[i] + o - 1);
                        w_id := w_id || p_ids[v_start[i] + o - 1];
                        w_version := w_version || (v_actual + o);
                    END LOOP;
                    a_slots := a_slots || v_s;
                    a_befores := a_befores || v_actual;
                    s_versions[v_s] := v_actual + v_count;
                    v_first_ver := v_actual + 1;
                    v_first_pos := v_head + 1;
                    v_last := v_head + v_count;
                    v_head := v_last;
                END IF;
                IF v_last <= a_head THEN
                    a_stored := coalesce(a_stored, i);
                ELSE
                    a_new := a_new + 1;
                END IF;
                a_at := v_last;
            END IF;
            r_index := r_index || i;
            r_first := r_first || v_first_ver;
            r_version := r_version || (v_first_ver + v_count - 1);
            r_fpos := r_fpos || v_first_pos;
            r_pos := r_pos || v_last;
        END LOOP;

        IF a_refused IS NULL AND a_stored IS NOT NULL AND a_new > 0 THEN
            -- A retry of some parts with new others: refused as a duplicate of the stored part.
            a_refused := a_stored;
            f_status := 2;
            f_first := r_first[a_rows + a_stored - a_first + 1];
            f_version := NULL;
            f_stream := p_streams[a_stored];
            f_id := p_ids[v_start[a_stored]];
        ELSIF a_refused IS NULL AND a_guard IS NOT NULL AND a_stored IS NULL THEN
            -- A guard that fails refuses the append, unless it is a retry of a stored one.
            a_refused := a_guard;
            f_status := 1;
            f_first := NULL;
            f_version := a_guard_at;
            f_stream := NULL;
            f_id := NULL;
        END IF;

        IF a_refused IS NOT NULL THEN
            -- Undo the append: its streams' versions (last change first, so a stream named
            -- twice gets its first value back), its writes, its rows; one row names the
            -- refused part.
            FOR n IN REVERSE coalesce(cardinality(a_slots), 0) .. 1 LOOP
                s_versions[a_slots[n]] := a_befores[n];
            END LOOP;
            v_head := a_head;
            w_event := w_event[1:a_writes];
            w_id := w_id[1:a_writes];
            w_version := w_version[1:a_writes];
            r_index := r_index[1:a_rows] || a_refused;
            r_first := r_first[1:a_rows] || f_first;
            r_version := r_version[1:a_rows] || f_version;
            r_fpos := r_fpos[1:a_rows] || NULL::bigint;
            r_pos := r_pos[1:a_rows] || NULL::bigint;
            x_row := x_row || (a_rows + 1);
            x_status := x_status || f_status;
            x_stream := x_stream || f_stream;
            x_id := x_id || f_id;
        END IF;
        a_first := a_last + 1;
    END LOOP;

    IF v_head > v_base THEN
        INSERT INTO es_events (position, stream, version, id, name, schema_version, payload,
                               timestamp_us, correlation_id, causation_id, extra)
            SELECT v_base + w.n, p_streams[v_part_of[w.k]], w.version, w.id, p_names[w.k],
                   p_schema_versions[w.k], p_payloads[w.k], p_timestamps[w.k],
                   p_correlation_ids[w.k], p_causation_ids[w.k], p_extras[w.k]::jsonb
            FROM unnest(w_event, w_id, w_version) WITH ORDINALITY AS w(k, id, version, n);
        -- Delivered at commit, to the listeners of this schema's channel.
        PERFORM pg_notify(left('es_head:' || current_schema(), 63), v_head::text);
    END IF;
    -- A part's number within its append: from its append's first part.
    RETURN QUERY SELECT p_appends[r.i], r.i - array_position(p_appends, p_appends[r.i]) + 1,
            coalesce(x.status, 0::smallint), r.first, r.version, r.fpos, r.pos, x.stream, x.id
        FROM unnest(r_index, r_first, r_version, r_fpos, r_pos)
             WITH ORDINALITY AS r(i, first, version, fpos, pos, n)
        LEFT JOIN unnest(x_row, x_status, x_stream, x_id) AS x(n, status, stream, id)
             ON x.n = r.n
        ORDER BY r.n;
END
$$;
-- Every statement is a lookup by a unique index or reads the function's own arrays: plans
-- with indexes only (see schema version 3), made once per session (a custom plan per call,
-- which the array parameters would otherwise get, costs more than the call's work).
ALTER FUNCTION es_append_group(integer[], text[], smallint[], bigint[], integer[], uuid[],
    text[], integer[], bytea[], bigint[], uuid[], uuid[], text[])
    SET enable_seqscan = off SET plan_cache_mode = force_generic_plan;
