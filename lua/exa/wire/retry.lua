-- exa.wire.retry: the one retry policy. Every retry the library makes (JSON
-- calls, opening streams, resuming them) asks decide() here, and draws on
-- one budget per call: max_retries failures in a row, refilled by progress
-- (a resumed stream that delivered new events). attempts counts the
-- requests the call really sent.
local tonumber = tonumber
local io_open, os_time, os_clock, tostring, string_byte, math_min, math_floor =
  io.open, os.time, os.clock, tostring, string.byte, math.min, math.floor

local M = {}

-- Park-Miller PRNG for jitter, seeded from the kernel's entropy so that
-- processes started together do not retry in lockstep; leaves math.random
-- alone.
local function entropy_seed()
  local f = io_open("/dev/urandom", "rb")
  if f then
    local b = f:read(4)
    f:close()
    if b and #b == 4 then
      local a1, a2, a3, a4 = string_byte(b, 1, 4)
      return ((a1 * 16777216 + a2 * 65536 + a3 * 256 + a4) % 2147483646) + 1
    end
  end
  -- no /dev/urandom: mix time, CPU clock and a table address
  local addr = tonumber((tostring({}):match("0x(%x+)") or "0"), 16) or 0
  return ((os_time() * 1000003 + math_floor(os_clock() * 1e6) + addr) % 2147483646) + 1
end

local seed = entropy_seed()

--- A number in (0, 1).
function M.jitter()
  seed = (seed * 16807) % 2147483647
  return seed / 2147483647
end

--- A call's attempt budget.
function M.budget(max_retries)
  return { max = max_retries, failures = 0, attempts = 0 }
end

--- Progress (new events arrived): the failures so far are forgiven.
function M.refill(b) b.failures = 0 end

-- errors after which no byte of the request can have reached the API
local NOT_SENT = { connect = true, dns = true }
-- errors that the same request would meet again
local FINAL = { too_large = true, sse = true, tls = true, validation = true, redirect = true,
  closed = true, loop = true, budget = true }

--- What to do about error e of a request made under policy:
---   "retry"    send it again
---   "resolve"  a create whose outcome is unknown: look for its marker first
---   nil        give up
--- policy: "idempotent" (GET, DELETE, cancel, replay), "create", "none".
--- cfg.retry_concurrency_limit: retry 429 CONCURRENCY_LIMIT_REACHED too.
function M.classify(e, policy, cfg)
  if policy == "none" then return nil end
  local k = e.kind
  if FINAL[k] then return nil end
  if NOT_SENT[k] then return "retry" end
  if k == "concurrency_limit" then return cfg.retry_concurrency_limit == true and "retry" or nil end
  if k == "rate_limit" then return "retry" end -- rejected at the door: nothing was created
  local s = e.status
  local transient = k == "timeout" or k == "transport" or k == "incomplete"
    or (s and (s == 408 or s == 500 or s == 502 or s == 503 or s == 504) and e.code ~= "TIMEOUT")
  if not transient then return nil end
  if policy == "create" then return "resolve" end
  return "retry"
end

--- Seconds to wait before the next attempt after failure number n (1-based),
--- or nil when the server asks for longer than cfg.max_retry_after.
function M.delay(e, n, cfg)
  local ra = e.retry_after
  if ra then
    if ra > cfg.max_retry_after then return nil end
    return ra
  end
  local d = math_min(cfg.retry_max_delay, cfg.retry_base_delay * 2 ^ (n - 1))
  return d * (0.5 + 0.5 * M.jitter())
end

--- One failure of a call: count it against budget b and say what to do:
--- action ("retry" | "resolve" | nil) and the delay before it.
function M.decide(e, policy, b, cfg)
  e.attempts = b.attempts
  local action = M.classify(e, policy, cfg)
  if not action then return nil end
  b.failures = b.failures + 1
  if b.failures > b.max then return nil end
  local d = M.delay(e, b.failures, cfg)
  if not d then return nil end
  return action, d
end

return M
