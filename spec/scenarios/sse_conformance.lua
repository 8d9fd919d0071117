-- The SSE conformance cases (spec/fixtures/sse_cases.json, a copy of
-- ../shared/conformance/sse_cases.json) served over HTTP by
-- spec/helpers/http_peer.lua (/sse-chunks) and read through each backend's
-- next_event: chunked as the case gives them (one HTTP chunk per chunk),
-- whole (close-delimited), one byte at a time, and at three pseudo-random
-- splittings (both framings). Every delivery must give the case's events.
-- spec/sse_spec.lua feeds the same cases to the framer directly; this is
-- the framer behind each backend's HTTP reader. spec/sse_backends_spec.lua runs it.
local assert = require "luassert"
local sse_cases = require "helpers.sse_cases"
local rng, random_split = sse_cases.rng, sse_cases.random_split

local T = {}
local function test(name, fn, opts) T[#T + 1] = { name, fn, opts } end

local function hex(s)
  return (s:gsub(".", function(ch) return string.format("%02x", ch:byte()) end))
end

local function pieces(s, size)
  local out = {}
  for i = 1, #s, size do out[#out + 1] = s:sub(i, i + size - 1) end
  return out
end

local function plain_event(json, e)
  local out = { event = e.event, data = e.data, id = e.id }
  if e.retry ~= nil and e.retry ~= json.null then out.retry = e.retry end
  return out
end

-- The events of one delivery through the backend under test.
local function deliver(ctx, chunks, framing)
  local hexes = {}
  for i, c in ipairs(chunks) do hexes[i] = hex(c) end
  local h = ctx.start{ method = "POST", url = ctx.peer .. "/sse-chunks", sse = true, timeout = 20000,
    headers = { "Content-Type: application/json" },
    body = ctx.json.encode{ chunks = hexes, framing = framing }, fresh_connect = true }
  local status, err = h:headers()
  assert(status == 200, "headers: " .. tostring(status or (err and err.message)))
  local events = {}
  while true do
    local ev, e = h:next_event()
    if not ev then
      h:close()
      assert(e == nil, "next_event: " .. tostring(e and e.kind) .. " " .. tostring(e and e.message))
      return events
    end
    events[#events + 1] = plain_event(ctx.json, ev)
  end
end

local cases
local function load_cases(ctx)
  cases = cases or sse_cases.read(ctx.json.decode)
  return cases
end

-- one test per case; the names come from the fixture (read here on the busted side)
for ci, name in ipairs(sse_cases.names()) do
  test(name, function(ctx)
    local case
    for _, c in ipairs(load_cases(ctx)) do if c.name == name then case = c end end
    assert(case, "no case " .. name)
    local want = {}
    for i, e in ipairs(case.events) do want[i] = plain_event(ctx.json, e) end
    local chunks = sse_cases.chunks(case)
    local whole = table.concat(chunks)
    assert.same(want, deliver(ctx, chunks, "chunked"), "as given")
    assert.same(want, deliver(ctx, { whole }, "close"), "whole")
    assert.same(want, deliver(ctx, pieces(whole, #whole > 1000 and 7 or 1), "chunked"), "byte by byte")
    for seed = 1, 3 do
      local rand = rng(ci * 1000 + seed)
      assert.same(want, deliver(ctx, random_split(whole, rand(8), rand), seed % 2 == 0 and "chunked" or "close"),
        "split " .. seed)
    end
  end)
end

return {
  peer = true,
  tests = T,
}
