-- examples/openresty: its nginx.conf passes `nginx -t`, and its locations,
-- run inside nginx against the simulator, relay a run's events as
-- server-sent events and return the finished run as JSON.
local nginx = require "helpers.nginx"
local mock = require "helpers.mock"
local scenarios = require "helpers.scenarios"

local EXAMPLE = nginx.root .. "/examples/openresty"

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- The example's location blocks, verbatim but for the page's path.
local function example_locations()
  local conf = read_file(EXAMPLE .. "/nginx.conf")
  local body = assert(conf:match("listen [^\n]*\n(.*)\n  }\n}%s*$"), "no server block in the example")
  return (body:gsub("root %.;", "root " .. EXAMPLE .. ";"))
end

describe("examples/openresty", function()
  local run, why = scenarios.runs_here()
  local srv, ngx_srv
  local json = mock.json

  setup(function()
    if not run then return end
    srv = mock.start{ "--speed", "400", "--max-active", "50" }
    -- the example's own handlers, its client exa.new{transport = "ngx"}
    ngx_srv = nginx.start{
      lua_path = EXAMPLE .. "/?.lua;",
      setenv = { EXA_API_KEY = "sk-example", EXA_BASE_URL = srv.url },
      server = example_locations(),
    }
  end)

  teardown(function()
    if ngx_srv then ngx_srv:stop() end
    if srv then srv:stop() end
  end)

  it("nginx -t accepts the example's nginx.conf", function()
    if not run then return pending(why) end
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir .. "/logs")
    local f = io.popen(("%s -t -p %s/ -c %s/nginx.conf 2>&1; echo rc=$?"):format(nginx.NGINX, dir, EXAMPLE))
    local out = f:read("*a")
    f:close()
    os.execute("rm -rf " .. dir)
    assert.matches("rc=0", out, 1, true)
    assert.matches("syntax is ok", out, 1, true)
  end)

  it("/research relays the run's events as server-sent events; /runs/<id> returns the finished run", function()
    if not run then return pending(why) end
    local status, body = ngx_srv:request{ path = "/research?q=AI%20infrastructure%20rounds&effort=low" }
    assert.equals(200, status)
    local events = {}
    for block in body:gmatch("(.-)\n\n") do
      local id, name, data = block:match("^id: (%d+)\nevent: ([^\n]+)\ndata: (.*)$")
      assert.is_truthy(id, "not an event block: " .. block)
      events[#events + 1] = { id = id, event = name, data = json.decode(data) }
    end
    assert.equals("agent_run.created", events[1].event)
    assert.equals("agent_run.completed", events[#events].event)
    for i, ev in ipairs(events) do assert.equals(tostring(i), ev.id) end
    local id = events[1].data.id
    local rstatus, rbody = ngx_srv:request{ path = "/runs/" .. id }
    assert.equals(200, rstatus)
    local run_obj = json.decode(rbody)
    assert.equals(id, run_obj.id)
    assert.equals("completed", run_obj.status)
    assert.is_string(run_obj.output.text)
  end)

  it("answers errors as JSON: no question, an unknown run", function()
    if not run then return pending(why) end
    local status, body = ngx_srv:request{ path = "/research" }
    assert.equals(400, status)
    assert.matches("q=", json.decode(body).error.message, 1, true)
    status, body = ngx_srv:request{ path = "/runs/agent_run_nope" }
    assert.equals(404, status)
    assert.equals("not_found", json.decode(body).error.kind)
  end)

  it("serves the page that opens the event stream", function()
    if not run then return pending(why) end
    local status, body = ngx_srv:request{ path = "/" }
    assert.equals(200, status)
    assert.matches("new EventSource", body, 1, true)
  end)
end)
