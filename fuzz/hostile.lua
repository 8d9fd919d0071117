-- fuzz/hostile.lua - hostile and broken HTTP responses, one per case: the
-- bytes a server sends (head and body), whether the client asks for an event
-- stream, and what exa.core must make of it through libcurl.
--
--   lua fuzz/hostile.lua DIR     writes DIR/<name>.http (fuzz/corpus/hostile/)
--   dofile("fuzz/hostile.lua")   returns the list (spec/http_hostile_spec.lua)
--
-- The files are replayed through resp.c under ASan+UBSan and valgrind by
-- tests/c/run.sh (resp_test.c), seed the resp fuzzer (fuzz/resp_fuzz.c), and
-- are served verbatim by spec/helpers/http_peer.lua (/raw?file=) to the real
-- client, which must give exactly `expect`:
--   status=N (and body=, header={name=value}, events=N, partial=bool): a response
--   kind="..." (and code=N, message=pattern, events=N delivered before it): an error
local rep, concat, format = string.rep, table.concat, string.format

local function head(status_line, lines)
  return status_line .. "\r\n" .. concat(lines, "\r\n") .. (#lines > 0 and "\r\n" or "") .. "\r\n"
end

local function chunk(s) return format("%x\r\n%s\r\n", #s, s) end

local function sse_head(extra)
  local h = { "Content-Type: text/event-stream", "Cache-Control: no-cache" }
  for _, e in ipairs(extra or {}) do h[#h + 1] = e end
  return head("HTTP/1.1 200 OK", h)
end

local function ev(i) return format("id: %d\nevent: tick\ndata: {\"i\":%d}\n\n", i, i) end

local interim = head("HTTP/1.1 100 Continue", { "X-Pad: " .. rep("p", 1000) })
local early = head("HTTP/1.1 103 Early Hints", { "Link: </a.css>; rel=preload" })

local cases = {
  -- the crash of issue 7: a folded continuation line with no header before it
  { name = "folded-first", bytes = "HTTP/1.1 200 OK\r\n x-folded: " .. rep("A", 2000) ..
      "\r\nContent-Length: 2\r\n\r\nok",
    expect = { kind = "transport", code = 43, message = "malformed response head" } },
  { name = "folded-first-tab", bytes = "HTTP/1.1 200 OK\r\n\tx: y\r\nContent-Length: 2\r\n\r\nok",
    expect = { kind = "transport", code = 43, message = "malformed response head" } },
  { name = "folded-ok", bytes = head("HTTP/1.1 200 OK", { "X-A: one", "  two", "\tthree", "Content-Length: 2" }) .. "ok",
    expect = { status = 200, body = "ok", header = { ["x-a"] = "one two three" } } },
  -- heads over 256 KiB: one giant line (curl refuses it), many lines (we do), 1xx storms (we do)
  { name = "huge-header-line", bytes = head("HTTP/1.1 200 OK", { "X-Big: " .. rep("B", 300000), "Content-Length: 2" }) .. "ok",
    expect = { kind = "too_large", code = 27 } }, -- curl refuses lines over 100 KiB as "out of memory"
  { name = "huge-head-lines", bytes = head("HTTP/1.1 200 OK", (function()
      local h = { "Content-Length: 2" }
      for i = 1, 300 do h[#h + 1] = format("X-H%d: %s", i, rep("h", 1000)) end
      return h
    end)()) .. "ok",
    expect = { kind = "too_large", message = "headers exceed 262144 bytes" } },
  { name = "interim-storm", bytes = rep(interim, 300) .. head("HTTP/1.1 200 OK", { "Content-Length: 2" }) .. "ok",
    expect = { kind = "too_large", message = "headers exceed 262144 bytes" } },
  { name = "interim-few", bytes = early .. early .. interim .. head("HTTP/1.1 200 OK", { "Content-Length: 2", "X-Final: 1" }) .. "ok",
    expect = { status = 200, body = "ok", header = { ["x-final"] = "1" } } },
  -- NUL bytes in the head
  { name = "nul-in-header-name", bytes = "HTTP/1.1 200 OK\r\nX-Nu\0ll: v\r\nContent-Length: 2\r\n\r\nok",
    expect = { kind = "transport", code = 8 } }, -- curl: "Nul byte in header"; resp.c refuses it too
  { name = "nul-in-header-value", bytes = "HTTP/1.1 200 OK\r\nX-V: a\0b\r\nContent-Length: 2\r\n\r\nok",
    expect = { kind = "transport", code = 8 } },
  -- odd but valid heads
  { name = "bare-lf-head", bytes = "HTTP/1.1 200 OK\nContent-Length: 2\nX-Lf: yes\n\nok",
    expect = { status = 200, body = "ok", header = { ["x-lf"] = "yes" } } },
  { name = "no-colon-line", bytes = head("HTTP/1.1 200 OK", { "garbage line", "Content-Length: 2" }) .. "ok",
    expect = { kind = "transport", code = 8 } }, -- curl: "Header without colon" (resp.c ignores the line)
  { name = "no-reason", bytes = "HTTP/1.1 204\r\n\r\n", expect = { status = 204, body = "" } },
  -- broken status lines and framing
  { name = "status-garbage", bytes = "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok",
    expect = { kind = "transport", code = 1 } },
  { name = "http09", bytes = "just some bytes\r\n", expect = { kind = "transport", code = 1 } },
  { name = "empty", bytes = "", expect = { kind = "transport", code = 52 } },
  { name = "head-cut", bytes = "HTTP/1.1 200 OK\r\nContent-Le",
    expect = { kind = "transport", message = "ended before its headers" } },
  { name = "short-body", bytes = head("HTTP/1.1 200 OK", { "Content-Length: 100" }) .. "only this",
    expect = { kind = "transport", code = 18 } },
  { name = "bad-chunk-size", bytes = head("HTTP/1.1 200 OK", { "Transfer-Encoding: chunked" }) .. "zz\r\nabc\r\n0\r\n\r\n",
    expect = { kind = "transport", message = "chunk%-size line without a hex size" } }, -- h1.c, before curl (56)
  { name = "bad-gzip", bytes = head("HTTP/1.1 200 OK", { "Content-Encoding: gzip", "Content-Length: 10" }) .. "notgzip!!!",
    expect = { kind = "transport", message = "Content%-Encoding" } }, -- no coding is asked for or decoded (h1.c)
  { name = "conflicting-length", bytes = head("HTTP/1.1 200 OK", { "Content-Length: 2", "Content-Length: 3" }) .. "ok!",
    expect = { kind = "transport", message = "conflicting Content%-Length" } }, -- curl 7.88 takes the last
  { name = "repeated-length", bytes = head("HTTP/1.1 200 OK", { "Content-Length: 2", "Content-Length: 2" }) .. "ok",
    expect = { status = 200, body = "ok" } },
  -- event streams cut or split
  { name = "sse-chunked-cut", sse = true, bytes = sse_head { "Transfer-Encoding: chunked" } .. chunk(ev(1) .. ev(2)) ..
      chunk("id: 3\ndata: never fini"),
    expect = { kind = "transport", code = 18, events = 2 } },
  { name = "sse-close-cut-mid-event", sse = true, bytes = sse_head() .. ev(1) .. ev(2) .. "id: 3\ndata: {\"i\":",
    expect = { status = 200, events = 2, partial = true } },
  { name = "sse-close-cut-mid-line", sse = true, bytes = sse_head() .. ev(1) .. "da",
    expect = { status = 200, events = 1, partial = true } },
  { name = "sse-close-cut-between-cr-lf", sse = true, bytes = sse_head() .. "data: a\r\n\r",
    expect = { status = 200, events = 1, partial = false } },
  { name = "sse-close-clean", sse = true, bytes = sse_head() .. ev(1) .. ev(2) .. ": bye\n",
    expect = { status = 200, events = 2, partial = false } },
  { name = "sse-crlf-mix", sse = true, bytes = sse_head() .. "\239\187\191data: a\r\rdata: b\r\n\r\ndata: c\n\n",
    expect = { status = 200, events = 3, partial = false } },
  { name = "sse-empty-id", sse = true, bytes = sse_head() .. ev(1) .. "id:\ndata: x\n\ndata: y\n\n",
    expect = { status = 200, events = 3, partial = false } },
  { name = "sse-nul-id", sse = true, bytes = sse_head() .. "id: a\0b\ndata: x\n\n",
    expect = { status = 200, events = 1, partial = false } },
  { name = "sse-line-over-max", sse = true, max_line = 65536,
    bytes = sse_head() .. "data: " .. rep("L", 70000) .. "\n\n",
    expect = { kind = "sse", message = "max_line" } },
  { name = "sse-event-over-max", sse = true, max_event = 65536,
    bytes = sse_head() .. rep("data: " .. rep("E", 1000) .. "\n", 70) .. "\n",
    expect = { kind = "sse", message = "max_event" } },
  { name = "sse-1xx-then-stream", sse = true, bytes = early .. sse_head() .. ev(1),
    expect = { status = 200, events = 1, partial = false } },
  { name = "sse-trailers", sse = true, bytes = sse_head { "Transfer-Encoding: chunked", "Trailer: X-T" } ..
      chunk(ev(1)) .. "0\r\nX-T: late\r\n\r\n",
    expect = { status = 200, events = 1, partial = false } },
  { name = "sse-not-a-stream", sse = true, bytes = head("HTTP/1.1 200 OK", { "Content-Type: application/json",
      "Content-Length: 2" }) .. "{}",
    expect = { status = 200, body = "{}" } },
}

local function write_all(dir)
  for _, c in ipairs(cases) do
    local f = assert(io.open(dir .. "/" .. c.name .. ".http", "wb"))
    f:write(c.bytes)
    f:close()
  end
end

if arg and arg[0] and arg[0]:match("hostile%.lua$") and arg[1] then
  write_all(arg[1])
  return
end

return cases
