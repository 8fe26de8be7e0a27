-- Random groups through `es_append_group`, each checked against the same appends run one by
-- one through `es_append_streams` (a one-stream append as one part), in a subtransaction rolled
-- back: the rows returned and the table after must be identical. Appends of 1-2 parts over 4
-- streams (a stream may be named twice in one append, which only a direct call can send), each
-- part 0-2 events whose ids come from a pool of 9 (so retries, duplicates and repeated ids
-- within a group are frequent), random expectations. The group's writes are kept,
-- so later groups meet stored events; a run ends after `trials` groups or, at random, earlier.
-- Returns '<groups> groups, <mismatches> mismatches[, the first mismatch]'.
CREATE FUNCTION pg_temp.group_against_parts(trials int, seed float8) RETURNS text LANGUAGE plpgsql AS $fz$
DECLARE
  a_appends int[]; a_streams text[]; a_kinds smallint[]; a_expected bigint[]; a_counts int[]; a_ids uuid[];
  n_app int; n_parts int; cnt int; used text[]; s text; idpool int[]; id int;
  ref text; grp text; ref_tab text; grp_tab text; r record; k int; mism int := 0; first text;
  p0 int; p1 int; e0 int; e1 int; t_done int := 0;
BEGIN
  PERFORM setseed(seed);
  FOR t IN 1 .. trials LOOP
    a_appends := '{}'; a_streams := '{}'; a_kinds := '{}'; a_expected := '{}'; a_counts := '{}'; a_ids := '{}';
    n_app := 1 + floor(random()*5)::int;
    FOR c IN 1 .. n_app LOOP
      n_parts := 1 + floor(random()*2.5)::int; used := '{}';
      FOR p IN 1 .. n_parts LOOP
        s := (ARRAY['a','b','c','d'])[1 + floor(random()*4)::int];
        used := used || s;
        a_appends := a_appends || c; a_streams := a_streams || s;
        a_kinds := a_kinds || floor(random()*4)::smallint; a_expected := a_expected || floor(random()*5)::bigint;
        cnt := floor(random()*3)::int; idpool := '{}';
        FOR e IN 1 .. cnt LOOP
          id := floor(random()*9)::int;
          CONTINUE WHEN id = ANY(idpool);
          idpool := idpool || id; a_ids := a_ids || ('00000000-0000-0000-0000-00000000000' || id)::uuid;
        END LOOP;
        a_counts := a_counts || coalesce(cardinality(idpool), 0);
      END LOOP;
    END LOOP;
    -- reference: each append through es_append_streams
    BEGIN
      ref := ''; k := 1;
      FOR c IN 1 .. n_app LOOP
        p0 := array_position(a_appends, c);
        CONTINUE WHEN p0 IS NULL;
        p1 := p0; WHILE p1 < cardinality(a_appends) AND a_appends[p1+1] = c LOOP p1 := p1 + 1; END LOOP;
        e0 := k; e1 := k + (SELECT coalesce(sum(x),0) FROM unnest(a_counts[p0:p1]) x)::int - 1; k := e1 + 1;
        FOR r IN SELECT * FROM es_append_streams(a_streams[p0:p1], a_kinds[p0:p1], a_expected[p0:p1], a_counts[p0:p1],
            coalesce(a_ids[e0:e1], '{}'), array_fill('n'::text, ARRAY[e1-e0+1]), array_fill(1, ARRAY[e1-e0+1]), array_fill('\x00'::bytea, ARRAY[e1-e0+1]),
            array_fill(0::bigint, ARRAY[e1-e0+1]), array_fill(NULL::uuid, ARRAY[e1-e0+1]), array_fill(NULL::uuid, ARRAY[e1-e0+1]), array_fill(NULL::text, ARRAY[e1-e0+1])) LOOP
          ref := ref || format('%s:%s ', c, r);
        END LOOP;
      END LOOP;
      SELECT string_agg(format('%s/%s/%s/%s', ev.position, ev.stream, ev.version, ev.id), ' ' ORDER BY ev.position) INTO ref_tab FROM es_events ev;
      RAISE EXCEPTION 'undo' USING ERRCODE = 'ES999';
    EXCEPTION WHEN SQLSTATE 'ES999' THEN NULL;
    END;
    grp := '';
    FOR r IN SELECT * FROM es_append_group(a_appends, a_streams, a_kinds, a_expected, a_counts, a_ids,
        array_fill('n'::text, ARRAY[cardinality(a_ids)]), array_fill(1, ARRAY[cardinality(a_ids)]), array_fill('\x00'::bytea, ARRAY[cardinality(a_ids)]),
        array_fill(0::bigint, ARRAY[cardinality(a_ids)]), array_fill(NULL::uuid, ARRAY[cardinality(a_ids)]), array_fill(NULL::uuid, ARRAY[cardinality(a_ids)]), array_fill(NULL::text, ARRAY[cardinality(a_ids)])) LOOP
      grp := grp || format('%s:(%s,%s,%s,%s,%s,%s,%s,%s) ', r.o_append, r.o_part, r.o_status, r.o_first_version, r.o_version, r.o_first_position, r.o_position, r.o_dup_stream, r.o_dup_id);
    END LOOP;
    SELECT string_agg(format('%s/%s/%s/%s', ev.position, ev.stream, ev.version, ev.id), ' ' ORDER BY ev.position) INTO grp_tab FROM es_events ev;
    IF ref <> grp OR ref_tab IS DISTINCT FROM grp_tab THEN
      mism := mism + 1;
      first := coalesce(first, format('group %s %s %s %s %s %s; one by one: %s -> %s; group: %s -> %s',
          a_appends, a_streams, a_kinds, a_expected, a_counts, a_ids, ref, ref_tab, grp, grp_tab));
    END IF;
    t_done := t_done + 1;
    -- start over now and then, so that the streams are short again
    IF random() < 0.05 THEN EXIT; END IF;
  END LOOP;
  RETURN format('%s groups, %s mismatches', t_done, mism) || coalesce(', ' || first, '');
END $fz$;
