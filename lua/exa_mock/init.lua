-- exa_mock: a local simulator of the Exa Agent API (see docs/simulator.md).
--   require("exa_mock").main(arg)  -- what bin/exa-agent-mock runs
local cqueues = require "cqueues"
local signal = require "cqueues.signal"
local cli = require "exa_mock.cli"
local util = require "exa_mock.util"
local store = require "exa_mock.store"
local faults = require "exa_mock.faults"
local router = require "exa_mock.router"
local server = require "exa_mock.server"

local mock = {}

--- The application state shared by the server and the API.
function mock.app(opts, cq)
  local seed = opts.seed or tostring(os.time()) .. tostring({}):sub(-8)
  local app = {
    cq = cq, speed = opts.speed, max_active = opts.max_active, api_key = opts.api_key,
    beta_check = opts.beta_check, api = opts.api or "beta", seed = seed, rng = util.rng(seed, "ids"),
    store = store.new(), attempts = faults.counter(), started = util.now(),
    stats = { connections = 0, open_connections = 0, requests = 0, open_streams = 0 },
    keepalive_interval = math.max(15 / opts.speed, 0.02),
  }
  local rid = util.rng(seed, "request-ids")
  app.request_id = function()
    return ("req_%012x%012x"):format(rid:random(0, 0xffffffffffff), rid:random(0, 0xffffffffffff))
  end
  app.handle = router.handler(app)
  return app
end

--- Is process pid still running (not gone, not a zombie)? Linux /proc,
--- else kill -0.
function mock.alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if f then
    local st = f:read("a") or ""
    f:close()
    return st:match("^%d+ %b() (%a)") ~= "Z"
  end
  if io.open("/proc/self/stat") then return false end -- /proc works: pid is gone
  return os.execute("kill -0 " .. pid .. " 2>/dev/null") == true
end

--- Run the simulator until SIGINT/SIGTERM. Returns an exit status.
function mock.main(argv)
  local opts, err = cli.parse(argv or {})
  if not opts then
    io.stderr:write("exa-agent-mock: ", err, "\n", cli.USAGE, "\n")
    return 2
  end
  if opts.help then print(cli.USAGE) return 0 end
  signal.ignore(signal.SIGPIPE)
  signal.block(signal.SIGINT, signal.SIGTERM)
  local cq = cqueues.new()
  local app = mock.app(opts, cq)
  local host, port = server.start(cq, app, opts.host, opts.port)
  if not host then
    io.stderr:write("exa-agent-mock: cannot listen on ", opts.host, ":", opts.port, ": ", tostring(port), "\n")
    return 1
  end
  if host:find(":", 1, true) then host = "[" .. host .. "]" end
  if opts.print_env then
    -- any non-empty key works without --api-key: name one so the lines are complete
    local key = opts.api_key or "mock-any-key"
    local q = function(v) return "'" .. v:gsub("'", "'\\''") .. "'" end
    io.stdout:write(("export EXA_BASE_URL=%s\nexport EXA_API_KEY=%s\n"):format(
      q(("http://%s:%d"):format(host, port)), q(key)))
  else
    io.stdout:write(("listening http://%s:%d\n"):format(host, port))
  end
  io.stdout:flush()
  local done = false
  local sigs = signal.listen(signal.SIGINT, signal.SIGTERM)
  cq:wrap(function()
    sigs:wait()
    done = true
  end)
  if opts.exit_with then
    cq:wrap(function()
      while not done and mock.alive(opts.exit_with) do cqueues.sleep(0.5) end
      done = true
    end)
  end
  while not done do
    local ok, lerr = cq:step(1)
    if not ok then
      io.stderr:write("exa-agent-mock: ", tostring(lerr), "\n")
    end
  end
  app.listener:close()
  return 0
end

return mock
