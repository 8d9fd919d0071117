-- A method called with a dot for the colon (client.runs.create{...},
-- client.runs.get("id"), client.costs()) is a validation error that names the
-- colon, raised before any request. Every method is found by reading
-- lua/exa/runs.lua and lua/exa/client.lua, so a new method is covered too.
local exa = require "exa"
local mock = require "helpers.mock"

local function read(path)
  local f = assert(io.open(mock.root .. "/" .. path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function methods(path, class)
  local names = {}
  for name in read(path):gmatch("\nfunction " .. class .. ":([%a_][%w_]*)%(") do
    if name:sub(1, 1) ~= "_" then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

describe("a dot for the colon", function()
  local srv, client
  setup(function()
    srv = mock.start{ "--speed", "200" }
    client = exa.new{ api_key = "k", base_url = srv.url, max_retries = 0 }
  end)
  teardown(function()
    if client then client:close() end
    if srv then srv:stop() end
  end)

  local function refused(obj, name, fn)
    local ok, e = pcall(fn)
    assert.is_false(ok, obj .. "." .. name)
    assert.is_true(exa.is_error(e, "validation"), obj .. "." .. name .. ": " .. tostring(e))
    assert.equals("self", e.field)
    assert.equals(("call %s:%s(...) with a colon: %s.%s(...) passes no self"):format(obj, name, obj, name),
      e.message)
  end

  it("names the colon for every method of client.runs, before any request", function()
    local names = methods("lua/exa/runs.lua", "Runs")
    assert.is_true(#names >= 14, table.concat(names, " "))
    local before = srv:stats().requests
    for _, name in ipairs(names) do
      local m = client.runs[name]
      assert.is_function(m, name)
      refused("client.runs", name, function() return m{ query = "q", effort = "low" } end)
      refused("client.runs", name, function() return m("agent_run_1") end)
      refused("client.runs", name, function() return m() end)
    end
    assert.equals(before + 1, srv:stats().requests) -- the stats request itself, nothing else
  end)

  it("names the colon for every method of a client", function()
    local names = methods("lua/exa/client.lua", "Client")
    assert.is_true(#names >= 3, table.concat(names, " "))
    for _, name in ipairs(names) do
      local m = client[name]
      refused("client", name, function() return m() end)
      refused("client", name, function() return m({}) end)
    end
  end)

  it("leaves the colon working, and an explicit self", function()
    local run = client.runs:create{ query = "q", effort = "low" }
    assert.equals(run.id, client.runs.get(client.runs, run.id).id)
    assert.is_table(client.costs(client))
  end)
end)
