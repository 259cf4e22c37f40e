-- metron: older servers compatible
-- 085_channels_seen_by_key: mt_channels_seen() (066) finds a channel's app
-- through its own device by key, instead of joining the account's devices
-- (issue 16, rawcheck2).
--
-- 066's generic plan joined channels to devices by a hash join: every call
-- read every device of the account by (account_id) and hashed them, then
-- looked up the one channel's device in that table. In the kept benchmark
-- set-up (an account of 101 devices) that was most of a member's raw day
-- check (ser_vers_seen: the ids the member may see passed to
-- mt_raw_versions()): 571 k instructions a call for mt_channels_seen()
-- alone, against 309 k in this form, and the member's check 803 k against
-- 548 k (callgrind, docs/benchmarks.md "The raw day's check in the mix");
-- and it grew with the account's devices. Here the group of a channel
-- without one of its own is a subquery of its device and that device's app,
-- each by (account_id, id) (both unique: one row or none), evaluated for
-- the channels asked for only, and only when the channel has no group (a
-- computed channel has its own) and the viewer is not an administrator.
--
-- The same ids as 066 for every account, channels, viewer and grants (a
-- LEFT JOIN of a device and app by unique keys gives the app's group or
-- NULL, as the subquery does; tests/server/channels_seen.test.mjs compares
-- the two on every channel and viewer of a tenant), the same signature,
-- SET clauses (plan safety) and snapshot (STABLE): older servers call it as
-- they called 066's.
CREATE OR REPLACE FUNCTION mt_channels_seen(acct bigint, ch bigint[], viewer bigint)
RETURNS bigint[]
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
BEGIN
    RETURN ARRAY(
        SELECT c.id FROM channels c
        WHERE c.account_id = acct AND c.id = ANY(ch)
          AND (viewer IS NULL OR COALESCE(c.group_id,
                (SELECT p.group_id FROM devices d
                 JOIN apps p ON p.account_id = d.account_id AND p.id = d.app_id
                 WHERE d.account_id = c.account_id AND d.id = c.device_id)) IN (
                SELECT gua.group_id FROM group_user_access gua
                WHERE gua.account_id = acct AND gua.user_id = viewer
                UNION
                SELECT gta.group_id FROM group_team_access gta
                JOIN team_members tm ON tm.account_id = gta.account_id AND tm.team_id = gta.team_id
                WHERE gta.account_id = acct AND tm.user_id = viewer))
        ORDER BY c.id);
END $$;
