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

-- Issue 13: the cases aimed at the drift between the two backends' HTTP/1
-- readers (RFC 9112). Every case is replayed through both backends by
-- spec/hostile_corpus_spec.lua. Besides `expect`:
--   also = { expect, ... }, why = "..."  other outcomes RFC 9112 allows for this case, and why
--   endless = N   the peer repeats the last N bytes of `bytes` without end (up to a cap): the
--                 reader must stop on its own (too_large or timeout), having read a bounded count
-- code and message in an expect are the curl path's (libcurl's numbers, resp.c's words); the
-- ngx path is held to kind, status, body, headers, events and partial.
local function ok200(lines, body) return head("HTTP/1.1 200 OK", lines) .. (body or "") end
local function status_line(line) return head(line, { "Content-Length: 2" }) .. "ok" end
local two = ev(1) .. ev(2) -- 33 + 33 bytes
local chunked = { "Transfer-Encoding: chunked" }
local TRANSPORT = { kind = "transport" }
local BAD_HEAD = { kind = "transport" } -- a head RFC 9112 says to refuse
local LF_OK = "RFC 9112 §2.2: a recipient MAY recognize a single LF as a line terminator (and ignore a CR)"
local WS_STATUS = "RFC 9112 §4: recipients MAY parse the status line on whitespace-delimited word boundaries"
local BIG = "RFC 9112 §6.3/§7.1: a size too large to hold is an error; which kind (too_large or transport) is the reader's"
local function trailer_lines(n, size)
  local t = {}
  for i = 1, n do t[i] = format("X-T%d: %s\r\n", i, rep("t", size)) end
  return concat(t)
end
local header_line = "X-Endless: " .. rep("h", 1000) .. "\r\n"
local trailer_line = "X-Trailer: " .. rep("t", 1000) .. "\r\n"

local more = {
  -- status line: HTTP-version SP 3DIGIT SP [reason] (RFC 9112 §4), 100-599 (RFC 9110 §15)
  { name = "status-2000", bytes = status_line("HTTP/1.1 2000 OK"), expect = BAD_HEAD },
  { name = "status-2001", bytes = status_line("HTTP/1.1 2001 OK"), expect = BAD_HEAD },
  { name = "status-200OK", bytes = status_line("HTTP/1.1 200OK"), expect = BAD_HEAD },
  { name = "status-4040", bytes = status_line("HTTP/1.1 4040 Not Found"), expect = BAD_HEAD },
  { name = "status-5030", bytes = status_line("HTTP/1.1 5030 Unavailable"), expect = BAD_HEAD },
  { name = "status-000", bytes = status_line("HTTP/1.1 000 Zero"), expect = BAD_HEAD },
  { name = "status-099", bytes = status_line("HTTP/1.1 099 Low"), expect = BAD_HEAD },
  { name = "status-600", bytes = status_line("HTTP/1.1 600 High"), expect = BAD_HEAD },
  { name = "status-999", bytes = status_line("HTTP/1.1 999 Nine"), expect = BAD_HEAD },
  { name = "status-20", bytes = status_line("HTTP/1.1 20 Short"), expect = BAD_HEAD },
  { name = "status-2", bytes = status_line("HTTP/1.1 2 Short"), expect = BAD_HEAD },
  { name = "status-minus", bytes = status_line("HTTP/1.1 -200 OK"), expect = BAD_HEAD },
  { name = "status-plus", bytes = status_line("HTTP/1.1 +200 OK"), expect = BAD_HEAD },
  { name = "status-hex", bytes = status_line("HTTP/1.1 0xc8 OK"), expect = BAD_HEAD },
  { name = "status-lowercase-http", bytes = status_line("http/1.1 200 OK"), expect = BAD_HEAD }, -- §2.3: case-sensitive
  { name = "status-leading-space", bytes = status_line(" HTTP/1.1 200 OK"), expect = BAD_HEAD },
  { name = "status-no-version", bytes = status_line("200 OK"), expect = BAD_HEAD },
  { name = "status-http2-on-h1", bytes = status_line("HTTP/2 200 OK"), expect = BAD_HEAD },
  { name = "status-599", bytes = status_line("HTTP/1.1 599 Edge"), expect = { status = 599, body = "ok" } },
  { name = "status-100-alone", bytes = "HTTP/1.1 100 Continue\r\n\r\n", expect = TRANSPORT }, -- no final response
  { name = "status-150-interim", bytes = head("HTTP/1.1 150 Odd", {}) .. status_line("HTTP/1.1 200 OK"),
    expect = { status = 200, body = "ok" } }, -- RFC 9110 §15.2: an unknown 1xx is interim
  { name = "status-http10", bytes = "HTTP/1.0 200 OK\r\n\r\nclose-delimited",
    expect = { status = 200, body = "close-delimited" } },
  { name = "status-reason-utf8", bytes = status_line("HTTP/1.1 200 \195\169t\195\169"),
    expect = { status = 200, body = "ok" } }, -- obs-text is allowed in reason-phrase
  { name = "status-tab", bytes = status_line("HTTP/1.1\t200\tOK"), expect = { status = 200, body = "ok" },
    also = { BAD_HEAD }, why = WS_STATUS },
  { name = "status-two-spaces", bytes = status_line("HTTP/1.1  200 OK"), expect = { status = 200, body = "ok" },
    also = { BAD_HEAD }, why = WS_STATUS },
  { name = "status-nul-in-reason", bytes = status_line("HTTP/1.1 200 O\0K"), expect = BAD_HEAD,
    also = { { status = 200, body = "ok" } },
    why = "RFC 9110 §5.5: NUL is invalid; a recipient MAY replace it with SP instead of refusing" },

  -- header lines (RFC 9112 §5, RFC 9110 §5.5)
  { name = "nul-in-content-type", bytes = ok200({ "Content-Type: application/js\0on", "Content-Length: 2" }, "{}"),
    expect = BAD_HEAD },
  { name = "sse-nul-in-content-type", sse = true,
    bytes = ok200({ "Content-Type: text/event-stream\0", "Cache-Control: no-cache" }, two), expect = BAD_HEAD },
  { name = "sse-nul-in-header-name", sse = true,
    bytes = ok200({ "Content-Type: text/event-stream", "X-N\0: v" }, two), expect = BAD_HEAD },
  { name = "sse-nul-in-header-value", sse = true,
    bytes = ok200({ "Content-Type: text/event-stream", "X-V: \0" }, two), expect = BAD_HEAD },
  { name = "space-before-colon", bytes = ok200({ "X-A : b", "Content-Length: 2" }, "ok"), expect = BAD_HEAD },
  { name = "tab-before-colon", bytes = ok200({ "X-A\t: b", "Content-Length: 2" }, "ok"), expect = BAD_HEAD },
  { name = "length-space-before-colon", bytes = ok200({ "Content-Length : 2" }, "ok"), expect = BAD_HEAD },
  { name = "sse-length-space-before-colon", sse = true,
    bytes = sse_head { "Content-Length : 33" } .. two, expect = BAD_HEAD }, -- accepted, the 2nd event is lost
  { name = "space-in-header-name", bytes = ok200({ "X A: b", "Content-Length: 2" }, "ok"), expect = BAD_HEAD,
    also = { { status = 200, body = "ok" } }, why = "RFC 9110 §5.1: a field name is a token, but RFC 9112 says what "
      .. "a recipient must do only for whitespace just before the colon (§5.1): an unknown bad name may be kept" },
  { name = "empty-header-name", bytes = ok200({ ": b", "Content-Length: 2" }, "ok"), expect = BAD_HEAD },
  { name = "header-empty-value", bytes = ok200({ "X-Empty:", "Content-Length: 2" }, "ok"),
    expect = { status = 200, body = "ok", header = { ["x-empty"] = "" } } },
  { name = "header-value-padded", bytes = ok200({ "X-Pad: \t v \t ", "Content-Length: 2" }, "ok"),
    expect = { status = 200, body = "ok", header = { ["x-pad"] = "v" } } },
  { name = "header-bare-cr-in-value", bytes = ok200({ "X-Cr: a\rb", "Content-Length: 2" }, "ok"), expect = BAD_HEAD,
    also = { { status = 200, body = "ok" } },
    why = "RFC 9110 §5.5: a field value with a bare CR MUST be refused or the CR replaced with SP" },
  { name = "header-ctl-in-value", bytes = ok200({ "X-Ctl: a\1b", "Content-Length: 2" }, "ok"),
    expect = { status = 200, body = "ok" }, also = { BAD_HEAD },
    why = "RFC 9110 §5.5: other CTLs are invalid but only CR, LF and NUL must be refused or replaced" },
  { name = "header-line-99k", bytes = ok200({ "X-Big: " .. rep("b", 99 * 1024), "Content-Length: 2" }, "ok"),
    expect = { status = 200, body = "ok" } }, -- under curl's 100 KiB line limit and the 256 KiB head bound
  { name = "header-line-200k", bytes = ok200({ "X-Big: " .. rep("B", 200 * 1024), "Content-Length: 2" }, "ok"),
    expect = { kind = "too_large" } },
  { name = "sse-header-line-200k", sse = true, bytes = sse_head { "X-Big: " .. rep("B", 205 * 1024) } .. two,
    expect = { kind = "too_large" } },
  { name = "sse-huge-head-lines", sse = true, bytes = sse_head((function()
      local h = {}
      for i = 1, 300 do h[i] = format("X-H%d: %s", i, rep("h", 1000)) end
      return h
    end)()) .. two, expect = { kind = "too_large" } },
  { name = "sse-interim-storm", sse = true, bytes = rep(interim, 300) .. sse_head() .. two,
    expect = { kind = "too_large" } },
  { name = "obs-fold-length", bytes = ok200({ "Content-Length:", " 2" }, "ok"),
    expect = { status = 200, body = "ok" }, also = { BAD_HEAD },
    why = "RFC 9112 §5.2: a user agent MAY replace obs-fold with SP (then the length is 2) instead of refusing" },
  { name = "lf-only-head-sse", sse = true, bytes = "HTTP/1.1 200 OK\nContent-Type: text/event-stream\n\n" .. two,
    expect = { status = 200, events = 2, partial = false }, also = { BAD_HEAD }, why = LF_OK },

  -- Content-Length (RFC 9112 §6.3, RFC 9110 §8.6)
  { name = "length-empty", bytes = ok200({ "Content-Length:" }, "ok"), expect = BAD_HEAD },
  { name = "sse-length-empty", sse = true, bytes = sse_head { "Content-Length:" } .. two, expect = BAD_HEAD },
  { name = "length-blank", bytes = ok200({ "Content-Length:   " }, "ok"), expect = BAD_HEAD },
  { name = "length-signed-plus", bytes = ok200({ "Content-Length: +2" }, "ok"), expect = BAD_HEAD },
  { name = "length-negative", bytes = ok200({ "Content-Length: -1" }, "ok"), expect = BAD_HEAD },
  { name = "length-spaced", bytes = ok200({ "Content-Length: 1 1" }, "ok"), expect = BAD_HEAD },
  { name = "length-hex", bytes = ok200({ "Content-Length: 0x2" }, "ok"), expect = BAD_HEAD },
  { name = "length-letters", bytes = ok200({ "Content-Length: two" }, "ok"), expect = BAD_HEAD },
  { name = "length-trailing-junk", bytes = ok200({ "Content-Length: 2x" }, "ok"), expect = BAD_HEAD },
  { name = "length-10", bytes = ok200({ "Content-Length: 10" }, "0123456789"),
    expect = { status = 200, body = "0123456789" } },
  { name = "length-010", bytes = ok200({ "Content-Length: 010" }, "0123456789"),
    expect = { status = 200, body = "0123456789" } }, -- decimal: 10, never octal 8
  { name = "length-leading-zeros", bytes = ok200({ "Content-Length: 00000000000000000002" }, "ok"),
    expect = { status = 200, body = "ok" }, also = { BAD_HEAD, { kind = "too_large" } },
    why = "RFC 9112 §6.3: 1*DIGIT allows the zeros; a reader MAY bound the digits it reads" },
  { name = "length-overflow", bytes = ok200({ "Content-Length: 99999999999999999999999999" }, "ok"),
    expect = { kind = "too_large" }, also = { BAD_HEAD }, why = BIG },
  { name = "length-past-max-body", bytes = ok200({ "Content-Length: 1000000000000" }, "short"),
    expect = { kind = "too_large" }, also = { { kind = "transport" } }, -- 1 TB against the 64 MiB max_body
    why = "the body is cut short as well as too large: checked against max_body up front it is too_large, read it is transport" },
  { name = "length-list-same", bytes = ok200({ "Content-Length: 2, 2" }, "ok"),
    expect = { status = 200, body = "ok" }, also = { BAD_HEAD },
    why = "RFC 9110 §8.6: a list of identical values MAY be taken as one, or refused as invalid" },
  { name = "length-list-differ", bytes = ok200({ "Content-Length: 2, 3" }, "ok!"), expect = BAD_HEAD },
  { name = "length-trailing-space", bytes = ok200({ "Content-Length: 2 " }, "ok"),
    expect = { status = 200, body = "ok" } }, -- OWS around a field value is not part of it
  { name = "length-body-longer", bytes = ok200({ "Content-Length: 2" }, "okEXTRA"),
    expect = { status = 200, body = "ok" } }, -- the rest is not this response's
  { name = "length-zero-body-after", bytes = ok200({ "Content-Length: 0" }, "junk"), expect = { status = 200, body = "" } },
  { name = "length-on-204", bytes = head("HTTP/1.1 204 No Content", { "Content-Length: 5" }),
    expect = { status = 204, body = "" } }, -- RFC 9112 §6.3: 204 and 304 end at the head
  { name = "length-on-304", bytes = head("HTTP/1.1 304 Not Modified", { "Content-Length: 5" }),
    expect = { status = 304, body = "" } },
  { name = "length-and-chunked", bytes = ok200({ "Content-Length: 100", "Transfer-Encoding: chunked" },
      chunk("ok") .. "0\r\n\r\n"), expect = { status = 200, body = "ok" }, also = { BAD_HEAD },
    why = "RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; a client MAY refuse the message instead" },
  { name = "sse-length-exact", sse = true, bytes = sse_head { "Content-Length: 66" } .. two,
    expect = { status = 200, events = 2, partial = false } },
  { name = "sse-length-33", sse = true, bytes = sse_head { "Content-Length: 33" } .. two,
    expect = { status = 200, events = 1, partial = false } }, -- a real length: the rest is not the body
  { name = "sse-length-short", sse = true, bytes = sse_head { "Content-Length: 200" } .. two,
    expect = { kind = "transport", code = 18, events = 2 } },

  -- Transfer-Encoding (RFC 9112 §6.1, §6.3): chunked must be the final coding; no other coding is decoded
  { name = "te-notchunked", bytes = ok200({ "Transfer-Encoding: notchunked" }, chunk("ok") .. "0\r\n\r\n"),
    expect = TRANSPORT },
  { name = "te-chunked-not", bytes = ok200({ "Transfer-Encoding: chunked-not" }, chunk("ok") .. "0\r\n\r\n"),
    expect = TRANSPORT },
  { name = "te-gzip-chunked", bytes = ok200({ "Transfer-Encoding: gzip, chunked" }, chunk("notgzip") .. "0\r\n\r\n"),
    expect = TRANSPORT },
  { name = "te-gzip-then-chunked-headers", bytes = ok200({ "Transfer-Encoding: gzip", "Transfer-Encoding: chunked" },
      chunk("notgzip") .. "0\r\n\r\n"), expect = TRANSPORT },
  { name = "te-chunked-gzip", bytes = ok200({ "Transfer-Encoding: chunked, gzip" }, "notgzip"),
    expect = TRANSPORT }, -- chunked not final: read to close, then a coding nobody asked for
  { name = "te-chunked-chunked", bytes = ok200({ "Transfer-Encoding: chunked, chunked" }, chunk("ok") .. "0\r\n\r\n"),
    expect = TRANSPORT }, -- §6.1: chunked MUST NOT be applied twice
  { name = "te-uppercase", bytes = ok200({ "Transfer-Encoding: CHUNKED" }, chunk("ok") .. "0\r\n\r\n"),
    expect = { status = 200, body = "ok" } }, -- coding names are case-insensitive
  { name = "te-identity", bytes = ok200({ "Transfer-Encoding: identity" }, "ok"), expect = TRANSPORT,
    also = { { status = 200, body = "ok" } }, why = "RFC 9112 removed identity; a reader MAY still know it" },
  { name = "sse-te-notchunked", sse = true,
    bytes = sse_head { "Transfer-Encoding: notchunked" } .. chunk(two) .. "0\r\n\r\n", expect = TRANSPORT },
  { name = "sse-te-chunked-not", sse = true,
    bytes = sse_head { "Transfer-Encoding: chunked-not" } .. chunk(two) .. "0\r\n\r\n", expect = TRANSPORT },
  { name = "sse-te-gzip-chunked", sse = true,
    bytes = sse_head { "Transfer-Encoding: gzip, chunked" } .. chunk(two) .. "0\r\n\r\n", expect = TRANSPORT },

  -- chunked (RFC 9112 §7.1): chunk-size = 1*HEXDIG, extensions ignored, a CRLF after every chunk
  { name = "chunk-leading-zero", bytes = ok200(chunked, "0002\r\nok\r\n0\r\n\r\n"), expect = { status = 200, body = "ok" } },
  { name = "chunk-leading-zeros-many", bytes = ok200(chunked, rep("0", 40) .. "2\r\nok\r\n0\r\n\r\n"),
    expect = { status = 200, body = "ok" }, also = { TRANSPORT, { kind = "too_large" } },
    why = "RFC 9112 §7.1: 1*HEXDIG allows the zeros; a reader MAY bound the digits it reads" },
  { name = "chunk-overlong", bytes = ok200(chunked, "10000000000000002\r\nok\r\n0\r\n\r\n"),
    expect = TRANSPORT, also = { { kind = "too_large" } }, why = BIG },
  { name = "chunk-overlong-ff", bytes = ok200(chunked, rep("f", 24) .. "\r\nok\r\n0\r\n\r\n"),
    expect = TRANSPORT, also = { { kind = "too_large" } }, why = BIG },
  { name = "chunk-past-max-body", bytes = ok200(chunked, "fffffffff\r\nok"),
    expect = { kind = "too_large" }, also = { TRANSPORT }, why = BIG },
  { name = "chunk-0x40", bytes = ok200(chunked, "0x40\r\n" .. rep("a", 64) .. "\r\n0\r\n\r\n"), expect = TRANSPORT },
  { name = "sse-chunk-0x40", sse = true,
    bytes = sse_head(chunked) .. chunk(two) .. "0x40\r\n" .. rep(":", 63) .. "\n\r\n0\r\n\r\n",
    expect = { kind = "transport", events = 2 } }, -- ended cleanly after the first chunk: the rest was lost
  { name = "chunk-uppercase-hex", bytes = ok200(chunked, "A\r\n0123456789\r\n0\r\n\r\n"),
    expect = { status = 200, body = "0123456789" } },
  { name = "chunk-negative", bytes = ok200(chunked, "-2\r\nok\r\n0\r\n\r\n"), expect = TRANSPORT },
  { name = "chunk-plus", bytes = ok200(chunked, "+2\r\nok\r\n0\r\n\r\n"), expect = TRANSPORT },
  { name = "chunk-empty-size", bytes = ok200(chunked, "\r\nok\r\n0\r\n\r\n"), expect = TRANSPORT },
  { name = "chunk-ext", bytes = ok200(chunked, "2;name=value\r\nok\r\n0;last\r\n\r\n"),
    expect = { status = 200, body = "ok" } },
  { name = "chunk-ext-quoted", bytes = ok200(chunked, "2;a=\"b;c\\\"d\"\r\nok\r\n0\r\n\r\n"),
    expect = { status = 200, body = "ok" } },
  { name = "chunk-ext-bws", bytes = ok200(chunked, "2 ;a=b\r\nok\r\n0\r\n\r\n"),
    expect = { status = 200, body = "ok" }, also = { TRANSPORT },
    why = "RFC 9112 §7.1.1: BWS before ';' is allowed to be sent, but recipients MAY refuse it (it was not in RFC 7230)" },
  { name = "chunk-data-longer", bytes = ok200(chunked, "2\r\nokk\r\n0\r\n\r\n"), expect = TRANSPORT },
  { name = "chunk-no-crlf-after-data", bytes = ok200(chunked, "2\r\nokXX0\r\n\r\n"), expect = TRANSPORT },
  { name = "chunk-no-last-chunk", bytes = ok200(chunked, "2\r\nok\r\n"), expect = { kind = "transport", code = 18 } },
  { name = "chunk-last-no-final-crlf", bytes = ok200(chunked, "2\r\nok\r\n0\r\n"),
    expect = { status = 200, body = "ok" }, also = { TRANSPORT },
    why = "RFC 9112 §7.1: the message is incomplete without the final CRLF, but every byte of the body came" },
  { name = "chunk-lf-only", bytes = ok200(chunked, "2\nok\n0\n\n"), expect = { status = 200, body = "ok" },
    also = { TRANSPORT }, why = LF_OK },
  { name = "chunk-trailers", bytes = ok200(chunked, chunk("ok") .. "0\r\nX-T: 1\r\nX-U: 2\r\n\r\n"),
    expect = { status = 200, body = "ok" } },
  { name = "chunk-trailer-no-colon", bytes = ok200(chunked, chunk("ok") .. "0\r\ngarbage\r\n\r\n"),
    expect = { status = 200, body = "ok" }, also = { TRANSPORT },
    why = "RFC 9112 §7.1.2: a recipient MAY discard trailer fields; refusing a malformed one is also correct" },
  { name = "chunk-trailers-huge", bytes = ok200(chunked, chunk("ok") .. "0\r\n" .. trailer_lines(300, 1000) .. "\r\n"),
    expect = { kind = "too_large" } }, -- trailers count against the head bound
  { name = "sse-chunk-leading-zero", sse = true,
    bytes = sse_head(chunked) .. format("%04x\r\n%s\r\n", #two, two) .. "0\r\n\r\n",
    expect = { status = 200, events = 2, partial = false } },
  { name = "sse-chunk-overlong", sse = true,
    bytes = sse_head(chunked) .. chunk(ev(1)) .. "10000000000000021\r\n" .. ev(2) .. "\r\n0\r\n\r\n",
    expect = { kind = "transport", events = 1 }, also = { { kind = "too_large", events = 1 } }, why = BIG },
  { name = "sse-chunk-bad-hex", sse = true, bytes = sse_head(chunked) .. chunk(two) .. "zz\r\nabc\r\n0\r\n\r\n",
    expect = { kind = "transport", events = 2 } },
  { name = "sse-chunk-data-longer", sse = true,
    bytes = sse_head(chunked) .. chunk(ev(1)) .. "21\r\n" .. ev(2) .. "X\r\n0\r\n\r\n",
    expect = { kind = "transport", events = 1 }, also = { { kind = "transport", events = 2 } },
    why = "the event before the bad CRLF is complete; a reader may frame it before seeing the error" },
  { name = "sse-chunk-trailers-huge", sse = true,
    bytes = sse_head(chunked) .. chunk(two) .. "0\r\n" .. trailer_lines(300, 1000) .. "\r\n",
    expect = { kind = "too_large", events = 2 } },

  -- event streams: the media type, odd statuses
  { name = "sse-type-params", sse = true, bytes = ok200({ "Content-Type: text/event-stream; charset=utf-8" }, two),
    expect = { status = 200, events = 2, partial = false } },
  { name = "sse-type-uppercase", sse = true, bytes = ok200({ "Content-Type: TEXT/Event-Stream" }, two),
    expect = { status = 200, events = 2, partial = false } }, -- media types are case-insensitive
  { name = "sse-type-missing", sse = true, bytes = ok200({ "Content-Length: 2" }, "{}"),
    expect = { status = 200, body = "{}" } },
  { name = "sse-status-2000", sse = true, bytes = head("HTTP/1.1 2000 OK", { "Content-Type: text/event-stream" }) .. two,
    expect = BAD_HEAD },
  { name = "sse-status-204", sse = true, bytes = head("HTTP/1.1 204 No Content", { "Content-Type: text/event-stream" }),
    expect = { status = 204, events = 0, partial = false }, also = { { status = 204, body = "" } },
    why = "RFC 9110 §15.3.5: a 204 has no content; an empty event stream and a response that is no stream both say so" },
  { name = "sse-http10-close", sse = true, bytes = "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" .. two,
    expect = { status = 200, events = 2, partial = false } },

  -- endless: the peer never stops (the last `endless` bytes again and again); the reader must
  -- stop within the head bound (or the idle timeout), having read a bounded number of bytes
  { name = "endless-1xx", endless = #interim, bytes = interim, expect = { kind = "too_large" } },
  { name = "sse-endless-1xx", sse = true, endless = #interim, bytes = interim, expect = { kind = "too_large" } },
  { name = "endless-header-lines", endless = #header_line, bytes = "HTTP/1.1 200 OK\r\n" .. header_line,
    expect = { kind = "too_large" } },
  { name = "sse-endless-header-lines", sse = true, endless = #header_line,
    bytes = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" .. header_line, expect = { kind = "too_large" } },
  { name = "endless-header-line", endless = 1000, bytes = "HTTP/1.1 200 OK\r\nX-Big: " .. rep("B", 1000),
    expect = { kind = "too_large" } },
  { name = "endless-trailers", endless = #trailer_line, bytes = ok200(chunked, chunk("ok") .. "0\r\n" .. trailer_line),
    expect = { kind = "too_large" } },
  { name = "sse-endless-trailers", sse = true, endless = #trailer_line,
    bytes = sse_head(chunked) .. chunk(two) .. "0\r\n" .. trailer_line, expect = { kind = "too_large", events = 2 } },
  { name = "endless-chunk-size-zeros", endless = 1000, bytes = ok200(chunked, rep("0", 1000)),
    expect = TRANSPORT, also = { { kind = "too_large" } }, why = BIG },
  { name = "endless-chunk-ext", endless = 1000, bytes = ok200(chunked, "2;x=" .. rep("e", 1000)),
    expect = { kind = "too_large" }, also = { TRANSPORT },
    why = "RFC 9112 §7.1.1: a recipient SHOULD bound chunk extensions; exceeding the bound may read as either kind" },
}
for _, c in ipairs(more) do cases[#cases + 1] = c end

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
