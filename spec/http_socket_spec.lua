-- http_socket_spec.lua - exa.core's socket API: transfers driven through
-- curl_multi_socket_action by the built-in waiter (m:wait on epoll/poll) or
-- by a host loop (m:changes, m:timeout, m:action; here libuv through luv),
-- the progress report (ids), and readiness checks that never drive.
-- Against spec/helpers/http_peer.lua on loopback.  Counts and order only.
local core = require "exa.core"
local cjson = require "cjson"

local peer_proc = require "helpers.peer_proc"

local start_peer, stop_peer = peer_proc.start, peer_proc.stop

-- Read every event a transfer has ready without driving; returns the count
-- read and, once it ended, true (plus the error, if it failed).
local function drain(t, into)
  local n = 0
  while true do
    local ev, err = t:next_event(0)
    if ev == false then return n, false end
    if ev == nil then return n, true, err end
    n = n + 1
    if into then into[#into + 1] = ev end
  end
end

describe("exa.core socket API", function()
  local peer, base

  setup(function()
    peer = start_peer()
    base = peer.base
  end)

  teardown(function() stop_peer(peer) end)

  local function get(m, path, extra)
    local spec = { method = "GET", url = base .. path }
    for k, v in pairs(extra or {}) do spec[k] = v end
    return m:request(spec)
  end

  it("numbers the transfers of each multi", function()
    local m, m2 = core.multi(), core.multi()
    local a, b = get(m, "/json"), get(m, "/json")
    assert.equal(1, a:id())
    assert.equal(2, b:id())
    assert.equal(1, get(m2, "/json"):id())
    assert.equal(2, m:count())
    m:close()
    m2:close()
  end)

  it("m:wait reports the transfers that made progress, each once per call, until they end", function()
    local m = core.multi()
    local s = get(m, "/sse?n=3&delay=200", { sse = true }) -- apart enough not to batch under valgrind
    local j = get(m, "/json")
    local h = get(m, "/hang")
    local reported, events, ended = {}, {}, {}
    local rounds = 0
    while not (ended.s and ended.j) do
      rounds = rounds + 1
      assert.is_true(rounds < 200, "no end")
      local ids, once = m:wait(2000), {}
      for _, id in ipairs(ids) do
        assert.is_nil(once[id], "an id twice in one report")
        once[id] = true
        reported[id] = (reported[id] or 0) + 1
      end
      if once[s:id()] then
        local _, fin = drain(s, events)
        ended.s = ended.s or fin
      end
      if once[j:id()] then ended.j = j:finish(0) ~= false end
    end
    assert.equal(3, #events)
    assert.is_true(reported[s:id()] >= 2, "head and events, then the end")
    assert.equal(200, j:finish(0).status)
    assert.is_nil(reported[h:id()]) -- a transfer that got nothing is never reported
    assert.equal(1, m:count())
    m:close()
  end)

  it("wait_ms = 0 never drives: nothing moves until something drives the multi", function()
    local m = core.multi()
    local t = get(m, "/json")
    local s = get(m, "/sse?n=1&delay=0", { sse = true })
    core.sleep(0.2) -- time enough for an answer, had the request gone out
    for _ = 1, 5 do
      assert.is_false(t:headers(0))
      assert.is_false(t:finish(0))
      assert.is_false(s:next_event(0))
    end
    local st = m:stats()
    assert.equal(0, st.actions) -- curl was never asked to do anything
    assert.equal(0, st.steps)
    while not t:finish(0) do m:wait(1000) end
    assert.equal(200, (t:headers(0)))
    m:close()
  end)

  it("m:wait with progress pending returns it at once; with none it returns {} after ms", function()
    local m = core.multi()
    local t = get(m, "/json")
    assert.truthy(t:finish()) -- the blocking call drove: t's progress waits for m:wait
    local ids = m:wait(60000)
    assert.same({ t:id() }, ids)
    local h = get(m, "/hang")
    assert.truthy(h)
    local got = {}
    for _ = 1, 5 do
      for _, id in ipairs(m:wait(20)) do got[#got + 1] = id end
    end
    assert.same({}, got)
    assert.same({}, m:wait(0))
    m:close()
    assert.has_error(function() m:wait(0) end, "exa.multi: wait() after close()")
  end)

  it("blocking calls leave the progress of what they moved for m:wait, and a closed transfer is forgotten", function()
    local m = core.multi()
    local a = get(m, "/sse?n=2&delay=0", { sse = true })
    local b = get(m, "/json")
    local c = get(m, "/json")
    assert.truthy(b:finish())
    assert.truthy(c:finish())
    assert.truthy(a:next_event())
    c:close() -- it progressed, then went away
    local seen = {}
    for _, id in ipairs(m:wait(0)) do seen[id] = true end
    assert.is_true(seen[a:id()])
    assert.is_true(seen[b:id()])
    assert.is_nil(seen[3])
    m:close()
  end)

  it("m:timeout: -1 with nothing due, 0 when curl wants to act, the idle deadline bounds it", function()
    local m = core.multi()
    assert.equal(-1, m:timeout())
    local t = get(m, "/sse-hang", { sse = true, idle_timeout = 5000 })
    assert.equal(0, m:timeout()) -- curl wants to start the transfer now
    assert.truthy(t:next_event())
    m:wait(0) -- take the pending progress
    local tmo = m:timeout()
    assert.is_true(tmo > 0 and tmo <= 5000, "timeout " .. tmo)
    m:close()
  end)

  it("idle deadlines cost no scan while none falls due, and a silent stream is still caught", function()
    local m = core.multi()
    local ts = {}
    -- 200 ms between events: at least 5 separate wake-ups even when a slow
    -- client (valgrind) takes tens of ms per wake-up and would batch 20 ms ones
    for i = 1, 40 do ts[i] = get(m, "/sse?n=5&delay=200", { sse = true, idle_timeout = 10000 }) end
    local events = 0
    while m:count() > 0 do
      for _, id in ipairs(m:wait(2000)) do events = events + drain(ts[id]) end
    end
    for _, t in ipairs(ts) do events = events + drain(t) end
    assert.equal(200, events)
    local st = m:stats()
    assert.is_true(st.steps >= 5, "steps " .. st.steps)
    assert.equal(0, st.idle_scans) -- no wake-up walked the 40 transfers
    assert.equal(0, st.idle_visits)
    local q = get(m, "/sse-hang", { sse = true, idle_timeout = 200 })
    assert.equal("1", assert(q:next_event()).id)
    local ev, err = q:next_event()
    assert.is_nil(ev)
    assert.equal("timeout", err.kind)
    st = m:stats()
    assert.is_true(st.idle_scans >= 1)
    assert.is_true(st.idle_visits <= 3 * st.idle_scans, "each scan visits only the idle-timed transfers")
    m:close()
  end)

  it("logs socket changes in order: a remove before the same fd number is watched again", function()
    local m = core.multi { log_sockets = true }
    for _ = 1, 6 do -- the peer closes each connection: the fd numbers come back
      local t = get(m, "/json", { headers = { "Connection: close" } })
      assert.equal(200, assert(t:finish()).status)
      t:close()
    end
    local watched, seen, readds = {}, {}, 0
    for _, c in ipairs(m:changes()) do
      assert.equal(c[1], c.fd)
      assert.equal(c[2], c.what)
      if c.what == "remove" then
        assert.is_true(watched[c.fd], "remove of an fd not watched")
        watched[c.fd] = nil
      else
        assert.is_truthy(({ ["in"] = 1, out = 1, inout = 1 })[c.what])
        if not watched[c.fd] and seen[c.fd] then readds = readds + 1 end
        watched[c.fd] = true
        seen[c.fd] = true
      end
    end
    assert.is_true(readds >= 1, "no fd number was reused")
    assert.same({}, m:changes()) -- read once
    assert.has_error(function() core.multi():changes() end,
      "exa.multi: changes() needs core.multi{log_sockets = true}")
    m:close()
  end)

  it("m:fd() is the epoll fd: a host watching it and m:timeout() drives everything with m:wait(0)", function()
    local has_uv, uv = pcall(require, "luv")
    if not has_uv then return pending("luv not installed") end
    local m = core.multi()
    local fd = m:fd()
    if fd == nil then return pending("no epoll here: m:fd() is nil") end
    local ts, events, ended = {}, 0, 0
    for i = 1, 4 do ts[i] = get(m, "/sse?n=3&delay=10", { sse = true }) end
    local poll, timer = uv.new_poll(fd), uv.new_timer()
    local function pump()
      for _, id in ipairs(m:wait(0)) do
        local n, fin = drain(ts[id])
        events = events + n
        if fin then ended = ended + 1 end
      end
      timer:stop()
      if ended == #ts then
        poll:stop()
        poll:close()
        timer:close()
        return
      end
      local tmo = m:timeout()
      if tmo >= 0 then timer:start(tmo, 0, pump) end
    end
    poll:start("r", pump) -- readable: some socket curl watches is ready
    pump()
    uv.run()
    assert.equal(12, events)
    m:close()
    assert.is_nil(m:fd())
  end)

  it("after m:close() a host loop winds down: the last removes, no timeout, no progress", function()
    local m = core.multi { log_sockets = true }
    local s = get(m, "/sse-hang", { sse = true })
    local j = get(m, "/json")
    assert.truthy(j:finish()) -- its connection goes back to the pool
    assert.truthy(s:next_event())
    local watched = {}
    for _, c in ipairs(m:changes()) do watched[c.fd] = c.what ~= "remove" or nil end
    assert.is_true(next(watched) ~= nil)
    m:close()
    for _, c in ipairs(m:changes()) do
      assert.equal("remove", c.what)
      watched[c.fd] = nil
    end
    assert.is_nil(next(watched), "a socket was left watched")
    assert.same({}, m:changes())
    assert.equal(-1, m:timeout())
    assert.same({}, m:action(-1))
    assert.same({}, m:action(5, "in"))
    assert.is_nil(m:fd())
    assert.equal(0, m:count())
    assert.equal(s:id(), 1)
    s:close()
    assert.equal(1, s:id()) -- still known by its id
    assert.has_error(function() m:wait(0) end, "exa.multi: wait() after close()")
  end)

  it("checks m:action's arguments", function()
    local m = core.multi()
    assert.has_error(function() m:action(3, "sideways") end)
    assert.has_error(function() m:action(-2, "in") end)
    assert.has_error(function() m:action({}, "in") end)
    assert.same({}, m:action(-1)) -- a timer with nothing to do
    m:close()
  end)

  it("takes an error report on a socket as 'try it': an answer already sent is read, not dropped", function()
    -- A host loop (or epoll) can report an error on a socket whose peer sent
    -- its whole answer and then reset the connection.  Drive by hand until
    -- curl waits to read, let the answer arrive, then report only "err".
    local m = core.multi { log_sockets = true }
    local pause = core.multi() -- wait() on an empty multi only sleeps
    local t = get(m, "/json", { headers = { "Connection: close" } })
    local watched = {}
    local function note()
      for _, c in ipairs(m:changes()) do watched[c.fd] = c.what ~= "remove" and c.what or nil end
    end
    local fd
    for _ = 1, 400 do
      m:action(-1)
      note()
      for f, what in pairs(watched) do
        if what == "in" then fd = f else m:action(f, what) end
      end
      note()
      if fd and watched[fd] == "in" then break end
      fd = nil
      pause:wait(5)
    end
    assert.truthy(fd, "curl never waited to read the answer")
    pause:wait(300) -- the peer's answer is in the socket's buffer by now
    m:action(fd, "err")
    for _ = 1, 400 do -- if it was not there yet: the usual read wake-ups
      if t:finish(0) ~= false then break end
      note()
      for f, what in pairs(watched) do m:action(f, what) end
      m:action(-1)
      pause:wait(5)
    end
    local res, err = t:finish(0)
    assert.is_nil(err and err.message)
    assert.equal(200, res.status)
    assert.is_true(cjson.decode(res.body).ok)
    t:close()
    m:close()
    pause:close()
  end)

  describe("a libuv host (luv)", function()
    local has_uv, uv = pcall(require, "luv")

    -- Drive m with libuv alone: a poll handle per socket from m:changes(), one
    -- timer from m:timeout(), m:action() on each wake-up.  on_progress(ids)
    -- returns true when the host may stop.
    local function host(m, on_progress)
      local polls, timer, finished = {}, uv.new_timer(), false
      local sync
      local function wake(ids)
        if on_progress(ids) then finished = true end
        sync()
      end
      sync = function()
        for _, c in ipairs(m:changes()) do
          local fd, what = c[1], c[2]
          if what == "remove" then
            polls[fd]:stop()
            polls[fd]:close()
            polls[fd] = nil
          else
            local p = polls[fd]
            if not p then
              p = uv.new_socket_poll(fd)
              polls[fd] = p
            end
            p:start(what == "in" and "r" or what == "out" and "w" or "rw", function(_, events)
              events = events or ""
              local r, w = events:find("r", 1, true), events:find("w", 1, true)
              wake(m:action(fd, r and w and "inout" or w and "out" or "in"))
            end)
          end
        end
        timer:stop()
        if finished then
          for fd, p in pairs(polls) do
            p:stop()
            p:close()
            polls[fd] = nil
          end
          timer:close()
          return
        end
        local tmo = m:timeout()
        if tmo >= 0 then timer:start(tmo, 0, function() wake(m:action(-1)) end) end
      end
      sync()
      uv.run()
    end

    it("runs streams and closing connections on m:changes, m:timeout and m:action alone", function()
      if not has_uv then return pending("luv not installed") end
      local m = core.multi { log_sockets = true }
      local ts, events, ends = {}, {}, 0
      for i = 1, 5 do ts[i] = get(m, "/sse?n=4&delay=10", { sse = true }) end
      -- connections the peer closes: their fd numbers come back for new sockets
      for i = 6, 10 do ts[i] = get(m, "/json", { headers = { "Connection: close" } }) end
      local bodies = 0
      host(m, function(ids)
        for _, id in ipairs(ids) do
          local t = ts[id]
          if id <= 5 then
            local _, fin, err = drain(t, events)
            assert.is_nil(err)
            if fin then ends = ends + 1 end
          else
            local r = t:finish(0)
            if r then
              bodies = bodies + 1
              assert.equal(200, r.status)
              if #ts < 25 then -- and another, on a fresh connection: 20 in all
                local n = #ts + 1
                ts[n] = get(m, "/json", { headers = { "Connection: close" } })
                assert.equal(n, ts[n]:id())
              end
            end
          end
        end
        return ends == 5 and m:count() == 0
      end)
      assert.equal(20, #events)
      assert.equal(20, bodies)
      assert.equal(0, m:stats().steps) -- the host did all the waiting
      assert.is_true(m:stats().actions > 0)
      m:close()
    end)
  end)

  describe("the poll() fallback", function()
    it("is what a build without epoll uses (make EXTRA_CFLAGS=-DEXA_NO_EPOLL): m:fd() is nil there", function()
      local m = core.multi()
      local fd = m:fd()
      if fd ~= nil then
        assert.is_true(fd >= 0)
      end
      local t = get(m, "/sse?n=2&delay=0", { sse = true })
      assert.truthy(t:next_event())
      assert.truthy(t:next_event())
      assert.is_nil(t:next_event())
      m:close()
    end)
  end)

  it("keeps the old m:perform as one round of driving", function()
    local m = core.multi()
    local t = get(m, "/json")
    while m:perform(100) > 0 do end
    assert.same({ ok = true, conn = tonumber(t:finish(0).headers["x-conn"]) }, cjson.decode(t:finish(0).body))
    m:close()
  end)
end)
