-- The server's work of an append without the commit: in one transaction (rolled back), 300
-- times each, interleaved in 3 rounds: a lone append through `es_append` and through
-- `es_append_group`, a raw INSERT, and a group of 8 one-event appends as 8 `es_append` calls
-- and as one `es_append_group` call. Microseconds per call. Run after `bench/pgbench/run` (it
-- leaves the schema `es_pgbench` with the store's tables):
--   PGOPTIONS=-csearch_path=es_pgbench psql -qAt "$ES_POSTGRES_URL" -f bench/pgbench/group_cpu.sql
CREATE FUNCTION pg_temp.per_call(n int) RETURNS text LANGUAGE plpgsql AS $b$
DECLARE
    t0 timestamptz;
    out text := '';
    s bigint;
    streams text[];
    ids uuid[];
    payload bytea := '\x7b22616d6f756e74223a31307d';
BEGIN
    FOR round IN 1 .. 3 LOOP
        t0 := clock_timestamp();
        FOR i IN 1 .. n LOOP
            SELECT o_status INTO s FROM es_append('lone-' || (i % 100), 0::smallint, 0,
                ARRAY[gen_random_uuid()], ARRAY['MoneyDeposited'], ARRAY[1], ARRAY[payload],
                ARRAY[0::bigint], ARRAY[NULL::uuid], ARRAY[NULL::uuid], ARRAY[NULL::text]);
        END LOOP;
        out := out || format('es_append %s, ', round(extract(epoch FROM clock_timestamp() - t0) * 1e6 / n));
        t0 := clock_timestamp();
        FOR i IN 1 .. n LOOP
            SELECT o_status INTO s FROM es_append_group(ARRAY[1], ARRAY['lone-' || (i % 100)],
                ARRAY[0::smallint], ARRAY[0::bigint], ARRAY[1], ARRAY[gen_random_uuid()],
                ARRAY['MoneyDeposited'], ARRAY[1], ARRAY[payload], ARRAY[0::bigint],
                ARRAY[NULL::uuid], ARRAY[NULL::uuid], ARRAY[NULL::text]);
        END LOOP;
        out := out || format('es_append_group %s, ', round(extract(epoch FROM clock_timestamp() - t0) * 1e6 / n));
        t0 := clock_timestamp();
        FOR i IN 1 .. n LOOP
            INSERT INTO raw_events (id, stream, version, name, payload)
                VALUES (gen_random_uuid(), 'raw-' || gen_random_uuid(), 1, 'MoneyDeposited', payload);
        END LOOP;
        out := out || format('raw INSERT %s; ', round(extract(epoch FROM clock_timestamp() - t0) * 1e6 / n));
        t0 := clock_timestamp();
        FOR i IN 1 .. n LOOP
            FOR a IN 1 .. 8 LOOP
                SELECT o_status INTO s FROM es_append('group-' || a || '-' || (i % 100),
                    0::smallint, 0, ARRAY[gen_random_uuid()], ARRAY['MoneyDeposited'], ARRAY[1],
                    ARRAY[payload], ARRAY[0::bigint], ARRAY[NULL::uuid], ARRAY[NULL::uuid],
                    ARRAY[NULL::text]);
            END LOOP;
        END LOOP;
        out := out || format('8 x es_append %s, ', round(extract(epoch FROM clock_timestamp() - t0) * 1e6 / n));
        t0 := clock_timestamp();
        FOR i IN 1 .. n LOOP
            streams := ARRAY(SELECT 'group-' || a || '-' || (i % 100) FROM generate_series(1, 8) a);
            ids := ARRAY(SELECT gen_random_uuid() FROM generate_series(1, 8));
            SELECT count(*) INTO s FROM es_append_group(ARRAY[1, 2, 3, 4, 5, 6, 7, 8], streams,
                array_fill(0::smallint, ARRAY[8]), array_fill(0::bigint, ARRAY[8]),
                array_fill(1, ARRAY[8]), ids, array_fill('MoneyDeposited'::text, ARRAY[8]),
                array_fill(1, ARRAY[8]), array_fill(payload, ARRAY[8]),
                array_fill(0::bigint, ARRAY[8]), array_fill(NULL::uuid, ARRAY[8]),
                array_fill(NULL::uuid, ARRAY[8]), array_fill(NULL::text, ARRAY[8]));
        END LOOP;
        out := out || format('group of 8 %s' || E'\n', round(extract(epoch FROM clock_timestamp() - t0) * 1e6 / n));
    END LOOP;
    RETURN out;
END
$b$;
BEGIN;
SELECT pg_temp.per_call(300);
ROLLBACK;
