-- examples/follow_up.lua: continue a conversation. A run created with
-- previousRunId starts from what an earlier run found, so a follow-up question
-- can refer to it ("those", "the first two").
--
--   EXA_API_KEY=... lua5.4 examples/follow_up.lua [--previous RUN_ID]
local exa = require "exa"

local previous
for i = 1, arg and #arg or 0 do
  if arg[i] == "--previous" then previous = arg[i + 1] end
end

local function ask(client, builder)
  local run = client.runs:create(builder)
  run = client.runs:wait(run.id, { timeout = 900 })
  if run.status ~= "completed" then
    error(("run %s ended %s"):format(run.id, run.status), 0)
  end
  return run
end

local function main()
  local client = exa.new{}
  if not previous then
    local first = ask(client, exa.run("Which open-source vector databases are most used in production?")
      :effort("low"))
    print("first run:  " .. first.id)
    print(first.output.text)
    print()
    previous = first.id
  end

  local ok, second = pcall(ask, client, exa.run("For the first two of those, what was their latest release?")
    :effort("low"):previous(previous))
  if not ok then
    if exa.is_error(second, "not_found") then
      io.stderr:write("no run ", previous, " to follow up on (", tostring(second.code), ")\n")
      return 1
    end
    error(second, 0)
  end
  print("follow-up:  " .. second.id .. " (previousRunId " .. tostring(second.request.previousRunId) .. ")")
  print(second.output.text)
  client:close()
  return 0
end

local ok, rc = pcall(main)
if not ok then
  io.stderr:write(tostring(rc), "\n")
  os.exit(1)
end
os.exit(rc)
