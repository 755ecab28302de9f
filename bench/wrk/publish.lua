-- wrk script: POST /publish with BATCH events per request, DUPLICATES of them repeats of ids
-- already sent by this thread. Ids are unique per thread (prefix from the thread number) and per
-- run when ID_PREFIX differs between runs against one server (default "t": ids t<thread>-<n>).
-- It also counts answers by status (200, 503, other) and prints them in done(). response() runs in each thread's own Lua state, so every thread counts into its own
-- globals and done() adds them up through the thread table kept by setup().
local batch = tonumber(os.getenv("BATCH") or "1000")
local duplicateRatio = tonumber(os.getenv("DUPLICATES") or "0.2")
local idPrefix = os.getenv("ID_PREFIX") or "t"
-- FORMAT=bulk sends the same events as Elasticsearch _bulk NDJSON (create + document) to /es/_bulk.
local bulk = os.getenv("FORMAT") == "bulk"
-- PAUSE_MS > 0 paces each connection: it waits that long after an answer before its next request.
local pauseMs = tonumber(os.getenv("PAUSE_MS") or "0")
if pauseMs > 0 then
  function delay() return pauseMs end
end
-- RATE > 0 (requests/s per thread) is an open-loop schedule instead: each request claims the next
-- slot, 1/RATE s after the previous one, and its connection waits for it, so the offered rate
-- does not sag when answers slow down (PAUSE_MS's does, hiding exactly the stalls being measured).
-- wrk times a request from its actual send, so a slot that every connection was too busy to take
-- goes out late and its wait is not counted: late_sends (> 1 ms behind) and max_lag_ms in done()
-- say how much of that there was. delay() is whole ms, so a send may be up to 1 ms early.
local rate = tonumber(os.getenv("RATE") or "0")
late_sends = 0
max_lag_ms = 0
if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } eoa_timespec;
    int clock_gettime(int clock, eoa_timespec *out);
  ]]
  local now = ffi.new("eoa_timespec")
  local interval = 1000 / rate
  local nextSlot = nil
  function delay()
    ffi.C.clock_gettime(1, now) -- CLOCK_MONOTONIC
    local nowMs = tonumber(now.tv_sec) * 1000 + tonumber(now.tv_nsec) / 1e6
    nextSlot = nextSlot or nowMs
    local wait = nextSlot - nowMs
    nextSlot = nextSlot + interval
    if wait < -1 then
      late_sends = late_sends + 1
      if -wait > max_lag_ms then max_lag_ms = -wait end
    end
    return wait > 0 and wait or 0
  end
end
local topics = { "auth.prod", "payment.prod", "search.dev", "billing.prod" }
local counter = 0
-- threadIndex is a global set per thread by setup() through thread:set; a local here would shadow it.
threadIndex = 0
local nextThread = 0
local threads = {}

function setup(thread)
  thread:set("threadIndex", nextThread)
  nextThread = nextThread + 1
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(threadIndex * 7919 + 17)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = bulk and "application/x-ndjson" or "application/json"
end

local function event(id)
  local topic = topics[(id % #topics) + 1]
  if bulk then
    return string.format('{"create":{"_index":"%s","_id":"%s%d-%d"}}\n{"@timestamp":"2025-10-22T10:30:00Z","host":{"name":"bench"},"payload":{"n":%d,"ok":true}}\n', topic, idPrefix, threadIndex, id, id)
  end
  return string.format('{"topic":"%s","event_id":"%s%d-%d","timestamp":"2025-10-22T10:30:00Z","source":"bench","payload":{"n":%d,"ok":true}}', topic, idPrefix, threadIndex, id, id)
end

function request()
  local parts = {}
  for i = 1, batch do
    local id
    if counter > 0 and math.random() < duplicateRatio then
      id = math.random(0, counter - 1)
    else
      id = counter
      counter = counter + 1
    end
    parts[i] = event(id)
  end
  if bulk then return wrk.format(nil, "/es/_bulk", nil, table.concat(parts)) end
  local body
  if batch == 1 then body = parts[1] else body = "[" .. table.concat(parts, ",") .. "]" end
  return wrk.format(nil, "/publish", nil, body)
end

status_200 = 0
status_503 = 0
status_other = 0

function response(status, headers, body)
  if status == 200 then
    status_200 = status_200 + 1
  elseif status == 503 then
    status_503 = status_503 + 1
  else
    status_other = status_other + 1
  end
end

function done(summary, latency, requests)
  local ok, busy, other, late, lag = 0, 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + (thread:get("status_200") or 0)
    busy = busy + (thread:get("status_503") or 0)
    other = other + (thread:get("status_other") or 0)
    late = late + (thread:get("late_sends") or 0)
    lag = math.max(lag, thread:get("max_lag_ms") or 0)
  end
  local paced = rate > 0 and string.format(',"late_sends":%d,"max_lag_ms":%.1f', late, lag) or ""
  io.write(string.format('{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors_status":%d,"errors_connect":%d,"errors_timeout":%d,"status_200":%d,"status_503":%d,"status_other":%d%s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status, summary.errors.connect, summary.errors.timeout,
    ok, busy, other, paced))
end
