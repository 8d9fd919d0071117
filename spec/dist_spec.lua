-- make dist, as a user would install the rocks: scripts/dist.sh packs the
-- four source rocks with luarocks pack (here of the working tree), installs
-- each into an empty tree, makes the scm rockspecs from a fresh checkout, and
-- smoke-tests each tree from outside the checkout. Runs once, in the Lua 5.4
-- pass of the suite; it drives 5.1, 5.4 and LuaJIT itself.
local mock = require "helpers.mock"

local tag = os.getenv("EXA_TEST_LUA_TAG") or (_VERSION == "Lua 5.4" and "5.4")

local function tmpdir() -- made by mktemp -d: no window in which another process can take the name
  local p = assert(io.popen("mktemp -d /tmp/exa-spec.XXXXXX"))
  local d = p:read("*l")
  p:close()
  return assert(d)
end

describe("make dist", function()
  it("packs four source rocks that install into empty trees and work from outside the checkout", function()
    if tag ~= "5.4" then
      pending("runs in the Lua 5.4 pass only")
      return
    end
    local out_dir = tmpdir()
    local p = assert(io.popen(("cd %s && DIST_WORKTREE=1 DIST_OUT=%s scripts/dist.sh 2>&1; echo \"exit=$?\"")
      :format(mock.quote(mock.root), mock.quote(out_dir))))
    local out = p:read("*a")
    p:close()
    os.execute("rm -rf " .. mock.quote(out_dir))
    assert.matches("exit=0\n$", out)
    for _, rock in ipairs{ "exa-agent-scm-1", "exa-agent-0.2.0-1", "exa-agent-mock-scm-1", "exa-agent-mock-0.2.0-1" } do
      assert.matches("dist: packed " .. rock:gsub("%p", "%%%0") .. "%.src%.rock", out)
    end
    -- each source rock installed, and the scm rockspecs made from a checkout, as the issue asks
    local jobs = {
      { "exa-agent-mock-scm-1", "install" }, { "exa-agent-mock-0.2.0-1", "install" }, { "exa-agent-mock-scm-1", "make" },
    }
    for _, j in ipairs(jobs) do
      assert.matches("dist: " .. j[1]:gsub("%p", "%%%0") .. " %(luarocks " .. j[2] .. "%) for Lua 5%.4 into a tree"
        .. " whose default Lua is 5%.1; bin/exa%-agent%-mock: listening http://127%.0%.0%.1:%d+", out)
    end
    jobs = { { "exa-agent-scm-1", "install" }, { "exa-agent-0.2.0-1", "install" }, { "exa-agent-scm-1", "make" } }
    for _, j in ipairs(jobs) do
      for t, name in pairs{ ["5.1"] = "Lua 5%.1", ["5.4"] = "Lua 5%.4", jit = "LuaJIT [%w.%-]+" } do
        assert.matches("dist: " .. j[1]:gsub("%p", "%%%0") .. " %(luarocks " .. j[2] .. "%) for " .. t:gsub("%p", "%%%0")
          .. ": " .. name .. ": exa 0%.2%.0, %d+ events, run agent_run_%w+ completed", out)
      end
    end
  end)
end)
