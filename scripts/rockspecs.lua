-- scripts/rockspecs.lua: do the rockspecs install exactly what the checkout has?
--
--   lua scripts/rockspecs.lua          check; print each problem with the lines to add or remove
--   lua scripts/rockspecs.lua --fix    rewrite the install lists of every rockspec from the disk
--
-- Two rocks come from this repository:
--   exa-agent        lua/exa/** (Lua), exa.core (every src/*.c, built by `make rock`),
--                    every bin/* script except exa-agent-mock;
--   exa-agent-mock   lua/exa_mock/**, bin/exa-agent-mock, and lua/exa/schema.lua (the one
--                    JSON Schema validator) as exa_mock.jsonschema.
-- Each has a development rockspec (scm-1) and a release rockspec (<VERSION>-<rev>, with
-- source.tag v<VERSION>) that differ only in version and tag; VERSION is the Makefile's,
-- and lua/exa/version.lua and src/core.c say the same. spec/rockspec_spec.lua runs this
-- check; `make dist` runs it before packing. Runs under any Lua 5.1-5.4.
local M = {}

local function script_root()
  local src = debug.getinfo(1, "S").source
  local path = src:sub(1, 1) == "@" and src:sub(2) or "scripts/rockspecs.lua"
  local dir = path:match("^(.*)/scripts/[^/]*$") or (path:match("^scripts/") and ".") or ".."
  return dir == "" and "/" or dir
end

M.PACKAGES = {
  { name = "exa-agent", lua = "lua/exa", lib = { ["exa.core"] = "build/rock/exa/core.so" } },
  -- the JSON Schema validator is one file for both rocks (issue 9): the
  -- simulator's rock installs it under its own name, so it stands alone
  { name = "exa-agent-mock", lua = "lua/exa_mock", bin_only = "exa-agent-mock",
    also = { ["exa_mock.jsonschema"] = "lua/exa/schema.lua" } },
}

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function lines_of(cmd)
  local out = {}
  local p = assert(io.popen(cmd))
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  table.sort(out)
  return out
end

local function read(root, path)
  local f = io.open(root .. "/" .. path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write(root, path, s)
  local f = assert(io.open(root .. "/" .. path, "wb"))
  f:write(s)
  f:close()
end

--- Load a rockspec as LuaRocks does: a chunk run in an empty environment.
function M.load(root, file)
  local text = read(root, file)
  if not text then return nil, file .. ": cannot read" end
  local env = {}
  local chunk, err
  if setfenv then
    chunk, err = loadstring(text, "@" .. file)
    if chunk then setfenv(chunk, env) end
  else
    chunk, err = load(text, "@" .. file, "t", env)
  end
  if not chunk then return nil, err end
  local ok, e = pcall(chunk)
  if not ok then return nil, e end
  return env
end

-- module name of a path under lua/
local function module_of(path)
  return (path:gsub("^lua/", ""):gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", "."))
end

--- What the disk says each package must install: { [name] = {lua = {mod = path}, bin = {name = path}} },
--- plus a list of problems (files that belong to no rock).
function M.expected(root)
  local want, problems = {}, {}
  for _, p in ipairs(M.PACKAGES) do
    want[p.name] = { lua = {}, lib = p.lib or {}, bin = {} }
    for mod, path in pairs(p.also or {}) do want[p.name].lua[mod] = path end
  end
  for _, path in ipairs(lines_of("cd " .. quote(root) .. " && find lua -name '*.lua'")) do
    local owner
    for _, p in ipairs(M.PACKAGES) do
      if path:sub(1, #p.lua + 1) == p.lua .. "/" then owner = p.name end
    end
    if owner then
      want[owner].lua[module_of(path)] = path
    else
      problems[#problems + 1] = path .. " belongs to no rock (lua/exa/ is the client's, lua/exa_mock/ the simulator's)"
    end
  end
  for _, path in ipairs(lines_of("cd " .. quote(root) .. " && ls bin 2>/dev/null")) do
    local owner = M.PACKAGES[1].name
    for _, p in ipairs(M.PACKAGES) do
      if p.bin_only == path then owner = p.name end
    end
    want[owner].bin[path] = "bin/" .. path
  end
  return want, problems
end

--- The version the Makefile, lua/exa/version.lua and src/core.c agree on, or nil and problems.
function M.version(root)
  local mk = (read(root, "Makefile") or ""):match("\nVERSION%s*:=%s*(%S+)")
  local lua = (read(root, "lua/exa/version.lua") or ""):match('return%s*"([^"]+)"')
  local c = (read(root, "src/core.c") or ""):match('#define EXA_VERSION "([^"]+)"')
  local problems = {}
  if not mk then problems[#problems + 1] = "Makefile: no VERSION := line" end
  if lua ~= mk then problems[#problems + 1] = ("lua/exa/version.lua says %s, the Makefile %s"):format(tostring(lua), tostring(mk)) end
  if c ~= mk then problems[#problems + 1] = ("src/core.c's EXA_VERSION says %s, the Makefile %s"):format(tostring(c), tostring(mk)) end
  return mk, problems
end

local function sorted_keys(t)
  local k = {}
  for key in pairs(t or {}) do k[#k + 1] = key end
  table.sort(k)
  return k
end

-- The lines a rockspec lists an install table with (the format --fix writes).
local function entry(indent, k, v) return ("%s[%q] = %q,"):format(indent, k, v) end

local function compare(problems, file, what, want, have, indent)
  local missing, extra = {}, {}
  for _, k in ipairs(sorted_keys(want)) do
    if have[k] ~= want[k] then missing[#missing + 1] = entry(indent, k, want[k]) end
  end
  for _, k in ipairs(sorted_keys(have)) do
    if want[k] ~= have[k] then extra[#extra + 1] = entry(indent, k, tostring(have[k])) end
  end
  if #missing > 0 then
    problems[#problems + 1] = ("%s: %s lacks (add):\n%s"):format(file, what, table.concat(missing, "\n"))
  end
  if #extra > 0 then
    problems[#problems + 1] = ("%s: %s names what the checkout does not have (remove):\n%s")
      :format(file, what, table.concat(extra, "\n"))
  end
end

local function deep_equal(a, b, path, out)
  if type(a) ~= type(b) then out[#out + 1] = path; return end
  if type(a) ~= "table" then
    if a ~= b then out[#out + 1] = path end
    return
  end
  local keys = {}
  for k in pairs(a) do keys[k] = true end
  for k in pairs(b) do keys[k] = true end
  for k in pairs(keys) do deep_equal(a[k], b[k], path .. "." .. tostring(k), out) end
end

--- Every problem, as text ready to act on; empty when all is well.
--- Also returns the loaded rockspecs by file name.
function M.check(root)
  root = root or script_root()
  local want, problems = M.expected(root)
  local version, vproblems = M.version(root)
  for _, p in ipairs(vproblems) do problems[#problems + 1] = p end

  local specs = {}
  for _, pkg in ipairs(M.PACKAGES) do
    local scm, release = pkg.name .. "-scm-1.rockspec", nil
    for _, f in ipairs(lines_of("cd " .. quote(root) .. " && ls " .. pkg.name .. "-*.rockspec 2>/dev/null")) do
      local v = f:sub(#pkg.name + 2):match("^(%d[%w.]*%-%d+)%.rockspec$")
      if v then
        if release then problems[#problems + 1] = pkg.name .. ": two release rockspecs, " .. release .. " and " .. f end
        release = f
      end
    end
    if not release then
      problems[#problems + 1] = ("%s: no release rockspec (%s-%s-1.rockspec)"):format(pkg.name, pkg.name, tostring(version))
    end
    local loaded = {}
    for _, f in ipairs{ scm, release } do
      local s, err = M.load(root, f)
      if not s then
        problems[#problems + 1] = f .. ": " .. tostring(err)
      else
        specs[f] = s
        loaded[#loaded + 1] = { file = f, spec = s }
        local fv = f:sub(#pkg.name + 2):gsub("%.rockspec$", "")
        if s.package ~= pkg.name then problems[#problems + 1] = f .. ": package is " .. tostring(s.package) end
        if s.version ~= fv then problems[#problems + 1] = f .. ": version " .. tostring(s.version) .. " but the file says " .. fv end
        local b = type(s.build) == "table" and s.build or {}
        local inst = type(b.install) == "table" and b.install or {}
        compare(problems, f, "build.install.lua", want[pkg.name].lua, inst.lua or {}, "      ")
        compare(problems, f, "build.install.lib", want[pkg.name].lib, inst.lib or {}, "      ")
        compare(problems, f, "build.install.bin", want[pkg.name].bin, inst.bin or {}, "      ")
        if b.modules then problems[#problems + 1] = f .. ": build.modules is not used (install.lua lists the modules)" end
        if f == scm then
          if type(s.source) ~= "table" or s.source.tag then problems[#problems + 1] = f .. ": an scm rockspec has no source.tag" end
        else
          local rv = s.version and s.version:match("^(.*)%-%d+$")
          if rv ~= version then
            problems[#problems + 1] = ("%s: release %s, but the Makefile says VERSION %s"):format(f, tostring(rv), tostring(version))
          end
          if type(s.source) ~= "table" or s.source.tag ~= "v" .. tostring(rv) then
            problems[#problems + 1] = ("%s: source.tag must be \"v%s\""):format(f, tostring(rv))
          end
        end
      end
    end
    if #loaded == 2 then -- the release is the scm rockspec at a tag: nothing else may differ
      local a, b = loaded[1].spec, loaded[2].spec
      local diffs = {}
      for _, k in ipairs{ "rockspec_format", "description", "supported_platforms", "dependencies",
        "external_dependencies", "build", "test" } do
        deep_equal(a[k], b[k], k, diffs)
      end
      if type(a.source) == "table" and type(b.source) == "table" and a.source.url ~= b.source.url then
        diffs[#diffs + 1] = "source.url"
      end
      table.sort(diffs)
      if #diffs > 0 then
        problems[#problems + 1] = ("%s and %s differ in %s (they may differ only in version and source.tag)")
          :format(loaded[1].file, loaded[2].file, table.concat(diffs, ", "))
      end
    end
  end

  -- exa.core is every src/*.c: the rock target compiles $(SRCS), the wildcard.
  local dry = table.concat(lines_of("cd " .. quote(root) .. " && make -s -n rock 2>&1"), "\n")
  for _, c in ipairs(lines_of("cd " .. quote(root) .. " && ls src/*.c")) do
    if not dry:find(c, 1, true) then
      problems[#problems + 1] = "make rock does not compile " .. c
    end
  end
  return problems, specs
end

-- Rewrite the block that starts at a line equal to `open` (inside `build.install`)
-- and ends at the next line equal to `close` with the given entry lines.
local function replace_block(text, open, close, entries)
  local lines = {}
  for line in (text .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = line end
  if lines[#lines] == "" then lines[#lines] = nil end
  local out, i, done = {}, 1, false
  while i <= #lines do
    local line = lines[i]
    if not done and line == open then
      out[#out + 1] = line
      i = i + 1
      while i <= #lines and lines[i] ~= close do i = i + 1 end
      for _, e in ipairs(entries) do out[#out + 1] = e end
      done = true
    else
      out[#out + 1] = line
      i = i + 1
    end
  end
  return table.concat(out, "\n") .. "\n", done
end

--- Rewrite the install lists of every rockspec from the disk.
function M.fix(root)
  root = root or script_root()
  local want = M.expected(root)
  local changed = {}
  for _, pkg in ipairs(M.PACKAGES) do
    for _, f in ipairs(lines_of("cd " .. quote(root) .. " && ls " .. pkg.name .. "-*.rockspec 2>/dev/null")) do
      if f:sub(#pkg.name + 2):match("^[%w.]+%-%d+%.rockspec$") then
        local text = read(root, f)
        local entries = {}
        for _, k in ipairs(sorted_keys(want[pkg.name].lua)) do entries[#entries + 1] = entry("      ", k, want[pkg.name].lua[k]) end
        local new, ok = replace_block(text, "    lua = {", "    },", entries)
        if not ok then error(f .. ": no '    lua = {' block under build.install to rewrite") end
        local bins = {}
        for _, k in ipairs(sorted_keys(want[pkg.name].bin)) do bins[#bins + 1] = ("[%q] = %q"):format(k, want[pkg.name].bin[k]) end
        local binline = #bins > 0 and ("    bin = { " .. table.concat(bins, ", ") .. " },") or nil
        if new:find("\n    bin = {[^\n]*},\n") then
          new = new:gsub("\n    bin = {[^\n]*},\n", binline and ("\n" .. binline .. "\n") or "\n", 1)
        elseif binline then
          new = new:gsub("(\n    lua = {\n.-\n    },\n)", "%1" .. binline:gsub("%%", "%%%%") .. "\n", 1)
        end
        if new ~= text then
          write(root, f, new)
          changed[#changed + 1] = f
        end
      end
    end
  end
  return changed
end

if arg and arg[0] and arg[0]:match("rockspecs%.lua$") and not package.loaded["scripts.rockspecs"] then
  local root = script_root()
  if arg[1] == "--fix" then
    for _, f in ipairs(M.fix(root)) do print("rewrote " .. f) end
  elseif arg[1] then
    io.stderr:write("usage: lua scripts/rockspecs.lua [--fix]\n")
    os.exit(2)
  end
  local problems = M.check(root)
  if #problems > 0 then
    for _, p in ipairs(problems) do print(p) end
    print(("rockspecs: %d problem(s); `lua scripts/rockspecs.lua --fix` rewrites the install lists"):format(#problems))
    os.exit(1)
  end
  print("rockspecs: ok")
end

return M
