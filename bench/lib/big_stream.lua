-- bench/lib/big_stream.lua OUT MIB: write an event stream of about MIB MiB in
-- the simulator's shape (created, started, then tool calls, search traces and
-- sources over and over, then completed) to OUT, for the one-stream bench.
local out, mib = assert(arg[1], "OUT"), tonumber(arg[2]) or 64
local RUN = "agent_run_bench0000000000000000000"
local f = assert(io.open(out, "wb"))
local id, size = 0, 0
local function put(event, data)
  id = id + 1
  local s = ("id: %d\nevent: %s\ndata: %s\n\n"):format(id, event, data)
  size = size + #s
  f:write(s)
end
put("agent_run.created", ('{"status":"queued","id":"%s","createdAt":"2026-12-06T03:28:28.009Z"}'):format(RUN))
put("agent_run.started", ('{"status":"running","id":"%s"}'):format(RUN))
local limit, call = mib * 1048576 - 4096, 0
while size < limit do
  call = call + 1
  local item = ('{"status":"%%s","arguments":"{\\"query\\":\\"AI infrastructure funding %d\\"}",'
    .. '"type":"function_call","name":"web_search","id":"fc_%d","call_id":"call_%d"}'):format(call, call, call)
  put("agent_run.output_item.added", '{"item":' .. item:format("in_progress") .. "}")
  put("agent_run.search_trace", ('{"text":"Searching the web for: AI infrastructure funding %d",'
    .. '"tool":"web_search","callId":"call_%d"}'):format(call, call))
  for k = 1, 3 do
    put("agent_run.source.added", ('{"source":{"url":"https://news.example.com/2026/01/vandelay-models-%d-%d",'
      .. '"title":"Vandelay Models raises $%dM Series B to expand GPU clouds","callId":"call_%d"}}')
      :format(call, k, 10 + (call * 7 + k) % 190, call))
  end
  put("agent_run.output_item.done", '{"item":' .. item:format("completed") .. "}")
end
put("agent_run.completed", ('{"status":"completed","id":"%s","output":{"content":"done"},'
  .. '"costDollars":{"total":0.01,"agentCompute":0.01,"search":0,"emails":0,"phoneNumbers":0}}'):format(RUN))
f:close()
print(id)
