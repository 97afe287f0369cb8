-- wrk script for the benchmarks (bench/b6_progress_api.py): counts responses by status in
-- every thread and, when the run ends, prints one line `WRK_JSON {...}` with the latency
-- percentiles (milliseconds), the request count and rate, the non-2xx responses (429s apart,
-- since a throttle answering is an error too) and wrk's socket errors.
-- Headers (Authorization) come from wrk's own -H option.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non_2xx = 0
  throttled = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
    if status == 429 then
      throttled = throttled + 1
    end
  end
end

function done(summary, latency, requests)
  local non_2xx_total, throttled_total = 0, 0
  for _, thread in ipairs(threads) do
    non_2xx_total = non_2xx_total + thread:get("non_2xx")
    throttled_total = throttled_total + thread:get("throttled")
  end
  local errors = summary.errors
  local seconds = summary.duration / 1e6
  -- wrk keeps latencies in microseconds.
  io.write(string.format(
    'WRK_JSON {"p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, "mean_ms": %.3f, ' ..
    '"max_ms": %.3f, "requests": %d, "seconds": %.3f, "requests_per_second": %.1f, ' ..
    '"non_2xx": %d, "throttled_429": %d, "socket_errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d}}\n',
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.mean / 1000, latency.max / 1000,
    summary.requests, seconds, summary.requests / seconds,
    non_2xx_total, throttled_total,
    errors.connect, errors.read, errors.write, errors.timeout
  ))
end
