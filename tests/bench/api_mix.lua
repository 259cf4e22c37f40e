-- The API route mix of issue 16 as wrk sends it (tests/bench/server_bench.mjs):
--
--   wrk -s tests/bench/api_mix.lua URL -- TOKEN CREDENTIAL GROUP CHANNEL FROM TO T0 IDS RUN
--
-- TOKEN: a Web API token of a portal user; CREDENTIAL: an app's credential
-- (a gateway); GROUP: a measurement group of 32 channels; CHANNEL, FROM, TO:
-- one channel's stored day; T0: the first time (µs) of the ingest batches
-- (a thread's batches step 16 ms: 3 h before now leaves room for 675 k
-- batches of each thread before the server's limit of 5 min ahead);
-- IDS: the 32 channel ids ("1,2,...") that the gateway sends; RUN: a number
-- (0..999) of this wrk run, so that no two runs send the same batch id or
-- sample time. An optional tenth argument (ingest, monitor, unread, me,
-- devices, raw) sends that request of the mix alone. An optional eleventh,
-- APPS: a file of gateway apps, one a line ("CREDENTIAL ID,ID,..."), that
-- send the ingest batches in turn (a thread's consecutive batches come from
-- consecutive apps; BENCH_MIX_APPS of server_bench.mjs); without it the
-- batches all come from CREDENTIAL with IDS.
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

-- The load generator's own CPU counts against the server on these two
-- CPUs: a batch is put together from parts made once (its request head,
-- and the 100 value lists that the counter cycles through), so that wrk
-- spends about what it spends on a fixed request (its user CPU per batch 21 -> 13 µs).
-- With many apps (APPS), each app's head and ids are made once too.
local heads, idss, vlists
local function batch_parts()
  local apps = {}
  if args_[11] and args_[11] ~= "" then
    for line in io.lines(args_[11]) do
      local cred, list = line:match("^(%S+) (%S+)$")
      if cred then
        apps[#apps + 1] = { cred, list }
      end
    end
  end
  if #apps == 0 then
    apps[1] = { args_[2], ids }
  end
  heads, idss = {}, {}
  for j, a in ipairs(apps) do
    local h = wrk.format("POST", "/api/v1/ingest/batches", {
      ["Authorization"] = "Bearer " .. a[1],
      ["Content-Type"] = "application/json" })
    heads[j] = h:sub(1, -3) -- without the blank line that ends the head
    idss[j] = a[2]
  end
  vlists = {}
  -- Every app sends as many channels as the first (32 in server_bench.mjs).
  local n = select(2, idss[1]:gsub(",", ",")) + 1
  for c = 0, 99 do
    local v = {}
    for k = 1, n do
      v[k] = string.format("%.2f", 20 + ((c + k) % 100) / 10)
    end
    vlists[c] = table.concat(v, ",")
  end
end

local function batch()
  if heads == nil then
    batch_parts()
  end
  counter = counter + 1
  local j = (counter + tid) % #heads + 1
  -- One millisecond apart per thread and batch: times never repeat.
  local t = t0 + (counter * 16 + tid) * 1000 + run
  local body = '{"batch_id":"mix' .. run .. '-' .. tid .. '-' .. counter .. '","snapshots":[{"t":' ..
    string.format("%.0f", t) .. ',"ids":[' .. idss[j] .. '],"v":[' .. vlists[counter % 100] .. ']}]}'
  return heads[j] .. "Content-Length: " .. #body .. "\r\n\r\n" .. body
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
