-- 044_monitor_row_drop: the group monitor's live read (series_read_monitor(),
-- issue 16) is a plain statement again, with the newest hot rows through
-- mt_hot_newest() (040): measured with callgrind on the backend (32
-- channels, per execution), 043's mt_monitor_row() took 452 k instructions
-- and the plain statement 321 k (a plpgsql function's SPI call and its
-- stored rows, and array_agg()/array_send(), cost more than they saved).
DROP FUNCTION mt_monitor_row(bigint, bigint[], bigint[], integer);
