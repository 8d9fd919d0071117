-- scenario_ctx.lua - the parts of a scenario test's context (see
-- helpers/scenarios.lua) that are the same on both backends: built on the
-- busted side for curl (helpers/scenarios.lua) and inside nginx for ngx
-- (helpers/ngx_runner.lua), over that backend's ctx.client.
local M = {}

--- Adds ctx.mock(name) (a simulator's URL, from mocks) and ctx.stored(id,
--- name, key) (the simulator's stored events of a run, through a plain client
--- with key, ctx.data.key or default_key).
function M.add_common(ctx, mocks, default_key)
  function ctx.mock(name) return assert(mocks[name or "main"], "no mock " .. tostring(name)) end

  function ctx.stored(id, name, key)
    local c = ctx.client{ api_key = key or ctx.data.key or default_key, base_url = ctx.mock(name) }
    local all = {}
    for ev in c.runs:iter_events(id, { limit = 100 }) do all[#all + 1] = ev end
    return all
  end
  return ctx
end

return M
