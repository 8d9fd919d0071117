--- The Exa Agent API for Lua 5.1–5.4 and LuaJIT.
--
--     local exa = require "exa"
--     local client = exa.new{}   -- EXA_API_KEY, EXA_BASE_URL
--     local run = client.runs:create{ query = "..." }
--     for ev in client.runs:stream(exa.run("..."):effort("low")) do ... end
--
-- `exa.new` makes a @{Client}; its `runs` field is the @{Runs} resource, whose
-- streams are @{Stream}s of @{Stream.Event|events}. Failures raise @{Error}
-- objects. Request tables use the API's own field names; @{exa.builder|exa.run}
-- builds them too. The guide (docs/guide.md) shows each host and workflow.
-- @module exa
local require = require

local client = require "exa.client"
local errors = require "exa.errors"
local builder = require "exa.builder"
local json = require "exa.wire.json"
local cost = require "exa.cost"
local citations = require "exa.citations"
local validate = require "exa.validate"

local exa = {
  VERSION = require "exa.version",
  new = client.new,
  null = json.null,
  array = json.array,
  is_array = json.is_array,
  is_error = errors.is_error,
  run = builder.run,
  TERMINAL_EVENTS = require("exa.api").TERMINAL_EVENTS,
  TERMINAL_STATUS = require("exa.api").TERMINAL_STATUS,
  --- exa.loop([opts]): a loop to run tasks on (see exa/loop/init.lua).
  loop = require("exa.loop").new,
  -- run helpers: price before a run, citations and schema check after
  estimate = cost.estimate,
  check_budget = cost.check_budget,
  PRICES = cost.PRICES,
  citations = citations.citations,
  check_output = validate.check_output,
  schema = validate.schema,
}

-- Encode / decode JSON the way the client does (exa.null, arrays kept).
exa.json_encode = json.encode
exa.json_decode = json.decode

return exa

--- Functions
-- @section functions

--- Make a client. Options are checked before anything is sent: an unknown
-- option or a bad value raises a `validation` @{Error} naming it. The API key
-- is kept inside the client's transport; `tostring(client)` and every error
-- leave it out.
-- @function new
-- @tparam[opt] table options
-- @tparam[opt=EXA_API_KEY] string options.api_key the API key (from the environment when absent)
-- @tparam[opt] string options.base_url `http://` or `https://` URL of the API (default: `EXA_BASE_URL`, else
--   `https://api.exa.ai`); a trailing `/` is dropped
-- @tparam[opt] {string,...}|string options.betas the `Exa-Beta` values, joined with `,`
--   (default `{"agent-2026-05-07"}`; `{}` sends no `Exa-Beta` header)
-- @tparam[opt="x-api-key"] string options.auth `"x-api-key"`, or `"bearer"` for `Authorization: Bearer`
-- @tparam[opt] table options.headers extra headers for every request, `name = value`; a value of `false`
--   or @{null} removes a header the client would send
-- @tparam[opt=60] number options.timeout seconds for a whole request (not for streams)
-- @tparam[opt=10] number options.connect_timeout seconds to connect
-- @tparam[opt=300] number options.stream_idle_timeout seconds a stream may stay silent (the server sends
--   keep-alive comments)
-- @tparam[opt=2] int options.max_retries retries after the first attempt; what is retried is in the
--   guide's "Errors and retries" section
-- @tparam[opt=0.5] number options.retry_base_delay first backoff, doubling per attempt, with jitter
-- @tparam[opt=8] number options.retry_max_delay longest backoff
-- @tparam[opt=60] number options.max_retry_after a `Retry-After` longer than this fails at once
--   (the error carries `retry_after`)
-- @tparam[opt=false] boolean options.retry_concurrency_limit also retry 429 `CONCURRENCY_LIMIT_REACHED`
-- @tparam[opt] string options.ca_file a PEM file of CAs to trust (TLS is always verified)
-- @tparam[opt] func options.sleep `sleep(seconds)` for backoff and polling, for a host with its own
--   loop (`ngx.sleep`)
-- @tparam[opt] func options.on_retry `on_retry(err, attempt, delay)` before each retry's sleep
-- @tparam[opt] Loop options.loop the @{Loop} to wait through (default: a private `exa.loop()`:
--   the built-in loop, so every call blocks until done; inside Neovim one on the editor's
--   `vim.loop`, where a call outside a task waits through `vim.wait`); clients on one loop
--   share its connection pool
-- @tparam[opt] string options.transport `"curl"` (libcurl, the default outside nginx) or `"ngx"`
--   (nginx cosockets, the default inside an OpenResty request context)
-- @tparam[opt] table options.budget `{max_dollars = n}`, a hard cap: a create the budget
--   rule (@{check_budget}) refuses raises a `budget` @{Error} before any request: one whose
--   @{estimate}d `max_dollars` would pass what is left, one whose worst case has no bound
--   on the API in use (`auto` or `max` on the beta API, `ultra`), any run under a budget
--   of 0; @{Client:costs} reports what was spent
-- @tparam[opt="beta"] string options.api `"beta"` (the agent-2026-05-07 contract) or
--   `"post-beta"` (the later API: it enforces `budget.maxCostDollars`, $1–$100, on `auto`
--   and `max`): what the budget rule can bound, and the range `maxCostDollars` is checked
--   against before sending
-- @tparam[opt=true] boolean options.create_marker mark each create with
--   `metadata.exa_client_request_id` so a create whose outcome is unknown is resolved, never
--   sent twice (@{Runs:create})
-- @treturn Client
-- @raise @{Error} of kind `validation`
-- @usage local client = exa.new{ api_key = os.getenv("EXA_API_KEY"), max_retries = 4 }

--- A loop to run tasks on: many calls at once in one Lua thread (@{Loop}).
-- @function loop
-- @tparam[opt] table options `uv` (a luv module: `vim.loop`, `vim.uv`, `require "luv"`),
--   or `cqueues` (a cqueues controller); neither: the built-in driver (epoll on curl's
--   sockets), or inside Neovim the editor's `vim.loop`. `wait`: on a uv loop, how a call
--   outside any task waits: a function like `vim.wait(ms, cond, interval)` that runs the
--   host's events (inside Neovim the default is `vim.wait`), or `false` to raise
--   `kind = "loop"` instead. `on_error = function(err, task)`: where a host loop reports a task that
--   failed with nobody waiting for it (default: stderr)
-- @treturn Loop
-- @usage local loop = exa.loop()
-- local client = exa.new{ loop = loop }
-- for _, q in ipairs(queries) do
--   loop:spawn(function() for ev in client.runs:stream{ query = q } do print(q, ev.event) end end)
-- end
-- loop:run()

--- What a run may cost, from the published price table, before any request: the
-- effort's price, plus the worst case of contact enrichment when the output schema
-- asks for email or phone fields (bounded by `maxItems`, and by `maxProperties` for a
-- map of them; unbounded: `max_dollars = math.huge`). On the post-beta API `auto` and `max` are capped by
-- `budget.maxCostDollars` (else $5 and $20); the beta API ignores `budget`, so there
-- they have no ceiling (`math.huge`); `ultra` and unknown efforts have none either.
-- `unbounded` says why `max_dollars` is `math.huge`.
-- @function estimate
-- @tparam table|exa.builder.Builder params create params (checked as `create` checks them)
-- @tparam[opt] table options `{api = "beta"}` (default) or `{api = "post-beta"}`
-- @treturn table `{min_dollars=, max_dollars=, effort=, emails=, phone_numbers=, unbounded=}`
-- @usage local e = exa.estimate{ query = "...", effort = "low" }   --> min 0.025, max 0.025

--- The budget rule, a hard cap: may a run start with `dollars` left to spend? The
-- client's budget (`exa.new{budget =}`) applies it before every create, and the CLI's
-- `--budget` can call it before starting anything. It returns the run's @{estimate}
-- when its worst case fits; otherwise it raises a `budget` @{Error} (code
-- `BUDGET_EXCEEDED`, with `estimate`, `remaining`) whose message names the way out:
--
-- * a budget of 0 refuses every run;
-- * a run whose worst case cannot be bounded on the API in use is refused whatever
--   the budget: `auto` or `max` on the beta API (it ignores `budget.maxCostDollars`),
--   `ultra` and efforts without a published price, unbounded contact enrichment,
--   data sources on a fixed effort. The way out: a fixed effort (low, medium, high,
--   xhigh), or on the post-beta API `auto`/`max` with a `budget.maxCostDollars`;
-- * a bounded run whose worst case passes what is left: a fixed effort that fits,
--   a `budget.maxCostDollars` within what is left (post-beta `auto`/`max`), or a
--   budget at least that worst case.
--
-- Params are checked as `create` checks them on that API (post-beta:
-- `budget.maxCostDollars` from $1 to $100).
-- @function check_budget
-- @tparam table|exa.builder.Builder params create params
-- @tparam number dollars what is left to spend
-- @tparam[opt] table options `api` (`"beta"`, default, or `"post-beta"`); `budget`, `spent`,
--   `reserved` (dollars, for the message: the whole budget, spent so far, held by runs
--   not finished)
-- @treturn table the estimate
-- @raise @{Error} of kind `budget` or `validation`
-- @usage exa.check_budget({ query = "q", effort = "low" }, 0.05)          -- ok
-- exa.check_budget({ query = "q" }, 10)                                   -- auto on beta: refused
-- exa.check_budget({ query = "q", budget = { maxCostDollars = 2 } }, 3, { api = "post-beta" }) -- ok

--- The price table `estimate` uses: `effort` (`{min, max}` dollars per run before
-- enrichment), `capped` (efforts a budget's `maxCostDollars` caps), and the metered
-- parts (`acu` 0.0001, `search` 0.007, `email` 0.02, `phone_number` 0.07).
-- @table PRICES

--- A run's grounding: every entry, or those of one field. Both spellings of a field
-- work: `"companies[0].sourceUrl"` and `"structured.companies[0].sourceUrl"`.
-- @function citations
-- @tparam table run a run, or a completed event's data
-- @tparam[opt] string field
-- @treturn table a list of grounding entries as the API sends them, `{field=, citations = {{url=, title=},
--   ...}, confidence=, score=}` (not citations: loop over each entry's `citations`; the README shows it)

--- Check `output.structured` against the request's `outputSchema` (or `schema`): the
-- JSON Schema subset of draft-07 / 2019-09 / 2020-12 the simulator uses too.
-- @function check_output
-- @tparam table run a completed run
-- @tparam[opt] table schema (default: `run.request.outputSchema`)
-- @treturn boolean|nil `true`, or nil and a list of `{path=, message=}`

--- The JSON Schema validator behind `check_output`, bound to the client's values
-- (@{null}, arrays marked by @{array}): `exa.schema.validate(schema, value)`.
-- @table schema

--- A run builder: sugar that makes the same params table `create` and `stream` take.
-- @function run
-- @tparam[opt] string query
-- @treturn exa.builder.Builder
-- @usage client.runs:create(exa.run("Find AI eval startups"):effort("low"):metadata{ ticket = "OPS-1" })

--- Is `v` an @{Error} (of `kind`, when given)?
-- @function is_error
-- @param v any value, typically what `pcall` caught
-- @tparam[opt] string kind an error kind such as `"not_found"`
-- @treturn boolean
-- @usage local ok, err = pcall(client.runs.get, client.runs, id)
-- if not ok and exa.is_error(err, "not_found") then ... end

--- Mark a table as a JSON array, so it encodes as `[]` even when empty.
-- @function array
-- @tparam[opt] table t (default: a new table)
-- @treturn table `t`

--- Is `v` a table marked as a JSON array (every decoded array is)?
-- @function is_array
-- @param v
-- @treturn boolean

--- Encode a value as JSON the way requests are encoded: @{null} is `null`, @{array}
-- tables are arrays, numbers are exact.
-- @function json_encode
-- @param v
-- @treturn ?string JSON text, or nil and a message
-- @treturn ?string message

--- Decode JSON the way responses are decoded: `null` is @{null}, arrays are marked
-- (@{is_array}), integral numbers are integers on 5.3+.
-- @function json_decode
-- @tparam string s
-- @return the value, or nil and a message
-- @treturn ?string message

--- Fields
-- @section fields

--- The library's version, as `"0.2.0"` (the rock's, and `exa.core.version`).
-- @field VERSION

--- JSON `null`: what a decoded `null` is, and what to put in a table to send one.
-- It is lua-cjson's `cjson.null`.
-- @field null

--- The events that end a run: `agent_run.completed`, `agent_run.failed` and
-- `agent_run.cancelled` are keys with the value `true`.
-- @field TERMINAL_EVENTS

--- The run statuses from which a run never moves on: `completed`, `failed`,
-- `cancelled` are keys with the value `true`.
-- @field TERMINAL_STATUS
