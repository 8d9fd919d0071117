-- The SSE framer (exa.core.sse_parser) against the conformance cases, fed as
-- given, whole, one byte at a time and at pseudo-random split points, plus
-- the behaviours a stream consumer relies on: bounds, end of stream, CR/LF
-- across chunks, BOMs, NUL bytes, a large stream in random chunks.
--
-- spec/fixtures/sse_cases.json is a copy of ../shared/conformance/sse_cases.json,
-- so the spec runs from a bare checkout.
local core = require "exa.core"
local json = require "exa.wire.json"

local assert, describe, it = assert, describe, it
local concat, insert = table.concat, table.insert
local tostring, ipairs, pcall = tostring, ipairs, pcall

local sse_cases = require "helpers.sse_cases"
local rng, random_split = sse_cases.rng, sse_cases.random_split

local function bytes_of(s)
  local out = {}
  for i = 1, #s do out[i] = s:sub(i, i) end
  return out
end

-- Feed the chunks to a fresh parser; return events, comments, the event
-- count after each chunk, and last_event_id / retry after finish().
local function run(chunks, opts)
  local p = core.sse_parser(opts or { comments = true })
  local events, comments, counts = {}, {}, {}
  for i, c in ipairs(chunks) do
    for _, e in ipairs(p:feed(c)) do
      if e.comment then
        insert(comments, e.comment)
      else
        assert.is_boolean(e.has_id) -- not in the fixture: the tests below check it
        e.has_id = nil
        insert(events, e)
      end
    end
    counts[i] = #events
  end
  assert.is_boolean(p:finish())
  local r = { events = events, comments = comments, counts = counts,
              last_id = p:last_event_id(), retry = p:retry() }
  p:close()
  return r
end

-- Plain tables (no JSON metatables, no json.null) to compare against.
local function expected_events(case)
  local out = {}
  for i, e in ipairs(case.events) do
    out[i] = { event = e.event, data = e.data, id = e.id }
    if e.retry ~= nil and e.retry ~= json.null then out[i].retry = e.retry end
  end
  return out
end

local function check(case, r)
  assert.same(expected_events(case), r.events)
  assert.equal(case.lastEventId, r.last_id)
  if case.retry == json.null then assert.is_nil(r.retry) else assert.equal(case.retry, r.retry) end
  local comments = {}
  for i, c in ipairs(case.comments) do comments[i] = c end
  assert.same(comments, r.comments)
end

describe("sse conformance (spec/fixtures/sse_cases.json)", function()
  local cases = sse_cases.read(json.decode)

  it("has the cases", function()
    assert.is_true(#cases >= 60)
  end)

  for ci, case in ipairs(cases) do
    local chunks = sse_cases.chunks(case)
    local whole = concat(chunks)

    describe(case.name, function()
      it("as given, with the event count after each chunk", function()
        local r = run(chunks)
        check(case, r)
        local counts = {}
        for i, n in ipairs(case.eventsAfterEachChunk) do counts[i] = n end
        assert.same(counts, r.counts)
      end)

      it("whole", function()
        check(case, run({ whole }))
      end)

      it("one byte at a time", function()
        check(case, run(bytes_of(whole)))
      end)

      it("at 20 pseudo-random splittings", function()
        for seed = 1, 20 do
          local rand = rng(ci * 1000 + seed)
          check(case, run(random_split(whole, rand(8), rand)))
        end
      end)
    end)
  end
end)

describe("sse parser", function()
  local function feed_all(p, chunks)
    local out = {}
    for _, c in ipairs(chunks) do
      for _, e in ipairs(p:feed(c)) do insert(out, e) end
    end
    return out
  end

  it("dispatches a CR-ended line at once and swallows the LF that starts the next chunk", function()
    local p = core.sse_parser()
    assert.same({}, p:feed("data: a\r"))
    assert.same({ { event = "message", data = "a", id = "", has_id = false } }, p:feed("\n\r"))
    assert.same({}, p:feed("\ndata: b\r"))     -- that LF closed the CRLF, it is no blank line
    assert.same({}, p:feed(""))                -- an empty feed keeps the pending CR
    assert.same({}, p:feed("\n"))
    assert.same({ { event = "message", data = "b", id = "", has_id = false } }, p:feed("\n"))
  end)

  it("treats empty feeds as nothing", function()
    local p = core.sse_parser()
    for _ = 1, 3 do assert.same({}, p:feed("")) end
    assert.same({}, p:feed("\239"))
    assert.same({}, p:feed(""))
    assert.same({}, p:feed("\187\191data: x\n"))
    assert.same({}, p:feed(""))
    assert.same({ { event = "message", data = "x", id = "", has_id = false } }, p:feed("\n"))
  end)

  it("strips a BOM split across three feeds, and only at the stream start", function()
    local p = core.sse_parser()
    assert.same({}, p:feed("\239"))
    assert.same({}, p:feed("\187"))
    assert.same({}, p:feed("\191"))
    assert.same({ { event = "message", data = "1", id = "", has_id = false } }, p:feed("data: 1\n\n"))
    assert.same({}, p:feed("\239\187\191data: 2\n\n")) -- a field named U+FEFF"data": unknown
  end)

  it("keeps a partial BOM that turns out not to be one as line content", function()
    local p = core.sse_parser()
    assert.same({}, p:feed("\239\187"))
    assert.same({}, p:feed("data: x\n\n")) -- field "\239\187data": unknown
    assert.same({ { event = "message", data = "y", id = "", has_id = false } }, p:feed("data: y\n\n"))
    local q = core.sse_parser()
    assert.same({}, q:feed("\239"))
    assert.same({ { event = "message", data = "z", id = "", has_id = false } }, q:feed("\n:\ndata: z\n\n"))
  end)

  it("passes NUL bytes in data through", function()
    local p = core.sse_parser()
    local evs = p:feed("data: a\0b\ndata:\0\n\n")
    assert.same({ { event = "message", data = "a\0b\n\0", id = "", has_id = false } }, evs)
  end)

  it("discards an unterminated block at finish(), its id included", function()
    local p = core.sse_parser()
    assert.same({ { event = "message", data = "1", id = "a", has_id = true } },
      p:feed("id: a\ndata: 1\n\nid: b\nevent: x\ndata: 2\n"))
    assert.is_true(p:finish()) -- it dropped something
    assert.is_false(p:finish())
    assert.equal("a", p:last_event_id())
    -- finish ends the stream: the next feed is a new one (its BOM is stripped),
    -- and the last event id carries over, as a reconnect wants
    assert.same({ { event = "message", data = "3", id = "a", has_id = false } }, p:feed("\239\187\191data: 3\n\n"))
  end)

  it("marks events whose own block had an id field (has_id), an empty id: too", function()
    local p = core.sse_parser()
    local evs = p:feed("id: 5\ndata: a\n\ndata: b\n\nid:\ndata: c\n\ndata: d\n\nid: 7\0x\ndata: e\n\n")
    assert.same({
      { event = "message", data = "a", id = "5", has_id = true },
      { event = "message", data = "b", id = "5", has_id = false }, -- carried, not its own
      { event = "message", data = "c", id = "", has_id = true },   -- an empty id: resets it (WHATWG)
      { event = "message", data = "d", id = "", has_id = false },
      { event = "message", data = "e", id = "", has_id = false },  -- an id with NUL is ignored
    }, evs)
    assert.equal("", p:last_event_id())
    assert.same({ { event = "message", data = "f", id = "", has_id = true } }, p:feed("id\ndata: f\n\n"))
  end)

  it("finish() says whether the stream ended inside a line or an event", function()
    local function ends(s)
      local p = core.sse_parser()
      p:feed(s)
      return p:finish()
    end
    assert.is_false(ends(""))
    assert.is_false(ends("data: a\n\n"))
    assert.is_false(ends("data: a\n\n: keepalive\n")) -- a comment opens no event
    assert.is_false(ends("data: a\r\n\r"))            -- the CR ended the block
    assert.is_true(ends("data: a\n\ndata: b"))          -- inside a line
    assert.is_true(ends("data: a\n\ndata: b\n"))        -- inside an event
    assert.is_true(ends("id: 9\n"))
    assert.is_true(ends("event: x\r"))
    assert.is_true(ends(": keepalive"))
    assert.is_true(ends("\239\187"))                    -- the first bytes of a BOM
  end)

  it("bounds lines and events at 16 MiB by default", function()
    local p = core.sse_parser()
    local big = ("x"):rep(16 * 1024 * 1024 - 6) -- "data: " .. big is a 16 MiB line
    local evs = p:feed("data: " .. big .. "\n\n")
    assert.equal(#big, #evs[1].data)
    assert.has_error(function() p:feed("data: " .. big .. "y\n") end, "sse: line exceeds max_line (16777216 bytes)")
  end)

  it("commits an id at a blank line even when the block has no data", function()
    local p = core.sse_parser()
    assert.same({}, p:feed("id: 5\n\n"))
    assert.equal("5", p:last_event_id())
    assert.same({}, p:feed("id: 6\n"))
    assert.equal("5", p:last_event_id()) -- not yet: its block has not ended
  end)

  it("reports retry only when set, and ignores values that are not all digits or too big", function()
    local p = core.sse_parser()
    local evs = p:feed("data: a\n\nretry: 1500\ndata: b\n\nretry: 12a\nretry: -1\nretry: 1e3\nretry: 99999999999999999999999\ndata: c\n\n")
    assert.is_nil(evs[1].retry)
    assert.equal(1500, evs[2].retry)
    assert.equal(1500, evs[3].retry)
    assert.equal(1500, p:retry())
    assert.same({}, p:feed("retry: 0\n"))
    assert.equal(0, p:retry()) -- retry takes effect when its line is read
  end)

  it("observes comments only when asked", function()
    assert.same({}, core.sse_parser():feed(": hi\n"))
    assert.same({ { comment = " hi" } }, core.sse_parser{ comments = true }:feed(": hi\n"))
  end)

  describe("bounds", function()
    it("raises once a line exceeds max_line, however it is chunked, and stays failed", function()
      local line = "data: " .. ("x"):rep(58) -- 64 bytes
      local ok_p = core.sse_parser{ max_line = 64 }
      assert.same({ { event = "message", data = ("x"):rep(58), id = "", has_id = false } }, ok_p:feed(line .. "\n\n"))

      local p = core.sse_parser{ max_line = 64 }
      assert.has_error(function() p:feed(line .. "y\n") end, "sse: line exceeds max_line (64 bytes)")
      assert.has_error(function() p:feed("\n") end, "sse: parser failed earlier: line exceeds max_line (64 bytes)")

      -- a line that never ends fails as soon as it passes the bound: nothing grows past it
      local q = core.sse_parser{ max_line = 1024 }
      for _ = 1, 16 do assert.same({}, q:feed(("z"):rep(64))) end
      assert.has_error(function() q:feed("z") end, "sse: line exceeds max_line (1024 bytes)")
    end)

    it("raises once an event's data exceeds max_event", function()
      local p = core.sse_parser{ max_event = 10 }
      assert.same({ { event = "message", data = "0123\n5678\n", id = "", has_id = false } }, p:feed("data:0123\ndata:5678\ndata\n\n"))
      assert.same({}, p:feed("data:0123\ndata:5678\ndata\n")) -- 10 bytes held: at the bound, not past it
      assert.has_error(function() p:feed("data\n") end, "sse: event data exceeds max_event (10 bytes)")
      assert.has_error(function() p:feed("\n") end, "sse: parser failed earlier: event data exceeds max_event (10 bytes)")
    end)

    it("fails at the same place whatever the chunking", function()
      local stream = ("data: 12345\n\n"):rep(10) .. "data: " .. ("x"):rep(100) .. "\n\n"
      for _, size in ipairs({ 1, 3, 7, 50, #stream }) do
        local p, got = core.sse_parser{ max_line = 64 }, 0
        local ok, err = pcall(function()
          for i = 1, #stream, size do got = got + #p:feed(stream:sub(i, i + size - 1)) end
        end)
        assert.is_false(ok)
        assert.matches("line exceeds max_line %(64 bytes%)", err)
        if size < 50 then assert.equal(10, got) end -- all events before the long line arrived
      end
    end)
  end)

  describe("the userdata", function()
    it("checks its arguments and options", function()
      assert.has_error(function() core.sse_parser("x") end)
      assert.has_error(function() core.sse_parser{ max_line = 0 } end)
      assert.has_error(function() core.sse_parser{ max_event = 1.5 } end)
      assert.has_error(function() core.sse_parser{ max_event = "10" } end)
      assert.has_error(function() core.sse_parser{ comments = true, [1] = 2 } end)
      local q = core.sse_parser{ max_line = 2^4 } -- an integral float is fine
      assert.has_error(function() q:feed(("x"):rep(17)) end, "sse: line exceeds max_line (16 bytes)")
      assert.has_error(function() core.sse_parser{ max_lines = 10 } end)
      local p = core.sse_parser()
      assert.has_error(function() p:feed() end)
      assert.has_error(function() p.feed({}, "x") end)
    end)

    it("closes idempotently, and a closed parser raises", function()
      local p = core.sse_parser()
      assert.matches("^exa%.sse_parser", tostring(p))
      p:close()
      p:close()
      assert.has_error(function() p:feed("x") end, "sse: parser is closed")
      assert.equal("exa.sse_parser (closed)", tostring(p))
      collectgarbage()
    end)

    it("is freed by a to-be-closed variable on Lua 5.4", function()
      if _VERSION ~= "Lua 5.4" then return end
      local f = assert(load([[
        local core = ...
        local q
        do
          local p <close> = core.sse_parser()
          p:feed("data: x\n")
          q = p
        end
        return q
      ]]))
      local q = f(core)
      assert.has_error(function() q:feed("x") end, "sse: parser is closed")
    end)
  end)

  it("gives identical results for a 100k-event stream fed whole and in random chunks", function()
    local rand = rng(4242)
    local ends = { "\n", "\r", "\r\n" }
    local parts, expected, last_id = {}, {}, ""
    for i = 1, 100000 do
      local nl = ends[rand(3)]
      local ev = { event = "message", data = "", id = last_id, has_id = i % 3 == 0 }
      if i % 7 == 0 then insert(parts, ": keepalive" .. nl) end
      if i % 5 == 0 then ev.event = "tick"; insert(parts, "event: tick" .. nl) end
      if i % 3 == 0 then last_id = tostring(i); ev.id = last_id; insert(parts, "id: " .. last_id .. nl) end
      local nlines = rand(3)
      local lines = {}
      for k = 1, nlines do
        lines[k] = ("%d-%d"):format(i, k) .. ("\0\226\128\166"):rep(rand(3) - 1)
        insert(parts, "data: " .. lines[k] .. nl)
      end
      ev.data = concat(lines, "\n")
      insert(parts, nl)
      expected[i] = ev
    end
    local stream = concat(parts)

    local whole = feed_all(core.sse_parser(), { stream })
    assert.equal(#expected, #whole)
    for i = 1, #expected, 997 do assert.same(expected[i], whole[i]) end
    assert.same(expected, whole)

    local chunks, pos = {}, 1
    while pos <= #stream do
      local n = rand(4096)
      insert(chunks, stream:sub(pos, pos + n - 1))
      pos = pos + n
    end
    local chunked = feed_all(core.sse_parser(), chunks)
    assert.same(whole, chunked)
  end)
end)
