-- Inside nginx: a location that streams a run and relays its events as
-- server-sent events, and a trivial second location, for
-- spec/ngx_concurrency_spec.lua and bench/ngx_latency.lua.
--
--   GET /relay?transport=ngx|curl&run_seconds=N&tag=T
--       relays every event ("id:/event:/data:" blocks, flushed one by one),
--       then a comment line ": summary {json}" with the tag, the transport,
--       how many events, the last event's name, and the first and last
--       values of a worker-wide sequence counter taken as each event was
--       relayed (so two relays' summaries tell whether they overlapped)
--   GET /ping  -> the number of relays running right now, as text
local M = {}

--- nginx configuration: {http =, server =} for helpers/nginx.start.
function M.conf(mock_url)
  return {
    http = "  lua_shared_dict exa_relay 1m;",
    server = ([[
    location = /ping {
      content_by_lua_block { ngx.say(ngx.shared.exa_relay:get("active") or 0) }
    }
    location = /relay {
      set $exa_mock "%s";
      lua_socket_log_errors off;
      content_by_lua_block { require("helpers.ngx_relay").relay() }
    }
]]):format(mock_url),
  }
end

function M.relay()
  local ngx = ngx
  local json = require "exa.wire.json"
  local clients = require "helpers.ngx_client"
  local args = ngx.req.get_uri_args()
  local transport = args.transport == "curl" and "curl" or "ngx"
  local d = ngx.shared.exa_relay
  local c = clients.new({ api_key = "sk-relay", base_url = ngx.var.exa_mock, max_retries = 0,
    headers = { ["X-Mock-Fault"] = "run-seconds=" .. (tonumber(args.run_seconds) or 2) } }, transport)
  ngx.header["Content-Type"] = "text/event-stream"
  ngx.header["Cache-Control"] = "no-cache"
  d:incr("active", 1, 0)
  local first, last, n, last_event = nil, nil, 0, nil
  local ok, err = pcall(function()
    for ev in c.runs:stream{ query = "relay " .. tostring(args.tag), effort = "low" } do
      local seq = d:incr("seq", 1, 0)
      first = first or seq
      last = seq
      n = n + 1
      last_event = ev.event
      ngx.print("id: ", ev.id, "\nevent: ", ev.event, "\ndata: ", json.encode(ev.data), "\n\n")
      ngx.flush(true)
    end
  end)
  d:incr("active", -1, 0)
  c:close()
  ngx.print(": summary ", json.encode{ tag = args.tag, transport = transport, how = clients.how(transport),
    events = n, last_event = last_event, first = first, last = last,
    error = (not ok) and tostring(err) or nil }, "\n\n")
end

return M
