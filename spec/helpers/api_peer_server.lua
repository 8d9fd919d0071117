-- api_peer_server.lua - a raw-socket peer that plays the Exa Agent API with
-- scripted cuts, for the stream-trust specs. Started by spec/helpers/api_peer.lua:
--
--   luajit spec/helpers/api_peer_server.lua [lifetime_s]
--
-- Runs under LuaJIT (cqueues for the 5.1 ABI) because a reset needs
-- SO_LINGER = 0 on the socket, which cqueues cannot set: the FFI does it on
-- the socket's fd. Prints "api PORT ctl PORT" on its first stdout line, then
-- serves until killed (or until lifetime_s, default 600: a guard against
-- orphans).
--
-- API port (the client's base_url), per API key (x-api-key or Bearer), which
-- names a session set up beforehand on the control port:
--   POST /agent/runs              create; SSE (Accept: text/event-stream) streams the run's
--                                 events live, JSON answers the run
--   GET  /agent/runs/{id}/events  SSE replay of the stored events after Last-Event-ID; without
--                                 Accept: text/event-stream a JSON page (limit, cursor: opaque,
--                                 "evc-<index>", or the event id when the session says cursor = "id")
--   GET  /agent/runs/{id}         the run (status running until every event is stored)
--   GET  /agent/runs              the key's runs, newest first, with request.metadata
-- Each route answers from a queue of directives (the session's plan), one
-- per request, then plainly once the queue is empty. A directive:
--   framing = "chunked" | "close"     SSE body: chunked (keep-alive) or delimited by the close
--   eol = "\n" | "\r\n" | "\r"        SSE line ends; seed = n: formatting choices (field order,
--                                     comments, retry fields, data split over lines, chunking)
--   cut = {at=, k=, r=, how=, run=}   end the response early: at = "head" | "before" (event k's
--                                     start) | "between" (just after event k) | "mid-line" |
--                                     "crlf" (between CR and LF) | "mid-event" (after a whole
--                                     line of event k, block unterminated); k, r in [0,1) pick
--                                     the event and the offset; how = "fin" | "rst" (SO_LINGER 0)
--                                     | "clean" (chunked: the last chunk is written, the body
--                                     ends properly); run = false: a cut create makes no run
--                                     (its stream then has no events)
--   gone = true                       close the API listener first (later connects are refused)
--   status = N [, retry_after=]       answer N with an API error body
--   redirect = N, location = L        answer N with Location L (no run is made)
--   hang = s                          read the request, answer nothing for s seconds, close
-- A request with an unknown key gets 401 whose message quotes the key it got.
--
-- Control port:
--   POST /session {key=, n=, step=, overlap=, inserts={["k"]="noid"|"emptyid"}, big=,
--                  plan={create={...}, replay={...}, get={...}, list={...}},
--                  runs={{n=, stored=, id=}...}}   -> {runs=[ids of the runs made]}
--     n: events per run (created, started, n-3 outputs, completed); step: events a run
--     stores per replay request (nil: all of them once the live stream ended); overlap: a
--     replay starts that many events before Last-Event-ID (a sloppy server); inserts: an
--     extra event after event k without an id field, or with an empty id field; big: bytes
--     of output text in the completed event's run object; cursor = "id": JSON event pages
--     take an event id as their cursor (the contract only promises nextCursor values)
--   GET /log[?key=K]    {requests=[{conn,method,target,path,lines,headers,body,key}],
--                        runs=[{id,n,stored,status}], conns=N, refused=bool}
local cqueues = require "cqueues"
local socket = require "cqueues.socket"
local cjson = require "cjson"
local ffi = require "ffi"

ffi.cdef [[
struct exa_peer_linger { int l_onoff; int l_linger; };
int setsockopt(int sockfd, int level, int optname, const void *optval, unsigned int optlen);
]]
local SOL_SOCKET, SO_LINGER = 1, 13 -- Linux

local lifetime = tonumber(arg[1]) or 600
local cq = cqueues.new()
local sleep = cqueues.sleep

local api = assert(socket.listen { host = "127.0.0.1", port = 0, reuseaddr = true })
assert(api:listen())
local ctl = assert(socket.listen { host = "127.0.0.1", port = 0, reuseaddr = true })
assert(ctl:listen())
local _, _, api_port = api:localname()
local _, _, ctl_port = ctl:localname()
io.stdout:write("api ", api_port, " ctl ", ctl_port, "\n")
io.stdout:flush()

local conns = 0       -- API connections accepted
local gone = false    -- the API listener was closed
local sessions = {}   -- key -> session
local all_log = {}    -- every API request, any key
local run_serial = 0

-- ---- JSON without cjson's empty-table ambiguity ---------------------------

local function enc(v) return cjson.encode(v) end
local function array(items) -- items: already encoded JSON texts
  return "[" .. table.concat(items, ",") .. "]"
end

-- ---- a small deterministic PRNG (Park-Miller) ------------------------------

local function prng(seed)
  local s = (math.floor(tonumber(seed) or 1) % 2147483646) + 1
  return function()
    s = (s * 16807) % 2147483647
    return (s - 1) / 2147483646
  end
end

-- ---- runs ---------------------------------------------------------------

local function iso(n) return ("2026-05-07T00:00:%02d.%03dZ"):format(math.floor(n / 1000) % 60, n % 1000) end

local function run_json(run)
  local st = run.stored >= #run.events and "completed" or "running"
  local out = { id = run.id, object = "agent_run", status = st, createdAt = iso(run.serial),
    request = run.request }
  if st == "completed" then out.output = { text = run.output_text } end
  return out
end

-- The run's events: created, started, outputs, completed; inserts after
-- event k (k = 1..n) have no id field ("noid") or an empty one ("emptyid").
local function make_events(run, n, inserts, big)
  local evs = {}
  local function add(ev) evs[#evs + 1] = ev end
  for i = 1, n do
    local ev = { id = tostring(i) }
    if i == 1 then
      ev.event = "agent_run.created"
      ev.data = enc { id = run.id, object = "agent_run", status = "queued", createdAt = iso(run.serial) }
    elseif i == 2 and n > 2 then
      ev.event = "agent_run.started"
      ev.data = enc { id = run.id, status = "running" }
    elseif i == n then
      ev.event = "agent_run.completed"
      run.output_text = big and string.rep("r", big) or ("output of " .. run.id)
      ev.data = enc { id = run.id, object = "agent_run", status = "completed", createdAt = iso(run.serial),
        request = run.request, output = { text = run.output_text }, seq = i }
    else
      ev.event = "agent_run.output_item.added"
      ev.data = enc { item = { id = "item_" .. i, type = "message", text = "part " .. i .. " of " .. run.id },
        seq = i }
    end
    add(ev)
    local ins = inserts and inserts[tostring(i)]
    if ins then
      add { id = ins == "emptyid" and "" or nil, noid = ins == "noid", event = "agent_run.search_trace",
        data = enc { text = ins .. " after " .. i }, insert = ins }
    end
  end
  return evs
end

local function new_run(sess, request, n, stored, id)
  run_serial = run_serial + 1
  local run = { id = id or ("agent_run_peer%04d"):format(run_serial), serial = run_serial,
    request = request, key = sess.key }
  run.events = make_events(run, n or sess.n, sess.inserts, sess.big)
  run.stored = stored or 1
  sess.runs[#sess.runs + 1] = run
  return run
end

local function find_run(sess, id)
  for _, r in ipairs(sess.runs) do if r.id == id then return r end end
  return nil
end

-- ---- writing --------------------------------------------------------------

local function send(c, s)
  if s == "" then return true end
  local ok = c:write(s)
  if ok then ok = c:flush() end
  return ok and true or false
end

local function reset(c)
  local fd = c:pollfd()
  if type(fd) == "number" and fd >= 0 then
    local lg = ffi.new("struct exa_peer_linger", 1, 0)
    ffi.C.setsockopt(fd, SOL_SOCKET, SO_LINGER, lg, ffi.sizeof(lg))
  end
  c:close()
end

local function finish_cut(c, how)
  if how == "rst" then reset(c) else c:close() end
  return "closed"
end

local function head_text(status, reason, headers, id)
  local out = { ("HTTP/1.1 %d %s\r\n"):format(status, reason) }
  headers[#headers + 1] = "X-Conn: " .. id
  for _, h in ipairs(headers) do out[#out + 1] = h .. "\r\n" end
  out[#out + 1] = "\r\n"
  return table.concat(out)
end

local function json_reply(c, id, status, body, extra)
  local h = { "Content-Type: application/json", "Content-Length: " .. #body }
  for _, e in ipairs(extra or {}) do h[#h + 1] = e end
  send(c, head_text(status, status < 300 and "OK" or "Status", h, id) .. body)
end

local function api_error(c, id, status, typ, message, extra)
  json_reply(c, id, status, enc { error = { type = typ, message = message } }, extra)
end

-- The SSE text of events evs with its layout: per event its start, its end
-- and its lines {s = first byte, e = last content byte, eol = bytes}.
local function sse_text(evs, d)
  local rnd = prng(d.seed or 7)
  local eol = d.eol or "\n"
  local parts, layout, pos = {}, {}, 0
  local function line(lines, s)
    lines[#lines + 1] = { s = pos + 1, e = pos + #s, eol = #eol, comment = s:sub(1, 1) == ":" }
    parts[#parts + 1] = s .. eol
    pos = pos + #s + #eol
  end
  for _, ev in ipairs(evs) do
    local lines = {}
    local start = pos
    if d.comments ~= false and rnd() < 0.3 then line(lines, ": keep-alive") end
    local fields = {}
    if not ev.noid then fields[#fields + 1] = ev.id == "" and "id:" or ("id: " .. ev.id) end
    fields[#fields + 1] = "event: " .. ev.event
    if rnd() < 0.2 then fields[#fields + 1] = "retry: 3000" end
    -- shuffle the non-data fields
    for i = #fields, 2, -1 do
      local j = 1 + math.floor(rnd() * i)
      fields[i], fields[j] = fields[j], fields[i]
    end
    for _, f in ipairs(fields) do line(lines, f) end
    -- data: one line, or split at a comma into two (still the same JSON)
    local data = ev.data
    local comma = #data < 4096 and rnd() < 0.4 and data:find(",", 2, true)
    if comma then
      line(lines, "data: " .. data:sub(1, comma))
      line(lines, "data: " .. data:sub(comma + 1))
    else
      line(lines, "data: " .. data)
    end
    local blank_s = pos
    parts[#parts + 1] = eol
    pos = pos + #eol
    layout[#layout + 1] = { start = start, stop = pos, lines = lines, blank = blank_s }
  end
  return table.concat(parts), layout, rnd
end

-- Payload offset (bytes kept) for a cut directive over layout.
local function cut_offset(cut, layout, eol)
  if #layout == 0 then return 0 end
  local k = 1 + math.floor((cut.k or 0) * #layout)
  if k > #layout then k = #layout end
  local ev = layout[k]
  local r = cut.r or 0.5
  local at = cut.at
  if at == "before" then return ev.start end
  if at == "between" then return ev.stop end
  -- a cut after a whole comment line discards nothing: only field lines
  -- count for "mid-event" and "crlf" (the block they start is unterminated)
  local fields = {}
  for _, l in ipairs(ev.lines) do if not l.comment then fields[#fields + 1] = l end end
  if at == "mid-event" or (at == "crlf" and eol == "\r\n") then
    local i = 1 + math.floor(r * #fields)
    if i > #fields then i = #fields end
    local l = fields[i]
    if at == "mid-event" then return l.e + l.eol end
    return l.e + 1
  end
  local i = 1 + math.floor(r * #ev.lines)
  if i > #ev.lines then i = #ev.lines end
  local l = ev.lines[i]
  -- mid-line: strictly inside the line's content
  local len = l.e - l.s + 1
  local inside = 1 + math.floor(((r * 7919) % 1) * (len - 1))
  return l.s - 1 + inside
end

-- Write an SSE response of events evs under directive d. Returns "closed"
-- when the connection is gone afterwards.
local function write_sse(c, id, evs, d)
  local chunked = d.framing ~= "close"
  local headers = { "Content-Type: text/event-stream", "Cache-Control: no-cache" }
  if chunked then
    headers[#headers + 1] = "Transfer-Encoding: chunked"
  else
    headers[#headers + 1] = "Connection: close"
  end
  local head = head_text(200, "OK", headers, id)
  local cut = d.cut
  if cut and cut.at == "head" then
    local n = math.floor((cut.r or 0) * #head)
    send(c, head:sub(1, n))
    return finish_cut(c, cut.how)
  end
  local text, layout, rnd = sse_text(evs, d)
  local keep = #text
  if cut then keep = cut_offset(cut, layout, d.eol or "\n") end
  if not chunked then
    send(c, head)
    -- a few writes, so the client reads the body in pieces
    local pos = 0
    while pos < keep do
      local n = math.min(keep - pos, 1 + math.floor(rnd() * 700))
      if not send(c, text:sub(pos + 1, pos + n)) then return "closed" end
      pos = pos + n
    end
    return finish_cut(c, cut and cut.how or "fin")
  end
  -- chunked: one chunk per event, sometimes split or merged
  local raw, pos = { head }, 0
  local cut_raw -- raw byte count at which to cut
  local rawlen = #head
  local bounds = {}
  for _, ev in ipairs(layout) do
    local s = ev.start
    local e = ev.stop
    local split = rnd()
    if split < 0.25 and e - s > 8 then
      local m = s + 1 + math.floor(rnd() * (e - s - 2))
      bounds[#bounds + 1] = { s, m }
      bounds[#bounds + 1] = { m, e }
    else
      bounds[#bounds + 1] = { s, e }
    end
  end
  for _, b in ipairs(bounds) do
    local s, e = b[1], b[2]
    local data = text:sub(s + 1, e)
    local hdr = ("%x\r\n"):format(#data)
    if cut and not cut_raw and keep >= s and keep < e then
      if keep == s and cut.how ~= "clean" then
        -- at a chunk boundary: before the size line or inside it
        cut_raw = rawlen + ((cut.r or 0) < 0.5 and 0 or 1)
      else
        cut_raw = rawlen + #hdr + (keep - s)
      end
    end
    raw[#raw + 1] = hdr .. data .. "\r\n"
    rawlen = rawlen + #hdr + #data + 2
    pos = e
  end
  local body = table.concat(raw)
  if not cut then
    if not send(c, body .. "0\r\n\r\n") then return "closed" end
    return nil
  end
  cut_raw = cut_raw or rawlen
  if cut.how == "clean" then
    -- end the body properly just after the kept payload bytes
    local out = { head }
    local p = 0
    for _, b in ipairs(bounds) do
      local s, e = b[1], b[2]
      if s >= keep then break end
      local data = text:sub(s + 1, math.min(e, keep))
      out[#out + 1] = ("%x\r\n"):format(#data) .. data .. "\r\n"
      p = e
    end
    out[#out + 1] = "0\r\n\r\n"
    if not send(c, table.concat(out)) then return "closed" end
    return nil
  end
  send(c, body:sub(1, cut_raw))
  return finish_cut(c, cut.how)
end

-- ---- requests ---------------------------------------------------------------

local function read_request(c)
  local line = c:read("*l")
  if not line then return nil end
  line = line:gsub("\r$", "")
  local method, target = line:match("^(%S+) (%S+) HTTP/1%.%d$")
  if not method then return nil end
  local req = { method = method, target = target, headers = {}, lines = {} }
  while true do
    local h = c:read("*l")
    if not h then return nil end
    h = h:gsub("\r$", "")
    if h == "" then break end
    req.lines[#req.lines + 1] = h
    local name, value = h:match("^([^:]+):%s*(.-)%s*$")
    if name then req.headers[name:lower()] = value end
  end
  req.path, req.query = target:match("^([^?]*)%??(.*)$")
  local len = tonumber(req.headers["content-length"] or "0") or 0
  req.body = len > 0 and c:read(len) or ""
  return req
end

local function key_of(req)
  local k = req.headers["x-api-key"]
  if k then return k end
  local a = req.headers["authorization"]
  return a and a:match("^[Bb]earer (.+)$") or nil
end

local function next_directive(sess, route)
  local q = sess.plan[route]
  if q and #q > 0 then return table.remove(q, 1) end
  return nil
end

local function wants_sse(req)
  return (req.headers.accept or ""):find("text/event-stream", 1, true) ~= nil
end

local function event_index(run, last)
  if not last or last == "" then return 0 end
  for i, ev in ipairs(run.events) do
    if ev.id == last then return i end
  end
  return 0
end

local function close_listener()
  if not gone then
    gone = true
    pcall(api.close, api)
  end
end

-- Answer one API request; "closed" when the connection is gone.
local function handle(c, id, req)
  local key = key_of(req)
  local entry = { conn = id, method = req.method, target = req.target, path = req.path,
    lines = req.lines, headers = req.headers, body = req.body, key = key }
  all_log[#all_log + 1] = entry
  local sess = key and sessions[key]
  if not sess then
    api_error(c, id, 401, "authentication_error", "invalid API key " .. tostring(key))
    return
  end
  sess.log[#sess.log + 1] = entry
  sess.requests = sess.requests + 1
  if sess.requests > 300 then -- a runaway client: a final error ends it
    api_error(c, id, 400, "invalid_request_error", "too many requests in this session")
    return
  end

  local route, run_id
  if req.path == "/agent/runs" then
    route = req.method == "POST" and "create" or (req.method == "GET" and "list")
  else
    local rid, rest = req.path:match("^/agent/runs/([^/]+)(.*)$")
    run_id = rid
    if rid and rest == "" and req.method == "GET" then route = "get"
    elseif rid and rest == "/events" and req.method == "GET" then
      route = wants_sse(req) and "replay" or "events"
    end
  end
  if not route then
    api_error(c, id, 404, "not_found_error", "no route " .. req.method .. " " .. req.path)
    return
  end
  local d = next_directive(sess, route) or {}
  if d.gone then close_listener() end
  if d.hang then
    sleep(d.hang)
    return finish_cut(c, "fin")
  end
  if d.redirect then
    local h = { "Location: " .. d.location, "Content-Length: 0" }
    send(c, head_text(d.redirect, "Redirect", h, id))
    return
  end
  if d.status then
    local extra = d.retry_after and { "Retry-After: " .. d.retry_after } or nil
    api_error(c, id, d.status, "api_error", "scripted " .. d.status, extra)
    return
  end

  if route == "create" then
    local body = cjson.decode(req.body ~= "" and req.body or "{}")
    local request = { query = body.query, metadata = body.metadata }
    local cut = d.cut
    local run
    if not (cut and cut.run == false) then
      run = new_run(sess, request)
    end
    if not wants_sse(req) then
      if cut then
        send(c, head_text(200, "OK", { "Content-Type: application/json" }, id):sub(1, math.floor((cut.r or 0) * 40)))
        return finish_cut(c, cut.how)
      end
      run.stored = #run.events
      json_reply(c, id, 200, enc(run_json(run)))
      return
    end
    if not run then
      return write_sse(c, id, {}, d)
    end
    -- the live stream: the run moves on as it is written; a cut leaves the
    -- run with what it stored up to the cut event
    local evs = run.events
    run.stored = #evs
    local r = write_sse(c, id, evs, d)
    if cut then
      local k = 1 + math.floor((cut.k or 0) * #evs)
      if cut.at == "head" then k = 1 end
      if k > #evs then k = #evs end
      run.stored = k
    end
    if sess.step == nil then run.stored = #evs end
    return r
  end

  local run = run_id and find_run(sess, run_id)
  if route ~= "list" and not run then
    api_error(c, id, 404, "not_found_error", "run " .. tostring(run_id) .. " not found")
    return
  end
  if route == "list" then
    local items = {}
    for i = #sess.runs, 1, -1 do items[#items + 1] = enc(run_json(sess.runs[i])) end
    local body = '{"object":"list","data":' .. array(items) .. ',"hasMore":false,"nextCursor":null}'
    json_reply(c, id, 200, body)
    return
  end
  if route == "get" then
    json_reply(c, id, 200, enc(run_json(run)))
    return
  end
  if route == "events" then
    -- a JSON page of stored events; the cursor is opaque ("evc-<index>")
    -- unless the session says cursor = "id" (the event id, as the simulator has it)
    local q = {}
    for k, v in (req.query or ""):gmatch("([^&=]+)=([^&]*)") do q[k] = v end
    local limit = tonumber(q.limit or "20") or 20
    local start = 0
    if q.cursor then
      local i = sess.cursor == "id" and event_index(run, q.cursor) or tonumber(q.cursor:match("^evc%-(%d+)$") or "")
      if not i or i == 0 or i > run.stored then
        api_error(c, id, 400, "invalid_request_error", "Unknown cursor.")
        return
      end
      start = i
    end
    local items, i = {}, start
    while i < run.stored and #items < limit do
      i = i + 1
      local ev = run.events[i]
      items[#items + 1] = '{"id":' .. enc(ev.id or "") .. ',"event":' .. enc(ev.event) .. ',"data":' .. ev.data .. "}"
    end
    local more = i < run.stored
    local cur = more and enc(sess.cursor == "id" and (run.events[i].id or "") or ("evc-" .. i)) or "null"
    json_reply(c, id, 200, '{"object":"list","data":' .. array(items) .. ',"hasMore":' .. tostring(more)
      .. ',"nextCursor":' .. cur .. "}")
    return
  end
  -- replay: the run stores step more events first (a run still going)
  if sess.step then run.stored = math.min(#run.events, run.stored + sess.step) end
  local from = event_index(run, req.headers["last-event-id"]) + 1 - (sess.overlap or 0)
  if from < 1 then from = 1 end
  local evs = {}
  for i = from, run.stored do evs[#evs + 1] = run.events[i] end
  return write_sse(c, id, evs, d)
end

local function serve_api(c, id)
  c:setmode("b", "b")
  while true do
    local req = read_request(c)
    if not req then break end
    if handle(c, id, req) == "closed" then return end
    if (req.headers.connection or ""):lower() == "close" then break end
  end
  c:close()
end

-- ---- control ----------------------------------------------------------------

local function run_summary(run)
  local ids = {}
  for i, ev in ipairs(run.events) do ids[i] = enc(ev.id or cjson.null) end
  return '{"id":' .. enc(run.id) .. ',"n":' .. #run.events .. ',"stored":' .. run.stored
    .. ',"status":' .. enc(run_json(run).status) .. ',"event_ids":' .. array(ids) .. "}"
end

local function log_json(list)
  local items = {}
  for i, e in ipairs(list) do
    local lines = {}
    for j, l in ipairs(e.lines) do lines[j] = enc(l) end
    items[i] = '{"conn":' .. e.conn .. ',"method":' .. enc(e.method) .. ',"target":' .. enc(e.target)
      .. ',"path":' .. enc(e.path) .. ',"lines":' .. array(lines) .. ',"headers":' .. enc(e.headers)
      .. ',"body":' .. enc(e.body) .. ',"key":' .. enc(e.key or cjson.null) .. "}"
  end
  return array(items)
end

local function control(c, req)
  if req.method == "POST" and req.path == "/session" then
    local o = cjson.decode(req.body)
    local sess = { key = o.key, n = o.n or 6, step = o.step ~= cjson.null and o.step or nil,
      overlap = o.overlap ~= cjson.null and o.overlap or 0,
      inserts = o.inserts ~= cjson.null and o.inserts or nil,
      big = o.big ~= cjson.null and o.big or nil,
      cursor = o.cursor ~= cjson.null and o.cursor or nil,
      plan = {}, runs = {}, log = {}, requests = 0 }
    if type(o.plan) == "table" then
      for route, q in pairs(o.plan) do
        sess.plan[route] = type(q) == "table" and q or {}
      end
    end
    sessions[o.key] = sess
    local ids = {}
    if type(o.runs) == "table" then
      for _, r in ipairs(o.runs) do
        local run = new_run(sess, { query = "pre-made" }, r.n, nil, r.id ~= cjson.null and r.id or nil)
        run.stored = r.stored ~= nil and r.stored ~= cjson.null and r.stored or #run.events
        ids[#ids + 1] = enc(run.id)
      end
    end
    return 200, '{"runs":' .. array(ids) .. "}"
  end
  if req.method == "GET" and req.path == "/log" then
    local key = req.query:match("key=([^&]*)")
    if key then key = key:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end) end
    local list, runs = all_log, {}
    if key then
      local sess = sessions[key]
      list = sess and sess.log or {}
      for i, r in ipairs(sess and sess.runs or {}) do runs[i] = run_summary(r) end
    end
    return 200, '{"requests":' .. log_json(list) .. ',"runs":' .. array(runs) .. ',"conns":' .. conns
      .. ',"gone":' .. tostring(gone) .. "}"
  end
  return 404, '{"error":"no such control endpoint"}'
end

local function serve_ctl(c)
  c:setmode("b", "b")
  while true do
    local req = read_request(c)
    if not req then break end
    local ok, status, body = pcall(control, c, req)
    if not ok then status, body = 500, enc { error = tostring(status) } end
    send(c, ("HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"):format(status, #body)
      .. body)
    if (req.headers.connection or ""):lower() == "close" then break end
  end
  c:close()
end

local function acceptor(srv, fn, count)
  cq:wrap(function()
    while not (count and gone) do
      local ok, c = pcall(srv.accept, srv, 0.05)
      if not ok then return end
      if c then
        local id
        if count then
          conns = conns + 1
          id = conns
        end
        cq:wrap(function()
          local ok2, err = pcall(fn, c, id)
          local m = tostring(err)
          -- a client that went away mid-answer is part of the game
          if not ok2 and not (m:find("closed", 1, true) or m:find("reset by peer", 1, true)
            or m:find("Broken pipe", 1, true)) then
            io.stderr:write("api_peer: ", m, "\n")
          end
          pcall(c.close, c)
        end)
      end
    end
  end)
end

acceptor(api, serve_api, true)
acceptor(ctl, serve_ctl, false)

cq:wrap(function()
  sleep(lifetime)
  os.exit(0)
end)

while true do
  local ok, err = cq:loop()
  if ok then break end
  io.stderr:write("api_peer: ", tostring(err), "\n")
end
