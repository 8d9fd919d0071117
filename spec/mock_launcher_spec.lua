-- bin/exa-agent-mock says what is wrong and what to install, instead of a
-- syntax error or a bare "module not found".
local mock = require "helpers.mock"
local q = mock.quote

local function run(cmd)
  local p = assert(io.popen("cd " .. q(mock.root) .. " && " .. cmd .. " 2>&1; echo \"exit=$?\""))
  local out = p:read("*a")
  p:close()
  return out
end

-- The path of a C module as lua5.4 finds it.
local function cmodule(name)
  local p = assert(io.popen("lua5.4 -e 'print(package.searchpath(\"" .. name .. "\", package.cpath))'"))
  local out = p:read("*l")
  p:close()
  return out
end

local function tmpdir() -- made by mktemp -d: no window in which another process can take the name
  local p = assert(io.popen("mktemp -d /tmp/exa-spec.XXXXXX"))
  local d = p:read("*l")
  p:close()
  return assert(d)
end

describe("bin/exa-agent-mock", function()
  it("under another Lua says it needs 5.4 and how to run it", function()
    for _, lua in ipairs{ "lua5.1", "luajit" } do
      local out = run(lua .. " bin/exa-agent-mock --port 0")
      assert.matches("exit=2", out, 1, true)
      assert.matches("needs Lua 5.4", out, 1, true)
      assert.matches("lua5.4 bin/exa-agent-mock", out, 1, true)
      assert.matches("--lua-version 5.4", out, 1, true)
      assert.is_nil(out:find("expected near", 1, true))
    end
  end)

  describe("without a dependency", function()
    local dir
    before_each(function()
      dir = tmpdir()
    end)
    after_each(function() os.execute("rm -rf " .. q(dir)) end)

    it("names the Debian package and the rock for cqueues", function()
      -- cjson is reachable, cqueues is not: no system paths at all
      assert(os.execute("ln -s " .. q(cmodule("cjson")) .. " " .. q(dir .. "/cjson.so")))
      local out = run(("LUA_PATH_5_4=';' LUA_PATH=';' LUA_CPATH_5_4=%s LUA_CPATH=%s lua5.4 bin/exa-agent-mock --port 0")
        :format(q(dir .. "/?.so"), q(dir .. "/?.so")))
      assert.matches("exit=2", out, 1, true)
      assert.matches("module 'cqueues'", out, 1, true)
      assert.matches("apt-get install lua-cqueues", out, 1, true)
      assert.matches("luarocks --lua-version 5.4 install cqueues", out, 1, true)
    end)

    it("names the Debian package and the rock for lua-cjson", function()
      -- everything the system has except cjson: cqueues' own Lua files and C parts
      local cq = cmodule("_cqueues")
      assert(os.execute("ln -s " .. q(cq) .. " " .. q(dir .. "/_cqueues.so")))
      local out = run(("LUA_PATH_5_4=';;' LUA_CPATH_5_4=%s lua5.4 bin/exa-agent-mock --port 0")
        :format(q(dir .. "/?.so")))
      assert.matches("exit=2", out, 1, true)
      assert.matches("module 'cjson'", out, 1, true)
      assert.matches("apt-get install lua-cjson", out, 1, true)
      assert.matches("luarocks --lua-version 5.4 install lua-cjson", out, 1, true)
    end)
  end)
end)
