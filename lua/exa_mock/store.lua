-- exa_mock.store: runs per team (api key), newest-first pages with stable
-- cursors, and deletion. Runs are plain tables owned by exa_mock.lifecycle.
local store = {}
store.__index = store

function store.new()
  return setmetatable({ teams = {}, count = 0 }, store)
end

function store:team(key)
  local t = self.teams[key]
  if not t then
    t = { order = {}, by_id = {}, pos = {}, active = 0 }
    self.teams[key] = t
  end
  return t
end

function store:add(key, run)
  local t = self:team(key)
  t.order[#t.order + 1] = run
  t.by_id[run.id] = run
  t.pos[run.id] = #t.order -- kept after deletion so old cursors stay valid
  self.count = self.count + 1
end

function store:get(key, id)
  local t = self.teams[key]
  return t and t.by_id[id]
end

function store:remove(key, run)
  local t = self:team(key)
  run.deleted = true
  t.by_id[run.id] = nil
  self.count = self.count - 1
end

--- Page of runs newest first. cursor = id of the last run of the previous
--- page. Returns list, has_more, or nil when the cursor is unknown.
function store:page(key, limit, cursor)
  local t = self:team(key)
  local i = #t.order
  if cursor then
    local p = t.pos[cursor]
    if not p then return nil end
    i = p - 1
  end
  local list = {}
  while i >= 1 and #list < limit do
    local run = t.order[i]
    if not run.deleted then list[#list + 1] = run end
    i = i - 1
  end
  local more = false
  while i >= 1 do
    if not t.order[i].deleted then more = true break end
    i = i - 1
  end
  return list, more
end

function store:reset()
  self.teams = {}
  self.count = 0
end

return store
