-- bin/exa-agent driven as a user drives it: a subprocess on the Lua running
-- this suite, against the simulator (EXA_BASE_URL) or with --mock; exit
-- statuses, NDJSON read back with jq, --help, bad input (exit 2, nothing
-- sent), and Ctrl-C (SIGINT to the process) during run.
local mock = require "helpers.mock"
local H = require "helpers.cli"

local q = mock.quote
local json = mock.json
local tmpfile, put, cli, spawn, until_true, jq, lines, alive =
  H.tmpfile, H.put, H.cli, H.spawn, H.until_true, H.jq, H.lines, H.alive

describe("exa-agent (the command line)", function()
  local srv, env
  setup(function()
    srv = mock.start{ "--speed", "100", "--api-key", "sk-cli-spec", "--max-active", "10" }
    env = { EXA_API_KEY = "sk-cli-spec", EXA_BASE_URL = srv.url }
  end)
  teardown(function()
    srv:stop()
    H.cleanup()
  end)

  local function api(method, path, body, headers)
    return srv:api(method, path, body, { key = "sk-cli-spec", headers = headers })
  end

  local function new_run(extra_headers, body)
    local _, _, run = api("POST", "/agent/runs", body or '{"query":"a spec run","effort":"low"}', extra_headers)
    assert.is_string(run.id)
    return run.id
  end

  describe("--help", function()
    it("shows the tool's help and each command's, exit 0", function()
      local code, out = cli("--help")
      assert.equal(0, code)
      assert.matches("usage: exa-agent", out, 1, true)
      for _, c in ipairs{ "run", "create", "estimate", "list", "get", "events", "replay", "cancel", "stop", "delete",
        "wait", "mock" } do
        assert.matches("\n  " .. c .. " ", out, 1, true)
        local c2, o2 = cli(c .. " --help")
        assert.equal(0, c2, c)
        assert.matches("usage: exa-agent " .. c, o2, 1, true)
        local c3, o3, e3 = cli("help " .. c)
        assert.equal(0, c3)
        assert.equal(o2, o3, e3)
      end
      for _, code in ipairs{ "SIGINT (Ctrl-C) 130", "SIGTERM 143", "SIGHUP 129", "141" } do
        assert.matches(code, out, 1, true) -- the signals' exit statuses are documented
      end
      local _, run_help = cli("run -h")
      assert.matches("SIGTERM 143", run_help, 1, true)
      for _, flag in ipairs{ "--effort", "--schema", "--input", "--exclude", "--system", "--previous", "--metadata",
        "--budget", "--no-stream", "--json", "--detach" } do
        assert.matches(flag, run_help, 1, true)
      end
    end)

    it("without a command: the help on stderr, exit 2", function()
      local code, out, err = cli("")
      assert.equal(2, code)
      assert.equal("", out)
      assert.matches("usage: exa-agent", err, 1, true)
    end)
  end)

  describe("bad input: one line, exit 2, nothing sent", function()
    local bad_json, bad_rows, schema_array, rows
    setup(function()
      bad_json, bad_rows, schema_array, rows = tmpfile(), tmpfile(), tmpfile(), tmpfile()
      put(bad_json, '{"type": "object",')
      put(bad_rows, '{"company": "Apple"}\n\n{"company": oops}\n')
      put(schema_array, '[1, 2]')
      put(rows, '{"company": "Apple"}\n[1]\n')
    end)
    teardown(function() os.remove(bad_json) os.remove(bad_rows) os.remove(schema_array) os.remove(rows) end)

    local cases = {
      { "frob", "unknown command" },
      { "run", "needs a QUERY" },
      { "run q --frob", "unknown flag --frob" },
      { "run q --effort", "needs a value" },
      { "run q --budget lots", "--budget must be a number" },
      { "run q --no-stream=yes", "takes no value" },
      { "run q --metadata novalue", "KEY=VALUE" },
      { "run q --schema /nonexistent/schema.json", "cannot read" },
      { "run q --input /nonexistent/rows.jsonl", "cannot read" },
      { "run q --schema BAD_JSON", "invalid JSON" },
      { "run q --schema SCHEMA_ARRAY", "not a JSON object" },
      { "run q --input BAD_ROWS", "line 3: invalid JSON" },
      { "run q --exclude ROWS", "line 2: not a JSON object" },
      { "run q --previous 'bad id!'", "previousRunId" },
      { "run q --schema - --input -", "cannot all read stdin" },
      { "get 'bad id!'", "RUN_ID" },
      { "get", "needs a RUN_ID" },
      { "cancel a b", "one RUN_ID" },
      { "list --limit 0", "--limit must be an integer" },
      { "list extra", "takes no arguments" },
      { "wait agent_run_x --interval 0", "--interval must be" },
      { "--header nocolon list", "--header needs" },
      { "run q --effort xhigh --budget 1", "budget" }, -- may cost $2: refused before the request
      { "run q --efort low", "unknown flag --efort for run: did you mean --effort?" },
      { "list --limt 5", "unknown flag --limt for list: did you mean --limit?" },
      { "run q --no-stram", "did you mean --no-stream?" },
      { "list --effort low", "--effort is not a flag of list" },
      { "runn q", "unknown command \"runn\": did you mean run?" },
      { "creat q", "did you mean create?" },
      { "--api beat list", "--api must be beta or post-beta" },
      { "create", "create needs a QUERY" },
      { "create q --efort low", "did you mean --effort?" },
      -- the budget is a hard cap (the library's rule, exa.check_budget), refused before sending
      { "run q --budget 0.05", "use a fixed effort" }, -- auto on beta: no ceiling
      { "--api beta run q --budget 0.05", "or the post-beta API (--api post-beta)" },
      { "run q --effort low --budget 0", "a budget of $0 refuses every run" },
      { "run q --effort minimal --budget 0", "a budget of $0 refuses every run" },
      { "create q --budget 0.05", "use a fixed effort" },
    }
    for _, case in ipairs(cases) do
      it(case[1], function()
        local args = case[1]:gsub("BAD_JSON", q(bad_json)):gsub("SCHEMA_ARRAY", q(schema_array))
          :gsub("BAD_ROWS", q(bad_rows)):gsub("ROWS", q(rows))
        local before = srv:stats()
        local code, out, err = cli(args, env)
        local after = srv:stats()
        assert.equal(2, code, err)
        assert.equal("", out)
        assert.equal(1, #lines(err), err)
        assert.matches("^exa%-agent: ", err)
        assert.matches(case[2], err, 1, true)
        assert.equal(before.requests + 1, after.requests) -- only the stats call itself
        assert.equal(before.runs, after.runs)
      end)
    end

    it("with --mock too: no simulator is started for bad input or a refused budget", function()
      local code, _, err = cli("--mock run q --schema " .. q(bad_json))
      assert.equal(2, code)
      assert.is_nil(err:find("simulator", 1, true))
      code, _, err = cli("--mock run q --effort high --budget 0.4")
      assert.equal(2, code)
      assert.equal(1, #lines(err))
      assert.matches("budget", err, 1, true)
    end)
  end)

  describe("run", function()
    it("--json: one event per line, jq reads every line, the last is agent_run.completed", function()
      local code, out, err = cli("run 'AI infrastructure Series A rounds' --effort low --json", env)
      assert.equal(0, code, err)
      local events, rc = jq(".event", out)
      assert.equal(0, rc)
      local names = lines(events)
      assert.equal("agent_run.created", names[1])
      assert.equal("agent_run.completed", names[#names])
      assert.equal(#lines(out), #names)
      local ids = lines((jq(".id", out)))
      for i, id in ipairs(ids) do assert.equal(tostring(i), id) end
      assert.equal("0.025", (jq("select(.event == \"agent_run.completed\") | .data.costDollars.total", out)):match("%S+"))
      assert.equal("", err) -- stderr is not a terminal: no progress line
    end)

    it("for people: the answer, the structured result, citations per field, the cost", function()
      local schema = tmpfile()
      put(schema, json.encode{ type = "object", required = { "companies" }, properties = {
        companies = { type = "array", maxItems = 3, items = { type = "object", required = { "name", "sourceUrl" },
          properties = { name = { type = "string" }, sourceUrl = { type = "string", format = "uri" } } } } } })
      local rows = tmpfile()
      put(rows, '{"name": "Acme Compute"}\n')
      local code, out, err = cli("run 'Find AI eval startups' --effort medium --schema " .. q(schema)
        .. " --exclude " .. q(rows) .. " --metadata ticket=OPS-12 --system 'be brief'", env)
      os.remove(schema)
      os.remove(rows)
      assert.equal(0, code, err)
      assert.matches("Simulated research for: Find AI eval startups", out, 1, true)
      assert.matches("Structured result:\n{\n  \"companies\": [", out, 1, true)
      assert.matches("Citations:\n  structured.companies[0].name", out, 1, true)
      assert.matches("    - .- <https://", out)
      assert.matches("completed (schema_satisfied); cost $0.1000: agent compute $0.0790 (790 ACU), search $0.0210",
        out, 1, true)
      -- what was sent
      local _, _, page = api("GET", "/agent/runs?limit=1")
      local req = page.data[1].request
      assert.equal("OPS-12", req.metadata.ticket)
      assert.equal("be brief", req.systemPrompt)
      assert.equal("Acme Compute", req.input.exclusion[1].name)
    end)

    it("--schema - reads stdin; --input rows become input.data", function()
      local schema, rows = tmpfile(), tmpfile()
      put(schema, '{"type":"array","items":{"type":"object","properties":'
        .. '{"company":{"type":"string"}}}}')
      put(rows, '{"company":"Apple"}\n{"company":"Zed"}\n')
      local code, out, err = cli("run 'executives' --no-stream --interval 0.05 --json --schema - --input "
        .. q(rows), env, schema)
      os.remove(schema)
      os.remove(rows)
      assert.equal(0, code, err)
      assert.equal(1, #lines(out)) -- --no-stream --json: the final run
      assert.equal("completed", (jq(".status", out)):match("%S+"))
      assert.equal("Apple\nZed", (jq(".request.input.data[].company", out)):gsub("%s+$", ""))
      assert.equal("2", (jq(".output.structured | length", out)):match("%S+"))
    end)

    it("exit 3 when the run fails, 1 on an API error, and never prints the key", function()
      local code, out, err = cli("--header 'X-Mock-Fault: run-fail' run 'doomed'", env)
      assert.equal(3, code)
      assert.equal("", out)
      assert.matches("failed: SERVER_ERROR", err, 1, true)
      code, out, err = cli("--header 'X-Mock-Fault: run-fail' run 'doomed' --no-stream --interval 0.05 --json", env)
      assert.equal(3, code)
      assert.equal("failed", (jq(".status", out)):match("%S+"))
      code, _, err = cli("run q --effort bogus", env) -- the client passes effort names through
      assert.equal(1, code)
      assert.matches("HTTP 400 INVALID_REQUEST", err, 1, true)
      code, _, err = cli("list", { EXA_API_KEY = "sk-wrong-key", EXA_BASE_URL = srv.url })
      assert.equal(1, code)
      assert.matches("authentication", err, 1, true)
      assert.is_nil(err:find("sk-wrong-key", 1, true))
      code, _, err = cli("list", { EXA_BASE_URL = srv.url })
      assert.equal(2, code)
      assert.matches("EXA_API_KEY", err, 1, true)
      -- a CLI user is pointed at what they can do, not at the library's exa.new
      assert.matches("add --mock", err, 1, true)
      assert.is_nil(err:find("exa.new", 1, true))
    end)

    it("exit 4 when someone cancels the run it follows", function()
      local h = spawn("--header 'X-Mock-Fault: run-seconds=3000' run 'long' --json", env)
      local id = until_true(function() return h.out():match('"id":"(agent_run_[%w]+)"') end)
      assert.is_string(id)
      local code = cli("cancel " .. id, env)
      assert.equal(0, code)
      assert.equal(4, h.wait(), h.err())
      local names = lines((jq(".event", h.out())))
      assert.equal("agent_run.cancelled", names[#names])
      h.cleanup()
    end)

    it("Ctrl-C (SIGINT) cancels the run it started, says so, exits 130", function()
      local h = spawn("--header 'X-Mock-Fault: run-seconds=3000' run 'interrupt me' --json", env)
      local id = until_true(function() return h.out():match('"id":"(agent_run_[%w]+)"') end)
      assert.is_string(id)
      os.execute("kill -INT " .. h.pid)
      assert.equal(130, h.wait(), h.err())
      assert.matches("exa-agent: interrupted (SIGINT): cancelled run " .. id, h.err(), 1, true)
      local _, _, run = api("GET", "/agent/runs/" .. id)
      assert.equal("cancelled", run.status)
      local names = lines((jq(".event", h.out())))
      assert.equal("agent_run.cancelled", names[#names]) -- the stream saw the end
      assert.truthy(until_true(function() return srv:stats().open_streams == 0 end, 10))
      h.cleanup()
    end)

    it("Ctrl-C with --detach leaves the run going", function()
      local h = spawn("--header 'X-Mock-Fault: run-seconds=3000' run 'keep going' --detach --json", env)
      local id = until_true(function() return h.out():match('"id":"(agent_run_[%w]+)"') end)
      os.execute("kill -INT " .. h.pid)
      assert.equal(130, h.wait(), h.err())
      assert.matches("goes on (--detach)", h.err(), 1, true)
      local _, _, run = api("GET", "/agent/runs/" .. id)
      assert.is_true(run.status == "queued" or run.status == "running")
      api("POST", "/agent/runs/" .. id .. "/cancel")
      h.cleanup()
    end)

    it("Ctrl-C during --no-stream cancels too", function()
      local h = spawn("--header 'X-Mock-Fault: run-seconds=3000' run 'poll me' --no-stream --interval 0.05", env)
      local id
      until_true(function()
        local _, _, page = api("GET", "/agent/runs?limit=1")
        local r = page.data[1]
        if r and r.request.query == "poll me" and r.status ~= "cancelled" then id = r.id end
        return id
      end)
      mock.sleep(0.3)
      os.execute("kill -INT " .. h.pid)
      assert.equal(130, h.wait(), h.err())
      assert.matches("cancelled run " .. id, h.err(), 1, true)
      local _, _, run = api("GET", "/agent/runs/" .. id)
      assert.equal("cancelled", run.status)
      h.cleanup()
    end)
  end)

  describe("create", function()
    it("prints the run, its id first, and returns while the run goes on", function()
      local code, out, err = cli("--header 'X-Mock-Fault: run-seconds=3000' create 'later' --effort low", env)
      assert.equal(0, code, err)
      local id = lines(out)[1]
      assert.matches("^agent_run_%w+$", id)
      assert.matches("status   queued", out, 1, true)
      local _, _, run = api("GET", "/agent/runs/" .. id)
      assert.equal("later", run.request.query)
      assert.is_true(run.status == "queued" or run.status == "running")
      api("POST", "/agent/runs/" .. id .. "/cancel")
      code, out = cli("create 'later json' --effort low --json", env)
      assert.equal(0, code)
      assert.matches('^{"id":"agent_run_%w+",', out)
      assert.equal(1, #lines(out))
      assert.equal("later json", (jq(".request.query", out)):match("[^\n]+"))
    end)
  end)

  describe("--budget on both APIs", function()
    local pb, penv
    setup(function()
      pb = mock.start{ "--speed", "100", "--api", "post-beta" }
      penv = { EXA_API_KEY = "sk-budget", EXA_BASE_URL = pb.url }
    end)
    teardown(function() pb:stop() end)

    it("--api beta: a fixed effort under the cap runs; auto and $0 are refused, nothing sent", function()
      local code, out, err = cli("--api beta run q --effort low --budget 0.05 --json", env)
      assert.equal(0, code, err)
      assert.equal("0.025", (jq('select(.event == "agent_run.completed") | .data.costDollars.total', out)):match("%S+"))
      -- the beta API ignores budget.maxCostDollars: not sent
      assert.equal("null", (jq('select(.event == "agent_run.completed") | .data.request.budget', out)):match("%S+"))
      local before = srv:stats()
      code, out, err = cli("--api beta run q --budget 0.05", env)
      assert.equal(2, code)
      assert.equal("", out)
      assert.matches("effort auto has no cost ceiling on the beta API", err, 1, true)
      assert.matches("use a fixed effort", err, 1, true)
      code, _, err = cli("--api beta run q --effort high --budget 0.4", env)
      assert.equal(2, code)
      assert.matches("budget", err, 1, true)
      assert.equal(before.requests + 1, srv:stats().requests)
    end)

    it("--api post-beta: auto runs under budget.maxCostDollars ($1-$100); under $1 auto is refused", function()
      local code, out, err = cli("--api post-beta run q --budget 2 --no-stream --interval 0.05 --json", penv)
      assert.equal(0, code, err)
      assert.equal("2", (jq(".request.budget.maxCostDollars", out)):match("%S+"))
      local before = pb:stats()
      code, out, err = cli("--api post-beta run q --budget 0.05", penv)
      assert.equal(2, code)
      assert.equal("", out)
      assert.matches("use a fixed effort that fits (low $0.0250), or a budget of at least $5.00", err, 1, true)
      code, _, err = cli("--api post-beta run q --effort low --budget 0", penv)
      assert.equal(2, code)
      assert.matches("a budget of $0 refuses every run", err, 1, true)
      assert.equal(before.requests + 1, pb:stats().requests)
      code, out, err = cli("--api post-beta run q --effort low --budget 0.05 --no-stream --interval 0.05 --json", penv)
      assert.equal(0, code, err)
      assert.equal("null", (jq(".request.budget", out)):match("%S+")) -- under the API's $1: the client's cap only
    end)
  end)

  describe("mock (a simulator for a shell session)", function()
    local function exports(text)
      return { url = text:match("export EXA_BASE_URL='([^']+)'"), key = text:match("export EXA_API_KEY='([^']+)'"),
        pid = tonumber(text:match("export EXA_AGENT_MOCK_PID=(%d+)")) }
    end

    it("prints the export lines and serves until SIGTERM, then stops its simulator", function()
      local h = spawn("mock --speed 100", {})
      local e = until_true(function()
        local x = exports(h.out())
        return x.url and x.key and x
      end)
      assert.is_table(e, h.err())
      local pid = tonumber(h.out():match("# the simulator %(pid (%d+)%)"))
      local code, out, err = cli("run 'session' --effort low --json", { EXA_BASE_URL = e.url, EXA_API_KEY = e.key })
      assert.equal(0, code, err)
      local id = (jq('select(.event == "agent_run.completed") | .data.id', out)):match("%S+")
      code = cli("get " .. id, { EXA_BASE_URL = e.url, EXA_API_KEY = e.key }) -- the same simulator, later
      assert.equal(0, code)
      os.execute("kill -TERM " .. h.pid)
      assert.equal(0, h.wait(), h.err())
      assert.matches("simulator stopped", h.err(), 1, true)
      assert.is_false(alive(pid))
      h.cleanup()
    end)

    it("--detach: eval-able lines with EXA_AGENT_MOCK_PID; the simulator outlives the command", function()
      local code, out, err = cli("mock --detach --speed 100", {})
      assert.equal(0, code, err)
      local e = exports(out)
      assert.is_number(e.pid)
      assert.is_true(alive(e.pid))
      code, _, err = cli("run 'later' --effort low", { EXA_BASE_URL = e.url, EXA_API_KEY = e.key })
      assert.equal(0, code, err)
      os.execute("kill " .. e.pid)
      assert.truthy(until_true(function() return not alive(e.pid) end, 5))
    end)

    it("exa-agent-mock --print-env prints the same lines", function()
      local p = assert(io.popen(("cd %s && exec lua5.4 bin/exa-agent-mock --print-env --api-key sk-pe & echo $!")
        :format(q(mock.root))))
      local pid = tonumber(p:read("*l"))
      local text = p:read("*l") .. "\n" .. p:read("*l")
      os.execute("kill " .. pid)
      p:close()
      local e = exports(text)
      assert.matches("^http://127%.0%.0%.1:%d+$", e.url)
      assert.equal("sk-pe", e.key)
    end)
  end)

  describe("--mock", function()
    it("runs against a simulator of its own and stops it by pid afterwards", function()
      local code, out, err = cli("--mock run 'no key, no money' --json", { EXA_AGENT_MOCK_ARGS = "--speed 100" })
      assert.equal(0, code, err)
      local pid = tonumber(err:match("simulator listening http://127%.0%.0%.1:%d+ %(pid (%d+)%)"))
      assert.is_number(pid)
      assert.is_false(alive(pid))
      local names = lines((jq(".event", out)))
      assert.equal("agent_run.completed", names[#names])
    end)

    it("--mock with EXA_AGENT_MOCK_ARGS=--api post-beta takes the newer efforts", function()
      local code, out, err = cli("--mock run 'tiny' --effort minimal --no-stream --interval 0.05 --json",
        { EXA_AGENT_MOCK_ARGS = "--speed 100 --api post-beta" })
      assert.equal(0, code, err)
      assert.equal("minimal 0.01", (jq('"\\(.request.effort) \\(.costDollars.total)"', out)):match("[^\n]+"))
    end)
  end)

  describe("list, get, events, replay", function()
    local ids = {}
    setup(function()
      for i = 1, 3 do ids[i] = new_run(nil, '{"query":"listed ' .. i .. '","effort":"low"}') end
      for _, id in ipairs(ids) do assert.equal("completed", srv:wait_run(id, { key = "sk-cli-spec" }).status) end
    end)

    it("list --json: one run per line; --all --limit 2 pages through every run", function()
      local code, out = cli("list --json --limit 2", env)
      assert.equal(0, code)
      assert.equal(2, #lines(out))
      assert.equal("agent_run\nagent_run", (jq(".object", out)):gsub("%s+$", ""))
      local _, _, page = api("GET", "/agent/runs?limit=100")
      code, out = cli("list --all --limit 2 --json", env)
      assert.equal(0, code)
      local got = lines((jq(".id", out)))
      assert.equal(#page.data, #got)
      for i, r in ipairs(page.data) do assert.equal(r.id, got[i]) end
      code, out = cli("list", env)
      assert.equal(0, code)
      assert.matches("^ID%s+STATUS%s+EFFORT%s+COST", out)
      assert.matches(ids[3] .. " completed low", out, 1, true)
    end)

    it("get --json is the run; get for people shows it", function()
      local code, out = cli("get " .. ids[1] .. " --json", env)
      assert.equal(0, code)
      assert.equal(ids[1] .. " completed", (jq('"\\(.id) \\(.status)"', out)):match("[^\n]+"))
      code, out = cli("get " .. ids[1], env)
      assert.equal(0, code)
      assert.matches("run      " .. ids[1], out, 1, true)
      assert.matches("query    listed 1", out, 1, true)
      code = cli("get agent_run_missing", env)
      assert.equal(1, code)
    end)

    it("events --json lists every stored event; replay --after 3 the ones after it", function()
      local _, _, page = api("GET", "/agent/runs/" .. ids[2] .. "/events?limit=100")
      local code, out = cli("events " .. ids[2] .. " --json", env)
      assert.equal(0, code)
      local got = lines((jq(".id", out)))
      assert.equal(#page.data, #got)
      code, out = cli("replay " .. ids[2] .. " --after 3 --json", env)
      assert.equal(0, code)
      got = lines((jq(".id", out)))
      assert.equal(#page.data - 3, #got)
      assert.equal("4", got[1])
      assert.equal("agent_run.completed", (jq(".event", out)):match("([^\n]+)\n?$"))
      code, out = cli("events " .. ids[2], env)
      assert.equal(0, code)
      assert.matches("   1  agent_run.created", out, 1, true)
    end)
  end)

  describe("cancel, delete, wait, stop", function()
    it("cancel a running run; wait then exits 4", function()
      local id = new_run({ "X-Mock-Fault: run-seconds=3000" })
      local code, out = cli("cancel " .. id, env)
      assert.equal(0, code)
      assert.equal("cancel: run " .. id .. " is cancelled (cancelled)\n", out)
      code = cli("wait " .. id, env)
      assert.equal(4, code)
    end)

    it("wait: 0 completed (the run for people), 3 failed, --timeout gives up with 1", function()
      local id = new_run()
      local code, out = cli("wait " .. id .. " --interval 0.05", env)
      assert.equal(0, code)
      assert.matches("status   completed", out, 1, true)
      code, out = cli("wait " .. new_run({ "X-Mock-Fault: run-fail" }) .. " --interval 0.05 --json", env)
      assert.equal(3, code)
      assert.equal("failed", (jq(".status", out)):match("%S+"))
      local slow = new_run({ "X-Mock-Fault: run-seconds=3000" })
      local err
      code, _, err = cli("wait " .. slow .. " --timeout 0.2 --interval 0.05", env)
      assert.equal(1, code)
      assert.matches("still", err, 1, true)
      api("POST", "/agent/runs/" .. slow .. "/cancel")
    end)

    it("delete", function()
      local id = new_run()
      local code, out = cli("delete " .. id, env)
      assert.equal(0, code)
      assert.equal("deleted run " .. id .. "\n", out)
      assert.equal(1, (cli("get " .. id, env)))
      code, out = cli("delete " .. new_run() .. " --json", env)
      assert.equal(0, code)
      assert.equal("true", (jq(".deleted", out)):match("%S+"))
    end)

    it("stop (post-beta API): the run completes early, and run exits 4", function()
      local pb = mock.start{ "--speed", "100", "--api", "post-beta" }
      local penv = { EXA_API_KEY = "sk-post", EXA_BASE_URL = pb.url }
      local h = spawn("--header 'X-Mock-Fault: run-seconds=3000' run 'deep dive' --effort ultra --json", penv)
      local id = until_true(function() return h.out():match('"id":"(agent_run_[%w]+)"') end)
      until_true(function() return h.out():find("agent_run.started", 1, true) end)
      local code, out = cli("stop " .. id, penv)
      assert.equal(0, code)
      assert.equal("stop: run " .. id .. " is completed (stopped)\n", out)
      assert.equal(4, h.wait(), h.err())
      local last = lines(h.out())
      assert.equal("stopped", (jq(".data.stopReason", last[#last])):match("%S+"))
      h.cleanup()
      -- the beta API has no stop: 404, exit 1, and the error says where stop lives
      local err
      code, _, err = cli("stop " .. new_run(), env)
      assert.equal(1, code)
      assert.matches("stop is a post-beta endpoint: try --api post-beta", err, 1, true)
      pb:stop()
    end)
  end)

  describe("small things a new user met", function()
    it("mock's usage line names its flags once", function()
      local code, out = cli("mock --help")
      assert.equal(0, code)
      assert.equal("usage: exa-agent mock [flags]", out:match("^[^\n]*"))
    end)

    it("--mock without the simulator installed says to install it", function()
      local proc = require "exa.cli.proc"
      local m, msg = proc.start_mock("/nonexistent/exa-agent-mock", "k")
      assert.is_nil(m)
      assert.matches("the simulator is not installed", msg, 1, true)
      assert.matches("exa-agent-mock rock", msg, 1, true)
    end)

    it("the cost line counts one search as one search", function()
      local render = require "exa.cli.render"
      local line = render.cost_line{ costDollars = { search = 0.007, emails = 0.04 },
        usage = { searches = 1, emails = 2 } }
      assert.matches("(1 search)", line, 1, true)
      assert.matches("(2 emails)", line, 1, true)
    end)
  end)

  describe("estimate", function()
    it("prices a run from the table without sending anything", function()
      local schema = tmpfile()
      put(schema, '{"type":"object","properties":{"people":{"type":"array","maxItems":10,'
        .. '"items":{"type":"object","properties":{"name":{"type":"string"},"email":{"type":"string",'
        .. '"format":"email"},"phone":{"type":"string"}}}}}}')
      local before = srv:stats().requests
      local code, out = cli("estimate 'find people' --effort high --schema " .. q(schema) .. " --json", env)
      assert.equal(0, code)
      assert.equal("0.5 1.4 false", (jq('"\\(.min_dollars) \\(.max_dollars) \\(.unbounded)"', out)):match("[^\n]+"))
      code, out = cli("estimate --effort low", {})
      assert.equal(0, code)
      assert.equal("$0.0250 (effort low)\n", out)
      code, out = cli("estimate q --effort medium --schema " .. q(schema), {})
      assert.matches("$0.1000 to $1.0000 (effort medium)", out, 1, true)
      assert.matches("emails: up to 10 at $0.0200 each", out, 1, true)
      code, out = cli("estimate q --effort ultra --json", {})
      assert.equal("true", (jq(".unbounded", out)):match("%S+"))
      assert.equal(before + 1, srv:stats().requests)
      os.remove(schema)
    end)
  end)
end)
