-- 005_drive: the drive (D1, D4-D6): folders and files of an account.
-- docs/drive.md explains the rules; in short:
--
--  * one table for folders and files, so that one unique index keeps a name
--    unique within its folder whatever the entry is (names compare with
--    ASCII letters folded to lower case: name_key);
--  * parent_id NULL = the drive root; a folder's rows cascade to everything
--    inside it (the server first adds up the bytes it frees);
--  * a file's bytes live on disk in DATA/drive/<account_id>/<id>: the file
--    name on disk is the numeric id, never the user's name;
--  * size counts into account_storage.drive_bytes (004_data.sql) in the
--    same transaction that inserts or deletes the row.

CREATE TABLE drive_items (
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id     bigint,
    is_folder     boolean NOT NULL,
    name          text NOT NULL
                  CHECK (octet_length(name) BETWEEN 1 AND 255
                         AND name !~ '[[:cntrl:]/\\]'
                         AND name NOT IN ('.', '..')
                         AND name = btrim(name, ' ')),
    -- ASCII-only case folding (the C collation), the same on every server.
    name_key      text GENERATED ALWAYS AS (lower(name COLLATE "C")) STORED,
    size          bigint CHECK (size >= 0),
    kind          text NOT NULL
                  CHECK (kind IN ('folder', 'hok', 'hok2', 'hioki_csv', 'other')),
    content_type  text CHECK (length(content_type) <= 100),
    sha256        bytea CHECK (octet_length(sha256) = 32),
    created_by    bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, parent_id) REFERENCES drive_items (account_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (account_id, created_by) REFERENCES users (account_id, id)
        ON DELETE SET NULL (created_by),
    CHECK (parent_id IS NULL OR parent_id <> id),
    CHECK (is_folder = (kind = 'folder')),
    CHECK (is_folder = (size IS NULL)),
    CHECK (is_folder OR content_type IS NOT NULL)
);
CREATE UNIQUE INDEX drive_items_name ON drive_items (account_id, COALESCE(parent_id, 0), name_key);
CREATE INDEX drive_items_parent ON drive_items (account_id, parent_id);
-- L5 retention scans files by age.
CREATE INDEX drive_items_files_created ON drive_items (created_at) WHERE NOT is_folder;
CREATE TRIGGER drive_items_touch BEFORE UPDATE ON drive_items
    FOR EACH ROW EXECUTE FUNCTION mt_touch_updated_at();
