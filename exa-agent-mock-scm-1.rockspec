-- exa-agent-mock: a local simulator of the Exa Agent API (docs/simulator.md), for
-- developing and testing clients without a key or money. Lua 5.4 only; needs
-- cqueues and lua-cjson, not the client.
--
--   luarocks --lua-version 5.4 make --deps-mode=none exa-agent-mock-scm-1.rockspec
--   luarocks --lua-version 5.4 install exa-agent-mock
--
-- The installed exa-agent-mock script runs under Lua 5.4 whatever the tree's default Lua
-- is. Without LuaRocks' dependencies (--deps-mode=none) install them yourself:
-- apt-get install lua-cqueues lua-cjson (Debian/Ubuntu), or
-- luarocks --lua-version 5.4 install cqueues && luarocks --lua-version 5.4 install lua-cjson.
--
-- The module list must match lua/exa_mock/** (spec/rockspec_spec.lua checks;
-- `lua scripts/rockspecs.lua --fix` rewrites it).
rockspec_format = "3.0"
package = "exa-agent-mock"
version = "scm-1"
source = {
  url = "git+https://github.com/exa-lua/exa-agent.git",
}
description = {
  summary = "A local simulator of the Exa Agent API, with fault injection, for client development and CI",
  detailed = [[
bin/exa-agent-mock serves every path, status, header and schema of the Exa Agent API
(beta agent-2026-05-07) with fake research: runs that go queued -> running ->
completed, progress events, structured output that validates against the request's
outputSchema, citations, usage and cost, the concurrency limit, live SSE and replay,
and faults injected per request through an X-Mock-Fault header.
]],
  homepage = "https://github.com/exa-lua/exa-agent",
  license = "MIT",
  labels = { "exa", "api", "mock", "simulator", "sse", "testing" },
}
supported_platforms = { "unix" }
dependencies = {
  "lua >= 5.4, < 5.5",
  "cqueues",
  "lua-cjson >= 2.1.0",
}
build = {
  -- Pure Lua: nothing to compile, and "builtin" would also copy the client from lua/.
  type = "none",
  install = {
    lua = {
      ["exa_mock"] = "lua/exa_mock/init.lua",
      ["exa_mock.cli"] = "lua/exa_mock/cli.lua",
      ["exa_mock.errors"] = "lua/exa_mock/errors.lua",
      ["exa_mock.faults"] = "lua/exa_mock/faults.lua",
      ["exa_mock.generate"] = "lua/exa_mock/generate.lua",
      ["exa_mock.gzip"] = "lua/exa_mock/gzip.lua",
      ["exa_mock.http"] = "lua/exa_mock/http.lua",
      ["exa_mock.json"] = "lua/exa_mock/json.lua",
      ["exa_mock.jsonschema"] = "lua/exa/schema.lua",
      ["exa_mock.lifecycle"] = "lua/exa_mock/lifecycle.lua",
      ["exa_mock.pricing"] = "lua/exa_mock/pricing.lua",
      ["exa_mock.router"] = "lua/exa_mock/router.lua",
      ["exa_mock.schema"] = "lua/exa_mock/schema.lua",
      ["exa_mock.server"] = "lua/exa_mock/server.lua",
      ["exa_mock.sse"] = "lua/exa_mock/sse.lua",
      ["exa_mock.store"] = "lua/exa_mock/store.lua",
      ["exa_mock.util"] = "lua/exa_mock/util.lua",
      ["exa_mock.validate"] = "lua/exa_mock/validate.lua",
      ["exa_mock.words"] = "lua/exa_mock/words.lua",
    },
    bin = { ["exa-agent-mock"] = "bin/exa-agent-mock" },
  },
  copy_directories = { "docs" },
}
