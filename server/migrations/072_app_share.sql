-- 072_app_share: what the gateway apps share through the cloud (K1-K4;
-- docs/app-share.md).
--
--  * app_files: the files the apps define and the cloud keeps opaque:
--    battery profiles (K1, P14 per account), battery thresholds (K2, P15
--    per account), photo-drawing templates (K3, P13 per measurement group).
--    Their bytes are blobs of the file store (024: file_blobs and
--    file_chunks, written and read as the drive's are); deleting the row
--    deletes its blob (024's trigger function), whatever deleted it (the
--    route, the group's deletion, the account's). Names are unique per
--    account and kind, per group for the templates. Who uploaded it is a
--    user or an app (NULL once that user or app is gone).
--  * Their bytes count in the account's storage (P2) like drive files:
--    account_storage.drive_bytes moves with the rows, by a trigger, so a
--    group's cascade gives its templates' bytes back too.
--  * equipment_lists (K4, P16 per account): a name and its items (model,
--    serial number, note) as a jsonb array the server checked (bounded
--    counts and lengths). Small settings: not counted in P2.
--  * mt_account_delete_stored() (030), at the end of an over-quota period,
--    deletes the app files too: every thing P2 counts goes but the logo.

CREATE TABLE app_files (
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('battery_profile', 'battery_threshold',
                                               'photo_template')),
    group_id     bigint,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    content_type text NOT NULL CHECK (length(content_type) BETWEEN 1 AND 100),
    size         bigint NOT NULL CHECK (size >= 0),
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    blob_id      bigint,
    by_user_id   bigint,
    by_app_id    bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    CHECK ((kind = 'photo_template') = (group_id IS NOT NULL)),
    CHECK (by_user_id IS NULL OR by_app_id IS NULL),
    FOREIGN KEY (account_id, group_id) REFERENCES measurement_groups (account_id, id)
        ON DELETE CASCADE,
    -- SET NULL: when an account is deleted its blobs and rows cascade in
    -- any order (as drive_items.blob_id, 024).
    FOREIGN KEY (account_id, blob_id) REFERENCES file_blobs (account_id, id)
        ON DELETE SET NULL (blob_id),
    FOREIGN KEY (by_user_id) REFERENCES users (id) ON DELETE SET NULL,
    FOREIGN KEY (by_app_id) REFERENCES apps (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX app_files_name ON app_files (account_id, kind, coalesce(group_id, 0), name);
CREATE UNIQUE INDEX app_files_blob ON app_files (account_id, blob_id) WHERE blob_id IS NOT NULL;
CREATE INDEX app_files_user ON app_files (by_user_id) WHERE by_user_id IS NOT NULL;
CREATE INDEX app_files_app ON app_files (by_app_id) WHERE by_app_id IS NOT NULL;

CREATE TRIGGER app_files_blob_gone AFTER DELETE ON app_files
    FOR EACH ROW WHEN (OLD.blob_id IS NOT NULL) EXECUTE FUNCTION mt_file_owner_deleted();
-- A replaced file's old bytes go in the same transaction.
CREATE FUNCTION mt_app_file_replaced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM file_blobs WHERE account_id = OLD.account_id AND id = OLD.blob_id;
    RETURN NULL;
END $$;
CREATE TRIGGER app_files_blob_replaced AFTER UPDATE OF blob_id ON app_files
    FOR EACH ROW WHEN (OLD.blob_id IS NOT NULL AND OLD.blob_id IS DISTINCT FROM NEW.blob_id)
    EXECUTE FUNCTION mt_app_file_replaced();

-- P2: the bytes follow the rows. An insert adds (the account exists: the
-- row references it); a deletion or a replacement only updates an existing
-- counter row (during an account's deletion it may be gone already).
CREATE FUNCTION mt_app_file_storage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO account_storage (account_id, drive_bytes) VALUES (NEW.account_id, NEW.size)
        ON CONFLICT (account_id) DO UPDATE
            SET drive_bytes = account_storage.drive_bytes + NEW.size;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE account_storage SET drive_bytes = greatest(drive_bytes - OLD.size, 0)
         WHERE account_id = OLD.account_id;
    ELSIF NEW.size <> OLD.size THEN
        UPDATE account_storage SET drive_bytes = greatest(drive_bytes + NEW.size - OLD.size, 0)
         WHERE account_id = NEW.account_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER app_files_storage AFTER INSERT OR DELETE OR UPDATE OF size ON app_files
    FOR EACH ROW EXECUTE FUNCTION mt_app_file_storage();

CREATE TABLE equipment_lists (
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    items        jsonb NOT NULL CHECK (jsonb_typeof(items) = 'array'),
    by_user_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    by_app_id    bigint REFERENCES apps (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    CHECK (by_user_id IS NULL OR by_app_id IS NULL)
);
CREATE UNIQUE INDEX equipment_lists_name ON equipment_lists (account_id, name);
CREATE INDEX equipment_lists_user ON equipment_lists (by_user_id) WHERE by_user_id IS NOT NULL;
CREATE INDEX equipment_lists_app ON equipment_lists (by_app_id) WHERE by_app_id IS NOT NULL;

-- 030's function with the app files deleted too ("app_files",
-- "app_file_bytes" added; "bytes" counts them). The trigger above moves
-- drive_bytes as they go; it is set to 0 afterwards as before.
CREATE OR REPLACE FUNCTION mt_account_delete_stored(acct bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    out jsonb;
    data_b bigint;
    reports bigint;
    files bigint;
    file_b bigint;
    pics bigint;
    pic_b bigint;
    apf bigint;
    apf_b bigint;
BEGIN
    out := mt_account_delete_acquired(acct);
    data_b := (out->>'bytes')::bigint;
    SELECT count(*) INTO reports FROM report_files r
      JOIN drive_items d ON d.account_id = r.account_id AND d.id = r.file_id
     WHERE r.account_id = acct;
    WITH g AS (DELETE FROM drive_items WHERE account_id = acct AND NOT is_folder
               RETURNING size)
    SELECT count(*), COALESCE(sum(size), 0) INTO files, file_b FROM g;
    WITH g AS (DELETE FROM dashboard_pictures WHERE account_id = acct RETURNING size)
    SELECT count(*), COALESCE(sum(size), 0) INTO pics, pic_b FROM g;
    WITH g AS (DELETE FROM app_files WHERE account_id = acct RETURNING size)
    SELECT count(*), COALESCE(sum(size), 0) INTO apf, apf_b FROM g;
    UPDATE account_storage SET drive_bytes = 0, picture_bytes = 0 WHERE account_id = acct;
    RETURN out || jsonb_build_object('data_bytes', data_b, 'drive_files', files,
        'report_files', reports, 'drive_bytes', file_b, 'pictures', pics,
        'picture_bytes', pic_b, 'app_files', apf, 'app_file_bytes', apf_b,
        'bytes', data_b + file_b + pic_b + apf_b);
END
$$;
