-- exa.ledger: what a client's runs cost, and the client's budget.
--
--   exa.new{ budget = { max_dollars = 5 } }
--   client:costs() --> {total=, agentCompute=, search=, emails=, phoneNumbers=, runs=, dataSources=,
--                       budget = {max_dollars=, spent=, reserved=, remaining=} (with a budget)}
--
-- costs() sums the final costDollars of every terminal run the client has
-- seen, each run once by id, whichever call returned it: create, get,
-- cancel, stop, wait, run, list and iter items, event pages, a stream's or
-- a replay's agent_run.completed event.
--
-- The budget counts the runs this client creates (create, stream, run): each
-- holds its estimate's max_dollars (exa.estimate) until the client sees it
-- terminal with its cost, then that cost. A create the budget rule refuses
-- (exa.check_budget: its max_dollars would pass what is left, or it has no
-- bound on the client's API, or the budget is 0) raises kind = "budget"
-- before any byte is sent. A create
-- that failed with an HTTP error response gives its hold back; one that
-- failed in transport keeps it (the run may exist).
local type, pairs, ipairs, setmetatable, tostring, error, rawequal, pcall =
  type, pairs, ipairs, setmetatable, tostring, error, rawequal, pcall
local string_format = string.format
local math_floor, math_huge = math.floor, math.huge

local errors = require "exa.errors"
local cost = require "exa.cost"
local validate = require "exa.validate"

local M = {}
local Ledger = {}
Ledger.__index = Ledger

local TERMINAL = require("exa.api").TERMINAL_STATUS
local PARTS = { "total", "agentCompute", "search", "emails", "phoneNumbers" }

-- exa.pcall: a pcall a loop task may yield through, on every Lua (5.1 too)
local ypcall = require("exa.loop.pcall").pcall

local function round(x)
  if x == math_huge then return x end
  return math_floor(x * 1e10 + 0.5) / 1e10
end

--- budget: nil or {max_dollars = number >= 0}; api: "beta" (default) or
--- "post-beta", the API the budget rule bounds runs on.
function M.new(budget, api)
  local self = setmetatable({
    api = api or "beta",
    seen = {}, count = 0, sums = {}, data_sources = {},
    budget = budget and budget.max_dollars, mine = {}, held = {}, spent = 0, tokens = 0,
  }, Ledger)
  for _, k in ipairs(PARTS) do self.sums[k] = 0 end
  return self
end

--- Validate exa.new's budget option; returns it (a copy) or nil.
function M.option(b)
  if b == nil then return nil end
  if type(b) ~= "table" then errors.invalid("budget", "budget must be a table {max_dollars = number}") end
  validate.options(b, "budget")
  local m = b.max_dollars
  if type(m) ~= "number" or m < 0 or m ~= m then
    errors.invalid("budget.max_dollars", "budget.max_dollars must be a number of dollars >= 0")
  end
  return { max_dollars = m }
end

--- Count a run if it is terminal with its cost (once per id).
function Ledger:see(run)
  if type(run) ~= "table" or type(run.id) ~= "string" or not TERMINAL[run.status] then return end
  local c = run.costDollars
  if type(c) ~= "table" or type(c.total) ~= "number" or self.seen[run.id] then return end
  self.seen[run.id] = true
  self.count = self.count + 1
  for _, k in ipairs(PARTS) do
    if type(c[k]) == "number" then self.sums[k] = self.sums[k] + c[k] end
  end
  if type(c.dataSources) == "table" then
    for provider, v in pairs(c.dataSources) do
      if type(v) == "number" then self.data_sources[provider] = (self.data_sources[provider] or 0) + v end
    end
  end
  if self.mine[run.id] then
    self.spent = self.spent + c.total
    self.held[run.id] = nil
  end
end

--- Count the run an event carries (a terminal event's data).
function Ledger:see_event(ev)
  if type(ev) == "table" and type(ev.data) == "table" then self:see(ev.data) end
end

function Ledger:see_page(page)
  if type(page) == "table" and type(page.data) == "table" then
    for _, item in ipairs(page.data) do
      if type(item) == "table" and item.event ~= nil then self:see_event(item) else self:see(item) end
    end
  end
end

local function held_total(self)
  local n = 0
  for _, v in pairs(self.held) do n = n + v end
  return n
end

--- Before a create: raise kind "budget" if the budget rule refuses params
--- (exa.check_budget). Returns a hold token (nil without a budget).
function Ledger:hold(params)
  if not self.budget then return nil end
  local held = held_total(self)
  local left = self.budget - self.spent - held
  local est = cost.check_budget(params, left, {
    api = self.api, budget = self.budget, spent = round(self.spent), reserved = round(held),
  })
  self.tokens = self.tokens + 1
  local token = "hold#" .. self.tokens
  self.held[token] = est.max_dollars
  return token
end

--- The hold becomes run id's (or goes away if the run is already counted).
function Ledger:bind(token, id)
  if not token then return end
  local v = self.held[token]
  self.held[token] = nil
  if v == nil or type(id) ~= "string" then return end
  self.mine[id] = true
  if not self.seen[id] then self.held[id] = v end
end

function Ledger:release(token)
  if token then self.held[token] = nil end
end

-- A failed create gives its hold back only when the server answered it.
local function settle_error(self, token, e)
  if errors.is_error(e) and (e.kind == "validation" or e.kind == "budget" or type(e.status) == "number") then
    self:release(token)
  end
end

function Ledger:costs()
  local out = { runs = self.count, dataSources = {} }
  for _, k in ipairs(PARTS) do out[k] = round(self.sums[k]) end
  for p, v in pairs(self.data_sources) do out.dataSources[p] = round(v) end
  if self.budget then
    local held = held_total(self)
    out.budget = {
      max_dollars = self.budget, spent = round(self.spent), reserved = round(held),
      remaining = round(self.budget - self.spent - held),
    }
  end
  return out
end

-- The runs resource, watched --------------------------------------------------

-- fn(...)'s first result, for a call that may settle token's hold: when it
-- raises, the hold goes back first (settle_error), then the error goes on.
local function settled(self, token, fn, ...)
  local ok, v = ypcall(fn, ...)
  if not ok then
    settle_error(self, token, v)
    error(v, 0)
  end
  return v
end

-- A stream or replay that counts what it delivers (and binds a hold to the
-- run its first event names). One shared metatable: a thousand open streams
-- carry a small table each, not a metatable and seven closures (the loop's
-- memory per stream, bench/loop_scale.lua). Private keys cannot collide with
-- the stream's own fields, which reads forward to.
local S, LEDGER, TOKEN, BOUND, STARTED = {}, {}, {}, {}, {}
local Watched = {}

-- Per event: only a terminal run (its status says so) is counted, so the
-- others cost a field or two here, not see_event's calls.
local function watched_step(p)
  local s, ev = p[S], nil
  -- s:next(), not s(): PUC 5.1 cannot yield a loop task inside __call
  if p[BOUND] then
    ev = s:next()
    if ev == nil then return nil end
  else
    p[STARTED] = true
    ev = settled(p[LEDGER], p[TOKEN], s.next, s)
    if ev == nil then return nil end
    local d = ev.data
    if type(d) == "table" and type(d.id) == "string" then
      p[LEDGER]:bind(p[TOKEN], d.id)
      p[BOUND] = true
    end
  end
  local d = ev.data
  if type(d) == "table" and TERMINAL[d.status] then p[LEDGER]:see(d) end
  return ev
end

local function watched_close(p)
  if not p[STARTED] then p[LEDGER]:release(p[TOKEN]) end
  local s = p[S]
  local c = type(s) == "table" and s.close
  if c then return c(s) end
end

local methods = {
  next = watched_step, -- counted like the for loop's calls
  close = watched_close,
}

Watched.__call = watched_step
Watched.__close = function(p) watched_close(p) end
Watched.__tostring = function(p) return tostring(p[S]) end
Watched.__index = function(p, k)
  local m = methods[k]
  if m ~= nil then return m end
  local s = p[S]
  if type(s) ~= "table" then return nil end
  local v = s[k]
  if type(v) == "function" then
    return function(me, ...)
      if me == p then me = s end
      return v(me, ...)
    end
  end
  return v
end

local function watch_stream(self, s, token)
  return setmetatable({ [S] = s, [LEDGER] = self, [TOKEN] = token, [BOUND] = token == nil, [STARTED] = false },
    Watched)
end

-- The hold of a create through me (the watched resource). The budget rule
-- checks params first, and a validation message quotes the bad value (the
-- key, passed by mistake): scrub it, as runs' own checks do. Pure Lua that
-- never yields, so pcall is safe on 5.1 too.
local function hold(self, me, params)
  local ok, token = pcall(self.hold, self, params)
  if not ok then
    if errors.is_error(token) then me._t.redact(token) end
    error(token, 0)
  end
  return token
end

--- runs: the client's runs resource. Returns a table that behaves like it
--- (same methods, same fields) and tells the ledger what it sees.
function M.track(runs, self)
  local over, guarded = {}, {}
  local proxy
  local function is_proxy(me) return rawequal(me, proxy) end
  -- every method checks its self: client.runs.create{} (a dot for the
  -- colon) is a validation error naming the colon, before any request
  proxy = setmetatable({}, {
    __index = function(_, k)
      local g = guarded[k]
      if g ~= nil then return g end
      local m = over[k]
      if m == nil then m = runs[k] end
      if type(m) ~= "function" or type(k) ~= "string" or k:sub(1, 1) == "_" then return m end
      g = validate.method("client.runs", k, m, is_proxy)
      guarded[k] = g
      return g
    end,
    __tostring = function() return tostring(runs) end,
  })

  for _, name in ipairs{ "get", "cancel", "stop", "wait" } do
    over[name] = function(me, ...)
      local run = runs[name](me, ...)
      self:see(run)
      return run
    end
  end

  function over.create(me, params, ...)
    local token = hold(self, me, params)
    local run = settled(self, token, runs.create, me, params, ...)
    if type(run) == "table" then self:bind(token, run.id) end
    self:see(run)
    return run
  end

  function over.run(me, ...)
    local run = runs.run(me, ...) -- its create and wait are ours (me is the proxy)
    self:see(run)
    return run
  end

  for _, name in ipairs{ "list", "events" } do
    over[name] = function(me, ...)
      local page = runs[name](me, ...)
      self:see_page(page)
      return page
    end
  end

  for _, name in ipairs{ "iter", "iter_events" } do
    over[name] = function(me, ...)
      local it, st, ctl = runs[name](me, ...)
      return function(...)
        local item = it(...)
        if type(item) == "table" then
          if item.event ~= nil then self:see_event(item) else self:see(item) end
        end
        return item
      end, st, ctl
    end
  end

  function over.stream(me, params, ...)
    local token = hold(self, me, params)
    -- a stream refused for its options (checked after the hold) gives the hold back
    local ok, s, a, b, c = ypcall(runs.stream, me, params, ...)
    if not ok then
      self:release(token)
      error(s, 0)
    end
    local p = watch_stream(self, s, token)
    if c == s then c = p end
    return p, a, b, c
  end

  function over.replay(me, ...)
    local s, a, b, c = runs.replay(me, ...)
    local p = watch_stream(self, s, nil)
    if c == s then c = p end
    return p, a, b, c
  end

  return proxy
end

return M
