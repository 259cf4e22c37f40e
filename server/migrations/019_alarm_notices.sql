-- 019_alarm_notices: the S6 state the server has told (issue #13 item 5;
-- docs/alarms.md). apps.connected is flipped by whoever learns of a
-- change (a batch, POST /ingest/status, the S6 sweep, the MQTT bridge);
-- connection_seen is what app_connection_events and the notices last
-- recorded: the sweep records and notifies every difference exactly once
-- (the row is locked FOR UPDATE SKIP LOCKED, recorded and updated in one
-- transaction), whichever server process runs it.
ALTER TABLE apps ADD COLUMN connection_seen boolean;
CREATE INDEX apps_connection_unseen ON apps (account_id, id)
    WHERE connected IS DISTINCT FROM connection_seen;
