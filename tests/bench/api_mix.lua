-- The API route mix of issue 16 as wrk sends it (tests/bench/server_bench.mjs):
--
--   wrk -s tests/bench/api_mix.lua URL -- TOKEN CREDENTIAL GROUP CHANNEL FROM TO T0 IDS RUN
--
-- TOKEN: a Web API token of a portal user; CREDENTIAL: an app's credential
-- (a gateway); GROUP: a measurement group of 32 channels; CHANNEL, FROM, TO:
-- one channel's stored day; T0: the first time (µs) of the ingest batches;
-- IDS: the 32 channel ids ("1,2,...") that the gateway sends; RUN: a number
-- (0..999) of this wrk run, so that no two runs send the same batch id or
-- sample time. An optional tenth argument (ingest, monitor, unread, me,
-- devices, raw) sends that request of the mix alone.
--
-- Out of every 20 requests (a portal user with a page open, and the
-- gateways of an account sending their one-minute batches):
--    6  POST /api/v1/ingest/batches   32 channels at one time (a gateway's minute)
--    4  GET  /api/v1/groups/{id}/monitor   the monitor page's refresh
--    4  GET  /api/v1/notifications/unread-count   every page polls it
--    2  GET  /api/v1/me               every page load
--    2  GET  /api/v1/devices          100 devices, the devices page
--    2  GET  /api/v1/data/raw         one channel's day (1,440 samples)
-- Each wrk thread sends the mix in a shuffled but fixed order; every batch
-- has its own batch_id and time (thread, counter), so none is a duplicate.
local counter = 0
local tid = 0
local order = {}
local reqs = {}
local args_ = {}
local ids, t0, run

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  args_ = args
  tid = tonumber(wrk.thread:get("tid")) or 0
  local token, group, channel, from, to = args[1], args[3], args[4], args[5], args[6]
  t0 = tonumber(args[7])
  ids = args[8]
  run = tonumber(args[9]) or 0
  local auth = { ["Authorization"] = "Bearer " .. token }
  reqs.me = wrk.format("GET", "/api/v1/me", auth)
  reqs.devices = wrk.format("GET", "/api/v1/devices", auth)
  reqs.monitor = wrk.format("GET", "/api/v1/groups/" .. group .. "/monitor", auth)
  reqs.unread = wrk.format("GET", "/api/v1/notifications/unread-count", auth)
  reqs.raw = wrk.format("GET", "/api/v1/data/raw?channels=" .. channel .. "&from=" .. from ..
    "&to=" .. to .. "&limit=2000", auth)
  local mix = { "ingest", "monitor", "unread", "ingest", "me", "monitor", "ingest", "devices",
    "unread", "raw", "ingest", "monitor", "unread", "me", "ingest", "devices", "monitor",
    "unread", "ingest", "raw" }
  order = mix
  -- A tenth argument names one kind of the mix to send alone.
  if args[10] and args[10] ~= "" then
    order = { args[10] }
  end
end

local nvals = 0
local function batch()
  counter = counter + 1
  -- One millisecond apart per thread and batch: times never repeat.
  local t = t0 + (counter * 16 + tid) * 1000 + run
  local v = {}
  local n = select(2, ids:gsub(",", ",")) + 1
  for k = 1, n do
    v[k] = string.format("%.2f", 20 + ((counter + k) % 100) / 10)
  end
  local body = '{"batch_id":"mix' .. run .. '-' .. tid .. '-' .. counter .. '","snapshots":[{"t":' ..
    string.format("%.0f", t) .. ',"ids":[' .. ids .. '],"v":[' .. table.concat(v, ",") .. ']}]}'
  return wrk.format("POST", "/api/v1/ingest/batches", {
    ["Authorization"] = "Bearer " .. args_[2],
    ["Content-Type"] = "application/json" }, body)
end

local i = 0
function request()
  i = i % #order + 1
  local kind = order[i]
  if kind == "ingest" then
    return batch()
  end
  return reqs[kind]
end
