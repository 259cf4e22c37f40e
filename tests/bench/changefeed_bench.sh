#!/usr/bin/env bash
# Reads that skip PostgreSQL when nothing changed (changefeed, issue 16,
# docs/benchmarks.md): pgbench on a kept set-up's durable cluster.
#
#   KEEP=FILE tests/bench/changefeed_bench.sh group VARIANT CLIENTS SECONDS
#       the ingest group statement's copy (changefeed/group.sql.in), VARIANT
#       base | stamp (+ one stamp row per account, moved by every group) |
#       stamp16 (+ a stamp row per account and connection shard, as 069's counters) |
#       notify (+ pg_notify of the group's accounts) | notify+listen (the same,
#       with one idle listener connection per client, cf_listen);
#       prints groups/s and the cluster's CPU per group.
#   KEEP=FILE tests/bench/changefeed_bench.sh read NAME SECONDS
#       one client, prepared: NAME one | stamp | shards | shard_rows | precheck (the
#       counter rows' xmins, a stamp row's, the postmaster's start, as rows) |
#       precheck_rights (and the administrator's right to channel 1) | stamp_rights |
#       raw_versions | monitor_read; prints calls/s and CPU per call.
#   KEEP=FILE tests/bench/changefeed_bench.sh sync SECONDS
#       a listener's sync round trips back to back (cf_listen sync), with
#       CPU per round trip.
#   KEEP=FILE tests/bench/changefeed_bench.sh cleanup
#
# The cluster's CPU: utime+stime of the postmaster, its reaped children and
# its live children (/proc), before and after, in µs per transaction.
set -euo pipefail
cd "$(dirname "$0")"
D=$PWD/changefeed
: "${KEEP:?KEEP=FILE of scripts/bench-kept up}"
DB=$(jq -r .db "$KEEP")
PGPID=$(jq -r .pg_pid "$KEEP")
T=${TMPDIR:-/tmp}/changefeed.$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT
PGOPTIONS="-c client_min_messages=warning" psql -q "$DB" -f "$D/setup.sql" >/dev/null

cpu_ticks() { # the cluster's CPU in clock ticks
  local t=0 p
  for p in $PGPID $(pgrep -P "$PGPID"); do
    if [ -r /proc/$p/stat ]; then
      t=$((t + $(awk '{print $14+$15+($2==""?0:0)}' /proc/$p/stat)))
    fi
  done
  t=$((t + $(awk '{print $16+$17}' /proc/$PGPID/stat)))
  echo $t
}
HZ=$(getconf CLK_TCK)

run() { # FILE CLIENTS SECONDS LABEL [extra pgbench args]
  local f=$1 c=$2 s=$3 label=$4 c0 c1 out tps n
  shift 4
  c0=$(cpu_ticks)
  out=$(pgbench -n -M prepared -c "$c" -j "$c" -T "$s" -f "$f" "$@" "$DB" 2>&1)
  sleep 0.3
  c1=$(cpu_ticks)
  n=$(echo "$out" | awk '/number of transactions actually processed/ {print $6}' | cut -d/ -f1)
  tps=$(echo "$out" | awk '/^tps/ {print $3; exit}')
  echo "$label: $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg) clients $c ${s}s: $n tx, $tps/s," \
       "cluster CPU $(( (c1 - c0) * 1000000 / HZ / (n > 0 ? n : 1) )) µs a tx"
}

case "${1:-}" in
group)
  v=$2; c=$3; s=$4
  stamp=""; notify=""
  case $v in
  base) ;;
  stamp) stamp="stamp AS (INSERT INTO cf_stamp AS s (account_id, v) SELECT c.account_id, 1 FROM claim c GROUP BY c.account_id ORDER BY c.account_id ON CONFLICT (account_id) DO UPDATE SET v = s.v + 1)," ;;
  stamp16) stamp="stamp AS (INSERT INTO cf_stamp16 AS s (account_id, shard, v) SELECT c.account_id, (pg_backend_pid() % 16 + 1), 1 FROM claim c GROUP BY c.account_id ORDER BY c.account_id ON CONFLICT (account_id, shard) DO UPDATE SET v = s.v + 1)," ;;
  notify|notify+listen) notify=", (SELECT pg_notify('mt_changes', string_agg(DISTINCT c2.account_id::text, ',')) FROM claim c2)" ;;
  *) echo "changefeed_bench: $v?" >&2; exit 2 ;;
  esac
  sed -e "s|@STAMP@|$stamp|" -e "s|@NOTIFY@|$notify|" "$D/group.sql.in" > "$T/group.sql"
  pids=()
  if [ "$v" = notify+listen ]; then
    for _ in $(seq "$c"); do /tmp/cf_listen "$DB" $((s + 2)) idle > "$T/listen.$_" & pids+=($!); done
    sleep 0.5
  fi
  run "$T/group.sql" "$c" "$s" "group $v"
  for p in "${pids[@]}"; do wait "$p"; done
  [ "$v" = notify+listen ] && cat "$T"/listen.* || true
  ;;
read)
  name=$2; s=$3
  case $name in
  one) q="SELECT 1;" ;;
  stamp) q="SELECT v FROM cf_stamp WHERE account_id = :a;" ;;
  shards) q="SELECT array_agg(xmin::text ORDER BY shard) FROM series_hot_count WHERE account_id = :a;" ;;
  shard_rows) q="SELECT shard, xmin FROM series_hot_count WHERE account_id = :a;" ;;
  precheck) q="SELECT shard::int, xmin::text FROM series_hot_count WHERE account_id = :a UNION ALL SELECT -1, xmin::text FROM cf_stamp WHERE account_id = :a UNION ALL SELECT -2, pg_postmaster_start_time()::text;" ;;
  precheck_rights) q="SELECT shard::int, xmin::text FROM series_hot_count WHERE account_id = :a UNION ALL SELECT -1, xmin::text FROM cf_stamp WHERE account_id = :a UNION ALL SELECT -2, pg_postmaster_start_time()::text UNION ALL SELECT -3, count(*)::text FROM channels WHERE account_id = :a AND id = ANY('{1}'::bigint[]);" ;;
  stamp_rights) q="SELECT (SELECT array_agg(xmin::text ORDER BY shard) FROM series_hot_count WHERE account_id = :a), (SELECT v FROM cf_stamp WHERE account_id = :a), (SELECT count(*) FROM channels WHERE account_id = :a AND id = ANY('{1}'::bigint[]));" ;;
  raw_versions) q="SELECT * FROM mt_raw_versions(:a, '{1}', 1796428800000000, 1796515200000000, 20792, 20792);" ;;
  monitor_read) q="SELECT * FROM mt_monitor_read(:a, '{1}', ARRAY(SELECT generate_series(1, 32)::bigint), 1, NULL, NULL);" ;;
  *) echo "changefeed_bench: $name?" >&2; exit 2 ;;
  esac
  printf '\\set a 1\n%s\n' "$q" > "$T/read.sql"
  run "$T/read.sql" 1 "$s" "read $name"
  ;;
sync)
  s=$2
  c0=$(cpu_ticks)
  out=$(/tmp/cf_listen "$DB" "$s" sync)
  c1=$(cpu_ticks)
  n=$(echo "$out" | awk '{print $4}')
  echo "sync: $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg) ${s}s: $out," \
       "cluster CPU $(( (c1 - c0) * 1000000 / HZ / (n > 0 ? n : 1) )) µs a round trip"
  ;;
cleanup) psql -q "$DB" -f "$D/cleanup.sql" ;;
*) sed -n 2,22p "$0"; exit 2 ;;
esac
