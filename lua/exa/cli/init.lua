-- exa.cli: the exa-agent command line (bin/exa-agent). Uses the public
-- library (exa.new, client.runs:*, exa.loop, exa.estimate, exa.citations,
-- exa.check_output) and the library's own checks (exa.validate) and tables
-- (exa.api) for flags, so it decides no rule twice; lua/exa/cli/ holds its
-- printing and the simulator it may start.
--
-- One process on exa.loop: every request of a command runs in a task on one
-- built-in loop, and SIGINT, SIGTERM, SIGHUP and SIGPIPE (a closed stdout)
-- are loop events too (loop:signals, exa.core's self-pipe), so a signal is
-- seen while the process waits on curl's sockets. No worker process, no
-- file, no polling; the API key stays in this process's memory.
--
--   require("exa.cli").main(argv, {bin_dir = dir of a bin/exa-agent-mock}) --> exit status
local type, tostring, tonumber, pairs, ipairs, pcall, error, setmetatable, getmetatable, select =
  type, tostring, tonumber, pairs, ipairs, pcall, error, setmetatable, getmetatable, select
local math_floor, math_min, math_max = math.floor, math.min, math.max
local string_format, string_match, string_find, string_gsub, string_sub, string_gmatch, string_char =
  string.format, string.match, string.find, string.gsub, string.sub, string.gmatch, string.char
local table_concat, table_sort = table.concat, table.sort
local io_stdout, io_stderr = io.stdout, io.stderr
local os_getenv, os_time, os_clock, os_exit = os.getenv, os.time, os.clock, os.exit
local math_huge, math_random, math_randomseed = math.huge, math.random, math.randomseed

local exa = require "exa"
local clock = require "exa.loop.clock"
local validate = require "exa.validate"
local api = require "exa.api"
local render = require "exa.cli.render"
local proc = require "exa.cli.proc"
local ypcall = require("exa.loop.pcall").pcall -- a pcall a task may yield through, on PUC 5.1 too

local M = {}

-- Exit statuses. A signal cancels the run `run` started (unless --detach),
-- then the process exits 128 + the signal's number, as a shell reports a
-- process killed by it; a second signal exits at once with the same status.
local EXIT = { ok = 0, api = 1, usage = 2, failed = 3, cancelled = 4,
  interrupted = 130, INT = 130, TERM = 143, HUP = 129, PIPE = 141 }
M.EXIT = EXIT
local SIGNALS = { "INT", "TERM", "HUP", "PIPE" }
local SIG_NAME = { INT = "SIGINT", TERM = "SIGTERM", HUP = "SIGHUP", PIPE = "stdout closed, SIGPIPE" }

local TERMINAL = exa.TERMINAL_STATUS

-- Errors ---------------------------------------------------------------------

-- A usage error: one line, exit 2, nothing sent.
local Usage = {}
Usage.__tostring = function(u) return u.message end

local function usage(fmt, ...)
  error(setmetatable({ message = select("#", ...) > 0 and string_format(fmt, ...) or fmt }, Usage), 0)
end

-- The stand-alone interpreter turns SIGINT into the error "interrupted!".
local function is_interrupt(e)
  return type(e) == "string" and string_find(e, "interrupted!", 1, true) ~= nil
end

local function say(...)
  io_stderr:write("exa-agent: ", ...)
  io_stderr:write("\n")
  io_stderr:flush()
end

-- An error object as one line (without the library's "exa: " prefix).
local function describe_error(e)
  local s = tostring(e)
  s = string_gsub(s, "^exa: ", "")
  s = string_gsub(s, "exa%.new{ ?api = \"post%-beta\" ?}", "--api post-beta") -- the library's way out, in CLI words
  return (string_gsub(s, "[\r\n]+", " "))
end

local function exit_for(e)
  if exa.is_error(e) and (e.kind == "validation" or e.kind == "budget") then return EXIT.usage end
  return EXIT.api
end

-- Called once when a write to stdout fails (its reader went away: EPIPE),
-- as a SIGPIPE would be: the command's loop sets it.
local stdout_closed

local function out(s)
  local ok = io_stdout:write(s)
  if ok then ok = io_stdout:flush() end
  if not ok and stdout_closed then
    local f = stdout_closed
    stdout_closed = nil
    f()
  end
end

local function json_out(v)
  out(render.json_line(v) .. "\n")
end

-- Flags ----------------------------------------------------------------------

-- {name, kind, metavar, help}; kind: string number bool list
local F = {
  effort = { "effort", "string", "E", "effort: " .. table_concat(api.EFFORTS, " ") .. " (default: the API's, auto)" },
  schema = { "schema", "string", "FILE|-", "outputSchema: a JSON Schema file, - for stdin" },
  input = { "input", "string", "ROWS.jsonl", "input.data: one JSON object per line (or a JSON array)" },
  exclude = { "exclude", "string", "ROWS.jsonl", "input.exclusion: records the run must not return" },
  system = { "system", "string", "TEXT", "systemPrompt" },
  previous = { "previous", "string", "RUN_ID", "previousRunId: continue from a completed run" },
  metadata = { "metadata", "list", "K=V", "metadata entry (repeatable)" },
  budget = { "budget", "number", "DOLLARS", "a hard cap: the client refuses, before sending, a run it cannot\n"
    .. string.rep(" ", 25) .. "bound under it (exa.new{budget}); --api post-beta also sends\n"
    .. string.rep(" ", 25) .. "budget.maxCostDollars (the API's range: $1 to $100)" },
  source = { "data-source", "list", "PROVIDER", "dataSources entry (post-beta API; repeatable)" },
  no_stream = { "no-stream", "bool", nil, "create the run, then poll it (no live events)" },
  detach = { "detach", "bool", nil, "a signal (Ctrl-C ...) leaves the run going instead of cancelling it" },
  interval = { "interval", "number", "SECONDS", "seconds between polls (default: the library's, 0.5 s growing\n"
    .. string.rep(" ", 25) .. "to 5 s)" },
  timeout = { "timeout", "number", "SECONDS", "give up waiting after this long (exit 1; the run goes on)" },
  limit = { "limit", "number", "N", "runs per page, 1-100 (default 20)" },
  all = { "all", "bool", nil, "every run, newest first, page after page" },
  after = { "after", "string", "EVENT_ID", "only the events after this one (Last-Event-ID)" },
  json = { "json", "bool", nil, "NDJSON on stdout: one JSON object per line" },
  detach_mock = { "detach", "bool", nil, "start the simulator in the background and return" },
}

local RUN_FLAGS = { F.effort, F.schema, F.input, F.exclude, F.system, F.previous, F.metadata, F.budget,
  F.source, F.no_stream, F.detach, F.interval, F.json }
local CREATE_FLAGS = { F.effort, F.schema, F.input, F.exclude, F.system, F.previous, F.metadata, F.budget,
  F.source, F.json }

local SIGNAL_HELP = "Exit status: 0 completed, 1 API or transport error, 2 usage error, 3 run failed,\n"
  .. "4 run cancelled or stopped. Signals: SIGINT (Ctrl-C) 130, SIGTERM 143, SIGHUP 129, a closed\n"
  .. "stdout (SIGPIPE, e.g. --json | head -2) 141, each after cancelling the run (unless --detach);\n"
  .. "a second signal exits at once."

local COMMANDS = {
  run = { args = "QUERY", flags = RUN_FLAGS, api = true,
    summary = "start a run, follow it live, print its answer, structured result, citations and cost",
    more = SIGNAL_HELP },
  create = { args = "QUERY", flags = CREATE_FLAGS, api = true,
    summary = "create a run and print it (its id on the first line) without waiting",
    more = "Then: exa-agent wait ID, exa-agent replay ID, exa-agent cancel ID." },
  estimate = { args = "[QUERY]", flags = RUN_FLAGS, api = false,
    summary = "what a run with these options may cost, from the published price table (no request)" },
  list = { args = "", flags = { F.limit, F.all, F.json }, api = true, summary = "list runs, newest first" },
  get = { args = "RUN_ID", flags = { F.json }, api = true, summary = "show a run" },
  events = { args = "RUN_ID", flags = { F.json }, api = true, summary = "list a run's stored events" },
  replay = { args = "RUN_ID", flags = { F.after, F.json }, api = true,
    summary = "replay a run's stored events as server-sent events" },
  cancel = { args = "RUN_ID", flags = { F.json }, api = true, summary = "cancel a queued or running run" },
  stop = { args = "RUN_ID", flags = { F.json }, api = true,
    summary = "stop a running run early; it completes with what it has (post-beta API)" },
  delete = { args = "RUN_ID", flags = { F.json }, api = true, summary = "delete a run" },
  wait = { args = "RUN_ID", flags = { F.timeout, F.interval, F.json }, api = true,
    summary = "wait until a run ends and show it (exit status as for run)" },
  mock = { args = "", flags = { F.detach_mock }, api = false, raw = true,
    summary = "start the simulator for a shell session; print its export lines",
    more = "Prints export EXA_BASE_URL=... and EXA_API_KEY=... lines, then serves until SIGINT/SIGTERM/SIGHUP\n"
      .. "(it stops the simulator and exits 0). With --detach the simulator goes on in the background\n"
      .. "and the lines include EXA_AGENT_MOCK_PID, so one shell can say:\n"
      .. "  eval \"$(exa-agent mock --detach)\"; exa-agent run 'a query'; kill $EXA_AGENT_MOCK_PID\n"
      .. "Other flags go to bin/exa-agent-mock (e.g. --speed 20, --api post-beta)." },
}
local ORDER = { "run", "create", "estimate", "list", "get", "events", "replay", "cancel", "stop", "delete", "wait",
  "mock" }
local GLOBAL_FLAGS = { "mock", "json", "header", "help", "version", "api" }

local GLOBAL_HELP = [[
usage: exa-agent [--mock] [--api beta|post-beta] COMMAND [ARGS] [--json]

The Exa Agent API from the command line.

Commands:
%s
Global flags:
  --mock        start the bundled simulator (bin/exa-agent-mock: Lua 5.4 + lua-cqueues) on a free
                loopback port for this one command: no key, no money. Extra simulator flags in
                EXA_AGENT_MOCK_ARGS, e.g. "--speed 20". For a whole shell session: exa-agent mock.
  --api API     beta (default: the agent-2026-05-07 contract) or post-beta (the later API, which
                enforces budget.maxCostDollars from $1 to $100): the budget rule depends on it
  --json        NDJSON on stdout (each event of a run, each run of a list), for jq
  --header "Name: value"   send this header with every request (repeatable), e.g. a simulator
                fault: --header "X-Mock-Fault: run-fail"
  -h, --help    this help; exa-agent COMMAND --help for a command's
  --version     the version

Environment: EXA_API_KEY (required without --mock), EXA_BASE_URL (default https://api.exa.ai),
EXA_AGENT_PROGRESS=1|0 (force the live progress line on stderr on or off; default: when stderr is a
terminal).
Exit status: 0 success (a run completed), 1 API or transport error, 2 usage error (nothing was sent),
3 run failed, 4 run cancelled or stopped. Signals: SIGINT (Ctrl-C) 130, SIGTERM 143, SIGHUP 129, a
closed stdout (SIGPIPE, e.g. exa-agent run ... --json | head -2) 141; each first cancels the run that
`run` started (unless --detach: the run goes on); a second signal exits at once.
]]

local function command_help(name)
  local c = COMMANDS[name]
  local lines = { string_format("usage: exa-agent %s%s [flags]", name, c.args ~= "" and (" " .. c.args) or ""),
    "", c.summary, "" }
  if #c.flags > 0 then lines[#lines + 1] = "Flags:" end
  for _, f in ipairs(c.flags) do
    local left = "--" .. f[1] .. (f[3] and (" " .. f[3]) or "")
    lines[#lines + 1] = string_format("  %-22s %s", left, f[4])
  end
  if c.api then
    lines[#lines + 1] = string_format("  %-22s %s", "--mock", "use the bundled simulator (see exa-agent --help)")
  end
  lines[#lines + 1] = string_format("  %-22s %s", "-h, --help", "this help")
  if c.more then
    lines[#lines + 1] = ""
    lines[#lines + 1] = c.more
  end
  return table_concat(lines, "\n") .. "\n"
end

local function global_help()
  local rows = {}
  for _, name in ipairs(ORDER) do
    local c = COMMANDS[name]
    rows[#rows + 1] = string_format("  %-10s %-14s %s", name, c.args, c.summary)
  end
  return string_format(GLOBAL_HELP, table_concat(rows, "\n") .. "\n")
end

-- Edit distance (Levenshtein, with a swap of two neighbours as one edit).
local function distance(a, b)
  local la, lb = #a, #b
  local prev2, prev, cur = {}, {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur = { [0] = i }
    local ca = string_sub(a, i, i)
    for j = 1, lb do
      local cb = string_sub(b, j, j)
      local d = math_min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca == cb and 0 or 1))
      if i > 1 and j > 1 and ca == string_sub(b, j - 1, j - 1) and string_sub(a, i - 1, i - 1) == cb then
        d = math_min(d, prev2[j - 2] + 1)
      end
      cur[j] = d
    end
    prev2, prev = prev, cur
  end
  return prev[lb]
end
M.distance = distance

--- The known name nearest to name, if near enough to be a typo (or a prefix).
local function nearest(name, known)
  local best, bd
  local sorted = {}
  for _, k in ipairs(known) do sorted[#sorted + 1] = k end
  table_sort(sorted)
  for _, k in ipairs(sorted) do
    local d = distance(name, k)
    if #name >= 3 and string_sub(k, 1, #name) == name then d = math_min(d, 1) end
    if not bd or d < bd then best, bd = k, d end
  end
  if bd and bd <= math_max(2, math_floor(#name / 3)) and bd < #name then return best end
  return nil
end
M.nearest = nearest

local function flag_names(cmd)
  local t = {}
  for _, g in ipairs(GLOBAL_FLAGS) do t[#t + 1] = g end
  for _, f in ipairs(cmd and COMMANDS[cmd] and COMMANDS[cmd].flags or {}) do t[#t + 1] = f[1] end
  return t
end

local function unknown_flag(name, cmd)
  local where = cmd and (" for " .. cmd) or ""
  local near = nearest(name, flag_names(cmd))
  if not near and cmd then
    -- a flag of another command?
    local all = {}
    for _, c in pairs(COMMANDS) do for _, f in ipairs(c.flags) do all[#all + 1] = f[1] end end
    near = nearest(name, all)
    if near then
      usage("unknown flag --%s%s (--%s is not a flag of %s: exa-agent %s --help)", name, where, near, cmd, cmd)
    end
  end
  if near then usage("unknown flag --%s%s: did you mean --%s?", name, where, near) end
  usage("unknown flag --%s%s (exa-agent %s--help)", name, where, cmd and (cmd .. " ") or "")
end

local function unknown_command(a)
  local near = nearest(a, ORDER)
  if near then usage("unknown command %q: did you mean %s? (exa-agent --help lists them)", a, near) end
  usage("unknown command %q (exa-agent --help lists them)", a)
end

--- argv -> {cmd=, pos = {...}, o = {flag = value}, mock=, json=, help=, version=, api=}
local function parse(argv)
  local r = { pos = {}, o = {} }
  local by_name = {}
  local i = 1
  local only_pos = false
  while i <= #argv do
    local a = argv[i]
    if r.cmd == "mock" and a ~= "--detach" and a ~= "--help" and a ~= "-h" then
      r.pos[#r.pos + 1] = a -- the simulator's own flags, passed through
    elseif only_pos or a == "-" or string_sub(a, 1, 1) ~= "-" then
      if not r.cmd then
        r.cmd = a
        if not COMMANDS[a] and a ~= "help" then unknown_command(a) end
        if COMMANDS[a] then
          for _, f in ipairs(COMMANDS[a].flags) do by_name[f[1]] = f end
        end
      else
        r.pos[#r.pos + 1] = a
      end
    elseif a == "--" then
      only_pos = true
    else
      local name, inline = string_match(a, "^%-%-([%w%-]+)=(.*)$")
      if not name then name = string_match(a, "^%-%-([%w%-]+)$") end
      if a == "-h" then name = "help" end
      if not name then usage("bad flag %q", a) end
      local function value()
        local v = inline
        if v == nil then
          i = i + 1
          v = argv[i]
        end
        return v
      end
      if name == "help" then r.help = true
      elseif name == "mock" then r.mock = true
      elseif name == "api" then
        local v = value()
        if v ~= "beta" and v ~= "post-beta" then usage("--api must be beta or post-beta, got %q", tostring(v)) end
        r.api = v
      elseif name == "header" then
        local v = value()
        local hk, hv = string_match(v or "", "^([^:%s][^:]*):%s*(.*)$")
        if not hk then usage("--header needs \"Name: value\", got %q", tostring(v)) end
        r.headers = r.headers or {}
        r.headers[hk] = hv
      elseif name == "version" and not r.cmd then r.version = true
      elseif name == "json" and (not r.cmd or by_name.json) then r.json = true
      else
        local f = by_name[name]
        if not f then unknown_flag(name, r.cmd) end
        local kind = f[2]
        if kind == "bool" then
          if inline then usage("--%s takes no value", name) end
          r.o[name] = true
        else
          local v = value()
          if v == nil then usage("--%s needs a value (%s)", name, f[3]) end
          if kind == "number" then
            local n = tonumber(v)
            if not n or n ~= n or n == math_huge or n < 0 then
              usage("--%s must be a number >= 0, got %q", name, v)
            end
            v = n
          end
          if kind == "list" then
            r.o[name] = r.o[name] or {}
            r.o[name][#r.o[name] + 1] = v
          else
            r.o[name] = v
          end
        end
      end
    end
    i = i + 1
  end
  return r
end

-- Inputs ---------------------------------------------------------------------

local function read_input(path, flag, stdin_used)
  if path == "-" then
    if stdin_used.by then usage("--%s and --%s cannot both read stdin", stdin_used.by, flag) end
    stdin_used.by = flag
  end
  local s, err = proc.read_file(path)
  if not s then usage("--%s %s: cannot read: %s", flag, path, tostring(err)) end
  return s
end

local function json_error(flag, path, msg)
  usage("--%s %s: invalid JSON: %s", flag, path, tostring(msg))
end

local function read_schema(path, stdin_used)
  local s = read_input(path, "schema", stdin_used)
  local v, err = exa.json_decode(s)
  if v == nil then json_error("schema", path, err) end
  if type(v) ~= "table" or exa.is_array(v) then usage("--schema %s: not a JSON object (a JSON Schema)", path) end
  return v
end

local function read_rows(path, flag, stdin_used)
  local s = read_input(path, flag, stdin_used)
  local rows = exa.array()
  if string_find(s, "^%s*%[") then
    local v, err = exa.json_decode(s)
    if v == nil then json_error(flag, path, err) end
    for i, row in ipairs(v) do
      if type(row) ~= "table" or exa.is_array(row) then usage("--%s %s: item %d is not a JSON object", flag, path, i) end
      rows[#rows + 1] = row
    end
    return rows
  end
  local n = 0
  for line in string_gmatch(s .. "\n", "([^\n]*)\n") do
    n = n + 1
    if not string_find(line, "^%s*$") then
      local v, err = exa.json_decode(line)
      if v == nil then usage("--%s %s line %d: invalid JSON: %s", flag, path, n, tostring(err)) end
      if type(v) ~= "table" or exa.is_array(v) then usage("--%s %s line %d: not a JSON object", flag, path, n) end
      rows[#rows + 1] = v
    end
  end
  return rows
end

--- The create params of run/create/estimate, checked by the library (exit 2).
--- api: "beta" or "post-beta" (--api).
local function build_params(o, query, api_name)
  local stdin_used = {}
  local from_stdin = {}
  for _, f in ipairs{ "schema", "input", "exclude" } do
    if o[f] == "-" then from_stdin[#from_stdin + 1] = "--" .. f end
  end
  if #from_stdin > 1 then usage("%s cannot all read stdin (-)", table_concat(from_stdin, " and ")) end
  local p = { query = query }
  if o.effort then
    if o.effort == "" then usage("--effort needs a name") end
    p.effort = o.effort
  end
  if o.schema then p.outputSchema = read_schema(o.schema, stdin_used) end
  if o.input or o.exclude then
    p.input = {}
    if o.input then p.input.data = read_rows(o.input, "input", stdin_used) end
    if o.exclude then p.input.exclusion = read_rows(o.exclude, "exclude", stdin_used) end
  end
  if o.system then p.systemPrompt = o.system end
  if o.previous then p.previousRunId = o.previous end
  if o.metadata then
    p.metadata = {}
    for _, kv in ipairs(o.metadata) do
      local k, v = string_match(kv, "^([^=]+)=(.*)$")
      if not k then usage("--metadata needs KEY=VALUE, got %q", kv) end
      p.metadata[k] = v
    end
  end
  -- the beta API ignores budget.maxCostDollars; the post-beta API enforces it from $1 to $100: sent
  -- there when the cap fits that range (the client's own cap, exa.new{budget}, holds either way)
  if o.budget and api_name == "post-beta" and o.budget >= 1 then
    p.budget = { maxCostDollars = math_min(o.budget, 100) }
  end
  if o["data-source"] then
    p.dataSources = exa.array()
    for _, provider in ipairs(o["data-source"]) do p.dataSources[#p.dataSources + 1] = { provider = provider } end
  end
  exa.estimate(p, { api = api_name }) -- the library's checks of every field: a validation error exits 2
  return p
end

-- Connection -----------------------------------------------------------------

local function random_key()
  math_randomseed(os_time() + math_floor(os_clock() * 1e6))
  local t = {}
  for i = 1, 24 do t[i] = string_char(97 + math_random(0, 25)) end
  return "mock-" .. table_concat(t)
end

local function split_words(s)
  local list = {}
  for w in string_gmatch(s or "", "%S+") do list[#list + 1] = w end
  return list
end

local function mock_bin(env)
  local bin = env.bin_dir and (env.bin_dir .. "/exa-agent-mock")
  if not bin or not proc.read_file(bin) then bin = "exa-agent-mock" end
  return bin
end

-- {url=, key=, mock = {pid=, ...} or nil}
local function connect(r, env)
  if not r.mock then
    local key = os_getenv("EXA_API_KEY")
    if key == nil or key == "" then
      say("no API key: set EXA_API_KEY, or add --mock to try it against the simulator (no key, no money)")
      return nil, EXIT.usage
    end
    return { key = key, url = nil }
  end
  local key = random_key()
  local args = split_words(os_getenv("EXA_AGENT_MOCK_ARGS"))
  if r.api == "post-beta" then
    args[#args + 1] = "--api"
    args[#args + 1] = "post-beta"
  end
  local m, err = proc.start_mock(mock_bin(env), key, args)
  if not m then
    say("--mock: ", err)
    return nil, EXIT.api
  end
  say("--mock: simulator ", m.line, " (pid ", tostring(m.pid), ")")
  return { key = key, url = m.url, mock = m }
end

local function disconnect(conn)
  if conn and conn.mock then
    local pid = conn.mock.pid
    conn.mock = nil
    proc.stop(pid)
  end
end

-- A command on the loop ------------------------------------------------------

-- ctl: what the command's tasks share: {loop=, signal = first signal's name,
-- on_signal = fn(name) (the command's reaction), done = true (stop driving),
-- cancelling = the task that cancels the run (driven to its end too),
-- exit = fn(code) (exit at once, simulator stopped)}.

--- Run body(client, ctl) in a task on a new built-in loop, with signals as
--- loop events; returns body's exit status, or the signal's.
local function on_loop(r, conn, body)
  local loop = exa.loop()
  local copts = { api_key = conn.key, base_url = conn.url, headers = r.headers, loop = loop, api = r.api or "beta" }
  if r.o.budget then copts.budget = { max_dollars = r.o.budget } end
  local client = exa.new(copts)
  local ctl = { loop = loop }
  local sigs = loop:signals(SIGNALS, { "HUP" }) -- under nohup, SIGHUP stays ignored
  function ctl.exit(code)
    pcall(sigs.close, sigs)
    pcall(disconnect, conn)
    io_stderr:flush()
    os_exit(code)
  end
  local function signalled(name)
    -- a closed stdout is one event however many writes (and SIGPIPEs) find it so
    if name == "PIPE" and ctl.signal then return end
    if ctl.signal then -- the second: at once
      say(SIG_NAME[name] or name, " again: exiting now")
      ctl.exit(EXIT[name])
    end
    ctl.signal = name
    if ctl.on_signal then
      ctl.on_signal(name)
    else
      if name ~= "PIPE" then say("interrupted (", SIG_NAME[name], ")") end -- a reader gone (| head) is no news
      ctl.done = true
    end
  end
  loop:spawn(function()
    while true do
      local name = sigs:next()
      if not name then return end
      signalled(name)
    end
  end)
  stdout_closed = function() signalled("PIPE") end
  local main = loop:spawn(body, client, ctl)
  local ok, err = pcall(function()
    -- until the command is done, and the cancel it sent (if any) has its answer
    local function finished()
      return ctl.done or (main:done() and not (ctl.cancelling and not ctl.cancelling:done()))
    end
    while true do
      loop:run_runnable()
      if finished() then break end
      loop:step() -- waits for what the tasks wait for (transfers, timers, signals)
    end
  end)
  stdout_closed = nil
  sigs:close()
  if not ok then error(err, 0) end
  if ctl.signal then
    if main:done() then pcall(main.wait, main) end -- its error, if any, is not the story: the signal is
    return EXIT[ctl.signal]
  end
  return main:wait()
end

-- The run command -------------------------------------------------------------

-- The outcome of a run for people (or --json), and its exit status.
local function finish_run(run, r)
  if r.json then
    if r.o["no-stream"] or r.cmd == "wait" then json_out(run) end
  elseif run.status == "completed" then
    out(render.run(run))
  end
  if run.status == "failed" then
    if not r.json then say("run ", tostring(run.id), " failed", type(run.stopReason) == "string"
      and (" (" .. run.stopReason .. ")") or "") end
    return EXIT.failed
  elseif run.status == "cancelled" then
    if not r.json then say("run ", tostring(run.id), " was cancelled") end
    return EXIT.cancelled
  elseif run.stopReason == "stopped" then
    if not r.json then say("run ", tostring(run.id), " was stopped early") end
    return EXIT.cancelled
  end
  return EXIT.ok
end

-- The final event of a streamed run -> exit status.
local function finish_stream(st, r)
  local ev = st.final
  if not ev then
    say("the event stream ended before the run did", st.run_id and (": exa-agent get " .. st.run_id) or "")
    return EXIT.api
  end
  local d = type(ev.data) == "table" and ev.data or {}
  if ev.event == "agent_run.completed" then return finish_run(d, r) end
  if ev.event == "agent_run.failed" then
    local e = type(d.error) == "table" and d.error or {}
    if not r.json then
      say("run ", tostring(d.id or st.run_id), " failed: ", tostring(e.code or "?"), ": ", tostring(e.message or ""))
    end
    return EXIT.failed
  end
  if not r.json then say("run ", tostring(d.id or st.run_id), " was cancelled") end
  return EXIT.cancelled
end

local function cmd_run(r, client, ctl, params)
  local loop = ctl.loop
  local progress = render.progress(proc.stderr_is_tty(), clock.now)
  local st = { progress = progress }

  -- A signal: cancel the run once its id is known (unless --detach), then
  -- stop driving once the run's end is seen (or the cancel failed).
  local function cancel()
    if ctl.cancelling or not ctl.signal or not st.run_id or st.ended then return end
    ctl.cancelling = loop:spawn(function()
      local ok, res = ypcall(client.runs.cancel, client.runs, st.run_id)
      progress:clear()
      local how = SIG_NAME[ctl.signal]
      if ok and type(res) == "table" and res.status == "cancelled" then
        say("interrupted (", how, "): cancelled run ", st.run_id)
      elseif ok then
        say("interrupted (", how, "): run ", st.run_id, " had already ended (", tostring(res.status), ")")
      else
        say("interrupted (", how, "): could not cancel run ", st.run_id, ": ", describe_error(res))
      end
      if not ok then
        ctl.done = true
      else
        -- the run's own end (on the stream, or at the next poll) ends the command; if it never
        -- shows, the command ends anyway
        loop:spawn(function()
          loop:sleep(10)
          ctl.done = true
        end)
      end
    end)
  end
  function ctl.on_signal(name)
    progress:clear()
    if r.o.detach then
      if st.run_id then
        say("interrupted (", SIG_NAME[name], "); run ", st.run_id, " goes on (--detach): exa-agent get ", st.run_id)
        if r.mock then say("(the simulator stops now, and the run with it)") end
      else
        say("interrupted (", SIG_NAME[name], ") before the run was created")
      end
      ctl.done = true
    elseif st.ended then
      say("interrupted (", SIG_NAME[name], "): run ", tostring(st.run_id), " had already ended")
      ctl.done = true
    elseif not st.run_id then
      say("interrupted (", SIG_NAME[name], "): the create is on its way; cancelling the run once it exists")
    end
    cancel()
  end
  local function got_id(id)
    if st.run_id or type(id) ~= "string" then return end
    st.run_id = id
    progress.id = id
    cancel() -- a signal came while the create was on its way
  end

  if r.o["no-stream"] then
    local run = client.runs:create(params)
    got_id(run.id)
    progress.status = run.status
    while not TERMINAL[run.status] do
      progress:draw()
      run = client.runs:wait(run.id, { interval = r.o.interval })
    end
    st.ended = true
    progress:clear()
    return finish_run(run, r)
  end

  local s = client.runs:stream(params)
  while true do
    local ev = s:next() -- not a generic for: PUC 5.1 cannot yield across one
    if not ev then break end
    progress:event(ev)
    local d = type(ev.data) == "table" and ev.data or {}
    got_id(s.run_id or d.id)
    if exa.TERMINAL_EVENTS[ev.event] then
      st.final = ev
      st.ended = true
    end
    if r.json then json_out{ id = ev.id, event = ev.event, data = ev.data } end
    progress:draw()
  end
  progress:clear()
  return finish_stream(st, r)
end

--- `create`: the run, id first, at once.
local function cmd_create(r, client, params)
  local run = client.runs:create(params)
  if r.json then
    -- the id first in the object too, for `head -c` and people
    local rest = {}
    for k, v in pairs(run) do if k ~= "id" then rest[k] = v end end
    local tail = render.json_line(rest)
    out('{"id":' .. render.json_line(run.id) .. (tail == "{}" and "}" or ("," .. string_sub(tail, 2))) .. "\n")
  else
    out(tostring(run.id) .. "\n")
    out(string_format("status   %s\ncreated  %s\nfollow   exa-agent wait %s   (or: replay, cancel)\n",
      tostring(run.status), tostring(run.createdAt), tostring(run.id)))
  end
  return EXIT.ok
end

-- The other commands ---------------------------------------------------------

local function need_id(r)
  local id = r.pos[1]
  if not id then usage("%s needs a RUN_ID (exa-agent %s --help)", r.cmd, r.cmd) end
  if #r.pos > 1 then usage("%s takes one RUN_ID, got %d arguments", r.cmd, #r.pos) end
  return id
end

local function cmd_list(r, client)
  local limit = r.o.limit
  local header = not r.json
  local function show(run)
    if header then
      out(render.list_header() .. "\n")
      header = false
    end
    if r.json then json_out(run) else out(render.list_row(run) .. "\n") end
  end
  if r.o.all then
    local it = client.runs:iter{ limit = limit or 100 }
    while true do -- not a generic for: PUC 5.1 cannot yield across one
      local run = it()
      if run == nil then break end
      show(run)
    end
  else
    local page = client.runs:list{ limit = limit or 20 }
    for _, run in ipairs(page.data or {}) do show(run) end
    if not r.json and page.hasMore == true then say("more runs: exa-agent list --all") end
  end
  if header then out("no runs\n") end
  return EXIT.ok
end

local function cmd_events(r, client, id)
  local it
  if r.cmd == "replay" then
    it = client.runs:replay(id, { last_event_id = r.o.after })
  else
    it = client.runs:iter_events(id, { limit = 100 })
  end
  while true do
    local ev = it()
    if ev == nil then break end
    if r.cmd == "replay" then ev = { id = ev.id, event = ev.event, data = ev.data } end
    if r.json then json_out(ev) else out(render.event(ev) .. "\n") end
  end
  return EXIT.ok
end

local function cmd_one(r, client, id)
  local ok, res = ypcall(client.runs[r.cmd], client.runs, id)
  if not ok then
    -- the beta API has no stop endpoint: its 404 names a missing route, not a missing run
    if r.cmd == "stop" and (r.api or "beta") == "beta" and exa.is_error(res) and res.status == 404 then
      res.message = tostring(res.message) .. " (stop is a post-beta endpoint: try --api post-beta)"
    end
    error(res, 0)
  end
  if r.json then
    json_out(res)
  elseif r.cmd == "get" then
    out(render.run(res, { header = true }))
  elseif r.cmd == "delete" then
    out(string_format("deleted run %s\n", tostring(res.id or id)))
  else
    out(string_format("%s: run %s is %s%s\n", r.cmd, tostring(res.id), tostring(res.status),
      type(res.stopReason) == "string" and (" (" .. res.stopReason .. ")") or ""))
  end
  return EXIT.ok
end

local function cmd_wait(r, client, id)
  local run = client.runs:wait(id, { timeout = r.o.timeout, interval = r.o.interval })
  if not r.json and run.status == "completed" then
    out(render.run(run, { header = true }))
  end
  if r.json then json_out(run) end
  if run.status == "failed" then
    say("run ", id, " failed")
    return EXIT.failed
  elseif run.status == "cancelled" or run.stopReason == "stopped" then
    say("run ", id, run.status == "cancelled" and " was cancelled" or " was stopped early")
    return EXIT.cancelled
  end
  return EXIT.ok
end

local function cmd_estimate(r, params)
  local est = exa.estimate(params, { api = r.api or "beta" })
  if r.json then
    json_out{ min_dollars = est.min_dollars, max_dollars = est.max_dollars ~= math_huge and est.max_dollars or exa.null,
      unbounded = est.max_dollars == math_huge, effort = est.effort,
      emails = est.emails ~= math_huge and est.emails or exa.null,
      phone_numbers = est.phone_numbers ~= math_huge and est.phone_numbers or exa.null }
  else
    out(render.estimate(est))
  end
  return EXIT.ok
end

-- The simulator for a shell session ------------------------------------------

local function export_lines(url, key, pid)
  local t = { "export EXA_BASE_URL=" .. proc.quote(url), "export EXA_API_KEY=" .. proc.quote(key) }
  if pid then t[#t + 1] = "export EXA_AGENT_MOCK_PID=" .. tostring(pid) end
  return table_concat(t, "\n") .. "\n"
end

local function cmd_mock(r, env)
  local key = random_key()
  local args = {}
  for _, a in ipairs(r.pos) do args[#args + 1] = a end
  if r.api == "post-beta" then
    args[#args + 1] = "--api"
    args[#args + 1] = "post-beta"
  end
  local m, err = proc.start_mock(mock_bin(env), key, args, { detach = r.o.detach })
  if not m then
    say("mock: ", err)
    return EXIT.api
  end
  if r.o.detach then
    out(export_lines(m.url, key, m.pid))
    out("# the simulator (pid " .. m.pid .. ") runs in the background: kill $EXA_AGENT_MOCK_PID stops it\n")
    return EXIT.ok
  end
  local loop = exa.loop()
  local sigs = loop:signals({ "INT", "TERM", "HUP" }, { "HUP" })
  out(export_lines(m.url, key))
  out("# the simulator (pid " .. m.pid .. ") serves until Ctrl-C (or SIGTERM, SIGHUP) here; paste the lines "
    .. "above into another shell\n")
  local ok, name = pcall(function() return loop:spawn(sigs.next, sigs):wait() end)
  sigs:close()
  proc.stop(m.pid)
  say("mock: ", ok and (SIG_NAME[name] or tostring(name)) or tostring(name), ": simulator stopped")
  return EXIT.ok
end

-- Main -----------------------------------------------------------------------

local function main(argv, env, conn_box)
  local r = parse(argv)
  if r.version then
    out("exa-agent " .. exa.VERSION .. "\n")
    return EXIT.ok
  end
  if r.cmd == "help" then
    local name = r.pos[1]
    if name and not COMMANDS[name] then unknown_command(name) end
    out(name and command_help(name) or global_help())
    return EXIT.ok
  end
  if r.help or not r.cmd then
    if not r.cmd and not r.help then
      io_stderr:write(global_help())
      return EXIT.usage
    end
    out(r.cmd and command_help(r.cmd) or global_help())
    return EXIT.ok
  end
  if r.cmd == "mock" then return cmd_mock(r, env) end
  local c = COMMANDS[r.cmd]

  -- Everything the user gave is checked before any process or request.
  local params, id
  if r.cmd == "run" or r.cmd == "create" or r.cmd == "estimate" then
    if #r.pos > 1 then usage("%s takes one QUERY (quote it), got %d arguments", r.cmd, #r.pos) end
    local q = r.pos[1]
    if r.cmd ~= "estimate" and (not q or q == "") then usage("%s needs a QUERY (exa-agent %s --help)", r.cmd, r.cmd) end
    params = build_params(r.o, q or "(estimate)", r.api or "beta")
    if r.cmd ~= "estimate" and r.o.budget then
      -- the client's budget rule (exa.new{budget, api}) once before a simulator starts; the
      -- client applies the same rule again to the create it sends
      exa.check_budget(params, r.o.budget, { api = r.api or "beta" })
    end
  elseif c.args == "RUN_ID" then
    id = validate.id(need_id(r), "RUN_ID")
  elseif #r.pos > 0 then
    usage("%s takes no arguments, got %q", r.cmd, r.pos[1])
  end
  -- the library's own rules for list and wait, under the flags' names
  validate.limit(r.o.limit, "--limit")
  if r.o.timeout then validate.seconds(r.o.timeout, "--timeout", 0) end
  if r.o.interval then validate.seconds(r.o.interval, "--interval", validate.MIN_TIMEOUT) end
  if r.cmd == "estimate" then return cmd_estimate(r, params) end

  local conn, code = connect(r, env)
  if not conn then return code end
  conn_box.conn = conn
  return on_loop(r, conn, function(client, ctl)
    if r.cmd == "run" then return cmd_run(r, client, ctl, params) end
    if r.cmd == "create" then return cmd_create(r, client, params) end
    if r.cmd == "list" then return cmd_list(r, client) end
    if r.cmd == "events" or r.cmd == "replay" then return cmd_events(r, client, id) end
    if r.cmd == "wait" then return cmd_wait(r, client, id) end
    return cmd_one(r, client, id)
  end)
end

--- Run the command line; returns the exit status.
function M.main(argv, env)
  env = env or {}
  local box = {}
  local ok, res = pcall(main, argv or {}, env, box)
  local iok, ierr = pcall(disconnect, box.conn) -- the simulator stops whatever happened
  if not iok and not is_interrupt(ierr) then say(tostring(ierr)) end
  if ok then return res end
  if getmetatable(res) == Usage then
    say(res.message)
    return EXIT.usage
  end
  if is_interrupt(res) then
    say("interrupted")
    return EXIT.interrupted
  end
  if exa.is_error(res) then
    say(describe_error(res))
    return exit_for(res)
  end
  say("internal error: ", tostring(res))
  return EXIT.api
end

M.parse = parse

return M
