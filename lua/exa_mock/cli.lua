-- exa_mock.cli: command-line flags of bin/exa-agent-mock.
local cli = {}

cli.USAGE = [[
usage: exa-agent-mock [--host 127.0.0.1] [--port 0] [--api-key KEY] [--max-active 2]
                      [--speed X] [--seed N] [--no-beta-check] [--api beta|post-beta]
                      [--exit-with PID] [--print-env]
  --host HOST        address to listen on (default 127.0.0.1)
  --port PORT        TCP port, 0 picks a free one (default 0)
  --api-key KEY      accept only this key (default: any non-empty key)
  --max-active N     active (queued or running) runs per key (default 2)
  --speed X          divide every simulated delay by X (default 1)
  --seed N           make ids and research output reproducible
  --no-beta-check    do not require the Exa-Beta header
  --api API          beta (default: the agent-2026-05-07 contract) or post-beta (the later
                     reference pages: POST /agent/runs/{id}/stop, budget, dataSources,
                     efforts minimal/max/ultra, Exa-Beta optional)
  --exit-with PID    stop when process PID is gone (a tool that started it died)
  --print-env        when ready, print export EXA_BASE_URL=... and EXA_API_KEY=... lines
                     (for a shell: eval them, or paste them into another one)
Prints "listening http://HOST:PORT" when ready (or, with --print-env, the export lines);
SIGINT/SIGTERM stop it.]]

--- Parse argv. Returns options, or nil, message.
function cli.parse(argv)
  local o = { host = "127.0.0.1", port = 0, max_active = 2, speed = 1, beta_check = true, api = "beta" }
  local i = 1
  local function value(name)
    i = i + 1
    local v = argv[i]
    if v == nil then error(name .. " needs a value", 0) end
    return v
  end
  local function number(name, min)
    local v = tonumber(value(name))
    if not v or v < min then error(name .. " must be a number >= " .. min, 0) end
    return v
  end
  local ok, err = pcall(function()
    while i <= #argv do
      local a = argv[i]
      local k, inline = a:match("^(%-%-[%w%-]+)=(.*)$")
      if k then a = k; table.insert(argv, i + 1, inline) end
      if a == "--host" then o.host = value(a)
      elseif a == "--port" then o.port = math.tointeger(number(a, 0)) or error("--port must be an integer", 0)
      elseif a == "--api-key" then o.api_key = value(a)
      elseif a == "--max-active" then o.max_active = number(a, 0)
      elseif a == "--speed" then o.speed = number(a, 1e-6)
      elseif a == "--seed" then o.seed = value(a)
      elseif a == "--no-beta-check" then o.beta_check = false
      elseif a == "--print-env" then o.print_env = true
      elseif a == "--api" then
        o.api = value(a)
        if o.api ~= "beta" and o.api ~= "post-beta" then error("--api must be beta or post-beta", 0) end
      elseif a == "--exit-with" then
        o.exit_with = math.tointeger(number(a, 1)) or error("--exit-with must be a process id", 0)
      elseif a == "-h" or a == "--help" then o.help = true
      else error("unknown argument " .. a, 0) end
      i = i + 1
    end
  end)
  if not ok then return nil, err end
  if o.port > 65535 then return nil, "--port must be <= 65535" end
  return o
end

return cli
