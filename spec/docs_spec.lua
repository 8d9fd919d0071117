-- The API reference (make docs: LDoc over config.ld) builds without a single
-- warning and covers every public name: the functions and fields of the exa
-- module, the methods and fields of a client, of client.runs, of a stream and
-- of a builder, every option of exa.new and of a call, every error kind and
-- every event name. "Public" is read from the running library and the
-- sources, not from a list kept here, so a new public name fails this spec
-- until it is documented.
local mock = require "helpers.mock"
local exa = require "exa"

local ROOT = mock.root
local q = mock.quote

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function sources(glob)
  local out = {}
  local p = assert(io.popen("cd " .. q(ROOT) .. " && ls " .. glob .. " 2>/dev/null"))
  for line in p:lines() do out[#out + 1] = { path = line, text = read(ROOT .. "/" .. line) } end
  p:close()
  return out
end

-- Methods a public object has that are not part of the API (say why).
local INTERNAL = {
  Stream = {
    ended = "the state machine's transition after a transfer ends",
    replay_spec_for = "builds the request of a resume",
  },
}

local out_dir, build_log, pages

local function anchors(page)
  local set = {}
  for name in pages[page]:gmatch('name = "([^"]+)"') do set[name] = true end
  return set
end

-- The HTML of one documented item: from its anchor to the next one.
local function item(page, name)
  local html = pages[page]
  local s = html:find('name = "' .. name .. '"', 1, true)
  if not s then return "" end
  local e = html:find('name = "', s + 10, true) or #html
  return html:sub(s, e)
end

local function method_names(obj)
  local mt = getmetatable(obj)
  local idx = type(mt.__index) == "table" and mt.__index or mt
  local names = {}
  for k, v in pairs(idx) do
    if type(k) == "string" and type(v) == "function" and not k:find("^_") then names[#names + 1] = k end
  end
  table.sort(names)
  return names, idx
end

local function check_methods(class, obj, page)
  local names, idx = method_names(obj)
  local have = anchors(page)
  local missing = {}
  for _, k in ipairs(names) do
    if not have[class .. ":" .. k] and not (INTERNAL[class] or {})[k] then
      -- an alias is documented when its name is mentioned in the text of the method it aliases
      local alias_ok = false
      for _, other in ipairs(names) do
        if other ~= k and idx[other] == idx[k] and have[class .. ":" .. other]
          and item(page, class .. ":" .. other):find(class .. ":" .. k, 1, true) then
          alias_ok = true
        end
      end
      if not alias_ok then missing[#missing + 1] = class .. ":" .. k end
    end
  end
  return missing
end

local function tmpdir() -- made by mktemp -d: no window in which another process can take the name
  local p = assert(io.popen("mktemp -d /tmp/exa-spec.XXXXXX"))
  local d = p:read("*l")
  p:close()
  return assert(d)
end

describe("the API reference", function()
  setup(function()
    out_dir = tmpdir()
    local p = assert(io.popen("cd " .. q(ROOT) .. " && scripts/docs.sh " .. q(out_dir) .. " 2>&1; echo \"exit=$?\""))
    build_log = p:read("*a")
    p:close()
    pages = {}
    for _, page in ipairs{ "modules/exa", "modules/exa.builder", "classes/Client", "classes/Runs",
      "classes/Stream", "classes/Error" } do
      local f = io.open(out_dir .. "/" .. page .. ".html", "rb")
      pages[page] = f and f:read("*a") or ""
      if f then f:close() end
    end
  end)
  teardown(function() os.execute("rm -rf " .. q(out_dir)) end)

  it("builds with LDoc without a warning", function()
    assert.equal("docs: API reference in " .. out_dir .. "/index.html\nexit=0\n", build_log)
  end)

  it("documents every function and field of the exa module", function()
    local have = anchors("modules/exa")
    local missing = {}
    for k in pairs(exa) do
      if not have[k] then missing[#missing + 1] = "exa." .. k end
    end
    table.sort(missing)
    assert.same({}, missing, "public but not in the reference (lua/exa/init.lua): " .. table.concat(missing, ", "))
  end)

  it("documents every method and field of a client, client.runs, a stream and a builder", function()
    local client = exa.new{ api_key = "k", base_url = "http://127.0.0.1:9" }
    local missing = {}
    for _, m in ipairs(check_methods("Client", client, "classes/Client")) do missing[#missing + 1] = m end
    for k in pairs(client) do
      if type(k) == "string" and not k:find("^_") and not anchors("classes/Client")["Client." .. k] then
        missing[#missing + 1] = "Client." .. k
      end
    end
    for _, m in ipairs(check_methods("Runs", client.runs, "classes/Runs")) do missing[#missing + 1] = m end
    local s = client.runs:stream{ query = "never sent" } -- nothing is sent before the first event is asked for
    for _, m in ipairs(check_methods("Stream", s, "classes/Stream")) do missing[#missing + 1] = m end
    s:close()
    for _, m in ipairs(check_methods("Builder", exa.run("q"), "modules/exa.builder")) do missing[#missing + 1] = m end
    client:close()
    table.sort(missing)
    assert.same({}, missing, "public but not in the reference (docs/ref/*.luadoc, lua/exa/builder.lua): "
      .. table.concat(missing, ", "))
  end)

  it("documents every option of exa.new and of a call", function()
    -- the option lists every call is checked against (validate.OPTIONS)
    local OPTIONS = require("exa.validate").OPTIONS
    assert.is_table(OPTIONS.new, "exa.new's option list is not in validate.OPTIONS any more")
    local new = item("modules/exa", "new")
    local missing = {}
    for _, opt in ipairs(OPTIONS.new.names) do
      if not new:find('class="parameter">' .. opt .. "<", 1, true) then missing[#missing + 1] = "exa.new{" .. opt .. "}" end
    end
    local call = item("classes/Runs", "Runs.call_options")
    local opts = {}
    for _, f in ipairs(sources("lua/exa/runs.lua")) do
      for opt in f.text:gmatch("opts%.([%a_][%w_]*)") do opts[opt] = true end
    end
    for _, name in ipairs{ "create", "stream", "replay", "run", "get", "list" } do
      for _, opt in ipairs(OPTIONS[name].names) do opts[opt] = true end
    end
    for opt in pairs(opts) do
      if not call:find('class="parameter">' .. opt .. "<", 1, true) then missing[#missing + 1] = "call option " .. opt end
    end
    table.sort(missing)
    assert.same({}, missing)
  end)

  it("documents every error kind", function()
    local kinds = {}
    -- set in the Lua layer
    for _, f in ipairs(sources("$(find lua/exa -name '*.lua' | sort)")) do
      for k in f.text:gmatch('kind%s*=%s*"([%a_]+)"') do kinds[k] = true end
      for block in f.text:gmatch("\nlocal KIND_BY_[%u_]+ = (%b{})") do
        for k in block:gmatch('=%s*"([%a_]+)"') do kinds[k] = true end
      end
      for a, b in f.text:gmatch('%(status >= 500 and "([%a_]+)"%) or "([%a_]+)"') do kinds[a] = true; kinds[b] = true end
    end
    -- the C core's, as docs/architecture.md §3 fixes them
    local core = read(ROOT .. "/docs/architecture.md"):match("with the kinds of `exa%.core`%s*%(`([^`]+)`%)")
    assert.is_string(core, "docs/architecture.md no longer lists the kinds of exa.core")
    for k in core:gmatch("[%a_]+") do kinds[k] = true end
    local page = item("classes/Error", "Error.kinds")
    local missing, n = {}, 0
    for k in pairs(kinds) do
      n = n + 1
      if not page:find("<code>" .. k .. "</code>", 1, true) then missing[#missing + 1] = k end
    end
    table.sort(missing)
    assert.is_true(n >= 20, "found only " .. n .. " kinds in the sources")
    assert.same({}, missing, "error kinds not in docs/ref/error.luadoc: " .. table.concat(missing, ", "))
  end)

  it("documents every event name and the shape of an event", function()
    local names = {}
    for _, f in ipairs(sources("lua/exa_mock/*.lua")) do
      for e in f.text:gmatch('emit%(%w+,%s*"(agent_run%.[%w_.]+)"') do names[e] = true end
    end
    for _, f in ipairs(sources("$(find lua/exa -name '*.lua' | sort)")) do
      for e in f.text:gmatch('%["(agent_run%.[%w_.]+)"%]') do names[e] = true end
    end
    local page = item("classes/Stream", "Stream.events")
    local missing, n = {}, 0
    for e in pairs(names) do
      n = n + 1
      if not page:find("<code>" .. e .. "</code>", 1, true) then missing[#missing + 1] = e end
    end
    table.sort(missing)
    assert.is_true(n >= 9, "found only " .. n .. " event names in the sources")
    assert.same({}, missing, "events not in docs/ref/stream.luadoc: " .. table.concat(missing, ", "))
    local ev = item("classes/Stream", "Stream.Event")
    for _, field in ipairs{ "id", "event", "data" } do
      assert.truthy(ev:find('class="parameter">' .. field .. "<", 1, true), "Event." .. field)
    end
  end)
end)

describe("docs/guide.md", function()
  local guide = read(ROOT .. "/docs/guide.md")

  it("has a section per host and per workflow", function()
    for _, h in ipairs{ "### Plain scripts", "### Coroutines", "### Neovim", "### OpenResty", "### cqueues",
      "### Structured output", "### Enrichment with `input.data` and exclusions", "### Follow-up runs",
      "### Many runs at once", "### Cost control" } do
      assert.truthy(guide:find("\n" .. h .. "\n", 1, true), h)
    end
  end)

  it("links only files that exist, and each workflow to its example", function()
    for target in guide:gmatch("%]%(([^)#]+)[^)]*%)") do
      if not target:find("^https?:") then
        local f = io.open(ROOT .. "/docs/" .. target, "rb")
        assert.truthy(f, "docs/guide.md links " .. target .. ", which does not exist")
        if f then f:close() end
      end
    end
    for _, ex in ipairs{ "structured_output", "enrichment", "follow_up", "many_runs", "cost_control" } do
      assert.truthy(guide:find("(../examples/" .. ex .. ".lua)", 1, true), ex)
    end
  end)
end)
