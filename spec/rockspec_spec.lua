-- The rockspec must install everything the checkout has: every Lua module
-- under lua/, every C source under src/, and one version everywhere.
local function root()
  local src = debug.getinfo(1, "S").source:sub(2)
  return (src:match("^(.*)/spec/[^/]*$") or ".")
end
local ROOT = root()

local function read(path)
  local f = assert(io.open(ROOT .. "/" .. path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function load_rockspec()
  local env = {}
  local chunk
  local text = read("exa-agent-scm-1.rockspec")
  if setfenv then
    chunk = assert(loadstring(text, "rockspec"))
    setfenv(chunk, env)
  else
    chunk = assert(load(text, "rockspec", "t", env))
  end
  chunk()
  return env
end

local function list(cmd)
  local out = {}
  local p = assert(io.popen("cd '" .. ROOT .. "' && " .. cmd))
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  table.sort(out)
  return out
end

describe("rockspec", function()
  local spec = load_rockspec()

  it("maps every lua/ file to its module name", function()
    local want, have = {}, {}
    for _, path in ipairs(list("find lua -name '*.lua'")) do
      local mod = path:gsub("^lua/", ""):gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
      want[#want + 1] = mod .. "=" .. path
    end
    for mod, path in pairs(spec.build.modules) do
      if type(path) == "string" then have[#have + 1] = mod .. "=" .. path end
    end
    table.sort(want)
    table.sort(have)
    assert.same(want, have)
  end)

  it("compiles every C source into exa.core", function()
    local sources = {}
    for _, s in ipairs(spec.build.modules["exa.core"].sources) do sources[#sources + 1] = s end
    table.sort(sources)
    assert.same(list("ls src/*.c"), sources)
  end)

  it("installs the command line and the simulator script", function()
    assert.equal("bin/exa-agent", spec.build.install.bin["exa-agent"])
    assert.equal("bin/exa-agent-mock", spec.build.install.bin["exa-agent-mock"])
  end)

  it("has one version in the Makefile, the C core and the Lua layer", function()
    local mk = read("Makefile"):match("\nVERSION%s*:=%s*(%S+)")
    local c = read("src/core.c"):match('#define EXA_VERSION "([^"]+)"')
    assert.equal(mk, c)
    assert.equal(mk, require("exa.version"))
    assert.equal(mk, require("exa.core").version)
  end)
end)
