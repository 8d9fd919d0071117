-- The exa Lua client against the simulator, for bench/run.sh.
-- Env: EXA_BASE_URL, EXA_API_KEY, BENCH_RUN_ID (a completed run), BENCH_GETS.
-- Prints "name<TAB>ops<TAB>wall_s<TAB>cpu_s<TAB>detail" lines.
local exa = require "exa"
local N = tonumber(os.getenv("BENCH_GETS")) or 1000
local run_id = assert(os.getenv("BENCH_RUN_ID"), "BENCH_RUN_ID")
local client = exa.new{}

local now = require("exa.core").monotime

local function measure(name, ops, f)
  local w0, c0 = now(), os.clock()
  local detail = f()
  print(("%s\t%d\t%.4f\t%.4f\t%s"):format(name, ops, now() - w0, os.clock() - c0, detail or ""))
end

measure("get", N, function()
  for _ = 1, N do client.runs:get(run_id) end
end)

measure("list-all", 5, function()
  local n = 0
  for _ = 1, 5 do
    for _ in client.runs:iter{ limit = 20 } do n = n + 1 end
  end
  return ("%d runs seen"):format(n)
end)

measure("replay-events", 50, function()
  local n = 0
  for _ = 1, 50 do
    for _ in client.runs:replay(run_id) do n = n + 1 end
  end
  return ("%d events"):format(n)
end)

-- Correctness under wire variations the service may produce.
for _, fault in ipairs{ "none", "sse-eol=crlf", "sse-eol=cr", "close-after-events=3" } do
  local headers = fault ~= "none" and { ["X-Mock-Fault"] = fault } or nil
  local n, last = 0, nil
  local ok, err = pcall(function()
    for ev in client.runs:stream({ query = "bench stream", effort = "low" }, { headers = headers }) do
      n = n + 1
      last = ev.event
    end
  end)
  print(("stream[%s]\t1\t0\t0\t%d events, last %s%s"):format(fault, n, tostring(last),
    ok and "" or (", error: " .. tostring(err))))
end
