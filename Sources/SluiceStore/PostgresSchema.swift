/// The PostgreSQL schema, as versioned migrations. `PostgresStore.migrate` applies the missing
/// ones in one transaction under an advisory lock, so directors that start together take turns.
enum PostgresSchema {
    /// Any constant shared by every director; `pg_advisory_xact_lock` serializes migrations.
    static let migrationLock: Int64 = 0x5111CE
    /// Payloads: `end:<stream id>` when a stream's capacity is freed, `catalog` when engines,
    /// objects or replicas changed.
    static let eventChannel = "sluice_events"

    /// Ending: see the comment in migration 1.
    static let endFunction = """
    CREATE FUNCTION sluice_end(p_id bigint, p_director text, p_now bigint, p_bytes bigint, p_reason text,
      p_lost double precision, p_cumulative_lost bigint, p_jitter double precision,
      p_expired_by bigint, p_unclaimed_since bigint) RETURNS text LANGUAGE plpgsql AS $$
    DECLARE
      s streams%ROWTYPE;
      i int;
    BEGIN
      DELETE FROM streams WHERE id = p_id
        AND (p_expired_by IS NULL OR lease_expiry_ms <= p_expired_by)
        AND (p_unclaimed_since IS NULL OR (NOT claimed AND started_ms <= p_unclaimed_since))
      RETURNING * INTO s;
      IF NOT FOUND THEN RETURN NULL; END IF;
      UPDATE engines SET streams_reserved = streams_reserved - s.slots, buffer_reserved = buffer_reserved - s.buffer_bytes,
        ingest_reserved = ingest_reserved - s.ingest_bps, disk_reserved = disk_reserved - s.disk_bytes
      WHERE name = s.engine;
      FOR i IN 1 .. coalesce(array_length(s.link_names, 1), 0) LOOP
        UPDATE links SET reserved_bps = reserved_bps - s.link_amounts[i] WHERE name = s.link_names[i];
      END LOOP;
      DELETE FROM labels WHERE stream_id = p_id;
      IF p_reason IS NOT NULL THEN
        INSERT INTO usage (stream_id, kind, object, engine, client, started_ms, ended_ms, bytes, reserved_bps,
          end_reason, fraction_lost, cumulative_lost, jitter_ms, director)
        VALUES (s.id, s.kind, s.object, s.engine, s.client, s.started_ms, p_now, coalesce(p_bytes, s.bytes),
          CASE WHEN s.kind = 'ingest' THEN s.ingest_bps ELSE s.reserved_bps END, p_reason, p_lost,
          p_cumulative_lost, p_jitter, s.director);
      END IF;
      PERFORM pg_notify('sluice_events', 'end:' || p_id);
      RETURN s.body;
    END $$
    """

    /// Admission of a batch (see `AdmissionBatcher`): the engine and link rows any of them may
    /// book are locked once, in name order, and read into arrays; in arrival order, an
    /// admission that fits books its engine and every link of its path in those arrays. The
    /// admitted ones' lease and label rows are inserted with one statement each (an ID or label
    /// another stream holds refuses its admission), then each engine and link row is written
    /// once, with what the admitted booked on it. No exception block (no subtransaction per
    /// admission); one outcome per admission, in order: '' admitted, 'engine', 'link NAME',
    /// 'label LABEL NODE' or 'id'.
    static let admitBatchFunction = #"""
    CREATE FUNCTION sluice_admit_batch(p_director text,
      p_ids bigint[], p_kinds text[], p_objects text[], p_engines text[], p_clients text[], p_starts bigint[], p_expiries bigint[],
      p_rates bigint[], p_slots bigint[], p_buffers bigint[], p_ingests bigint[], p_disks bigint[], p_bodies text[],
      p_link_start int[], p_links text[], p_amounts bigint[],
      p_label_of int[], p_nodes text[], p_labels bigint[]) RETURNS text[] LANGUAGE plpgsql AS $$
    DECLARE
      n int := coalesce(array_length(p_ids, 1), 0);
      result text[] := array_fill(''::text, ARRAY[n]);
      keep boolean[] := array_fill(false, ARRAY[n]);
      kept int := 0;
      e_names text[]; e_streams bigint[]; e_buffers bigint[]; e_ingest bigint[]; e_disk bigint[];
      e_max_streams bigint[]; e_max_buffers bigint[]; e_max_ingest bigint[]; e_max_disk bigint[];
      l_names text[]; l_reserved bigint[]; l_capacity bigint[];
      i int; k int; e int; l int; fits boolean; written int; wanted int;
      inserted bigint[];
      lost record;
    BEGIN
      IF n = 0 THEN RETURN result; END IF;
      -- Every engine and link row the batch may book, locked in name order (engines, then links:
      -- the order sluice_end locks in), read once.
      SELECT array_agg(name), array_agg(streams_reserved), array_agg(buffer_reserved), array_agg(ingest_reserved),
             array_agg(disk_reserved), array_agg(max_streams), array_agg(buffer_bytes), array_agg(ingest_bps), array_agg(disk_bytes)
        INTO e_names, e_streams, e_buffers, e_ingest, e_disk, e_max_streams, e_max_buffers, e_max_ingest, e_max_disk
        FROM (SELECT * FROM engines WHERE name = ANY(p_engines) ORDER BY name FOR UPDATE) locked;
      SELECT array_agg(name), array_agg(reserved_bps), array_agg(capacity_bps) INTO l_names, l_reserved, l_capacity
        FROM (SELECT * FROM links WHERE name = ANY(p_links) ORDER BY name FOR UPDATE) locked;
      -- In arrival order: an admission that fits books its engine and every link of its path.
      FOR i IN 1 .. n LOOP
        e := array_position(e_names, p_engines[i]);
        fits := e IS NOT NULL AND e_streams[e] + p_slots[i] <= e_max_streams[e] AND e_buffers[e] + p_buffers[i] <= e_max_buffers[e]
          AND e_ingest[e] + p_ingests[i] <= e_max_ingest[e] AND e_disk[e] + p_disks[i] <= e_max_disk[e];
        IF NOT fits THEN result[i] := 'engine'; CONTINUE; END IF;
        FOR k IN p_link_start[i] .. p_link_start[i + 1] - 1 LOOP
          l := array_position(l_names, p_links[k]);
          IF l IS NULL OR l_reserved[l] + p_amounts[k] > l_capacity[l] THEN
            result[i] := 'link ' || p_links[k];
            fits := false;
            EXIT;
          END IF;
        END LOOP;
        CONTINUE WHEN NOT fits;
        e_streams[e] := e_streams[e] + p_slots[i];
        e_buffers[e] := e_buffers[e] + p_buffers[i];
        e_ingest[e] := e_ingest[e] + p_ingests[i];
        e_disk[e] := e_disk[e] + p_disks[i];
        FOR k IN p_link_start[i] .. p_link_start[i + 1] - 1 LOOP
          l := array_position(l_names, p_links[k]);
          l_reserved[l] := l_reserved[l] + p_amounts[k];
        END LOOP;
        keep[i] := true;
        kept := kept + 1;
      END LOOP;
      IF kept = 0 THEN RETURN result; END IF;
      -- The leases. An ID another director's stream holds is not inserted (the unique index says
      -- so; no check that depends on the table's statistics): its admission is refused.
      WITH rows AS (
        INSERT INTO streams (id, director, kind, object, engine, client, started_ms, lease_expiry_ms, reserved_bps,
          slots, buffer_bytes, ingest_bps, disk_bytes, link_names, link_amounts, body)
        SELECT p_ids[a], p_director, p_kinds[a], p_objects[a], p_engines[a], p_clients[a], p_starts[a], p_expiries[a], p_rates[a],
          p_slots[a], p_buffers[a], p_ingests[a], p_disks[a], p_links[p_link_start[a] : p_link_start[a + 1] - 1],
          p_amounts[p_link_start[a] : p_link_start[a + 1] - 1], p_bodies[a]
        FROM generate_series(1, n) AS g(a) WHERE keep[a]
        ON CONFLICT (id) DO NOTHING RETURNING id)
      SELECT array_agg(id) INTO inserted FROM rows;
      IF coalesce(array_length(inserted, 1), 0) < kept THEN
        FOR i IN 1 .. n LOOP
          CONTINUE WHEN NOT keep[i] OR p_ids[i] = ANY(inserted);
          result[i] := 'id';
          keep[i] := false;
        END LOOP;
      END IF;
      -- The labels, the same way: one held by another stream refuses its admission, whose lease
      -- row and other labels go again.
      SELECT count(*) INTO wanted FROM unnest(p_label_of) AS o WHERE keep[o];
      INSERT INTO labels (node, label, stream_id)
      SELECT u.node, u.label, p_ids[u.owner] FROM unnest(p_label_of, p_nodes, p_labels) AS u(owner, node, label) WHERE keep[u.owner]
      ON CONFLICT DO NOTHING;
      GET DIAGNOSTICS written = ROW_COUNT;
      IF written < wanted THEN
        FOR lost IN
          SELECT DISTINCT ON (u.owner) u.owner, u.node, u.label FROM unnest(p_label_of, p_nodes, p_labels) AS u(owner, node, label)
          WHERE keep[u.owner] AND NOT EXISTS (SELECT 1 FROM labels t WHERE t.node = u.node AND t.label = u.label AND t.stream_id = p_ids[u.owner])
        LOOP
          result[lost.owner] := 'label ' || lost.label || ' ' || lost.node;
          keep[lost.owner] := false;
          DELETE FROM streams WHERE id = p_ids[lost.owner];
          DELETE FROM labels WHERE stream_id = p_ids[lost.owner];
        END LOOP;
      END IF;
      -- Each engine and link row written once, with what the admitted (only they) booked on it.
      UPDATE engines SET streams_reserved = streams_reserved + v.slots, buffer_reserved = buffer_reserved + v.buffers,
        ingest_reserved = ingest_reserved + v.ingest, disk_reserved = disk_reserved + v.disk
      FROM (SELECT p_engines[a] AS name, sum(p_slots[a]) AS slots, sum(p_buffers[a]) AS buffers, sum(p_ingests[a]) AS ingest,
              sum(p_disks[a]) AS disk
            FROM generate_series(1, n) AS g(a) WHERE keep[a] GROUP BY 1) AS v
      WHERE engines.name = v.name;
      UPDATE links SET reserved_bps = reserved_bps + v.amount
      FROM (SELECT p_links[h.j] AS name, sum(p_amounts[h.j]) AS amount
            FROM generate_series(1, n) AS g(a), generate_series(p_link_start[a], p_link_start[a + 1] - 1) AS h(j)
            WHERE keep[a] GROUP BY 1) AS v
      WHERE links.name = v.name;
      RETURN result;
    END $$;
    """#

    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE objects (name text PRIMARY KEY, size_bytes bigint NOT NULL, duration_ms bigint NOT NULL,
              average_bps bigint NOT NULL, sha256 text NOT NULL)
            """,
            "CREATE TABLE replicas (object text NOT NULL, engine text NOT NULL, PRIMARY KEY (object, engine))",
            """
            CREATE TABLE engines (name text PRIMARY KEY, url text NOT NULL, capacity text NOT NULL,
              max_streams bigint NOT NULL, buffer_bytes bigint NOT NULL, ingest_bps bigint NOT NULL, disk_bytes bigint NOT NULL,
              streams_reserved bigint NOT NULL DEFAULT 0, buffer_reserved bigint NOT NULL DEFAULT 0,
              ingest_reserved bigint NOT NULL DEFAULT 0, disk_reserved bigint NOT NULL DEFAULT 0,
              last_heartbeat_ms bigint NOT NULL)
            """,
            "CREATE TABLE links (name text PRIMARY KEY, capacity_bps bigint NOT NULL, reserved_bps bigint NOT NULL DEFAULT 0)",
            """
            CREATE TABLE streams (id bigint PRIMARY KEY, director text NOT NULL, kind text NOT NULL, object text NOT NULL,
              engine text NOT NULL, client text NOT NULL, started_ms bigint NOT NULL, lease_expiry_ms bigint NOT NULL,
              claimed boolean NOT NULL DEFAULT false, bytes bigint NOT NULL DEFAULT 0, reserved_bps bigint NOT NULL,
              slots bigint NOT NULL, buffer_bytes bigint NOT NULL, ingest_bps bigint NOT NULL, disk_bytes bigint NOT NULL,
              link_names text[] NOT NULL, link_amounts bigint[] NOT NULL, body text NOT NULL)
            """,
            "CREATE INDEX streams_expiry ON streams (lease_expiry_ms)",
            "CREATE TABLE labels (node text NOT NULL, label bigint NOT NULL, stream_id bigint NOT NULL, PRIMARY KEY (node, label))",
            "CREATE INDEX labels_stream ON labels (stream_id)",
            """
            CREATE TABLE usage (seq bigserial PRIMARY KEY, stream_id bigint NOT NULL, kind text NOT NULL, object text NOT NULL,
              engine text NOT NULL, client text NOT NULL, started_ms bigint NOT NULL, ended_ms bigint NOT NULL,
              bytes bigint NOT NULL, reserved_bps bigint NOT NULL, end_reason text NOT NULL,
              fraction_lost double precision, cumulative_lost bigint, jitter_ms double precision, director text NOT NULL)
            """,
            "CREATE INDEX usage_ended ON usage (ended_ms)",
            """
            CREATE TABLE directors (id text PRIMARY KEY, http_url text NOT NULL, rtsp_url text NOT NULL,
              queue_length bigint NOT NULL, queue_capacity bigint NOT NULL, seen_ms bigint NOT NULL)
            """,
            // Admission: the engine row first, then each link in the order given (the caller
            // sorts them), so two admissions never wait on each other in a cycle. A conditional
            // UPDATE that matches no row means that resource is full: the block's exception
            // undoes everything booked before it.
            """
            CREATE FUNCTION sluice_admit(p_id bigint, p_director text, p_kind text, p_object text, p_engine text,
              p_client text, p_now bigint, p_expiry bigint, p_rate bigint, p_slots bigint, p_buffer bigint,
              p_ingest bigint, p_disk bigint, p_links text[], p_amounts bigint[], p_nodes text[], p_labels bigint[],
              p_body text) RETURNS text LANGUAGE plpgsql AS $$
            DECLARE
              i int;
            BEGIN
              UPDATE engines SET streams_reserved = streams_reserved + p_slots, buffer_reserved = buffer_reserved + p_buffer,
                ingest_reserved = ingest_reserved + p_ingest, disk_reserved = disk_reserved + p_disk
              WHERE name = p_engine AND streams_reserved + p_slots <= max_streams AND buffer_reserved + p_buffer <= buffer_bytes
                AND ingest_reserved + p_ingest <= ingest_bps AND disk_reserved + p_disk <= disk_bytes;
              IF NOT FOUND THEN RETURN 'engine'; END IF;
              FOR i IN 1 .. coalesce(array_length(p_links, 1), 0) LOOP
                UPDATE links SET reserved_bps = reserved_bps + p_amounts[i]
                WHERE name = p_links[i] AND reserved_bps + p_amounts[i] <= capacity_bps;
                IF NOT FOUND THEN RAISE EXCEPTION USING ERRCODE = 'SL001', MESSAGE = 'link ' || p_links[i]; END IF;
              END LOOP;
              INSERT INTO streams (id, director, kind, object, engine, client, started_ms, lease_expiry_ms, reserved_bps,
                slots, buffer_bytes, ingest_bps, disk_bytes, link_names, link_amounts, body)
              VALUES (p_id, p_director, p_kind, p_object, p_engine, p_client, p_now, p_expiry, p_rate, p_slots, p_buffer,
                p_ingest, p_disk, p_links, p_amounts, p_body)
              ON CONFLICT (id) DO NOTHING;
              IF NOT FOUND THEN RAISE EXCEPTION USING ERRCODE = 'SL001', MESSAGE = 'id'; END IF;
              FOR i IN 1 .. coalesce(array_length(p_nodes, 1), 0) LOOP
                INSERT INTO labels (node, label, stream_id) VALUES (p_nodes[i], p_labels[i], p_id) ON CONFLICT DO NOTHING;
                IF NOT FOUND THEN RAISE EXCEPTION USING ERRCODE = 'SL001', MESSAGE = 'label ' || p_labels[i] || ' ' || p_nodes[i]; END IF;
              END LOOP;
              RETURN '';
            EXCEPTION WHEN SQLSTATE 'SL001' THEN
              RETURN SQLERRM;
            END $$
            """,
            // Ending: the DELETE decides who ends a stream (exactly one caller gets the row), then
            // its resources go back in the admission's order and its usage record is written (naming
            // the director that admitted it).
            endFunction,
        ],
        ["ALTER TABLE replicas ADD COLUMN kind text NOT NULL DEFAULT 'static'"],
        ["CREATE TABLE delivery_cursors (consumer text PRIMARY KEY, sequence bigint NOT NULL)"],
        [
            "CREATE TABLE users (name text PRIMARY KEY, body text NOT NULL)",
            "CREATE TABLE api_keys (id text PRIMARY KEY, user_name text NOT NULL, body text NOT NULL)",
            "ALTER TABLE usage ADD COLUMN user_name text",
            // The usage record names the user the lease's body names.
            endFunction.replacingOccurrences(of: "CREATE FUNCTION", with: "CREATE OR REPLACE FUNCTION")
                .replacingOccurrences(of: "p_cumulative_lost, p_jitter, s.director);", with: "p_cumulative_lost, p_jitter, s.director, s.body::jsonb->>'user');")
                .replacingOccurrences(of: "end_reason, fraction_lost, cumulative_lost, jitter_ms, director)", with: "end_reason, fraction_lost, cumulative_lost, jitter_ms, director, user_name)"),
        ],
        ["CREATE TABLE object_access (object text PRIMARY KEY, body text NOT NULL)"],
        // What became of one stream (`GET /v1/streams/{id}`), without reading the whole table.
        ["CREATE INDEX usage_stream ON usage (stream_id)"],
        // RTSP sessions, so a player controls its session through any director; one director
        // holds each (times it out, answers for it) until another takes it over.
        [
            "CREATE TABLE rtsp_sessions (id text PRIMARY KEY, director text NOT NULL, body text NOT NULL)",
            "CREATE INDEX rtsp_sessions_director ON rtsp_sessions (director)",
        ],
        // One replication planner: every director publishes the demand it saw (the planner
        // sums them), copies in flight are found without scanning the play streams, and drains
        // are shared.
        [
            """
            CREATE TABLE demand (director text NOT NULL, object text NOT NULL, admitted bigint NOT NULL,
              queued bigint NOT NULL, refused bigint NOT NULL, edge text NOT NULL, turned_away_edge text,
              seen_ms bigint NOT NULL, PRIMARY KEY (director, object))
            """,
            "CREATE INDEX streams_copies ON streams (object) WHERE kind = 'copy'",
            "CREATE TABLE drains (engine text PRIMARY KEY)",
        ],
        // Admissions in batches, one transaction for many.
        [admitBatchFunction],
    ]
}
