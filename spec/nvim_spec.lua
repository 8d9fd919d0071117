-- Headless Neovim (Debian's 0.7.2, LuaJIT) runs the uv loop and the example
-- plugin against the simulator. Counts and order only, never times.
local mock = require "helpers.mock"
local exa = require "exa"

local function nvim(script, srv, key)
  local out = os.tmpname()
  local cmd = ("cd %s && EXA_ROOT=%s EXA_OUT=%s EXA_BASE_URL=%s EXA_API_KEY=%s "
    .. "nvim --headless -u NONE -i NONE -n -c %s >%s.log 2>&1"):format(
    mock.quote(mock.root), mock.quote(mock.root), mock.quote(out), mock.quote(srv.url), mock.quote(key),
    mock.quote("luafile " .. mock.root .. "/spec/nvim/" .. script), out)
  local ok = os.execute(cmd)
  local f = io.open(out)
  local text = f and f:read("*a") or ""
  if f then f:close() end
  local lf = io.open(out .. ".log")
  local log = lf and lf:read("*a") or ""
  if lf then lf:close() end
  os.remove(out)
  os.remove(out .. ".log")
  assert(text ~= "", "nvim wrote no result (exit " .. tostring(ok) .. "): " .. log)
  return exa.json_decode(text)
end

local has_nvim = os.execute("command -v nvim >/dev/null 2>&1")
has_nvim = has_nvim == true or has_nvim == 0

describe("Neovim (uv loop)", function()
  local srv
  local KEY = "sk-nvim-spec"
  setup(function() srv = mock.start{ "--max-active", "100", "--api-key", KEY } end)
  teardown(function() srv:stop() end)

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
    -- except from a libuv callback, where vim.wait is not allowed: one line says what to do
    assert.is_false(r.plain_fast_ok)
    assert.equals("loop", r.plain_fast_kind)
    assert.matches("loop:spawn(fn), or vim.schedule it", r.plain_fast_message, 1, true)
  end)

  it("the example plugin fills a scratch buffer live, then the answer and citations", function()
    assert(has_nvim, "nvim is not installed")
    local r = nvim("plugin.lua", srv, KEY)
    assert.is_nil(r.error)
    local text = table.concat(r.lines, "\n")
    assert.matches("^# AI infrastructure startups in Berlin", text)
    assert.matches("\nrun [%w_]+ created", text)
    assert.matches("\nsearch: ", text)
    assert.matches("\n# Answer\n", text)
    assert.matches("\n# Citations\n%- ", text)
    assert.matches("cost: %$", text)
    assert.is_true(r.updates > 3, "updates while the run went: " .. r.updates)
  end)
end)
