-- examples/many_runs.lua: many runs at once from one Lua thread. Each run is
-- streamed in its own coroutine; a small scheduler resumes them in turn, one
-- event each, and never has more than CONCURRENCY runs active: an account may
-- have 2 active runs by default, and a third create gets 429
-- CONCURRENCY_LIMIT_REACHED. Such a 429 created nothing, so its query simply
-- goes back in the queue until a slot frees. Results print in input order.
--
--   EXA_API_KEY=... lua5.4 examples/many_runs.lua [CONCURRENCY]
--
-- Streams are pulled from C one event at a time and C never calls Lua, so a
-- coroutine may yield between events on every Lua (5.1 included). Each resume
-- waits for that stream's next event, so a quiet run delays the others a
-- little; the loop API (docs/guide.md, "cqueues" and "Neovim") waits on every
-- transfer at once instead.
local exa = require "exa"

local CONCURRENCY = tonumber(arg and arg[1] or "") or 2
local queries = {
  "Recent Series A rounds in AI infrastructure",
  "Open-source vector databases and their licences",
  "Companies building evaluation tools for language models",
  "GPU cloud providers that launched this year",
  "Startups working on AI agents for customer support",
}

local function main()
  local client = exa.new{}
  local queue = {}                 -- indexes of queries not started (or to retry)
  for i = 1, #queries do queue[i] = i end
  local results = {}               -- by query index: { run =, events = }
  local workers = {}               -- active: { co =, i = }
  local most_active, waits, refused = 0, 0, 0

  -- one run, streamed to its end; yields after every event
  local function work(i)
    local n, done = 0, nil
    for ev in client.runs:stream{ query = queries[i], effort = "low", metadata = { batch = "many_runs" } } do
      n = n + 1
      if exa.TERMINAL_EVENTS[ev.event] then done = ev end
      coroutine.yield()
    end
    results[i] = { ev = done, events = n }
  end

  while #queue > 0 or #workers > 0 do
    while #workers < CONCURRENCY and #queue > 0 do
      local i = table.remove(queue, 1)
      workers[#workers + 1] = { co = coroutine.create(work), i = i }
    end
    local k = 1
    local slot_busy = false
    while k <= #workers do
      local w = workers[k]
      local ok, err = coroutine.resume(w.co, w.i)
      if not ok then
        if exa.is_error(err, "concurrency_limit") then
          table.insert(queue, 1, w.i) -- nothing was created: try again when a slot frees
          slot_busy = true
          refused = refused + 1
        else
          error(err, 0)
        end
      end
      if coroutine.status(w.co) == "dead" then
        table.remove(workers, k)
      else
        k = k + 1
      end
    end
    if #workers > most_active then most_active = #workers end -- runs created and not yet ended
    if slot_busy and #workers == 0 then
      -- another program holds the slots: wait a little before trying again
      waits = waits + 1
      os.execute("sleep 1")
    elseif slot_busy then
      CONCURRENCY = math.max(1, #workers) -- the account has fewer slots than we thought
    end
  end

  for i, q in ipairs(queries) do
    local r = results[i]
    local ev = r.ev
    local status = ev and ev.data.status or "ended without a terminal event"
    print(("%d. %s\n   %s %s, %d events"):format(i, q, ev and ev.data.id or "?", status, r.events))
  end
  print(("%d runs, at most %d active at once, %d creates refused by the concurrency limit%s")
    :format(#queries, most_active, refused, waits > 0 and (", waited " .. waits .. " times for a free slot") or ""))
  client:close()
  return 0
end

local ok, rc = pcall(main)
if not ok then
  io.stderr:write(tostring(rc), "\n")
  os.exit(1)
end
os.exit(rc)
