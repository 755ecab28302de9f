-- wrk script: POST /publish with BATCH events per request, DUPLICATES of them repeats of ids
-- already sent by this thread. Ids are unique per thread (prefix from the thread number).
local batch = tonumber(os.getenv("BATCH") or "1000")
local duplicateRatio = tonumber(os.getenv("DUPLICATES") or "0.2")
local topics = { "auth.prod", "payment.prod", "search.dev", "billing.prod" }
local counter = 0
local threadIndex = 0
local nextThread = 0

function setup(thread)
  thread:set("threadIndex", nextThread)
  nextThread = nextThread + 1
end

function init(args)
  math.randomseed(threadIndex * 7919 + 17)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

local function event(id)
  local topic = topics[(id % #topics) + 1]
  return string.format('{"topic":"%s","event_id":"t%d-%d","timestamp":"2025-10-22T10:30:00Z","source":"bench","payload":{"n":%d,"ok":true}}', topic, threadIndex, id, id)
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
  local body
  if batch == 1 then body = parts[1] else body = "[" .. table.concat(parts, ",") .. "]" end
  return wrk.format(nil, "/publish", nil, body)
end

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format('{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors_status":%d,"errors_connect":%d,"errors_timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status, summary.errors.connect, summary.errors.timeout))
end
