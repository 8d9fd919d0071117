-- The docs agree with the code: every Lua block of README.md and
-- docs/guide.md runs against the simulator (a subprocess under Lua 5.4 with
-- EXA_API_KEY and EXA_BASE_URL set; blocks for a host that is not a plain
-- script, Neovim or nginx, are run by their own specs), each `-- x --> {...}`
-- line of a block is checked against the value x really has (every key of
-- the shape present with its type, no other key), and the TLS settings agree
-- across the guide, the README and the example nginx.conf.
local mock = require "helpers.mock"

local ROOT = mock.root
local q = mock.quote
local TAG = os.getenv("EXA_TEST_LUA_TAG") or "5.4"

local function read(path)
  local f = assert(io.open(ROOT .. "/" .. path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- {file=, line=, code=} for each ```lua block
local function lua_blocks(path)
  local text, out = read(path), {}
  local pos = 1
  while true do
    local s, e, code = text:find("\n```lua\n(.-)\n```", pos)
    if not s then break end
    local _, lines = text:sub(1, s + 1):gsub("\n", "")
    out[#out + 1] = { file = path, line = lines + 2, code = code }
    pos = e
  end
  return out
end

-- Blocks that need a host other than a plain Lua script: run elsewhere.
local function host_of(code)
  if code:find("vim%.") then return "Neovim (spec/nvim_spec.lua)" end
  if code:find("ngx%.") then return "nginx (spec/ngx_*_spec.lua)" end
  return nil
end

-- What a block may take for granted (the names the docs use without defining them).
local PRELUDE = [[
local exa = require "exa"
local client = exa.new{}
local queries = { "first question", "second question" }
local function handle() end
local list_of_params = { { query = "first question", effort = "low" }, { query = "second question", effort = "low" } }
local id = client.runs:create{ query = "an earlier run", effort = "low" }.id
local function main() return 0 end
local function __shape(v, shape, where)
  local function fail(msg) error(where .. ": " .. msg, 0) end
  local function walk(val, sh, path)
    if type(sh) ~= "table" then
      if type(val) ~= type(sh) then fail(path .. " is a " .. type(val) .. ", the docs show a " .. type(sh)) end
      return
    end
    if type(val) ~= "table" then fail(path .. " is a " .. type(val) .. ", the docs show a table") end
    if sh[1] ~= nil then
      if val[1] == nil then fail(path .. " is an empty list, the docs show entries") end
      for i = 1, #val do walk(val[i], sh[1], path .. "[" .. i .. "]") end
      return
    end
    if next(sh) == nil then return end -- {}: any table
    for k, s in pairs(sh) do
      if val[k] == nil then fail(path .. "." .. k .. " is missing") end
      walk(val[k], s, path .. "." .. k)
    end
    for k in pairs(val) do
      if type(k) == "string" and sh[k] == nil then fail(path .. " has " .. k .. ", which the docs do not show") end
    end
  end
  walk(v, shape, "value")
end
]]

-- The block, each `-- x --> {shape}` line turned into a check of x.
local function instrument(block)
  local out, n = {}, 0
  for line in (block.code .. "\n"):gmatch("(.-)\n") do
    local indent, expr, shape = line:match("^(%s*)%-%-%s+(.-)%s+%-%->%s+(%b{})%s*$")
    if expr then
      n = n + 1
      line = ("%s__shape((%s), (%s), %q)"):format(indent, expr, shape,
        ("%s:%d: %s"):format(block.file, block.line + #out, expr))
    end
    out[#out + 1] = line
  end
  return table.concat(out, "\n"), n
end

describe("the Lua blocks of README.md and docs/guide.md", function()
  if TAG ~= "5.4" then
    it("run in the 5.4 pass", function() pending("runs once, under Lua 5.4 (the blocks run as lua5.4 scripts)") end)
    return
  end
  local srv
  setup(function() srv = mock.start{ "--speed", "200", "--max-active", "20" } end)
  teardown(function() if srv then srv:stop() end end)

  local blocks = {}
  for _, path in ipairs{ "README.md", "docs/guide.md" } do
    for _, b in ipairs(lua_blocks(path)) do blocks[#blocks + 1] = b end
  end

  it("are found, and most run here", function()
    local ran = 0
    for _, b in ipairs(blocks) do if not host_of(b.code) then ran = ran + 1 end end
    assert.is_true(#blocks >= 18, "found only " .. #blocks .. " blocks")
    assert.is_true(ran >= 14, "only " .. ran .. " blocks run")
  end)

  for _, b in ipairs(blocks) do
    local where = b.file .. ":" .. b.line
    local host = host_of(b.code)
    it("run: " .. where, function()
      if host then return pending("needs " .. host) end
      local code, checks = instrument(b)
      if b.code:find("%-%->%s*{") then assert.is_true(checks > 0, where .. ": a --> line not in the checked form") end
      local file = os.tmpname()
      local f = assert(io.open(file, "wb"))
      f:write(PRELUDE, "do\n", code, "\nend\n")
      f:close()
      local errf = os.tmpname()
      local p = assert(io.popen(("cd %s && EXA_API_KEY=sk-docs EXA_BASE_URL=%s LUA_PATH=%s LUA_CPATH=%s lua5.4 %s 2>%s "
        .. ">/dev/null; echo \"exit=$?\""):format(q(ROOT), q(srv.url), q("lua/?.lua;lua/?/init.lua;;"),
        q("build/5.4/?.so;;"), q(file), q(errf))))
      local out = p:read("*a")
      p:close()
      local ef = assert(io.open(errf, "rb"))
      local err = ef:read("*a")
      ef:close()
      os.remove(file)
      os.remove(errf)
      assert.equals("exit=0\n", out, where .. " failed:\n" .. err:sub(-2000))
    end)
  end
end)

describe("the names the docs use", function()
  it("client.runs:x and client:x are methods that exist (the SDK mapping table included)", function()
    local exa = require "exa"
    local client = exa.new{ api_key = "k", base_url = "http://127.0.0.1:9" }
    local missing, n = {}, 0
    for _, path in ipairs{ "README.md", "docs/guide.md" } do
      local text = read(path)
      assert.truthy(path ~= "README.md" or text:find("\n### Coming from exa%-js / exa%-py\n"), "no SDK mapping table")
      for name in text:gmatch("client%.runs:([%a_][%w_]*)") do
        n = n + 1
        if type(client.runs[name]) ~= "function" then missing[#missing + 1] = path .. ": client.runs:" .. name end
      end
      for name in text:gmatch("client:([%a_][%w_]*)") do
        n = n + 1
        if type(client[name]) ~= "function" then missing[#missing + 1] = path .. ": client:" .. name end
      end
    end
    client:close()
    assert.is_true(n >= 30, "found only " .. n .. " method names")
    assert.same({}, missing)
  end)
end)

describe("the TLS settings", function()
  it("are one value across the guide, the README and the example nginx.conf", function()
    for _, directive in ipairs{ "lua_ssl_verify_depth", "lua_ssl_trusted_certificate" } do
      local seen = {}
      for _, path in ipairs{ "docs/guide.md", "README.md", "examples/openresty/nginx.conf" } do
        local n = 0
        for v in read(path):gmatch(directive .. "%s+([^;%s]+);") do
          n = n + 1
          seen[#seen + 1] = path .. ": " .. v
          assert.equals(seen[1]:match(": (.*)$"), v, directive .. " differs: " .. table.concat(seen, ", "))
        end
        assert.is_true(n >= 1, path .. " does not set " .. directive)
      end
    end
  end)
end)
