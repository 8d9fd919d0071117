-- Headless Neovim (Debian's 0.7.2, LuaJIT) with the plugin (nvim/) installed
-- as a plugin manager installs it: the checkout copied under a temp
-- site/pack/packer/start/ (and a lazy.nvim-style dir for the health check),
-- exa.core built there by the plugin's build step (`make nvim`), Neovim
-- started from a user init.lua that puts the plugin on runtimepath. Against
-- the simulator; counts and order only, never times.
local mock = require "helpers.mock"
local exa = require "exa"

local q = mock.quote
local has_nvim = os.execute("command -v nvim >/dev/null 2>&1")
has_nvim = has_nvim == true or has_nvim == 0

local function sh(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

local tmp, site, clone, lazy_dir

-- Run spec/nvim/<script> in headless Neovim with the given user init
-- (spec/nvim/init_<layout>.lua); returns the JSON result it wrote.
local function nvim(script, srv, key, layout)
  local out = tmp .. "/out.json"
  os.remove(out)
  -- LUA_PATH / LUA_CPATH unset: exa must come from the plugin layout, not the checkout
  -- XDG_* in the temp dir: no plugin or config of the machine's user comes in
  local cmd = ("cd %s && unset LUA_PATH LUA_CPATH LUA_INIT; XDG_CONFIG_HOME=%s/xdg XDG_DATA_HOME=%s/xdg "
    .. "XDG_STATE_HOME=%s/xdg XDG_CACHE_HOME=%s/xdg EXA_ROOT=%s EXA_OUT=%s EXA_SITE=%s EXA_LAZY_DIR=%s "
    .. "EXA_BASE_URL=%s EXA_API_KEY=%s timeout 90 nvim --headless -u %s -i NONE -n -c %s >%s.log 2>&1"):format(
    q(tmp), q(tmp), q(tmp), q(tmp), q(tmp), q(mock.root), q(out), q(site), q(lazy_dir), q(srv.url), q(key),
    q(mock.root .. "/spec/nvim/init_" .. (layout or "packer") .. ".lua"),
    q("luafile " .. mock.root .. "/spec/nvim/" .. script), q(out))
  local ok = os.execute(cmd)
  local f = io.open(out)
  local text = f and f:read("*a") or ""
  if f then f:close() end
  local lf = io.open(out .. ".log")
  local log = lf and lf:read("*a") or ""
  if lf then lf:close() end
  assert(text ~= "", "nvim wrote no result (exit " .. tostring(ok) .. "): " .. log)
  local r = exa.json_decode(text)
  assert(r.error == nil, "inside nvim: " .. tostring(r.error))
  return r
end

local function run_of(srv, key, id)
  local _, _, run = srv:api("GET", "/agent/runs/" .. id, nil, { key = key })
  return run
end

describe("Neovim plugin (nvim/) from a plugin-manager layout", function()
  local srv, small
  local KEY = "sk-nvim-spec"
  setup(function()
    assert(has_nvim, "nvim is not installed: apt-get install neovim (scripts/deps.sh test does)")
    local p = io.popen("mktemp -d /tmp/exa-nvim-spec.XXXXXX")
    tmp = p:read("*l")
    p:close()
    site = tmp .. "/site"
    clone = site .. "/pack/packer/start/exa-agent"
    lazy_dir = tmp .. "/lazy/exa-agent"
    -- what a clone holds: the checkout's files (committed or not), no build/
    assert(sh(("mkdir -p %s %s && cd %s && git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C %s")
      :format(q(clone), q(tmp .. "/lazy"), q(mock.root), q(clone))))
    assert(sh(("ln -s %s %s"):format(q(clone), q(lazy_dir))))
    -- the plugin manager's build step
    assert(sh(("cd %s && make nvim >%s/build.log 2>&1"):format(q(clone), q(tmp))), "make nvim failed")
    srv = mock.start{ "--max-active", "100", "--api-key", KEY }
    small = mock.start{ "--max-active", "2", "--api-key", KEY, "--speed", "2" }
  end)
  teardown(function()
    if srv then srv:stop() end
    if small then small:stop() end
    if tmp then os.execute("rm -rf " .. q(tmp)) end
  end)

  -- every stream got every stored event of its run, in order, ending completed
  local function same_as_stored(streams, plain)
    assert.equals(10, #streams)
    for i = 1, 10 do
      local evs = streams[i]
      assert.equals("agent_run.completed", evs[#evs].event)
      local stored = plain.runs:events(evs[1].run, { limit = 100 }).data
      assert.equals(#stored, #evs, "stream " .. i)
      for k, ev in ipairs(evs) do
        assert.equals(tostring(stored[k].id), ev.id)
        assert.equals(stored[k].event, ev.event)
      end
    end
  end

  -- the 20 ms timer ticked at least 80% as often as on the idle editor
  local function kept_ticking(r, busy_ticks, busy_ms)
    local idle_rate = r.idle_ticks / r.idle_ms
    assert.is_true(busy_ticks / busy_ms >= 0.8 * idle_rate, ("timer ticks: %d in %d ms busy, %d in %d ms idle")
      :format(busy_ticks, busy_ms, r.idle_ticks, r.idle_ms))
  end

  it("10 streams on exa.loop{uv = vim.loop}, and on a plain exa.new{} outside any task: every event, "
    .. "and the editor's timer keeps ticking", function()
    assert(has_nvim, "nvim is not installed: apt-get install neovim (scripts/deps.sh test does)")
    local r = nvim("streams.lua", srv, KEY)
    local plain = exa.new{ api_key = KEY, base_url = srv.url }
    -- exa.loop{uv = vim.loop}: tasks; a call from a libuv callback raises
    assert.is_nil(r.error)
    assert.is_false(r.outside_ok)
    assert.equals("loop", r.outside_kind)
    same_as_stored(r.streams, plain)
    kept_ticking(r, r.busy_ticks, r.busy_ms)
    -- a plain exa.new{}: the editor's uv loop, and calls outside a task wait through vim.wait
    assert.is_nil(r.plain_error)
    assert.equals("uv", r.plain_driver)
    same_as_stored(r.plain_streams, plain)
    kept_ticking(r, r.plain_ticks, r.plain_ms)
    -- and, meanwhile, a vim.schedule callback ran and a job's output and exit came in
    assert.is_true(r.plain_scheduled)
    assert.equals(2, r.plain_job_out)
    assert.is_true(r.plain_job_exit)
    -- except from a libuv callback, where vim.wait is not allowed: one line says what to do
    assert.is_false(r.plain_fast_ok)
    assert.equals("loop", r.plain_fast_kind)
    assert.matches("loop:spawn(fn), or vim.schedule it", r.plain_fast_message, 1, true)
    -- exa.loop{uv = vim.loop, wait = false}: raises on the main thread too
    assert.is_false(r.strict_ok)
    assert.matches("outside a task would block the uv loop", r.strict_message, 1, true)
  end)

  it(":checkhealth exa: the module, libcurl, the key, the API, the loop; a missing core names the build command",
    function()
    local r = nvim("health.lua", srv, KEY, "lazy")
    local text = table.concat(r.lines, "\n")
    assert.matches("OK: exa " .. exa.VERSION:gsub("%.", "%%.") .. " loads; exa.core from [^\n]*/lazy/exa%-agent/build/nvim/exa/core%.so", text)
    assert.matches("OK: libcurl %d+%.%d+", text)
    assert.matches("OK: API key set %(EXA_API_KEY, " .. #KEY .. " characters%)", text)
    assert.matches("OK: the API answers at " .. srv.url:gsub("%p", "%%%0"), text)
    assert.matches("OK: loop: uv %(the editor's own%)", text)
    assert.not_matches("ERROR", text)
    assert.is_nil(text:find(KEY, 1, true), "the key itself is never shown")
    -- a wrong key: the API refuses it
    r = nvim("health.lua", srv, "sk-wrong", "lazy")
    assert.matches("ERROR: " .. srv.url:gsub("%p", "%%%0") .. " refuses the key", table.concat(r.lines, "\n"))
    -- no core built: one clear line with the command, not "module 'exa.core' not found"
    local so = clone .. "/build/nvim/exa/core.so"
    assert(os.rename(so, so .. ".off"))
    local ok, r2 = pcall(nvim, "health.lua", srv, KEY, "lazy")
    local ok3, r3 = pcall(nvim, "nocore.lua", srv, KEY, "lazy")
    assert(os.rename(so .. ".off", so))
    assert(ok, r2)
    assert(ok3, r3)
    -- so does :ExaResearch, in one message
    assert.equals(1, #r3.messages)
    assert.matches("^exa: exa.core %(the C module%) is not built for Neovim's LuaJIT: run make %-C '[^']*' nvim",
      r3.messages[1])
    text = table.concat(r2.lines, "\n")
    assert.matches("ERROR: exa.core %(the C module%) is not built for Neovim's LuaJIT: run make %-C '[^']*/lazy/exa%-agent' nvim", text)
    assert.is_nil(text:find("module 'exa.core' not found", 1, true))
  end)

  it(":ExaResearch x3 under --max-active 2: one queues and starts when a slot frees; answer, cost, "
    .. "citations in the quickfix list", function()
    -- the three creates go at once: the one the simulator sees third gets the 429
    local r = nvim("queue.lua", small, KEY)
    local ids, queued = {}, 0
    for i = 1, 3 do
      local job = r.jobs[i]
      local text = table.concat(job.lines, "\n")
      assert.equals("completed", job.state, text)
      assert.matches("^# startups in Berlin " .. i, text)
      assert.matches("\nrun " .. job.run_id .. " created", text)
      assert.matches("\nsearch: ", text)
      assert.matches("\n# Answer\n", text)
      assert.matches("\ncitations: %d+ in the quickfix list", text)
      assert.matches("\ncost: %$%d+%.%d+", text)
      assert.is_nil(text:find("error", 1, true), text)
      ids[job.run_id] = true
      -- one of the three creates (whichever reached the simulator last) got the 429:
      -- that buffer says it queued, then its run was created; no 429 shows
      local qpos = text:find("\nqueued: the account is at its concurrency limit; waiting for a slot")
      if qpos then
        queued = queued + 1
        assert.is_true(qpos < text:find("\nrun " .. job.run_id .. " created"))
      end
      local run = run_of(small, KEY, job.run_id)
      assert.equals("completed", run.status)
    end
    assert.equals(1, queued)
    -- three distinct runs, each made once
    local n = 0
    for _ in pairs(ids) do n = n + 1 end
    assert.equals(3, n)
    local _, _, list = small:api("GET", "/agent/runs?limit=100", nil, { key = KEY })
    assert.equals(3, #list.data)
    -- the quickfix list holds the citations of the run that ended last, one item each
    local last = tonumber(r.qf_title:match("^exa: startups in Berlin (%d)$"))
    assert.truthy(last, r.qf_title)
    local want = {}
    for _, g in ipairs(exa.citations(run_of(small, KEY, r.jobs[last].run_id))) do
      for _, c in ipairs(g.citations) do want[#want + 1] = c.url end
    end
    assert.is_true(#want > 0)
    assert.equals(#want, #r.qf)
    for k, url in ipairs(want) do assert.equals(url, r.qf[k]:match("^(%S+)")) end
    assert.matches(("citations: %d in the quickfix list"):format(#want), table.concat(r.jobs[last].lines, "\n"))
    -- the buffer filled live
    assert.is_true(r.updates > 9, "buffer updates: " .. r.updates)
  end)

  it("wiping a buffer cancels its run; so does :ExaCancel", function()
    local r = nvim("cancel.lua", small, KEY)
    assert.is_false(r.wiped_valid)
    assert.equals("cancelled", run_of(small, KEY, r.wiped.run_id).status)
    assert.is_true(r.wiped.done)
    assert.equals("cancelled", run_of(small, KEY, r.cancelled.run_id).status)
    assert.equals("cancelled", r.cancelled.state)
    assert.matches("\nrun cancelled", table.concat(r.cancelled.lines, "\n"))
  end)
end)
