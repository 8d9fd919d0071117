-- exa.mock.generate: the fake research result of a run: answer text, sources,
-- and with an outputSchema a structured value that validates against it, plus
-- field-level grounding. Reproducible: output depends only on (seed, request).
local json = require "exa.json"
local util = require "exa.mock.util"
local schema = require "exa.mock.schema"
local W = require "exa.mock.words"

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

local function person(rng)
  return rng:pick(W.first) .. " " .. rng:pick(W.last)
end

-- A string for a field, by format first, then by the field's name.
local function text_for(ctx, s, name, path)
  local rng = ctx.rng
  local n = (name or ""):lower()
  local fmt = s.format
  if fmt == "email" or (not fmt and n:find("email")) then
    ctx.emails = ctx.emails + 1
    return ("%s.%s@%s"):format(rng:pick(W.first), rng:pick(W.last), "example.com"):lower()
  elseif fmt == "phone" or fmt == "phone-number" or (not fmt and n:find("phone")) then
    ctx.phones = ctx.phones + 1
    return ("+1 415 555 %04d"):format(rng:random(100, 199))
  elseif fmt == "date-time" then
    return ("2026-%02d-%02dT%02d:%02d:00Z"):format(rng:random(1, 5), rng:random(1, 28), rng:random(0, 23), rng:random(0, 59))
  elseif fmt == "date" or (not fmt and n:find("date")) then
    return ("2026-%02d-%02d"):format(rng:random(1, 5), rng:random(1, 28))
  elseif fmt == "uri" or fmt == "url" or fmt == "uri-reference" or n:find("url") or n:find("link")
      or n:find("website") then
    if n:find("linkedin") then return "https://www.linkedin.com/in/" .. slug(person(rng)) end
    local src = ctx.sources[rng:random(1, #ctx.sources)]
    return src.url
  elseif fmt == "uuid" then
    local h = {}
    for i = 1, 32 do h[i] = ("%x"):format(rng:random(0, 15)) end
    local x = table.concat(h)
    return x:sub(1, 8) .. "-" .. x:sub(9, 12) .. "-4" .. x:sub(14, 16) .. "-a" .. x:sub(18, 20) .. "-" .. x:sub(21, 32)
  elseif fmt == "hostname" then
    return rng:pick(W.site)
  elseif fmt == "ipv4" then
    return ("192.0.2.%d"):format(rng:random(1, 254))
  end
  if n:find("compan") or n:find("organi") or n:find("startup") or n:find("employer")
      or (n == "name" and path:lower():find("compan")) then
    return rng:pick(W.company)
  elseif n:find("name") or n:find("person") or n:find("founder") or n:find("ceo") or n:find("executive") then
    return person(rng)
  elseif n:find("title") or n:find("role") or n:find("position") then
    return rng:pick(W.role)
  elseif n:find("round") or n:find("stage") then
    return rng:pick(W.round)
  elseif n:find("amount") or n:find("funding") or n:find("price") or n:find("revenue") then
    return ("$%dM"):format(rng:random(5, 150))
  elseif n:find("city") or n:find("location") or n:find("headquarter") then
    return rng:pick(W.city)
  elseif n:find("country") then
    return rng:pick(W.country)
  elseif n:find("domain") then
    return slug(rng:pick(W.company)) .. ".example.com"
  elseif n:find("summary") or n:find("description") or n:find("reason") or n:find("note") then
    return ("Simulated finding about %s for %s."):format(rng:pick(W.topic), ctx.topic)
  end
  return ("%s %d"):format(name and name ~= "" and name or "value", rng:random(1, 999))
end

local function fit_length(str, s)
  local minl, maxl = s.minLength, s.maxLength
  if minl and #str < minl then str = str .. string.rep("x", minl - #str) end
  if maxl and utf8.len(str) and utf8.len(str) > maxl then str = str:sub(1, maxl) end
  return str
end

local function number_for(ctx, s, integer)
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

local function pick_type(ctx, s)
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
      obj[k] = gen(ctx, props[k], path .. "." .. k, depth + 1, k)
    end
  end
  for _, k in ipairs(s.required or {}) do
    if obj[k] == nil then
      local sub = s.additionalProperties
      obj[k] = gen(ctx, type(sub) == "table" and sub or {}, path .. "." .. k, depth + 1, k)
    end
  end
  return obj
end

local function row_item(ctx, item_schema, row, path, depth)
  local s = schema.deref(ctx.root, item_schema) or {}
  local item = gen(ctx, item_schema, path, depth + 1, nil)
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

local function gen_array(ctx, s, path, depth)
  local arr = json.array()
  local minn, maxn = s.minItems or 0, s.maxItems
  local rows = (path == ctx.rows_path) and ctx.rows or nil
  local n
  if rows then
    n = minn -- one item per row below; pad only up to minItems
  elseif depth > 6 then
    n = minn
  else
    n = ctx.rng:random(2, 4)
  end
  if n < minn then n = minn end
  if maxn and n > maxn then n = maxn end
  local prefix = s.prefixItems or (json.is_array(s.items) and s.items) or nil
  local items = (not json.is_array(s.items)) and s.items or (s.additionalItems ~= nil and s.additionalItems) or {}
  local function one(p, sub, row)
    for _ = 1, 5 do
      local item = row and row_item(ctx, sub, row, p, depth) or gen(ctx, sub, p, depth + 1, nil)
      if not excluded(ctx, item) then return item end
    end
    return nil -- an excluded record never appears
  end
  local function slot()
    local p = ("%s[%d]"):format(path, #arr)
    return p, prefix and prefix[#arr + 1] or items
  end
  if rows then
    for _, row in ipairs(rows) do
      if maxn and #arr >= maxn then break end
      local p, sub = slot()
      arr[#arr + 1] = one(p, sub, row)
    end
  end
  local tries = 0
  while #arr < n and tries < n + 20 do
    tries = tries + 1
    local p, sub = slot()
    arr[#arr + 1] = one(p, sub, nil)
  end
  return arr
end

gen = function(ctx, s, path, depth, name)
  if s == nil or s == true then return text_for(ctx, {}, name, path) end
  local err
  s, err = schema.deref(ctx.root, s)
  if not s then error(err, 0) end
  if s == true then return text_for(ctx, {}, name, path) end
  if s == false then error("false schema at " .. path, 0) end
  if depth > MAX_DEPTH then
    local list = schema.types_of(s) or {}
    for _, t in ipairs(list) do if t == "null" then return json.null end end
  end
  if s.const ~= nil then return util.copy(s.const) end
  if s.enum ~= nil then return util.copy(s.enum[ctx.rng:random(1, #s.enum)]) end
  if s.allOf then s = merge_all(ctx, s) end
  local branches = s.anyOf or s.oneOf
  if branches then
    local base = {}
    for k, v in pairs(s) do if k ~= "anyOf" and k ~= "oneOf" then base[k] = v end end
    for _, b in ipairs(branches) do
      local bs = schema.deref(ctx.root, b)
      local saved = ctx.emails .. ":" .. ctx.phones
      local ok, v = pcall(gen, ctx, bs, path, depth + 1, name)
      if ok and schema.validate(s, v, ctx.root) then return v end
      local e, p = saved:match("(%d+):(%d+)")
      ctx.emails, ctx.phones = tonumber(e), tonumber(p)
    end
    error("no satisfiable anyOf/oneOf branch at " .. path, 0)
  end
  local t = pick_type(ctx, s)
  if t == "object" then return gen_object(ctx, s, path, depth)
  elseif t == "array" then return gen_array(ctx, s, path, depth)
  elseif t == "string" then return fit_length(text_for(ctx, s, name, path), s)
  elseif t == "integer" then return number_for(ctx, s, true)
  elseif t == "number" then return number_for(ctx, s, false)
  elseif t == "boolean" then return ctx.rng:random(0, 1) == 1
  end
  return json.null
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
    if sl and sl[1] == "array" then return "structured." .. k end
  end
end

local function leaves(v, path, out)
  if type(v) == "table" then
    if json.is_array(v) then
      for i, x in ipairs(v) do leaves(x, ("%s[%d]"):format(path, i - 1), out) end
    else
      for _, k in ipairs(sorted_keys(v)) do
        local key = k:match("^[%a_][%w_]*$") and ("." .. k) or ("[" .. json.encode(k) .. "]")
        leaves(v[k], path .. key, out)
      end
    end
  elseif v ~= json.null then
    out[#out + 1] = path
  end
  return out
end

local CONF = { "low", "medium", "high" }

--- The research result for a canonical request, or nil, message when the
--- outputSchema cannot be used.
function generate.run(request, seed)
  local rng = util.rng(seed, request.query)
  local topic = request.query:gsub("%s+", " "):sub(1, 200)
  local sources = {}
  for i = 1, rng:random(3, 6) do
    local site = W.site[(i + rng:random(0, 5)) % #W.site + 1]
    local subject = rng:pick(W.topic)
    sources[i] = {
      url = ("https://%s/%s/%s-%d"):format(site, "2026", slug(subject), rng:random(100, 999)),
      title = ("%s: %s (%d)"):format(subject:gsub("^%l", string.upper), rng:pick(W.company), i),
    }
  end
  local ctx = {
    rng = rng, sources = sources, emails = 0, phones = 0, topic = topic,
    exclusion = (request.input and request.input.exclusion) or {},
    rows = request.input and request.input.data,
  }
  local structured = json.null
  local os_ = request.outputSchema
  if os_ ~= nil and os_ ~= json.null then
    local err = schema.check(os_)
    if err then return nil, err end
    ctx.root = os_
    ctx.rows_path = ctx.rows and rows_path(os_)
    local ok, v = pcall(gen, ctx, os_, "structured", 0, nil)
    if not ok then return nil, tostring(v) end
    local valid, verr = schema.validate(os_, v)
    if not valid then return nil, "cannot produce a value that satisfies it (" .. tostring(verr) .. ")" end
    structured = v
  end
  local grounding = json.array()
  local function cite(field)
    local a = sources[rng:random(1, #sources)]
    local b = sources[rng:random(1, #sources)]
    local cits = json.array { { url = a.url, title = a.title } }
    if b ~= a then cits[2] = { url = b.url, title = b.title } end
    grounding[#grounding + 1] = {
      field = field, citations = cits,
      score = math.floor((0.6 + 0.39 * rng:random()) * 100) / 100, confidence = rng:pick(CONF),
    }
  end
  if structured ~= json.null then
    for _, path in ipairs(leaves(structured, "structured", {})) do cite(path) end
  else
    cite("text")
  end
  local lines = { ("Simulated research for: %s"):format(topic), "" }
  for i, s in ipairs(sources) do
    lines[#lines + 1] = ("%d. %s [%d]"):format(i, s.title, i)
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "This answer was produced by exa-agent-mock; the findings are fake."
  for i, s in ipairs(sources) do lines[#lines + 1] = ("[%d] %s"):format(i, s.url) end
  return {
    text = table.concat(lines, "\n"), structured = structured, grounding = grounding,
    sources = sources, emails = ctx.emails, phones = ctx.phones,
  }
end

return generate
