-- exa.client: exa.new{...} -- options, defaults, the client object.
-- The client holds one transport (one connection pool) shared by its
-- resources; the API key is kept only inside the transport's closures, so
-- printing or dumping a client never shows it.
local type, pairs, ipairs, setmetatable, getmetatable, tostring, pcall, error, select =
  type, pairs, ipairs, setmetatable, getmetatable, tostring, pcall, error, select
local require, package = require, package
local os_getenv, string_format, string_gsub, string_find =
  os.getenv, string.format, string.gsub, string.find
local table_concat = table.concat

local errors = require "exa.errors"
local validate = require "exa.validate"
local transport = require "exa.wire.transport"
local loop_mod = require "exa.loop"
local http_curl = require "exa.backend.curl"
local runs = require "exa.runs"
local ledger = require "exa.ledger"
local VERSION = require "exa.version"

local M = {}
local Client = {}
Client.__index = Client

M.DEFAULT_BASE_URL = "https://api.exa.ai"
M.DEFAULT_BETAS = { "agent-2026-05-07" }

local invalid = errors.invalid

-- A duration option in seconds: a finite number from min to
-- validate.MAX_SECONDS (NaN, inf and strings are validation errors here,
-- never plain errors from the core at the first request).
local function opt_seconds(o, name, default, min)
  local v = o[name]
  if v == nil then return default end
  return validate.seconds(v, name, min)
end

-- exa.backend.ngx, when it loads (it needs only exa.core and exa.wire.json; it
-- tells whether this is nginx with the lua module).
local function ngx_http()
  local ok, m = pcall(require, "exa.backend.ngx")
  return ok and m or nil, m
end

-- The backend and, for curl, its loop. Inside nginx (OpenResty, or nginx
-- with the lua module) the default is the cosocket backend, whatever the
-- phase: a client made at load time makes its requests later, and one made
-- in a phase without cosockets gets an error saying so rather than libcurl
-- blocking the worker.
local function backend_for(o)
  local name = o.transport
  if name ~= nil and name ~= "curl" and name ~= "ngx" then
    invalid("transport", "transport must be \"curl\" or \"ngx\", got " .. validate.describe(name))
  end
  if o.loop ~= nil and not loop_mod.is_loop(o.loop) then
    invalid("loop", "loop must be an exa.loop() object")
  end
  local nh, nerr = ngx_http()
  if name == nil then name = (o.loop == nil and nh and nh.inside_nginx()) and "ngx" or "curl" end
  if name == "ngx" then
    if o.loop ~= nil then invalid("loop", "the ngx transport waits through nginx: it takes no loop") end
    if o.ca_file ~= nil then
      invalid("ca_file", "ca_file does not apply to the ngx transport: nginx trusts what "
        .. "lua_ssl_trusted_certificate names")
    end
    if not nh then invalid("transport", "the ngx transport failed to load: " .. tostring(nerr)) end
    return nh.new{}
  end
  local private = o.loop == nil
  return http_curl.new{ loop = o.loop or loop_mod.new(), private = private }
end

local new

--- exa.new{api_key=, base_url=, betas=, timeout=, headers=, auth=, max_retries=, ca_file=, ...}
--- Option errors are scrubbed of the key (a base_url or header may hold it).
function M.new(o)
  local ok, c = pcall(new, o)
  if ok then return c end
  if errors.is_error(c) then
    local key = type(o) == "table" and o.api_key
    if type(key) ~= "string" then key = os_getenv("EXA_API_KEY") end
    errors.redact(c, key)
  end
  error(c, 0)
end

function new(o)
  if o ~= nil and type(o) ~= "table" then invalid("options", "exa.new takes a table of options") end
  o = validate.options(o, "new")
  local which_api = validate.api(o.api)

  local key = o.api_key
  if key == nil then key = os_getenv("EXA_API_KEY") end
  if type(key) ~= "string" or key == "" then
    invalid("api_key", "no API key: pass api_key to exa.new or set EXA_API_KEY")
  end
  if string_find(key, "[%z\r\n]") then
    invalid("api_key", "api_key must not contain CR, LF or NUL")
  end

  local base = o.base_url
  if base == nil then
    base = os_getenv("EXA_BASE_URL")
    if base == "" then base = nil end
  end
  base = base or M.DEFAULT_BASE_URL
  if type(base) ~= "string" or not string_find(base, "^[hH][tT][tT][pP][sS]?://[^/]") then
    invalid("base_url", "base_url must be an http:// or https:// URL")
  end
  base = string_gsub(base, "/+$", "")

  local betas = o.betas
  if betas == nil then betas = M.DEFAULT_BETAS end
  if type(betas) == "string" then betas = { betas } end
  if type(betas) ~= "table" then invalid("betas", "betas must be a list of strings") end
  local bl = {}
  for i, b in ipairs(betas) do
    if type(b) ~= "string" or b == "" or string_find(b, "[%z\r\n,]") then
      invalid("betas", string_format("betas[%d] must be a non-empty string without commas", i))
    end
    bl[i] = b
  end

  local auth = o.auth or "x-api-key"
  if auth ~= "x-api-key" and auth ~= "bearer" then
    invalid("auth", "auth must be \"x-api-key\" (default) or \"bearer\"")
  end

  local headers = {}
  if o.headers ~= nil then
    for k, v in pairs(validate.headers(o.headers, "headers")) do headers[k] = v end
  end

  local max_retries = o.max_retries
  if max_retries == nil then max_retries = 2 end
  validate.count(max_retries, "max_retries")
  if o.ca_file ~= nil and type(o.ca_file) ~= "string" then
    invalid("ca_file", "ca_file must be a path string")
  end
  for _, f in ipairs{ "sleep", "on_retry" } do
    if o[f] ~= nil and type(o[f]) ~= "function" then invalid(f, f .. " must be a function") end
  end

  if o.create_marker ~= nil and type(o.create_marker) ~= "boolean" then
    invalid("create_marker", "create_marker must be a boolean")
  end
  local backend = backend_for(o)
  local t = transport.new{
    backend = backend,
    api_key = key,
    auth = auth,
    base_url = base,
    betas = bl,
    headers = headers,
    timeout = opt_seconds(o, "timeout", 60, validate.MIN_TIMEOUT),
    connect_timeout = opt_seconds(o, "connect_timeout", 10, validate.MIN_TIMEOUT),
    stream_idle_timeout = opt_seconds(o, "stream_idle_timeout", 300, validate.MIN_TIMEOUT),
    max_retries = max_retries,
    retry_base_delay = opt_seconds(o, "retry_base_delay", 0.5, 0),
    retry_max_delay = opt_seconds(o, "retry_max_delay", 8, 0),
    max_retry_after = opt_seconds(o, "max_retry_after", 60, 0),
    retry_concurrency_limit = o.retry_concurrency_limit == true,
    ca_file = o.ca_file,
    sleep = o.sleep,
    on_retry = o.on_retry,
    user_agent = transport.user_agent(VERSION, backend.name),
  }
  t.create_marker = o.create_marker
  t.api = which_api

  -- the ledger sees every run the resource returns (costs, budget)
  local book = ledger.new(ledger.option(o.budget), which_api)

  local c = setmetatable({
    base_url = base,
    loop = backend.loop,
    betas = bl,
    auth = auth,
    api = which_api,
    runs = ledger.track(runs.new(t), book),
    _t = t,
    _ledger = book,
  }, Client)
  return c
end

function Client:__tostring()
  return string_format("exa.client(%s, betas=%s, auth=%s)", self._t.redact_string(self.base_url),
    #self.betas > 0 and table_concat(self.betas, ",") or "none", self.auth)
end

--- The User-Agent this client sends.
function Client:user_agent()
  return self._t.user_agent
end

--- What the terminal runs this client has seen cost, each run once:
--- {total=, agentCompute=, search=, emails=, phoneNumbers=, runs=, dataSources=,
---  budget = {max_dollars=, spent=, reserved=, remaining=} when exa.new had a budget}.
function Client:costs(...)
  if select("#", ...) > 0 then
    invalid("options", "client:costs() takes no options, got " .. validate.describe((...)), (...))
  end
  return self._ledger:costs()
end

--- Close the connection pool. The client cannot be used afterwards.
function Client:close()
  self._t:close()
end

Client.__close = Client.close

-- client.costs() (a dot for the colon) is a validation error naming the colon
local function is_client(me) return getmetatable(me) == Client end
for _, name in ipairs{ "user_agent", "costs", "close" } do
  Client[name] = validate.method("client", name, Client[name], is_client)
end
Client.__close = Client.close

return M
