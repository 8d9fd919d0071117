-- exa.cli: the exa-agent command line (bin/exa-agent). Uses the public
-- library only (exa.new, client.runs:*, exa.estimate, exa.citations,
-- exa.check_output); lua/exa/cli/ holds its printing and its processes.
--
--   require("exa.cli").main(argv, {lua = interpreter, script = path, bin_dir = dir}) --> exit status
local type, tostring, tonumber, pairs, ipairs, pcall, error, setmetatable, getmetatable, select =
  type, tostring, tonumber, pairs, ipairs, pcall, error, setmetatable, getmetatable, select
local math_floor = math.floor
local string_format, string_match, string_find, string_gsub, string_sub, string_gmatch, string_char =
  string.format, string.match, string.find, string.gsub, string.sub, string.gmatch, string.char
local assert_ = assert
local table_concat = table.concat
local io_stdout, io_stderr = io.stdout, io.stderr
local os_getenv, os_time, os_clock = os.getenv, os.time, os.clock
local math_huge, math_random, math_randomseed = math.huge, math.random, math.randomseed

local exa = require "exa"
local clock = require "exa.clock"
local errors = require "exa.errors"
local validate = require "exa.validate"
local ledger = require "exa.ledger"
local api = require "exa.api"
local render = require "exa.cli.render"
local proc = require "exa.cli.proc"

local M = {}

local EXIT = { ok = 0, api = 1, usage = 2, failed = 3, cancelled = 4, interrupted = 130 }
M.EXIT = EXIT

local TERMINAL = exa.TERMINAL_STATUS
local POLL = 0.05 -- seconds between two looks at the worker's output

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
  return (string_gsub(s, "[\r\n]+", " "))
end

local function exit_for(e)
  if exa.is_error(e) and (e.kind == "validation" or e.kind == "budget") then return EXIT.usage end
  return EXIT.api
end

local function out(s)
  io_stdout:write(s)
  io_stdout:flush()
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
  budget = { "budget", "number", "DOLLARS", "refuse a run that may cost more (exa.estimate) and send\n"
    .. string.rep(" ", 25) .. "budget.maxCostDollars (the post-beta API caps auto and max with it)" },
  source = { "data-source", "list", "PROVIDER", "dataSources entry (post-beta API; repeatable)" },
  no_stream = { "no-stream", "bool", nil, "create the run, then poll it (no live events)" },
  detach = { "detach", "bool", nil, "Ctrl-C leaves the run going instead of cancelling it" },
  interval = { "interval", "number", "SECONDS", "seconds between polls (default 1)" },
  timeout = { "timeout", "number", "SECONDS", "give up waiting after this long (exit 1; the run goes on)" },
  limit = { "limit", "number", "N", "runs per page, 1-100 (default 20)" },
  all = { "all", "bool", nil, "every run, newest first, page after page" },
  after = { "after", "string", "EVENT_ID", "only the events after this one (Last-Event-ID)" },
  json = { "json", "bool", nil, "NDJSON on stdout: one JSON object per line" },
}

local RUN_FLAGS = { F.effort, F.schema, F.input, F.exclude, F.system, F.previous, F.metadata, F.budget,
  F.source, F.no_stream, F.detach, F.interval, F.json }

local COMMANDS = {
  run = { args = "QUERY", flags = RUN_FLAGS, api = true,
    summary = "start a run, follow it live, print its answer, structured result, citations and cost",
    more = "Exit status: 0 completed, 1 API or transport error, 2 usage error, 3 run failed, 4 run cancelled "
      .. "or stopped, 130 interrupted (Ctrl-C cancels the run unless --detach)." },
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
}
local ORDER = { "run", "estimate", "list", "get", "events", "replay", "cancel", "stop", "delete", "wait" }

local GLOBAL_HELP = [[
usage: exa-agent [--mock] COMMAND [ARGS] [--json]

The Exa Agent API from the command line.

Commands:
%s
Global flags:
  --mock        start the bundled simulator (bin/exa-agent-mock: Lua 5.4 + lua-cqueues) on a free
                loopback port for this one command: no key, no money. Extra simulator flags in
                EXA_AGENT_MOCK_ARGS, e.g. "--speed 20" or "--api post-beta".
  --json        NDJSON on stdout (each event of a run, each run of a list), for jq
  --header "Name: value"   send this header with every request (repeatable), e.g. a simulator
                fault: --header "X-Mock-Fault: run-fail"
  -h, --help    this help; exa-agent COMMAND --help for a command's
  --version     the version

Environment: EXA_API_KEY (required without --mock), EXA_BASE_URL (default https://api.exa.ai),
EXA_AGENT_PROGRESS=1|0 (force the live progress line on stderr on or off; default: when stderr is a
terminal).
Exit status: 0 success (a run completed), 1 API or transport error, 2 usage error (nothing was sent),
3 run failed, 4 run cancelled or stopped, 130 interrupted.
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
  lines[#lines + 1] = string_format("  %-22s %s", "--mock", "use the bundled simulator (see exa-agent --help)")
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

--- argv -> {cmd=, pos = {...}, o = {flag = value}, mock=, json=, help=, version=}
local function parse(argv)
  local r = { pos = {}, o = {} }
  local by_name = {}
  local i = 1
  local only_pos = false
  while i <= #argv do
    local a = argv[i]
    if only_pos or a == "-" or string_sub(a, 1, 1) ~= "-" then
      if not r.cmd then
        r.cmd = a
        if a ~= "__worker" and not COMMANDS[a] and a ~= "help" then
          usage("unknown command %q (exa-agent --help lists them)", a)
        end
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
      local where = r.cmd and (" for " .. r.cmd) or ""
      if name == "help" then r.help = true
      elseif name == "mock" then r.mock = true
      elseif name == "header" then
        local v = inline
        if v == nil then
          i = i + 1
          v = argv[i]
        end
        local hk, hv = string_match(v or "", "^([^:%s][^:]*):%s*(.*)$")
        if not hk then usage("--header needs \"Name: value\", got %q", tostring(v)) end
        r.headers = r.headers or {}
        r.headers[hk] = hv
      elseif name == "version" and not r.cmd then r.version = true
      elseif name == "json" and (not r.cmd or by_name.json) then r.json = true
      else
        local f = by_name[name]
        if not f then usage("unknown flag --%s%s (exa-agent %s--help)", name, where, r.cmd and (r.cmd .. " ") or "") end
        local kind = f[2]
        if kind == "bool" then
          if inline then usage("--%s takes no value", name) end
          r.o[name] = true
        else
          local v = inline
          if v == nil then
            i = i + 1
            v = argv[i]
            if v == nil then usage("--%s needs a value (%s)", name, f[3]) end
          end
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

--- The create params of run/estimate, checked by the library (exit 2).
local function build_params(o, query)
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
  if o.budget then p.budget = { maxCostDollars = o.budget } end
  if o["data-source"] then
    p.dataSources = exa.array()
    for _, provider in ipairs(o["data-source"]) do p.dataSources[#p.dataSources + 1] = { provider = provider } end
  end
  exa.estimate(p) -- the library's checks of every field: a validation error exits 2
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

-- {url=, key=, mock = {pid=, ...} or nil}
local function connect(r, env)
  if not r.mock then
    return { key = os_getenv("EXA_API_KEY"), url = nil }
  end
  local bin = env.bin_dir and (env.bin_dir .. "/exa-agent-mock")
  if not bin or not proc.read_file(bin) then bin = "exa-agent-mock" end
  local key = random_key()
  local m, err = proc.start_mock(bin, key, split_words(os_getenv("EXA_AGENT_MOCK_ARGS")))
  if not m then
    say("--mock: ", err)
    return nil, EXIT.api
  end
  say("--mock: simulator ", m.line, " (pid ", tostring(m.pid), ")")
  return { key = key, url = m.url, mock = m }
end

local function disconnect(conn)
  if conn and conn.mock then
    proc.kill(conn.mock.pid)
    local deadline = clock.now() + 3
    while proc.alive(conn.mock.pid) and clock.now() < deadline do clock.sleep(0.02) end
    conn.mock = nil
  end
end

-- The run command: a worker does the HTTP ------------------------------------

local function error_fields(e)
  if exa.is_error(e) then
    return { kind = e.kind, status = e.status, code = e.code, type = e.type, message = e.message,
      request_id = e.request_id, field = e.field }
  end
  return { kind = "internal", message = tostring(e) }
end

-- A record from the worker's file as an error object again.
local function error_object(f)
  local e = {}
  for k, v in pairs(f) do if v ~= exa.null then e[k] = v end end
  return errors.new(e)
end

--- `exa-agent __worker JOB`: run the job the command wrote, one JSON record
--- per line on stdout: {event=}, {run=}, {error=}, then {done=true}.
function M.worker(job_path)
  local function put(rec)
    io_stdout:write(render.json_line(rec), "\n")
    io_stdout:flush()
  end
  local ok, err = pcall(function()
    local s = assert_(proc.read_file(job_path))
    proc.remove(job_path)
    local job = assert_(exa.json_decode(s))
    local client = exa.new{ api_key = job.api_key, base_url = job.base_url, headers = job.headers,
      budget = type(job.budget) == "number" and { max_dollars = job.budget } or nil }
    if job.stream then
      for ev in client.runs:stream(job.params) do put{ event = { id = ev.id, event = ev.event, data = ev.data } } end
    else
      local run = client.runs:create(job.params)
      put{ run = run }
      local last = run.status
      while not TERMINAL[run.status] do
        clock.sleep(job.interval or 1)
        run = client.runs:get(run.id)
        if run.status ~= last then
          put{ run = run }
          last = run.status
        end
      end
    end
  end)
  if not ok then put{ error = error_fields(err) } end
  put{ done = true }
  return 0
end

-- What the command knows of the worker's run.
local function new_state(pid, tail, progress, json)
  return { pid = pid, tail = tail, progress = progress, json = json, done = false }
end

local function handle(st, line)
  local rec = exa.json_decode(line)
  if type(rec) ~= "table" then return end
  st.heard = true
  if rec.event then
    local ev = rec.event
    st.progress:event(ev)
    if st.json then json_out(ev) end
    local d = type(ev.data) == "table" and ev.data or {}
    if type(d.id) == "string" and not st.run_id then st.run_id = d.id end
    if exa.TERMINAL_EVENTS[ev.event] then st.final = ev end
  elseif rec.run then
    local run = rec.run
    st.run = run
    if type(run.id) == "string" then st.run_id = run.id end
    st.progress.id = run.id
    st.progress.status = run.status
  elseif rec.error then
    st.err = error_object(rec.error)
  elseif rec.done then
    st.done = true
  end
end

-- Read the worker's records until it is done (or until stop() says so, or
-- max seconds pass). The one place the run command waits: in short sleeps,
-- so a SIGINT is seen within POLL seconds.
local function pump(st, stop, max)
  local deadline = max and (clock.now() + max)
  while true do
    for _, line in ipairs(st.tail:lines()) do handle(st, line) end
    if st.done or (stop and stop()) then return true end
    if not proc.alive(st.pid) then
      for _, line in ipairs(st.tail:lines()) do handle(st, line) end
      if not st.done then
        st.crashed = true
        st.done = true
      end
      return true
    end
    if deadline and clock.now() > deadline then return false end
    st.progress:draw()
    clock.sleep(POLL)
  end
end

-- Ctrl-C during run: cancel the run (unless --detach), say so, exit 130.
local function interrupted(st, r, client)
  st.progress:clear()
  if r.o.detach then
    proc.kill(st.pid)
    if st.run_id then
      say("interrupted; run ", st.run_id, " goes on (--detach): exa-agent get ", st.run_id)
      if r.mock then say("(the simulator stops now, and the run with it)") end
    else
      say("interrupted before the run was created")
    end
    return EXIT.interrupted
  end
  if not st.run_id and not st.done then
    pump(st, function() return st.run_id ~= nil end, 30) -- the create may be on its way
  end
  local ended = (st.final ~= nil) or (st.run and TERMINAL[st.run.status])
  if st.run_id and not ended then
    local ok, res = pcall(client.runs.cancel, client.runs, st.run_id)
    if ok and type(res) == "table" and res.status == "cancelled" then
      say("interrupted: cancelled run ", st.run_id)
    elseif ok then
      say("interrupted: run ", st.run_id, " had already ended (", tostring(res.status), ")")
    else
      say("interrupted: could not cancel run ", st.run_id, ": ", describe_error(res))
    end
    pump(st, nil, 10) -- the worker sees the run end, then stops
    st.progress:clear()
  elseif st.run_id then
    say("interrupted: run ", st.run_id, " had already ended")
  else
    say("interrupted before the run was created")
  end
  if proc.alive(st.pid) then proc.kill(st.pid) end
  return EXIT.interrupted
end

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

local function cmd_run(r, client, conn, env, params)
  local tmp = proc.scratch()
  local job_path, out_path, err_path = tmp.path("job.json"), tmp.path("out.ndjson"), tmp.path("err.txt")
  local st
  -- the worker deletes the job file (it holds the key) once it has read it; once it has said
  -- anything, the name is not ours any more (outside our directory, someone else's)
  local function cleanup() tmp.done(st and st.heard and { [job_path] = true } or nil) end
  local job = { api_key = conn.key, base_url = conn.url or client.base_url, params = params,
    stream = not r.o["no-stream"], interval = r.o.interval, budget = r.o.budget, headers = r.headers }
  local ok = proc.write_file(job_path, render.json_line(job))
  if not ok then
    cleanup()
    say("cannot write a temporary file")
    return EXIT.api
  end
  local pid, err = proc.spawn(env.lua, env.script, { "__worker", job_path }, out_path, err_path)
  if not pid then
    cleanup()
    say(err)
    return EXIT.api
  end
  local progress = render.progress(proc.stderr_is_tty(), clock.now)
  st = new_state(pid, proc.tail(out_path), progress, r.json)
  local pok, perr = pcall(pump, st)
  if not pok then
    if is_interrupt(perr) then
      local code = interrupted(st, r, client)
      cleanup()
      return code
    end
    proc.kill(pid)
    cleanup()
    error(perr, 0)
  end
  progress:clear()
  if st.crashed then
    local e = proc.read_file(err_path) or ""
    cleanup()
    say("the worker process stopped unexpectedly", e ~= "" and (": " .. render.one_line(e, 300)) or "")
    return EXIT.api
  end
  cleanup()
  if st.err then
    say(describe_error(st.err))
    return exit_for(st.err)
  end
  if r.o["no-stream"] then
    if not st.run or not TERMINAL[st.run.status] then
      say("the run did not end")
      return EXIT.api
    end
    return finish_run(st.run, r)
  end
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
    for run in client.runs:iter{ limit = limit or 100 } do show(run) end
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
  for ev in it do
    if r.cmd == "replay" then ev = { id = ev.id, event = ev.event, data = ev.data } end
    if r.json then json_out(ev) else out(render.event(ev) .. "\n") end
  end
  return EXIT.ok
end

local function cmd_one(r, client, id)
  local res = client.runs[r.cmd](client.runs, id)
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
  local run = client.runs:wait(id, { timeout = r.o.timeout, interval = r.o.interval or 1 })
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
  local est = exa.estimate(params)
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

-- Main -----------------------------------------------------------------------

local function main(argv, env, conn_box)
  local r = parse(argv)
  if r.cmd == "__worker" then return M.worker(r.pos[1]) end
  if r.version then
    out("exa-agent " .. exa.VERSION .. "\n")
    return EXIT.ok
  end
  if r.cmd == "help" then
    local name = r.pos[1]
    if name and not COMMANDS[name] then usage("unknown command %q", name) end
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
  local c = COMMANDS[r.cmd]

  -- Everything the user gave is checked before any process or request.
  local params, id
  if r.cmd == "run" or r.cmd == "estimate" then
    if #r.pos > 1 then usage("%s takes one QUERY (quote it), got %d arguments", r.cmd, #r.pos) end
    local q = r.pos[1]
    if r.cmd == "run" and (not q or q == "") then usage("run needs a QUERY (exa-agent run --help)") end
    params = build_params(r.o, q or "(estimate)")
    if r.cmd == "run" and r.o.budget then
      -- the library's own budget rule, before a simulator or worker starts (the worker checks again)
      ledger.new{ max_dollars = r.o.budget }:hold(params)
    end
  elseif c.args == "RUN_ID" then
    id = validate.id(need_id(r), "RUN_ID")
  elseif #r.pos > 0 then
    usage("%s takes no arguments, got %q", r.cmd, r.pos[1])
  end
  local limit = r.o.limit
  if limit and (limit ~= math_floor(limit) or limit < 1 or limit > 100) then
    usage("--limit must be an integer from 1 to 100")
  end
  if r.o.interval and r.o.interval <= 0 then usage("--interval must be a number > 0") end
  if r.cmd == "estimate" then return cmd_estimate(r, params) end

  local conn, code = connect(r, env)
  if not conn then return code end
  conn_box.conn = conn
  local client = exa.new{ api_key = conn.key, base_url = conn.url, headers = r.headers }
  if r.cmd == "run" then return cmd_run(r, client, conn, env, params) end
  if r.cmd == "list" then return cmd_list(r, client) end
  if r.cmd == "events" or r.cmd == "replay" then return cmd_events(r, client, id) end
  if r.cmd == "wait" then return cmd_wait(r, client, id) end
  return cmd_one(r, client, id)
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
