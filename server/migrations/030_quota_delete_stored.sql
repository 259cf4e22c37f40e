-- 030_quota_delete_stored: at the deadline of an over-quota period (S8, L3;
-- docs/operations.md "Storage quota") the specification deletes "all stored
-- data" ("存储中的所有数据将被删除"), not only acquired data: every thing the
-- storage quota P2 counts and the account keeps as data goes, in one
-- transaction: acquired data (mt_account_delete_acquired, 026), every drive
-- file (report files are drive files: their report_files rows keep the
-- record with file_id NULL; each file's blob goes with its row, 024) and
-- every dashboard picture. What stays: the logo (an account setting, at most
-- 1 MiB), folders, channels, devices, apps, dashboards, report settings,
-- users, and export files (not counted by P2, removed 24 hours after they
-- were made; the specification's advice is to export the data before the
-- deadline, so an export made on the last day is still downloadable).
--
-- Returns what mt_account_delete_acquired returns plus
-- {"data_bytes", "drive_files", "report_files", "drive_bytes", "pictures",
--  "picture_bytes"} and "bytes" = everything given back to the quota.

CREATE FUNCTION mt_account_delete_stored(acct bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    out jsonb;
    data_b bigint;
    reports bigint;
    files bigint;
    file_b bigint;
    pics bigint;
    pic_b bigint;
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
    UPDATE account_storage SET drive_bytes = 0, picture_bytes = 0 WHERE account_id = acct;
    RETURN out || jsonb_build_object('data_bytes', data_b, 'drive_files', files,
        'report_files', reports, 'drive_bytes', file_b, 'pictures', pics,
        'picture_bytes', pic_b, 'bytes', data_b + file_b + pic_b);
END
$$;
