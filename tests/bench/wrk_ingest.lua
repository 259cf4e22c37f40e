-- wrk script: POST /api/v1/ingest/batches, one snapshot of every channel per
-- request with a fresh batch id and time each (nothing is a duplicate).
-- Environment: BENCH_CRED (an app credential), BENCH_IDS (its selected
-- channel ids, comma-separated), BENCH_T0 (µs, a day ago), BENCH_WRK_THREADS
-- (wrk -t). Used for the before/after figures of docs/benchmarks.md.
local cred = os.getenv("BENCH_CRED")
local ids = os.getenv("BENCH_IDS")
local n = 0
for _ in string.gmatch(ids, "[^,]+") do n = n + 1 end
local vals = {}
for i = 1, n do vals[i] = string.format("%.2f", 20 + (i % 17) / 10) end
local v = table.concat(vals, ",")
local base = tonumber(os.getenv("BENCH_T0"))
local nthreads = tonumber(os.getenv("BENCH_WRK_THREADS") or "2")
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function request()
  counter = counter + 1
  local me = tid or 0 -- set per thread by setup()
  local k = counter * nthreads + me
  local body = string.format('{"batch_id":"w%d-%d-%d","snapshots":[{"t":%d,"ids":[%s],"v":[%s]}]}',
    me, counter, base % 1000000, base + k * 1000, ids, v)
  return wrk.format("POST", "/api/v1/ingest/batches",
    {["Authorization"] = "Bearer " .. cred, ["Content-Type"] = "application/json"}, body)
end
