-- 064_app_seen: an app's last contact and connection state in a narrow table
-- of their own (issue 16, docs/benchmarks.md "ingpg3", docs/storage.md "The
-- app seen by a batch").
--
-- Every ingest statement notes its app as seen (db_series.c, at most every
-- 5 s per app): a gateway sending a batch a minute wrote its apps row with
-- every batch. That row is wide, and each update of it ran apps' five CHECK
-- constraints and the apps_touch trigger (a PL/pgSQL call) and wrote the
-- whole new row version to the WAL: about 19 us of PostgreSQL's CPU per
-- batch when each batch is its app's first in 5 s, against ~25 us for all
-- the rest of the batch.
--
-- app_seen holds what that note and the connection's transitions write, one
-- row per app, and nothing else: no CHECK constraint, no touch trigger (the
-- app's updated_at now says when its settings changed, not when a batch
-- came), room on every page for the next versions of its rows (fillfactor
-- 50: a seen update is a heap-only update on the same page), and no index
-- on a column that the seen update changes (last_seen_at, last_seen_ip).
-- The columns keep their names, types and meanings (004, 016, 019); every
-- writer of the connection state (a batch, POST /ingest/status, the MQTT
-- bridge, the S6 sweep, the notices' record) writes this row, so that each
-- transition is still decided on the newest committed version of one row
-- (an UPDATE re-checks its WHERE on it in READ COMMITTED), as it was on the
-- apps row.
CREATE TABLE app_seen (
    account_id       bigint NOT NULL,
    app_id           bigint NOT NULL,
    last_seen_at     timestamptz,
    last_seen_ip     inet,
    connected        boolean NOT NULL DEFAULT false,
    connected_at     timestamptz,
    disconnected_at  timestamptz,
    connection_cause text,
    connection_seen  boolean,
    PRIMARY KEY (account_id, app_id),
    FOREIGN KEY (account_id, app_id) REFERENCES apps (account_id, id) ON DELETE CASCADE
) WITH (fillfactor = 50);

INSERT INTO app_seen (account_id, app_id, last_seen_at, last_seen_ip, connected,
                      connected_at, disconnected_at, connection_cause, connection_seen)
SELECT account_id, id, last_seen_at, last_seen_ip, connected, connected_at, disconnected_at,
       connection_cause, connection_seen
FROM apps ORDER BY account_id, id;

-- The S6 sweep's way to the connected apps (061's apps_connected) and the
-- notices' way to the transitions not yet recorded (019's
-- apps_connection_unseen): neither holds a column that the seen update
-- writes (connected stays true then).
CREATE INDEX app_seen_connected ON app_seen (app_id) WHERE connected;
CREATE INDEX app_seen_unseen ON app_seen (account_id, app_id)
    WHERE connected IS DISTINCT FROM connection_seen;

-- Every app has its row from its creation on (the ingest statements only
-- update it), whoever inserts the app.
CREATE FUNCTION mt_app_seen_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO app_seen (account_id, app_id) VALUES (NEW.account_id, NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER apps_seen_row AFTER INSERT ON apps
    FOR EACH ROW EXECUTE FUNCTION mt_app_seen_row();

-- The columns on apps go (their indexes apps_connected and
-- apps_connection_unseen and connection_cause's CHECK with them): a reader
-- left on them fails at once instead of reading a value no longer written.
ALTER TABLE apps DROP COLUMN last_seen_at, DROP COLUMN last_seen_ip,
    DROP COLUMN connected, DROP COLUMN connected_at, DROP COLUMN disconnected_at,
    DROP COLUMN connection_cause, DROP COLUMN connection_seen;
