-- 024_file_store: file bytes in PostgreSQL (issue #17 item 2; docs/storage.md
-- "Files"). Drive files (reports' files included) and export files were kept
-- on one server process's disk; now every process reaches them, and they are
-- backed up, replicated and transactional with their records.
--
--  * file_blobs: one row per stored file. "writing" while its chunks arrive
--    (each chunk commits on its own, so a slow client never holds a pooled
--    connection); "ready" in the same transaction that records the owner
--    (a drive item, an export) — the size must then equal its chunks' bytes.
--    Blobs left "writing" by a client that went away or a process that died
--    are removed by the "files" job after an hour without a new chunk.
--  * file_chunks: the bytes, chunk_size bytes per row (the last row may be
--    shorter), out of line without compression (STORAGE EXTERNAL: instrument
--    files and ZIPs do not compress, and a range reads only the TOAST slices
--    it needs). Chosen over large objects by measurement (docs/storage.md):
--    rows are keyed by account (pg_largeobject is one system table, which a
--    sharded PostgreSQL cannot distribute and whose rows no account owns),
--    cascade with their owner, and were as fast or faster.
--  * drive_items.blob_id / exports.blob_id: the file's bytes. NULL for a
--    file still on the disk of the server that had it (DATA/drive,
--    DATA/exports): that server moves it here at its next start. Deleting a
--    drive item or an export deletes its blob in the same transaction
--    (trigger), whatever deleted it (a folder's cascade, L5 retention, the
--    export clean-up, the account's deletion).

CREATE TABLE file_blobs (
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state       text NOT NULL DEFAULT 'writing' CHECK (state IN ('writing', 'ready')),
    size        bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
    chunk_size  integer NOT NULL CHECK (chunk_size BETWEEN 4096 AND 16777216),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),   -- the last chunk written
    UNIQUE (account_id, id)
);
CREATE INDEX file_blobs_writing ON file_blobs (updated_at) WHERE state = 'writing';

CREATE TABLE file_chunks (
    account_id  bigint NOT NULL,
    blob_id     bigint NOT NULL,
    seq         integer NOT NULL CHECK (seq >= 0),
    data        bytea NOT NULL,
    PRIMARY KEY (account_id, blob_id, seq),
    FOREIGN KEY (account_id, blob_id) REFERENCES file_blobs (account_id, id) ON DELETE CASCADE
);
ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- SET NULL: when an account is deleted its blobs and items cascade in any
-- order (a blob is never deleted otherwise while an item holds it).
ALTER TABLE drive_items ADD COLUMN blob_id bigint,
    ADD FOREIGN KEY (account_id, blob_id) REFERENCES file_blobs (account_id, id)
        ON DELETE SET NULL (blob_id),
    ADD CHECK (blob_id IS NULL OR NOT is_folder);
CREATE UNIQUE INDEX drive_items_blob ON drive_items (account_id, blob_id) WHERE blob_id IS NOT NULL;

ALTER TABLE exports ADD COLUMN blob_id bigint,
    ADD FOREIGN KEY (account_id, blob_id) REFERENCES file_blobs (account_id, id)
        ON DELETE SET NULL (blob_id);
CREATE UNIQUE INDEX exports_blob ON exports (account_id, blob_id) WHERE blob_id IS NOT NULL;

-- The owner's row goes, its bytes go with it, in the same transaction.
CREATE FUNCTION mt_file_owner_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.blob_id IS NOT NULL THEN
        DELETE FROM file_blobs WHERE account_id = OLD.account_id AND id = OLD.blob_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER drive_items_blob_gone AFTER DELETE ON drive_items
    FOR EACH ROW WHEN (OLD.blob_id IS NOT NULL) EXECUTE FUNCTION mt_file_owner_deleted();
CREATE TRIGGER exports_blob_gone AFTER DELETE ON exports
    FOR EACH ROW WHEN (OLD.blob_id IS NOT NULL) EXECUTE FUNCTION mt_file_owner_deleted();

-- Moving a file's bytes into the store is not a change the user made: only
-- a rename or a move touches updated_at (the drive lists it as "date").
DROP TRIGGER drive_items_touch ON drive_items;
CREATE TRIGGER drive_items_touch BEFORE UPDATE OF parent_id, name ON drive_items
    FOR EACH ROW EXECUTE FUNCTION mt_touch_updated_at();
