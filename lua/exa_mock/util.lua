-- exa_mock.util: clock, RFC 3339 timestamps, a seedable PRNG, run ids, deep equality.
local cqueues = require "cqueues"

local util = {}

local floor, format = math.floor, string.format
local wall0, mono0 = os.time(), cqueues.monotime()

--- Monotonic seconds (float).
function util.now()
  return cqueues.monotime()
end

--- RFC 3339 UTC timestamp with milliseconds for monotonic time t.
function util.iso(t)
  local w = wall0 + ((t or util.now()) - mono0)
  local s = floor(w)
  local ms = floor((w - s) * 1000)
  return os.date("!%Y-%m-%dT%H:%M:%S", s) .. format(".%03dZ", ms)
end

-- xorshift64* over Lua 5.4 integers; reproducible for a given seed.
local Rng = {}
Rng.__index = Rng

local function mix(h, s)
  for i = 1, #s do
    h = (h ~ s:byte(i)) * 0x100000001b3
  end
  return h
end

function util.rng(seed, salt)
  local x = mix(0xcbf29ce484222325, tostring(seed) .. "\0" .. tostring(salt or ""))
  if x == 0 then x = 0x9e3779b97f4a7c15 end
  return setmetatable({ x = x }, Rng)
end

function Rng:next()
  local x = self.x
  x = x ~ (x >> 12)
  x = x ~ (x << 25)
  x = x ~ (x >> 27)
  self.x = x
  return (x * 0x2545F4914F6CDD1D) >> 11 -- 53 bits, non-negative
end

--- Integer in [lo, hi], or float in [0, 1) without arguments.
function Rng:random(lo, hi)
  local r = self:next()
  if not lo then return r / 9007199254740992.0 end
  if not hi then lo, hi = 1, lo end
  return lo + r % (hi - lo + 1)
end

function Rng:pick(list)
  return list[self:random(1, #list)]
end

local B32 = "0123456789abcdefghjkmnpqrstvwxyz"

--- "agent_run_" + 26 lowercase base32 characters.
function util.run_id(rng)
  local t = {}
  for i = 1, 26 do
    local k = rng:random(1, 32)
    t[i] = B32:sub(k, k)
  end
  return "agent_run_" .. table.concat(t)
end

function util.deep_equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do
    if not util.deep_equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

--- Deep copy keeping metatables (json.array_mt marks arrays).
function util.copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = util.copy(x) end
  return setmetatable(t, getmetatable(v))
end

--- Round to 6 decimals (dollar amounts).
function util.round6(x)
  return floor(x * 1e6 + 0.5) / 1e6
end

return util
