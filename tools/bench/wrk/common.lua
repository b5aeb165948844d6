-- Shared by etcd_put.lua and cairn_put.lua (loaded with dofile from the same directory), so that
-- both systems get byte-for-byte the same keys and values and the same bookkeeping.
--
-- wrk arguments (after `--` on wrk's command line):  KEY_SIZE VALUE_SIZE RUN_ID
--   KEY_SIZE   bytes per key (>= 12); letters and digits only, so the key is the same length in
--              etcd's JSON (base64) and in Cairn's URL path (no percent-encoding)
--   VALUE_SIZE bytes per value; random letters and digits, drawn once per thread
--   RUN_ID     a few letters/digits that differ between runs (key prefix and random seed)
--
-- Every request writes a distinct key: RUN_ID (repeated to fill the prefix), then the thread's
-- two-digit number, then its request counter scrambled by a multiplication modulo 10^10 (a
-- bijection), so a thread's keys are all distinct but arrive in random order, not sorted.
--
-- done() prints one machine-readable line (times in milliseconds):
--   BENCH_RESULT requests=N duration_s=S rps=R p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..
--                errors=E non2xx=N socket_errors=N timeouts=N
-- errors = responses outside 200-299 (counted in response()) + connect/read/write/timeout errors;
-- and, when there were any, BENCH_FIRST_ERROR <status> <body, first 200 bytes> from one thread.

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function bench_base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(v / 262144) % 64
    local c2 = math.floor(v / 4096) % 64
    local c3 = math.floor(v / 64) % 64
    local c4 = v % 64
    out[#out + 1] = b64:sub(c1 + 1, c1 + 1) .. b64:sub(c2 + 1, c2 + 1)
      .. (b and b64:sub(c3 + 1, c3 + 1) or "=") .. (c and b64:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

local modulus = 1e10
local multiplier = 6364136223 -- odd and not a multiple of 5: invertible modulo 10^10

-- (a * b) mod 10^10 without losing precision in doubles (every partial product < 2^53)
local function mulmod(a, b)
  local high, low = math.floor(b / 1e5), b % 1e5
  return ((a * high) % modulus * 1e5 + a * low) % modulus
end

-- Per-thread state, set by bench_init.
local key_prefix, key_prefix_b64, counter_width, thread_tag
local counter = 0
bench_value = nil
bench_value_b64 = nil

-- Runs in the main Lua state: number the threads and keep them for done().
local threads = {}
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("bench_thread_id", thread_count)
  threads[#threads + 1] = thread
end

function bench_init(args)
  local key_size = tonumber(args[1])
  local value_size = tonumber(args[2])
  local run_id = args[3] or "run"
  if not key_size or not value_size or key_size < 12 or value_size < 0 or not run_id:match("^[%w]+$") then
    error("usage: wrk ... -s script.lua URL -- KEY_SIZE(>=12) VALUE_SIZE RUN_ID(letters/digits)")
  end
  local id = bench_thread_id or 1
  thread_tag = string.format("%02d", id % 100)
  -- The unique suffix is the 2-digit thread tag plus a counter of 10-12 digits, chosen so that the
  -- prefix length is a multiple of 3: then base64(prefix .. suffix) = base64(prefix) .. base64(suffix)
  -- and only the short suffix is encoded per request.
  local suffix_size = 12 + (key_size - 12) % 3
  counter_width = suffix_size - 2
  local prefix_size = key_size - suffix_size
  key_prefix = string.rep(run_id, math.ceil(prefix_size / #run_id) + 1):sub(1, prefix_size)
  key_prefix_b64 = bench_base64(key_prefix)
  local seed = id * 7919
  for i = 1, #run_id do seed = (seed * 31 + run_id:byte(i)) % 2147483647 end
  math.randomseed(seed)
  local chars = {}
  for i = 1, value_size do
    local k = math.random(1, #alphabet)
    chars[i] = alphabet:sub(k, k)
  end
  bench_value = table.concat(chars)
  bench_value_b64 = bench_base64(bench_value)
end

-- Returns the next key, and its base64 form.
function bench_next_key()
  counter = counter + 1
  local scrambled = mulmod(counter % modulus, multiplier)
  local suffix = thread_tag .. string.format("%0" .. counter_width .. ".0f", scrambled)
  return key_prefix .. suffix, key_prefix_b64 .. bench_base64(suffix)
end

non2xx = 0
first_error = nil
function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if not first_error then
      first_error = status .. " " .. tostring(body):sub(1, 200):gsub("[\r\n]", " ")
    end
  end
end

function done(summary, latency, requests)
  local bad, sample = 0, nil
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
    sample = sample or thread:get("first_error")
  end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f"
      .. " errors=%d non2xx=%d socket_errors=%d timeouts=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, bad + socket_errors, bad, socket_errors, e.timeout))
  if sample then io.write("BENCH_FIRST_ERROR " .. sample .. "\n") end
end
