-- No globals in the Lua layer: every module under lua/exa/, its layer folders
-- (wire/, backend/, loop/, cli/) included (the simulator's lua/exa_mock/ excepted) is loaded in an environment that raises on any
-- global assignment, and on any global read except standard names at load
-- time (that is where a module localizes them). Then, with luac 5.4, no
-- function body may touch _ENV at all.
local modules = {}

local function lua_files()
  local p = io.popen("find lua/exa -name '*.lua' 2>/dev/null | sort")
  for f in p:lines() do modules[#modules + 1] = f end
  p:close()
  return modules
end

local STD = {}
for _, n in ipairs{ "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "print",
  "rawequal", "rawget", "rawlen", "rawset", "require", "select", "setmetatable", "tonumber", "tostring",
  "type", "xpcall", "unpack", "_VERSION", "coroutine", "debug", "io", "math", "os", "package", "string",
  "table", "utf8", "load", "loadstring", "setfenv", "getfenv", "collectgarbage", "jit" } do
  STD[n] = true
end

local function strict_env(name)
  local loading = true
  local env = setmetatable({}, {
    __index = function(_, k)
      if loading and STD[k] then return _G[k] end
      error(("%s reads global %s%s"):format(name, tostring(k), loading and "" or " after load"), 2)
    end,
    __newindex = function(_, k)
      error(("%s assigns global %s"):format(name, tostring(k)), 2)
    end,
  })
  return env, function() loading = false end
end

local function load_in(src, name, env)
  if setfenv and loadstring then
    local f, err = loadstring(src, "@" .. name)
    if f then setfenv(f, env) end
    return f, err
  end
  return load(src, "@" .. name, "t", env)
end

describe("the Lua layer uses no globals", function()
  for _, file in ipairs(lua_files()) do
    it(file .. " loads with no global reads or writes", function()
      local fh = assert(io.open(file))
      local src = fh:read("*a")
      fh:close()
      local env, done = strict_env(file)
      local chunk = assert(load_in(src, file, env))
      local ok, mod = pcall(chunk, file:match("lua/(.-)%.lua$"):gsub("/", "."))
      done()
      assert.is_true(ok, tostring(mod))
      assert.is_not_nil(mod)
    end)
  end

  local luac = io.popen("command -v luac5.4 2>/dev/null"):read("*l")
  it("no function body reads or writes a global (luac5.4 listing)", function()
    if not luac or luac == "" then
      pending("luac5.4 not installed")
      return
    end
    local bad = {}
    for _, file in ipairs(modules) do
      local p = io.popen(luac .. " -p -l -l " .. file .. " 2>&1")
      local fn = "main"
      for line in p:lines() do
        local head = line:match("^(%a+) <")
        if head then fn = head end
        if line:find("_ENV", 1, true) and (fn ~= "main" or line:find("SETTABUP", 1, true)) then
          bad[#bad + 1] = file .. ": " .. line
        end
      end
      p:close()
    end
    assert.same({}, bad)
  end)
end)
