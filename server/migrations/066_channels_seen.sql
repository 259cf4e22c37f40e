-- 066_channels_seen: the channels a viewer may see worked out by a function
-- with a kept plan that reaches them by their keys (issue 16, memberscale).
--
-- A member's statements (the raw data route's ser_read_seen and
-- ser_vers_seen, the data and export routes' ser_visible) joined channels,
-- devices, apps and the grants in the statement the server prepares, with
-- the ids as "c.id = ANY($2)". PostgreSQL's generic plan of such a
-- statement counts 10 ids for an array it cannot see; a custom plan sees
-- one or a few. With two accounts (the benchmarks) the generic plan read
-- the small devices and apps tables by sequential scans and cost less than
-- a custom plan, so it was kept. With many tenants (5,000 accounts, 50,000
-- apps and devices, 200,000 channels: docs/benchmarks.md, memberscale) the
-- generic plan reads them by their keys and its estimate is higher than a
-- custom plan's for a read of one channel (the raw day), so PostgreSQL made
-- a new plan on every call: ser_vers_seen planned 3,851 times in 3,851
-- calls of the member's route mix (41 plans in 9,492 calls without the
-- tenants), 56 shared buffers a call instead of 18. What a member's read
-- cost grew with the rows of other tenants.
--
-- mt_channels_seen() is DB_CHANNELS_VISIBLE of the server (whose statements
-- now call it: the rules have this one copy), its plan generic and made
-- without sequential or bitmap scans (047, 048): the channels by (account,
-- id), their device and app by (account, id), the viewer's groups by
-- (account, user) directly and through teams. The server's statements have
-- no table of their own left, so a generic plan of theirs costs what a
-- custom one does and is kept.
--
-- The ids of channels "ch" of account "acct" that viewer "viewer" (NULL =
-- an administrator: every channel of the account) may see: a channel of a
-- group granted to the viewer directly or through a team, the group a
-- computed channel's own or else its app's. Each id once, in ascending
-- order; read with the calling statement's snapshot (STABLE).
CREATE FUNCTION mt_channels_seen(acct bigint, ch bigint[], viewer bigint)
RETURNS bigint[]
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
BEGIN
    RETURN ARRAY(
        SELECT c.id FROM channels c
        LEFT JOIN devices d ON d.account_id = c.account_id AND d.id = c.device_id
        LEFT JOIN apps p ON p.account_id = d.account_id AND p.id = d.app_id
        WHERE c.account_id = acct AND c.id = ANY(ch)
          AND (viewer IS NULL OR COALESCE(c.group_id, p.group_id) IN (
                SELECT gua.group_id FROM group_user_access gua
                WHERE gua.account_id = acct AND gua.user_id = viewer
                UNION
                SELECT gta.group_id FROM group_team_access gta
                JOIN team_members tm ON tm.account_id = gta.account_id AND tm.team_id = gta.team_id
                WHERE gta.account_id = acct AND tm.user_id = viewer))
        ORDER BY c.id);
END $$;
