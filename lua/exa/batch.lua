-- exa.batch: client.runs:batch(list, {concurrency =, on_event =}) -- many
-- runs, each streamed to its end, never more than `concurrency` of them
-- active at once. The account's concurrency limit is a queue, not an error:
-- a create answered 429 CONCURRENCY_LIMIT_REACHED (another process holds the
-- slots) created nothing, so it waits for a slot and is sent again. Each run
-- is created exactly once (the create marker covers lost answers).
local type, ipairs, error, tostring = type, ipairs, error, tostring
local string_format = string.format

local errors = require "exa.errors"
local pcall = require("exa.loop.pcall").pcall
local validate = require "exa.validate"
local builder = require "exa.builder"
local api = require "exa.api"

local M = {}

local SLOT_MIN, SLOT_MAX = 0.25, 4 -- waiting for a concurrency slot (seconds)

local function check(list, opts, which_api)
  if type(list) ~= "table" then errors.invalid("list", "batch takes a list of run params") end
  opts = validate.options(opts, "batch")
  if opts.headers ~= nil then validate.headers(opts.headers, "options.headers") end
  local c = opts.concurrency
  if c == nil then c = 2 end
  if not validate.is_integer(c) or c < 1 then
    errors.invalid("options.concurrency", "options.concurrency must be a positive integer")
  end
  if opts.on_event ~= nil and type(opts.on_event) ~= "function" then
    errors.invalid("options.on_event", "options.on_event must be a function(event, index)")
  end
  for i, p in ipairs(list) do
    local ok, e = pcall(validate.create_params, builder.unwrap(p), which_api)
    if not ok then
      if errors.is_error(e) then e.field = string_format("[%d].%s", i, tostring(e.field)) end
      error(e, 0)
    end
  end
  return opts, c
end

-- One run to its end: its terminal run object.
local function one(runs, params, index, opts, stats)
  local t = runs._t
  local wait = SLOT_MIN
  while true do
    local ok, res = pcall(function()
      local last
      local s = runs:stream(params, { headers = opts.headers })
      -- s:next() in a while loop: PUC 5.1 cannot yield inside a for iterator
      while true do
        local ev = s:next()
        if ev == nil then break end
        if opts.on_event then opts.on_event(ev, index) end
        if api.TERMINAL_EVENTS[ev.event] then last = ev end
      end
      return last
    end)
    if ok then
      local d = res and res.data
      if type(d) == "table" and d.status == "completed" and d.output ~= nil then return d end
      -- failed/cancelled events carry a part of the run: fetch the whole
      local id = type(d) == "table" and d.id
      if type(id) ~= "string" then
        errors.raise{ kind = "protocol", message = "run stream ended without a terminal event" }
      end
      return runs:get(id, { headers = opts.headers })
    end
    if not errors.is_error(res, "concurrency_limit") then error(res, 0) end
    stats.limited = stats.limited + 1
    t.sleep(wait)
    wait = wait * 2
    if wait > SLOT_MAX then wait = SLOT_MAX end
  end
end

--- runs: the runs resource; list: params (tables or builders); opts:
--- {concurrency = 2, on_event = function(ev, index), headers = {}}.
--- Returns the terminal runs in input order, and stats {limited = 429s
--- waited out}. Raises kind = "batch" (with .errors[i] and .runs) when some
--- runs could not be made.
function M.run(runs, list, opts)
  local t = runs._t
  -- the checks quote bad values (the key, passed by mistake): scrub it, as
  -- runs' own checks do
  local ok, o, c = pcall(check, list, opts, t.api)
  if not ok then
    if errors.is_error(o) then t.redact(o) end
    error(o, 0)
  end
  opts = o
  local loop = t.loop
  if not loop then errors.raise{ kind = "loop", message = "batch needs the curl transport's loop" } end
  local inside = loop:current()
  if not inside then loop:check_blocking("runs:batch") end
  local n = #list
  local results, errs, stats = {}, {}, { limited = 0 }
  local nexti, nerr = 0, 0
  local function worker()
    while true do
      nexti = nexti + 1
      local i = nexti
      if i > n then return end
      local ok, res = pcall(one, runs, list[i], i, opts, stats)
      if ok then results[i] = res else errs[i] = res; nerr = nerr + 1 end
    end
  end
  local tasks = {}
  for k = 1, (c < n and c or n) do tasks[k] = loop:spawn(worker) end
  for k = 1, #tasks do tasks[k]:wait() end
  if nerr > 0 then
    local first
    for i = 1, n do if errs[i] then first = errs[i]; break end end
    errors.raise{ kind = "batch", errors = errs, runs = results, cause = first,
      message = string_format("%d of %d runs could not be made; first: %s", nerr, n, tostring(first)) }
  end
  return results, stats
end

return M
