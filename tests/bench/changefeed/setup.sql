-- Tables of the changefeed measurements (not a migration): a one-row payload
-- of 20 hot rows' bytes (0xff: channel -1, which a fold drops), a stamp row
-- per account, and the mark of the measurements' own rows.
CREATE TABLE IF NOT EXISTS cf_payload (p bytea NOT NULL);
TRUNCATE cf_payload;
INSERT INTO cf_payload SELECT decode(repeat('ff', 20 * 768), 'hex');
CREATE TABLE IF NOT EXISTS cf_stamp (account_id bigint PRIMARY KEY, v bigint NOT NULL) WITH (fillfactor = 50);
INSERT INTO cf_stamp SELECT id, 0 FROM accounts ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS cf_stamp16 (account_id bigint NOT NULL, shard smallint NOT NULL, v bigint NOT NULL,
    PRIMARY KEY (account_id, shard)) WITH (fillfactor = 50);
