-- bench/one_stream.lua: one long event stream through the client (runs:stream,
-- every event's data JSON-decoded), as bench/one_stream_exa_js.mjs does with
-- exa-js. Env: EXA_BASE_URL (bench/lib/proxy.sh's BIG_URL), EXA_API_KEY.
-- Prints "events<TAB>cpu_s<TAB>wall_s".
local exa = require "exa"
local now = require("exa.core").monotime
local c = exa.new{}
local n, w0, c0 = 0, now(), os.clock()
for ev in c.runs:stream{ query = "one stream", effort = "low" } do
  if ev.data ~= nil then n = n + 1 end
end
print(("%d\t%.4f\t%.4f"):format(n, os.clock() - c0, now() - w0))
