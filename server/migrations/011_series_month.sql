-- 011_series_month: month rows of hourly summaries, so that a chart over
-- months or years reads one row per channel per month instead of one per
-- day (docs/storage.md, "Month rows").
--
-- A month row holds the "hours" of every day row of one channel in one UTC
-- month, concatenated in time order (packed summaries, mt_summary_pack). It
-- is derived data, like an index: it is not counted in P2, it is rebuilt
-- from series_day whenever it may be stale, and a query that finds no month
-- row reads the day rows instead, so the answer never depends on it.
--
-- Staleness rule. Month rows are only built for months that ended at least
-- two days ago ("closed" months). Every write to a day row that is older
-- than yesterday deletes the month row of its month and marks the month
-- dirty; the builder (series_month_build, run after each compaction round)
-- rebuilds dirty closed months. Writes of today and yesterday (the everyday
-- pattern) can never touch a closed month, so they skip all of this.
-- A build and a write of the same channel are serialised by an advisory
-- lock on one of 256 buckets of the channel id: writers take it shared,
-- the builder exclusive, so a build never commits a month row that misses a
-- day written meanwhile.

CREATE TABLE series_month (
    account_id   bigint NOT NULL,
    channel_id   bigint NOT NULL,
    month        integer NOT NULL,  -- first day of the month (days since 1970-01-01)
    month_end    integer NOT NULL,  -- first day of the next month
    days         integer NOT NULL CHECK (days > 0),
    hours        bytea NOT NULL,
    PRIMARY KEY (channel_id, month),
    CHECK (month < month_end)
);
CREATE INDEX series_month_account ON series_month (account_id);

-- lz4 decompresses several times faster than pglz; fall back to the
-- default where this PostgreSQL was built without it.
DO $$
BEGIN
    ALTER TABLE series_month ALTER COLUMN hours SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    NULL;
END $$;

-- Months whose month row must be (re)built once they are closed.
CREATE TABLE series_month_dirty (
    account_id   bigint NOT NULL,
    channel_id   bigint NOT NULL,
    month        integer NOT NULL,
    month_end    integer NOT NULL,
    PRIMARY KEY (channel_id, month)
);
CREATE INDEX series_month_dirty_end ON series_month_dirty (month_end);

-- Months (first days) whose day rows were all marked dirty once after the
-- month closed: that is how months filled by the everyday pattern, whose
-- writes skip the trigger, get their rows.
CREATE TABLE series_month_swept (
    month        integer PRIMARY KEY
);

-- Today, as whole UTC days since 1970-01-01.
CREATE FUNCTION mt_today() RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT ((now() AT TIME ZONE 'UTC')::date - DATE '1970-01-01')::integer
$$;

-- First day of the month holding day "d", and of the month after it.
CREATE FUNCTION mt_month_of(d integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT (date_trunc('month', DATE '1970-01-01' + d)::date - DATE '1970-01-01')::integer
$$;
CREATE FUNCTION mt_month_after(d integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT ((date_trunc('month', DATE '1970-01-01' + d) + interval '1 month')::date
            - DATE '1970-01-01')::integer
$$;

-- The advisory lock bucket of a channel (first key: 'MtSm').
CREATE FUNCTION mt_month_lock_key(ch bigint) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT (ch % 256)::integer
$$;

CREATE FUNCTION mt_series_day_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r series_day;
    m integer;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := OLD;
    ELSE
        r := NEW;
    END IF;
    m := mt_month_of(r.day);
    PERFORM pg_advisory_xact_lock_shared(1299485549, mt_month_lock_key(r.channel_id));
    DELETE FROM series_month WHERE channel_id = r.channel_id AND month = m;
    INSERT INTO series_month_dirty (account_id, channel_id, month, month_end)
        VALUES (r.account_id, r.channel_id, m, mt_month_after(r.day))
        ON CONFLICT (channel_id, month) DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER series_day_month_iu AFTER INSERT OR UPDATE ON series_day
    FOR EACH ROW WHEN (NEW.day < mt_today() - 1) EXECUTE FUNCTION mt_series_day_changed();
CREATE TRIGGER series_day_month_d AFTER DELETE ON series_day
    FOR EACH ROW WHEN (OLD.day < mt_today() - 1) EXECUTE FUNCTION mt_series_day_changed();

-- Mark dirty every channel with day rows in each closed month not yet
-- swept, at most "max_months" months per call, unless its month row is
-- there already (a month row exists only while no day of it was written
-- since it was built). Returns the months swept.
CREATE FUNCTION mt_series_month_sweep(max_months integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    m integer;
    n integer := 0;
BEGIN
    FOR m IN
        SELECT p.m FROM (
            SELECT (to_date(substr(c.relname, 12), 'YYYYMM') - DATE '1970-01-01')::integer AS m
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'series_day'::regclass AND c.relname ~ '^series_day_[0-9]{6}$') p
        WHERE mt_month_after(p.m) <= mt_today() - 2
          AND NOT EXISTS (SELECT 1 FROM series_month_swept s WHERE s.month = p.m)
        ORDER BY 1
        LIMIT max_months
    LOOP
        INSERT INTO series_month_dirty (account_id, channel_id, month, month_end)
            SELECT DISTINCT ON (d.channel_id) d.account_id, d.channel_id, m, mt_month_after(m)
            FROM series_day d WHERE d.day >= m AND d.day < mt_month_after(m)
              AND NOT EXISTS (SELECT 1 FROM series_month s
                              WHERE s.channel_id = d.channel_id AND s.month = m)
            ORDER BY d.channel_id
            ON CONFLICT (channel_id, month) DO NOTHING;
        INSERT INTO series_month_swept VALUES (m) ON CONFLICT DO NOTHING;
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- (Re)build the month row of channel "ch" for the month starting on day
-- "m" if that month is closed, and clear its dirty mark. Returns false
-- when the month is not closed yet (the mark stays).
CREATE FUNCTION mt_series_month_build(ch bigint, m integer) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    m_end integer := mt_month_after(m);
BEGIN
    IF m_end > mt_today() - 2 THEN
        RETURN false;
    END IF;
    PERFORM pg_advisory_xact_lock(1299485549, mt_month_lock_key(ch));
    DELETE FROM series_month_dirty WHERE channel_id = ch AND month = m;
    DELETE FROM series_month WHERE channel_id = ch AND month = m;
    INSERT INTO series_month (account_id, channel_id, month, month_end, days, hours)
        SELECT min(account_id), ch, m, m_end, count(*), string_agg(hours, ''::bytea ORDER BY day)
        FROM series_day WHERE channel_id = ch AND day >= m AND day < m_end
        HAVING count(*) > 0;
    RETURN true;
END $$;
