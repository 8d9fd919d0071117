-- examples/openresty, as a user runs it: the README's commands (the sh block
-- under "### The example relay"), from a copy of the checkout in a 0700
-- directory (as /root is), against the simulator, with `curl -N`. The copy
-- holds the checkout's files (tracked and new, not ignored ones: no logs/, no
-- build/) plus build/jit/exa/core.so, which stands in for `make build`.
local nginx = require "helpers.nginx"
local mock = require "helpers.mock"
local scenarios = require "helpers.scenarios"

local q = nginx.quote

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function sh(cmd, stdout_only)
  local p = assert(io.popen("(" .. cmd .. ") " .. (stdout_only and "2>/dev/null" or "2>&1") .. "; echo \"rc=$?\""))
  local out = p:read("*a")
  p:close()
  return tonumber(out:match("rc=(%d+)%s*$")), (out:gsub("rc=%d+%s*$", ""))
end

-- The README's commands for the example.
local function readme_commands()
  local readme = assert(read_file(nginx.root .. "/README.md"))
  local section = assert(readme:match("\n### The example relay[^\n]*\n(.-)\n##"), "no example relay section")
  local block = assert(section:match("```sh\n(.-)```"), "no sh block in the example relay section")
  local lines = {}
  for line in block:gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

local function sleep(s) os.execute("sleep " .. s) end

describe("examples/openresty from the README", function()
  local run, why = scenarios.runs_here()
  local srv, dir, copy, lines, env, port, started
  local json = mock.json
  local TOKEN = "relay-token-0123456789"

  local function find(prefix)
    for _, l in ipairs(lines) do if l:sub(1, #prefix) == prefix then return l end end
    error("the README's commands have no line starting " .. prefix)
  end

  -- run one of the README's lines in the copy, with env and extra variables
  local function do_line(line, extra, stdout_only)
    local vars = {}
    for k, v in pairs(env) do vars[#vars + 1] = k .. "=" .. q(v) end
    for k, v in pairs(extra or {}) do vars[#vars + 1] = k .. "=" .. q(v) end
    return sh(("cd %s && export %s && %s"):format(q(copy), table.concat(vars, " "),
      (line:gsub("127%.0%.0%.1:8080", "127.0.0.1:" .. port))), stdout_only)
  end

  local function start(extra)
    for _ = 1, 10 do
      port = math.random(20000, 59999)
      env.EXA_RELAY_LISTEN = "127.0.0.1:" .. port
      local rc, out = do_line(find("examples/openresty/nginx.sh start"), extra)
      if rc == 0 then
        started = true
        for _ = 1, 100 do -- until it answers
          local _, st = sh(("curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:%d/"):format(port))
          if st == "200" then return out end
          sleep(0.05)
        end
        error("the relay never answered: " .. out)
      end
      if not out:find("Address already in use", 1, true) then error("nginx.sh start failed:\n" .. out) end
    end
  end

  local function stop()
    local rc, out = do_line(find("examples/openresty/nginx.sh stop"))
    started = false
    assert.equals(0, rc, out)
  end

  -- curl -i: status, headers (lower-case names), body
  local function get(path, headers)
    local h = {}
    for _, v in ipairs(headers or {}) do h[#h + 1] = "-H " .. q(v) end
    local _, out = sh(("curl -s -i %s %s"):format(table.concat(h, " "), q("http://127.0.0.1:" .. port .. path)))
    local head, body = out:match("^(.-)\r\n\r\n(.*)$")
    local hs = {}
    for k, v in (head or ""):gmatch("\n([^:\r\n]+):%s*([^\r\n]*)") do hs[k:lower()] = v end
    return tonumber((head or ""):match("^HTTP/%S+ (%d+)")), hs, body
  end

  local function auth() return { "Authorization: Bearer " .. TOKEN } end

  local function run_status(id)
    local status, _, body = srv:curl{ path = "/agent/runs/" .. id,
      headers = { ["x-api-key"] = "sk-example", ["Exa-Beta"] = "agent-2026-05-07" } }
    assert.equals(200, status)
    return json.decode(body).status
  end

  setup(function()
    if not run then return end
    math.randomseed(os.time() + math.floor(os.clock() * 1e6))
    port = math.random(20000, 59999)
    lines = readme_commands()
    srv = mock.start{ "--speed", "0.5", "--max-active", "1" }
    local p = assert(io.popen("mktemp -d /tmp/exa-openresty.XXXXXX"))
    dir = p:read("*l")
    p:close()
    copy = dir .. "/exa"
    assert(os.execute(("mkdir %s && cd %s && git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C %s")
      :format(q(copy), q(nginx.root), q(copy))))
    assert(os.execute(("mkdir -p %s/build/jit/exa && cp %s/build/jit/exa/core.so %s/build/jit/exa/")
      :format(q(copy), q(nginx.root), q(copy))))
    env = { EXA_API_KEY = "sk-example", EXA_BASE_URL = srv.url, EXA_RELAY_TOKEN = TOKEN }
  end)

  teardown(function()
    if started then pcall(stop) end
    if srv then srv:stop() end
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  it("are the ones this spec runs", function()
    if not run then return pending(why) end
    assert.equals("make build", lines[1])
    assert.matches("EXA_API_KEY=", find("export "), 1, true)
    assert.matches("EXA_RELAY_TOKEN=", find("export "), 1, true)
    assert.matches("-H \"Authorization: Bearer $EXA_RELAY_TOKEN\"", find("curl -N "), 1, true)
  end)

  it("refuse to start without the relay's token; nginx -t accepts the config", function()
    if not run then return pending(why) end
    local rc, out = do_line(find("examples/openresty/nginx.sh start"), { EXA_RELAY_TOKEN = "" })
    assert.equals(2, rc)
    assert.matches("set EXA_RELAY_TOKEN", out, 1, true)
    rc, out = do_line("examples/openresty/nginx.sh test")
    assert.equals(0, rc, out)
    assert.matches("syntax is ok", out, 1, true)
  end)

  it("from a 0700 directory: start (logs/ created, git-ignored), relay a run with curl -N, return it, stop", function()
    if not run then return pending(why) end
    assert.matches("^drwx%-%-%-%-%-%- ", select(2, sh("ls -ld " .. q(dir))))
    os.execute("rm -rf " .. q(copy .. "/examples/openresty/logs"))
    assert.equals(0, (sh(("cd %s && git check-ignore -q examples/openresty/logs/error.log"):format(q(nginx.root)))))
    start()
    assert.truthy(read_file(copy .. "/examples/openresty/logs/nginx.pid"), "logs/ was not created")
    local rc, body = do_line(find("curl -N "), nil, true) -- what curl -N prints, not its progress meter
    assert.equals(0, rc, body)
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
    local status, _, rbody = get("/runs/" .. id, auth())
    assert.equals(200, status)
    local run_obj = json.decode(rbody)
    assert.equals(id, run_obj.id)
    assert.equals("completed", run_obj.status)
    status, _, rbody = get("/")
    assert.equals(200, status)
    assert.matches("new EventSource", rbody, 1, true)
  end)

  it("answers 401 without the token, JSON 400 for an effort not allowed or no question, 404 for no run", function()
    if not run then return pending(why) end
    local status, h, body = get("/research?q=x")
    assert.equals(401, status)
    assert.equals('Bearer realm="exa relay"', h["www-authenticate"])
    assert.equals("authentication", json.decode(body).error.kind)
    status = get("/research?q=x", { "Authorization: Bearer wrong" })
    assert.equals(401, status)
    status = get("/runs/agent_run_x?token=wrong")
    assert.equals(401, status)
    status, h, body = get("/research?q=x&effort=high", auth())
    assert.equals(400, status)
    assert.equals("application/json", h["content-type"])
    local e = json.decode(body).error
    assert.equals("effort", e.field)
    assert.matches("allowed: low", e.message, 1, true)
    status, _, body = get("/research", auth())
    assert.equals(400, status)
    assert.matches("q=", json.decode(body).error.message, 1, true)
    status, _, body = get("/runs/agent_run_nope?token=" .. TOKEN)
    assert.equals(404, status)
    assert.equals("not_found", json.decode(body).error.kind)
  end)

  -- curl -N in the background; returns its pid and the run id once the
  -- created event arrived
  local function follow(out)
    local _, pid = sh(("curl -N -s -H %s %s > %s 2>&1 & echo $!"):format(q("Authorization: Bearer " .. TOKEN),
      q("http://127.0.0.1:" .. port .. "/research?q=long"), q(out)))
    pid = assert(tonumber(pid:match("(%d+)")))
    for _ = 1, 200 do
      local id = (read_file(out) or ""):match('"id":"(agent_run_[%w]+)"')
      if id then return pid, id end
      sleep(0.05)
    end
    error("no created event from the relay: " .. (read_file(out) or ""))
  end

  it("answers a full account with JSON 429 and Retry-After; cancels the run of a client that went away", function()
    if not run then return pending(why) end
    local out = dir .. "/follow.out"
    local pid, id = follow(out)
    local status, h, body = get("/research?q=second", auth()) -- --max-active 1: the account is full
    assert.equals(429, status)
    assert.equals("30", h["retry-after"])
    local e = json.decode(body).error
    assert.equals("concurrency_limit", e.kind)
    assert.equals("CONCURRENCY_LIMIT_REACHED", e.code)
    assert.equals("running", (run_status(id):gsub("queued", "running")))
    os.execute("kill " .. pid)
    local st
    for _ = 1, 100 do
      st = run_status(id)
      if st == "cancelled" then break end
      sleep(0.05)
    end
    assert.equals("cancelled", st)
    assert.matches("cancelled run " .. id, read_file(copy .. "/examples/openresty/logs/error.log"), 1, true)
  end)

  it("lets the run go on when EXA_RELAY_CANCEL_ON_DISCONNECT=0", function()
    if not run then return pending(why) end
    stop()
    start{ EXA_RELAY_CANCEL_ON_DISCONNECT = "0" }
    local pid, id = follow(dir .. "/follow2.out")
    os.execute("kill " .. pid)
    local st
    for _ = 1, 600 do -- the run lasts about 4 s (--speed 0.5)
      st = run_status(id)
      if st ~= "queued" and st ~= "running" then break end
      sleep(0.05)
    end
    assert.equals("completed", st)
  end)

  it("names the resolver when the API's name does not resolve", function()
    if not run then return pending(why) end
    stop()
    local out = start{ EXA_BASE_URL = "http://api.nowhere.invalid", EXA_RESOLVER = "127.0.0.1:9",
      EXA_RESOLVER_TIMEOUT = "1" }
    assert.matches("resolver 127.0.0.1:9", out, 1, true)
    local status, _, body = get("/research?q=x", auth())
    assert.equals(502, status)
    local e = json.decode(body).error
    assert.equals("dns", e.kind)
    assert.matches("api.nowhere.invalid", e.message, 1, true)
    assert.matches("resolver 127.0.0.1:9", e.message, 1, true)
    stop()
  end)
end)
