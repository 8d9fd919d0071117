-- exa_mock.generate: the fake research result of a run. One set of findings
-- per run (an entity, its topic, facts and sources) feeds everything: the
-- search steps and the sources they add, the answer text that cites them,
-- the structured value (which validates against the outputSchema) and its
-- field-level grounding. Reproducible: output depends only on (seed, request).
local json = require "exa_mock.json"
local util = require "exa_mock.util"
local schema = require "exa_mock.schema"
local W = require "exa_mock.words"

local generate = {}

local MAX_DEPTH = 12

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

local function slug(s)
  return (s:lower():gsub("[^%w]+", "-"):gsub("^%-+", ""):gsub("%-+$", ""))
end

-- The path of a property, as grounding names it: .key, or ["odd key"].
local function child(path, k)
  return path .. (k:match("^[%a_][%w_]*$") and ("." .. k) or ("[" .. json.encode(k) .. "]"))
end

-- Field kinds ------------------------------------------------------------------

local function has(n, ...)
  for _, w in ipairs { ... } do
    if n:find(w, 1, true) then return true end
  end
  return false
end

local function headline_kind(n, path)
  if has(n, "title", "headline") and (has(n, "source", "article", "headline") or has(path, "source", "article")) then
    return "headline"
  end
end

local function format_kind(n, fmt)
  if fmt == "email" or (not fmt and has(n, "email")) then return "email" end
  if fmt == "phone" or fmt == "phone-number" or (not fmt and has(n, "phone")) then return "phone" end
  if fmt == "date-time" then return "datetime" end
  if fmt == "date" or (not fmt and has(n, "date")) then return "date" end
end

local function url_kind(n, fmt)
  if fmt == "uri" or fmt == "url" or fmt == "uri-reference" or has(n, "url", "link", "website")
      or n:find("^source") then
    return has(n, "linkedin") and "profile" or "url"
  end
  if fmt == "uuid" or fmt == "hostname" or fmt == "ipv4" then return fmt end
end

-- name: the property (or array) name; path: where it is.
local NAME_KINDS = {
  { "domain", { "domain" } }, { "city", { "city", "location", "headquarter" } }, { "country", { "country" } },
  { "round", { "round", "stage" } }, { "amount", { "amount", "funding", "price", "revenue", "raised" } },
  { "summary", { "summary", "description", "reason", "note" } },
  { "person", { "founder", "ceo", "executive", "person", "people" } }, { "role", { "title", "role", "position" } },
  { "entity", { "compan", "organi", "startup", "employer" } }, { "person", { "name" } },
  { "topic", { "topic", "sector", "industry", "category" } },
}

local function kind_of(name, path, fmt)
  local n, p = (name or ""):lower(), (path or ""):lower()
  local k = format_kind(n, fmt) or headline_kind(n, p) or url_kind(n, fmt)
  if k then return k end
  if n == "name" and has(p, "compan", "organi", "startup") then return "entity" end
  for _, e in ipairs(NAME_KINDS) do
    if has(n, table.unpack(e[2])) then return e[1] end
  end
end

-- Findings ---------------------------------------------------------------------

-- A value from draw() not in used (marked used), or nil after a few tries.
local function fresh(used, draw)
  for _ = 1, 40 do
    local v = draw()
    if not used[v] then
      used[v] = true
      return v
    end
  end
end

local function entity_name(ctx)
  local rng, used = ctx.frng, ctx.used.name
  return fresh(used, function() return rng:pick(W.company) end)
    or fresh(used, function() return rng:pick(W.brand) .. " " .. rng:pick(W.suffix) end)
    or ("%s %d"):format(rng:pick(W.company), ctx.nfind)
end

local function person_name(ctx)
  local rng = ctx.frng
  return fresh(ctx.used.person, function() return rng:pick(W.first) .. " " .. rng:pick(W.last) end)
    or ("%s %s %d"):format(rng:pick(W.first), rng:pick(W.last), ctx.nfind)
end

local function unique_url(ctx, url)
  local u, n = url, 1
  while ctx.used.url[u] do
    n = n + 1
    u = url .. "-" .. n
  end
  ctx.used.url[u] = true
  return u
end

-- The words of list the query mentions, else the whole list.
local function mentioned(list, query)
  local q, out = query:lower(), {}
  for _, w in ipairs(list) do
    if q:find(w:lower(), 1, true) then out[#out + 1] = w end
  end
  return #out > 0 and out or list
end

local ADOPT = { entity = true, person = true, role = true, round = true, amount = true, city = true,
  country = true, topic = true, domain = true }

-- An input row's own facts become the finding's (its name, domain, ...).
local function adopt(ctx, f, row)
  for _, k in ipairs(sorted_keys(row)) do
    local v = row[k]
    local kind = k:lower() == "name" and "entity" or kind_of(k, "", nil)
    if type(v) == "string" and v ~= "" then
      if ADOPT[kind] and not (k:lower() == "name" and f.entity) then f[kind] = v end
      if kind == "url" and schema.FORMATS.uri(v) and not ctx.used.url[v] then f.url = v end
    end
  end
  if f.entity then ctx.used.name[f.entity] = true end
  if f.person then ctx.used.person[f.person] = true end
end

local function facts(ctx)
  local rng = ctx.frng
  local ci = rng:random(1, #W.city)
  return {
    fixed = {}, topic = rng:pick(ctx.topics), round = rng:pick(ctx.rounds), amount_m = rng:random(5, 150),
    city = W.city[ci], country = W.country[W.city_country[ci]], role = rng:pick(W.role),
    month = rng:random(1, 5), day = rng:random(1, 28), hour = rng:random(7, 20), minute = rng:random(0, 59),
    site = rng:pick(W.site), press = rng:pick(W.press), corroborated = rng:random(0, 1) == 1,
    n = rng:random(100, 999),
  }
end

--- A new finding, its facts taken from row where it has them.
local function new_finding(ctx, row)
  ctx.nfind = ctx.nfind + 1
  local f = facts(ctx)
  f.id = ctx.nfind
  if type(row) == "table" and not json.is_array(row) then adopt(ctx, f, row) end
  f.entity = f.entity or entity_name(ctx)
  f.person = f.person or person_name(ctx)
  f.amount = f.amount or ("$%dM"):format(f.amount_m)
  f.domain = f.domain or (slug(f.entity) .. ".example.com")
  f.date = ("2026-%02d-%02d"):format(f.month, f.day)
  f.phone = ("+1 415 555 %04d"):format(1000 + f.id % 9000)
  local s = slug(f.entity)
  f.url = unique_url(ctx, f.url or ("https://%s/2026/%02d/%s-%d"):format(f.site, f.month, s, f.n))
  f.press_url = unique_url(ctx, ("https://%s/releases/%s-%d"):format(f.press, s, f.n + 17))
  f.profile_url = "https://www.linkedin.com/in/" .. slug(f.person)
  return f
end

-- The finding that the value being generated belongs to: the array item's,
-- else the run's lead finding (made on first use).
local function current(ctx)
  if ctx.finding then return ctx.finding end
  ctx.lead = ctx.lead or new_finding(ctx)
  return ctx.lead
end

local function main_title(f)
  return ("%s raises %s %s to expand %s"):format(f.entity, f.amount, f.round, f.topic)
end

local function email_of(f)
  local local_part = slug(f.person):gsub("%-", ".")
  local e = (local_part .. "@" .. f.domain):lower()
  if schema.FORMATS.email(e) then return e end
  return ("contact@%s.example.com"):format(slug(f.entity) ~= "" and slug(f.entity) or "company")
end

local function summary_of(f)
  return ("%s, a %s company based in %s, raised %s in a %s round."):format(f.entity, f.topic, f.city,
    f.amount, f.round)
end

-- Each kind's value for finding f (ctx for counters and the value rng).
local VALUE = {
  email = function(ctx, f) ctx.emails = ctx.emails + 1 return email_of(f) end,
  phone = function(ctx, f) ctx.phones = ctx.phones + 1 return f.phone end,
  datetime = function(_, f) return ("%sT%02d:%02d:00Z"):format(f.date, f.hour, f.minute) end,
  date = function(_, f) return f.date end,
  headline = function(_, f) return main_title(f) end,
  url = function(_, f) return f.url end,
  profile = function(_, f) return f.profile_url end,
  hostname = function(_, f) return f.domain end,
  ipv4 = function(_, f) return ("192.0.2.%d"):format(f.id % 254 + 1) end,
  uuid = function(ctx)
    local h = {}
    for i = 1, 32 do h[i] = ("%x"):format(ctx.rng:random(0, 15)) end
    local x = table.concat(h)
    return x:sub(1, 8) .. "-" .. x:sub(9, 12) .. "-4" .. x:sub(14, 16) .. "-a" .. x:sub(18, 20) .. "-" .. x:sub(21, 32)
  end,
  summary = function(_, f) return summary_of(f) end,
}
for _, k in ipairs { "domain", "city", "country", "round", "amount", "person", "role", "entity", "topic" } do
  VALUE[k] = function(_, f) return f[k] end
end

-- Kinds whose words the text and titles repeat: once a field shows one, it stays.
local SHOWS = { headline = { "round", "amount", "topic" }, summary = { "round", "amount", "topic", "city" } }

local function fix(f, kind)
  f.fixed[kind] = true
  for _, k in ipairs(SHOWS[kind] or {}) do f.fixed[k] = true end
end

-- Values -----------------------------------------------------------------------

-- A string for a field: its kind's value from the current finding.
local function text_for(ctx, s, name, path)
  local kind = kind_of(name, path, s.format)
  if kind and VALUE[kind] then
    local f = current(ctx)
    fix(f, kind)
    return VALUE[kind](ctx, f)
  end
  return ("%s %d"):format(name and name ~= "" and name or "value", ctx.rng:random(1, 999))
end

local function fit_length(str, s)
  local minl, maxl = s.minLength, s.maxLength
  if minl and #str < minl then str = str .. string.rep("x", minl - #str) end
  if maxl and utf8.len(str) and utf8.len(str) > maxl then str = str:sub(1, maxl) end
  return str
end

-- An enum value: the finding's own when listed, else a pick that the finding
-- then adopts (so the text says the same round, city, ...).
local function enum_for(ctx, s, name, path)
  local kind = kind_of(name, path, nil)
  local f = kind and current(ctx)
  local want = f and f[kind]
  for _, e in ipairs(s.enum) do
    if want ~= nil and e == want then
      fix(f, kind)
      return e
    end
  end
  local v = util.copy(s.enum[ctx.rng:random(1, #s.enum)])
  if f and ADOPT[kind] and kind ~= "entity" and kind ~= "person" and type(v) == "string" and not f.fixed[kind] then
    f[kind] = v
  end
  if f then fix(f, kind) end
  return v
end

local function in_bounds(s, v, integer)
  if integer and math.type(v) ~= "integer" then return false end
  if s.minimum and v < s.minimum or s.maximum and v > s.maximum then return false end
  if type(s.exclusiveMinimum) == "number" and v <= s.exclusiveMinimum then return false end
  if type(s.exclusiveMaximum) == "number" and v >= s.exclusiveMaximum then return false end
  return not s.multipleOf
end

local function number_for(ctx, s, integer, name, path)
  if kind_of(name, path, nil) == "amount" then
    local f = current(ctx)
    for _, v in ipairs { f.amount_m * 1000000, f.amount_m } do
      if in_bounds(s, v, integer) then return v end
    end
  end
  local lo = s.minimum or (type(s.exclusiveMinimum) == "number" and s.exclusiveMinimum) or 0
  local hi = s.maximum or (type(s.exclusiveMaximum) == "number" and s.exclusiveMaximum) or lo + 1000
  if hi < lo then hi = lo end
  local v
  if integer then
    local ilo, ihi = math.ceil(lo), math.floor(hi)
    if type(s.exclusiveMinimum) == "number" and ilo <= s.exclusiveMinimum then ilo = ilo + 1 end
    if type(s.exclusiveMaximum) == "number" and ihi >= s.exclusiveMaximum then ihi = ihi - 1 end
    if ihi < ilo then ihi = ilo end
    v = ctx.rng:random(math.tointeger(ilo), math.tointeger(ihi))
  else
    v = lo + (hi - lo) * (0.1 + 0.8 * ctx.rng:random())
    v = math.floor(v * 100 + 0.5) / 100
    if v < lo or v > hi then v = (lo + hi) / 2 end
  end
  if s.multipleOf then
    local m = s.multipleOf
    v = math.ceil(lo / m) * m
    if integer then v = math.tointeger(v) or math.floor(v) end
  end
  return v
end

local gen

local function merge_all(ctx, s)
  local out = {}
  for k, v in pairs(s) do if k ~= "allOf" then out[k] = v end end
  local req = json.array()
  for _, k in ipairs(s.required or {}) do req[#req + 1] = k end
  for _, sub in ipairs(s.allOf) do
    sub = schema.deref(ctx.root, sub)
    if type(sub) == "table" then
      if sub.allOf then sub = merge_all(ctx, sub) end
      for k, v in pairs(sub) do
        if k == "properties" then
          out.properties = out.properties or {}
          for pk, pv in pairs(v) do out.properties[pk] = out.properties[pk] or pv end
        elseif k == "required" then
          for _, r in ipairs(v) do req[#req + 1] = r end
        elseif out[k] == nil then
          out[k] = v
        end
      end
    end
  end
  out.required = req
  return out
end

local function pick_type(s)
  local list = schema.types_of(s)
  if not list then
    if s.properties or s.required or s.additionalProperties ~= nil then return "object" end
    if s.items or s.prefixItems or s.minItems then return "array" end
    if s.minimum or s.maximum then return "number" end
    return "string"
  end
  for _, t in ipairs(list) do if t ~= "null" then return t end end
  return list[1]
end

local function gen_object(ctx, s, path, depth)
  local obj = {}
  local required = {}
  for _, k in ipairs(s.required or {}) do required[k] = true end
  local props = s.properties or {}
  for _, k in ipairs(sorted_keys(props)) do
    if required[k] or depth < 4 then
      obj[k] = gen(ctx, props[k], child(path, k), depth + 1, k)
    end
  end
  for _, k in ipairs(s.required or {}) do
    if obj[k] == nil then
      local sub = s.additionalProperties
      obj[k] = gen(ctx, type(sub) == "table" and sub or {}, child(path, k), depth + 1, k)
    end
  end
  return obj
end

local function row_item(ctx, item_schema, row, path, depth, name)
  local s = schema.deref(ctx.root, item_schema) or {}
  local item = gen(ctx, item_schema, path, depth + 1, name)
  if type(item) == "table" and not json.is_array(item) and type(row) == "table" then
    local props = s.properties or {}
    for _, k in ipairs(sorted_keys(row)) do
      local sub = props[k]
      if sub == nil and s.additionalProperties ~= false then sub = s.additionalProperties end
      if sub ~= nil and sub ~= false and (sub == true or schema.validate(sub, row[k], ctx.root)) then
        item[k] = util.copy(row[k])
      end
    end
  end
  return item
end

local function excluded(ctx, item)
  if type(item) ~= "table" then return false end
  for _, rec in ipairs(ctx.exclusion) do
    local all = next(rec) ~= nil
    for k, v in pairs(rec) do
      if not util.deep_equal(item[k], v) then all = false break end
    end
    if all then return true end
  end
  return false
end

-- Does an array item stand for a finding of its own (objects, and strings
-- that name or locate something)? Else it shares the enclosing finding.
local function own_finding(ctx, sub, name)
  local s = schema.deref(ctx.root, sub)
  if type(s) ~= "table" then return kind_of(name, "", nil) ~= nil end
  if s.properties or s.required then return true end
  for _, t in ipairs(schema.types_of(s) or {}) do
    if t == "object" then return true end
  end
  return kind_of(name, "", s.format) ~= nil
end

-- One item at path p: a fresh finding per attempt (so a regenerated item
-- differs), nil when every attempt is excluded.
local function array_item(ctx, p, sub, row, depth, name)
  local own = row ~= nil or own_finding(ctx, sub, name)
  local outer = ctx.finding
  for _ = 1, 5 do
    if own then ctx.finding = new_finding(ctx, row) end
    local item = row and row_item(ctx, sub, row, p, depth, name) or gen(ctx, sub, p, depth + 1, name)
    ctx.finding = outer
    if not excluded(ctx, item) then return item end
  end
  return nil
end

local function item_count(ctx, s, rows, depth)
  local minn, maxn = s.minItems or 0, s.maxItems
  local n
  if rows then
    n = minn -- one item per row; pad only up to minItems
  elseif depth > 6 then
    n = minn
  else
    n = ctx.rng:random(2, 4)
  end
  if n < minn then n = minn end
  if maxn and n > maxn then n = maxn end
  return n
end

local function gen_array(ctx, s, path, depth, name)
  local arr = json.array()
  local rows = (path == ctx.rows_path) and ctx.rows or nil
  local n, maxn = item_count(ctx, s, rows, depth), s.maxItems
  local prefix = s.prefixItems or (json.is_array(s.items) and s.items) or nil
  local items = (not json.is_array(s.items)) and s.items or (s.additionalItems ~= nil and s.additionalItems) or {}
  local function slot()
    return ("%s[%d]"):format(path, #arr), prefix and prefix[#arr + 1] or items
  end
  for _, row in ipairs(rows or {}) do
    if maxn and #arr >= maxn then break end
    local p, sub = slot()
    arr[#arr + 1] = array_item(ctx, p, sub, row, depth, name)
  end
  local tries = 0
  while #arr < n and tries < n + 20 do
    tries = tries + 1
    local p, sub = slot()
    arr[#arr + 1] = array_item(ctx, p, sub, nil, depth, name)
  end
  return arr
end

local function gen_branches(ctx, s, branches, path, depth, name)
  for _, b in ipairs(branches) do
    local bs = schema.deref(ctx.root, b)
    local emails, phones = ctx.emails, ctx.phones
    local ok, v = pcall(gen, ctx, bs, path, depth + 1, name)
    if ok and schema.validate(s, v, ctx.root) then return v end
    ctx.emails, ctx.phones = emails, phones
  end
  error("no satisfiable anyOf/oneOf branch at " .. path, 0)
end

local function gen_value(ctx, s, path, depth, name)
  if s == nil or s == true then return text_for(ctx, {}, name, path) end
  local err
  s, err = schema.deref(ctx.root, s)
  if not s then error(err, 0) end
  if s == true then return text_for(ctx, {}, name, path) end
  if s == false then error("false schema at " .. path, 0) end
  if depth > MAX_DEPTH then
    for _, t in ipairs(schema.types_of(s) or {}) do if t == "null" then return json.null end end
  end
  if s.const ~= nil then return util.copy(s.const) end
  if s.enum ~= nil then return enum_for(ctx, s, name, path) end
  if s.allOf then s = merge_all(ctx, s) end
  local branches = s.anyOf or s.oneOf
  if branches then return gen_branches(ctx, s, branches, path, depth, name) end
  local t = pick_type(s)
  if t == "object" then return gen_object(ctx, s, path, depth)
  elseif t == "array" then return gen_array(ctx, s, path, depth, name)
  elseif t == "string" then return fit_length(text_for(ctx, s, name, path), s)
  elseif t == "integer" then return number_for(ctx, s, true, name, path)
  elseif t == "number" then return number_for(ctx, s, false, name, path)
  elseif t == "boolean" then return ctx.rng:random(0, 1) == 1
  end
  return json.null
end

-- Generate the value at path and remember which finding it belongs to.
gen = function(ctx, s, path, depth, name)
  local v = gen_value(ctx, s, path, depth, name)
  ctx.at[path] = ctx.finding or false
  return v
end

-- The path of the array that gets one item per input row: the root when it
-- is an array, else the first (required first) array property of the root.
local function rows_path(root)
  local s = schema.deref(root, root)
  if type(s) ~= "table" then return nil end
  local list = schema.types_of(s)
  if (list and list[1] == "array") or (not list and s.items) then return "structured" end
  local props = s.properties or {}
  local order = {}
  for _, k in ipairs(s.required or {}) do order[#order + 1] = k end
  for _, k in ipairs(sorted_keys(props)) do order[#order + 1] = k end
  for _, k in ipairs(order) do
    local sub = props[k] and schema.deref(root, props[k])
    local sl = type(sub) == "table" and schema.types_of(sub)
    if sl and sl[1] == "array" then return child("structured", k) end
  end
end

-- Leaves of a value: { path =, value = } in a stable order.
local function leaves(v, path, out)
  if type(v) == "table" then
    if json.is_array(v) then
      for i, x in ipairs(v) do leaves(x, ("%s[%d]"):format(path, i - 1), out) end
    else
      for _, k in ipairs(sorted_keys(v)) do leaves(v[k], child(path, k), out) end
    end
  elseif v ~= json.null then
    out[#out + 1] = { path = path, value = v }
  end
  return out
end

-- Sources, grounding and text -------------------------------------------------

local function finding_at(ctx, path)
  local p = path
  while p do
    local f = ctx.at[p]
    if f then return f end
    if f == false then break end
    p = p:match("^(.+)[%.%[][^%.%[]*$")
  end
  return current(ctx)
end

-- The findings the output is about, in order of first use, at least want.
local function used_findings(ctx, items, want)
  local list, seen = {}, {}
  for _, it in ipairs(items) do
    local f = it.finding
    if not seen[f] then
      seen[f] = true
      list[#list + 1] = f
    end
  end
  while #list < want do list[#list + 1] = new_finding(ctx) end
  return list
end

local function source(f, url, title)
  return { url = url, title = title, entity = f.entity, topic = f.topic }
end

-- Each finding's sources: its article, maybe a press release that corroborates it.
local function finalize(f)
  f.main = source(f, f.url, main_title(f))
  if f.corroborated then
    f.corroborating = source(f, f.press_url, ("%s announces %s %s financing"):format(f.entity, f.amount, f.round))
  end
end

local function profile_source(f)
  f.profile = f.profile or source(f, f.profile_url, ("%s - %s at %s | LinkedIn"):format(f.person, f.role, f.entity))
  return f.profile
end

local CONF = { "low", "medium", "high" }

local function cite(src)
  return { url = src.url, title = src.title }
end

-- A grounding entry: the finding's own source first, then the profile the
-- value is, or sometimes the corroborating source.
local function ground(ctx, field, f, value)
  local cits = json.array { cite(f.main) }
  if value ~= nil and value == f.profile_url then
    cits[2] = cite(profile_source(f))
  elseif f.corroborating and ctx.rng:random(0, 2) > 0 then
    cits[2] = cite(f.corroborating)
  end
  return {
    field = field, citations = cits,
    score = math.floor((0.6 + 0.39 * ctx.rng:random()) * 100) / 100, confidence = ctx.rng:pick(CONF),
  }
end

-- All sources in order, each with its number n (for [n] in the text).
local function number_sources(findings)
  local list = {}
  for _, f in ipairs(findings) do
    f.refs = {}
    for _, src in ipairs { f.main, f.corroborating or false, f.profile or false } do
      if src then
        list[#list + 1] = src
        src.n = #list
        f.refs[#f.refs + 1] = ("[%d]"):format(#list)
      end
    end
  end
  return list
end

local function answer(topic, findings, sources)
  local lines = { ("Simulated research for: %s"):format(topic), "", "Findings:" }
  for i, f in ipairs(findings) do
    lines[#lines + 1] = ("%d. %s (%s, %s): %s %s, %s; %s, %s. %s"):format(i, f.entity, f.topic, f.city,
      f.amount, f.round, f.date, f.person, f.role, table.concat(f.refs))
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "This answer was produced by exa-agent-mock; the findings are fake."
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Sources:"
  for _, s in ipairs(sources) do lines[#lines + 1] = ("[%d] %s"):format(s.n, s.url) end
  return table.concat(lines, "\n")
end

local function structured_for(ctx, request)
  local os_ = request.outputSchema
  if os_ == nil or os_ == json.null then return json.null end
  local err = schema.check(os_)
  if err then return nil, err end
  ctx.root = os_
  ctx.rows_path = ctx.rows and rows_path(os_)
  local ok, v = pcall(gen, ctx, os_, "structured", 0, nil)
  if not ok then return nil, tostring(v) end
  local valid, verr = schema.validate(os_, v)
  if not valid then return nil, "cannot produce a value that satisfies it (" .. tostring(verr) .. ")" end
  return v
end

local function new_ctx(request, seed)
  local query = request.query
  return {
    rng = util.rng(seed, query), frng = util.rng(seed, "findings\0" .. query),
    emails = 0, phones = 0, nfind = 0, at = {}, used = { name = {}, person = {}, url = {} },
    topics = mentioned(W.topic, query), rounds = mentioned(W.round, query),
    exclusion = (request.input and request.input.exclusion) or {},
    rows = request.input and request.input.data,
  }
end

--- The research result for a canonical request, or nil, message when the
--- outputSchema cannot be used. result.sources lists every source in the
--- order the text numbers them.
function generate.run(request, seed)
  local ctx = new_ctx(request, seed)
  local topic = request.query:gsub("%s+", " "):sub(1, 200)
  local target = ctx.frng:random(3, 6)
  local structured, err = structured_for(ctx, request)
  if structured == nil then return nil, err end
  local items = structured ~= json.null and leaves(structured, "structured", {}) or {}
  for _, it in ipairs(items) do it.finding = finding_at(ctx, it.path) end
  local want = structured == json.null and target or (ctx.rows and 1 or 3)
  local findings = used_findings(ctx, items, want)
  for _, f in ipairs(findings) do finalize(f) end
  local grounding = json.array()
  for _, it in ipairs(items) do grounding[#grounding + 1] = ground(ctx, it.path, it.finding, it.value) end
  if structured == json.null then
    local g = ground(ctx, "text", findings[1])
    if findings[2] then g.citations[2] = cite(findings[2].main) end
    grounding[1] = g
  end
  local sources = number_sources(findings)
  return {
    text = answer(topic, findings, sources), structured = structured, grounding = grounding,
    sources = sources, emails = ctx.emails, phones = ctx.phones,
  }
end

--- The run's n web searches: { query =, sources = } each; the sources are
--- spread over them in order, so every source is added before the run ends.
function generate.searches(result, n, query)
  local srcs, plan = result.sources, {}
  for i = 1, n do
    local chunk = {}
    for j = (i - 1) * #srcs // n + 1, i * #srcs // n do chunk[#chunk + 1] = srcs[j] end
    local q
    if i == 1 then
      q = query:sub(1, 120)
    elseif chunk[1] then
      q = ("%s %s"):format(chunk[1].entity, chunk[1].topic)
    else
      q = ("%s (%d)"):format(query:sub(1, 120), i)
    end
    plan[i] = { query = q, sources = chunk }
  end
  return plan
end

return generate
