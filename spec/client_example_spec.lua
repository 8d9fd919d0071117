-- examples/research.lua runs end to end against the simulator, under the
-- Lua running this suite.
local mock = require "helpers.mock"

local LUA = { ["5.1"] = "lua5.1", ["5.2"] = "lua5.2", ["5.3"] = "lua5.3", ["5.4"] = "lua5.4", jit = "luajit" }

describe("examples/research.lua", function()
  local srv
  setup(function() srv = mock.start{ "--speed", "200", "--api-key", "sk-example" } end)
  teardown(function() srv:stop() end)

  it("streams a run and prints answer, structured result, citations and cost", function()
    local tag = os.getenv("EXA_TEST_LUA_TAG") or "5.4"
    local errf = os.tmpname()
    local cmd = ("cd %s && TERM=xterm EXA_API_KEY=sk-example EXA_BASE_URL=%s %s examples/research.lua 2>%s; echo \"exit=$?\"")
      :format(mock.quote(mock.root), mock.quote(srv.url), LUA[tag], mock.quote(errf))
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()
    local err = assert(io.open(errf)):read("*a")
    os.remove(errf)
    assert.matches("exit=0", out, 1, true)
    assert.matches("Run:   agent_run_", out, 1, true)
    assert.matches("== Answer ==", out, 1, true)
    assert.matches("== Structured result ==", out, 1, true)
    assert.matches('"companies": %[', out)
    assert.matches("== Citations ==\nstructured%.companies%[0%]%.", out)
    assert.matches("  %- .* <https?://", out)
    assert.matches("total %$%d+%.%d+", out)
    assert.matches("agent compute units", out, 1, true)
    -- stderr is not a terminal here: no progress line, no escape codes
    assert.equals("", err)
  end)

  it("exits 1 with a readable error when the key is wrong", function()
    local tag = os.getenv("EXA_TEST_LUA_TAG") or "5.4"
    local cmd = ("cd %s && EXA_API_KEY=sk-wrong EXA_BASE_URL=%s %s examples/research.lua 2>&1; echo \"exit=$?\"")
      :format(mock.quote(mock.root), mock.quote(srv.url), LUA[tag])
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()
    assert.matches("exit=1", out, 1, true)
    assert.matches("authentication", out, 1, true)
    assert.is_nil(out:find("sk-wrong", 1, true))
  end)
end)
