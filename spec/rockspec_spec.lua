-- The rockspecs install exactly what the checkout has, two rocks from one
-- repository: exa-agent (the client, every Lua) and exa-agent-mock (the
-- simulator, Lua 5.4). The expectation comes from the disk, through
-- scripts/rockspecs.lua, which names each line to add or remove.
local function root()
  local src = debug.getinfo(1, "S").source:sub(2)
  return (src:match("^(.*)/spec/[^/]*$") or ".")
end
local ROOT = root()
local rockspecs = dofile(ROOT .. "/scripts/rockspecs.lua")

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; echo \"exit=$?\""))
  local out = p:read("*a")
  p:close()
  return out
end

local function read(path)
  local f = assert(io.open(ROOT .. "/" .. path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function has(list, want)
  for _, v in ipairs(list or {}) do
    if v:gsub("%s+", " ") == want then return true end
  end
  return false
end

describe("rockspecs", function()
  local problems, specs = rockspecs.check(ROOT)
  local client = specs["exa-agent-scm-1.rockspec"]
  local mockspec = specs["exa-agent-mock-scm-1.rockspec"]

  it("install every file of the checkout, in both rocks, with the versions in step", function()
    assert(#problems == 0, "\n" .. table.concat(problems, "\n")
      .. "\n(lua scripts/rockspecs.lua --fix rewrites the install lists)")
    for _, f in ipairs{ "exa-agent-scm-1.rockspec", "exa-agent-0.2.0-1.rockspec",
      "exa-agent-mock-scm-1.rockspec", "exa-agent-mock-0.2.0-1.rockspec" } do
      assert.is_table(specs[f], f)
    end
  end)

  it("has one version in the Makefile, the C core and the Lua layer", function()
    local mk = read("Makefile"):match("\nVERSION%s*:=%s*(%S+)")
    assert.equal(mk, require("exa.version"))
    assert.equal(mk, require("exa.core").version)
    assert.equal(mk .. "-1", specs["exa-agent-" .. mk .. "-1.rockspec"].version)
  end)

  it("the client declares lua-cjson and any Lua from 5.1 to 5.4, and nothing of the simulator's", function()
    assert.is_true(has(client.dependencies, "lua >= 5.1, < 5.5"))
    assert.is_true(has(client.dependencies, "lua-cjson >= 2.1.0"))
    for _, d in ipairs(client.dependencies) do assert.is_nil(d:find("cqueues", 1, true)) end
    for mod in pairs(client.build.install.lua) do assert.matches("^exa", mod) ; assert.is_nil(mod:find("^exa_mock")) end
    assert.is_nil((client.build.install.bin or {})["exa-agent-mock"])
    -- "builtin" would copy all of lua/ (the simulator too) into the rock
    assert.not_equal("builtin", client.build.type)
  end)

  it("the simulator declares Lua 5.4, cqueues and lua-cjson, and not the client", function()
    assert.is_true(has(mockspec.dependencies, "lua >= 5.4, < 5.5"))
    assert.is_true(has(mockspec.dependencies, "cqueues"))
    assert.is_true(has(mockspec.dependencies, "lua-cjson >= 2.1.0"))
    for _, d in ipairs(mockspec.dependencies) do assert.is_nil(d:find("^%s*exa%-agent")) end
    assert.equal("bin/exa-agent-mock", mockspec.build.install.bin["exa-agent-mock"])
    assert.not_equal("builtin", mockspec.build.type)
    -- and its modules need no module of the client's (the shared JSON Schema
    -- validator, lua/exa/schema.lua, is installed by this rock as exa_mock.jsonschema)
    assert.equal("lua/exa/schema.lua", mockspec.build.install.lua["exa_mock.jsonschema"])
    local p = assert(io.popen("cd " .. q(ROOT) .. " && find lua/exa_mock -name '*.lua'"))
    for path in p:lines() do
      local text = read(path)
      assert.is_nil(text:find("require%s*%(?%s*[\"']exa[%.\"']"), path .. " requires a module of the client")
    end
    p:close()
  end)

  it("probes libcurl: library everywhere, curl-config on Linux (multiarch headers), the header elsewhere", function()
    local ext = client.external_dependencies
    assert.equal("curl", ext.CURL.library)
    assert.is_nil(ext.CURL.header) -- /usr/include/<triplet>/curl/curl.h on Debian: not where LuaRocks looks
    assert.equal("curl-config", ext.platforms.linux.CURL.program)
    assert.equal("curl/curl.h", ext.platforms.macosx.CURL.header)
    assert.equal("curl/curl.h", ext.platforms.bsd.CURL.header)
  end)

  it("pass luarocks lint", function()
    if sh("command -v luarocks >/dev/null") ~= "exit=0\n" then
      pending("luarocks is not installed")
      return
    end
    for f in pairs(specs) do
      assert.equal("exit=0\n", sh("cd " .. q(ROOT) .. " && luarocks lint " .. q(f)), f)
    end
  end)
end)

local function tmpdir() -- made by mktemp -d: no window in which another process can take the name
  local p = assert(io.popen("mktemp -d /tmp/exa-spec.XXXXXX"))
  local d = p:read("*l")
  p:close()
  return assert(d)
end

describe("scripts/rockspecs.lua", function()
  local dir
  before_each(function()
    dir = tmpdir()
    -- the files the check reads, as git has them plus what is new
    assert.equal("exit=0\n", sh("cd " .. q(ROOT) .. " && tar -cf - Makefile *.rockspec lua bin src scripts/rockspecs.lua"
      .. " | tar -xf - -C " .. q(dir)))
  end)
  after_each(function() os.execute("rm -rf " .. q(dir)) end)

  local function run(args)
    return sh("cd " .. q(dir) .. " && lua5.4 scripts/rockspecs.lua " .. (args or ""))
  end

  it("names each missing and each stale entry with the exact line, and --fix rewrites all four", function()
    assert.equal("rockspecs: ok\nexit=0\n", run())
    assert(os.execute("touch " .. q(dir .. "/lua/exa/newmod.lua") .. " " .. q(dir .. "/lua/exa_mock/newmock.lua")
      .. " " .. q(dir .. "/bin/exa-agent-new")))
    local stale = "lua/exa/builder.lua"
    assert(os.remove(dir .. "/" .. stale))
    local out = run()
    assert.matches("exit=1", out, 1, true)
    for _, f in ipairs{ "exa-agent-scm-1.rockspec", "exa-agent-0.2.0-1.rockspec" } do
      assert.matches(f .. ": build.install.lua lacks (add):\n      [\"exa.newmod\"] = \"lua/exa/newmod.lua\",", out, 1, true)
      assert.matches(f .. ": build.install.lua names what the checkout does not have (remove):\n"
        .. "      [\"exa.builder\"] = \"lua/exa/builder.lua\",", out, 1, true)
      assert.matches(f .. ": build.install.bin lacks (add):\n      [\"exa-agent-new\"] = \"bin/exa-agent-new\",", out, 1, true)
    end
    for _, f in ipairs{ "exa-agent-mock-scm-1.rockspec", "exa-agent-mock-0.2.0-1.rockspec" } do
      assert.matches(f .. ": build.install.lua lacks (add):\n      [\"exa_mock.newmock\"] = \"lua/exa_mock/newmock.lua\",",
        out, 1, true)
    end
    out = run("--fix")
    assert.matches("rockspecs: ok\nexit=0", out, 1, true)
    local after = rockspecs.load(dir, "exa-agent-scm-1.rockspec")
    assert.equal("lua/exa/newmod.lua", after.build.install.lua["exa.newmod"])
    assert.is_nil(after.build.install.lua["exa.builder"])
    assert.equal("bin/exa-agent", after.build.install.bin["exa-agent"])
  end)

  it("catches a file outside both rocks, versions out of step and release rockspecs that drift", function()
    assert(os.execute("mkdir " .. q(dir .. "/lua/other") .. " && touch " .. q(dir .. "/lua/other/x.lua")))
    local f = assert(io.open(dir .. "/lua/exa/version.lua", "w"))
    f:write('return "9.9.9"\n')
    f:close()
    local rs = dir .. "/exa-agent-mock-0.2.0-1.rockspec"
    local text = assert(io.open(rs)):read("*a")
    f = assert(io.open(rs, "w"))
    f:write((text:gsub('"cqueues",', '"cqueues >= 20200726",')))
    f:close()
    local out = run()
    assert.matches("exit=1", out, 1, true)
    assert.matches("lua/other/x.lua belongs to no rock", out, 1, true)
    assert.matches("lua/exa/version.lua says 9.9.9, the Makefile 0.2.0", out, 1, true)
    assert.matches("exa-agent-mock-scm-1.rockspec and exa-agent-mock-0.2.0-1.rockspec differ in dependencies.2", out, 1, true)
  end)
end)
