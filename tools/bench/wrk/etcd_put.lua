-- wrk script: durable writes to etcd 3.4 through its JSON gateway.
-- Each request: POST /v3/kv/put {"key": base64(key), "value": base64(value)}, a distinct key.
-- Usage: wrk ... -s etcd_put.lua http://LEADER:PORT -- KEY_SIZE VALUE_SIZE RUN_ID
-- (keys, values, error counting and the BENCH_RESULT line: see common.lua)
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local headers = { ["Content-Type"] = "application/json" }

function init(args)
  bench_init(args)
end

function request()
  local _, key_b64 = bench_next_key()
  return wrk.format("POST", "/v3/kv/put", headers,
    '{"key":"' .. key_b64 .. '","value":"' .. bench_value_b64 .. '"}')
end
