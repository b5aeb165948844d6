-- wrk script: durable writes to Cairn's HTTP API.
-- Each request: PUT /v1/kv/<key> with the raw value as the body, a distinct key.
-- Usage: wrk ... -s cairn_put.lua http://LEADER:PORT -- KEY_SIZE VALUE_SIZE RUN_ID
-- (keys, values, error counting and the BENCH_RESULT line: see common.lua)
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local headers = { ["Content-Type"] = "application/octet-stream" }

function init(args)
  bench_init(args)
end

function request()
  local key = bench_next_key()
  return wrk.format("PUT", "/v1/kv/" .. key, headers, bench_value)
end
