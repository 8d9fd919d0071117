-- LuaRocks: `luarocks make` from a checkout (add --lua-version 5.4 etc. to choose the Lua).
-- Runtime needs lua-cjson; it is not listed under dependencies so that `luarocks make`
-- works offline against a distribution's lua-cjson (Debian: apt-get install lua-cjson).
-- Elsewhere: luarocks install lua-cjson. The simulator (exa-agent-mock) also needs
-- Lua 5.4 and lua-cqueues (Debian: apt-get install lua-cqueues).
rockspec_format = "3.0"
package = "exa-agent"
version = "scm-1"
source = {
  url = "git+https://github.com/exa-lua/exa-agent.git",
}
description = {
  summary = "Exa Agent API client: a C core (libcurl, SSE framer, lua-cjson) with a thin Lua layer",
  detailed = [[
Create, stream, list, cancel and delete Exa Agent research runs from Lua 5.1-5.4
and LuaJIT (Neovim, OpenResty). Streams are pulled event by event from a libcurl
multi handle, so iterators are coroutine-friendly; a local API simulator
(exa-agent-mock) is included for development and CI.
]],
  license = "MIT",
  labels = { "exa", "api", "sse", "curl", "http" },
}
dependencies = {
  "lua >= 5.1, < 5.5",
}
-- Only the library is looked up: Debian/Ubuntu keep curl/curl.h in the multiarch
-- include directory (/usr/include/<triplet>), which the compiler searches by itself
-- but LuaRocks' header probe does not. Override with CURL_DIR=... elsewhere.
external_dependencies = {
  CURL = { library = "curl" },
}
build = {
  type = "builtin",
  modules = {
    ["exa.core"] = {
      sources = { "src/compat.c", "src/core.c", "src/http.c", "src/json.c", "src/lsse.c", "src/sse.c" },
      incdirs = { "src", "$(CURL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)" },
      libraries = { "curl" },
    },
    ["exa"] = "lua/exa/init.lua",
    ["exa.body"] = "lua/exa/body.lua",
    ["exa.builder"] = "lua/exa/builder.lua",
    ["exa.check"] = "lua/exa/check.lua",
    ["exa.citations"] = "lua/exa/citations.lua",
    ["exa.cli"] = "lua/exa/cli.lua",
    ["exa.cli.proc"] = "lua/exa/cli/proc.lua",
    ["exa.cli.render"] = "lua/exa/cli/render.lua",
    ["exa.client"] = "lua/exa/client.lua",
    ["exa.clock"] = "lua/exa/clock.lua",
    ["exa.cost"] = "lua/exa/cost.lua",
    ["exa.errors"] = "lua/exa/errors.lua",
    ["exa.json"] = "lua/exa/json.lua",
    ["exa.ledger"] = "lua/exa/ledger.lua",
    ["exa.runs"] = "lua/exa/runs.lua",
    ["exa.schema"] = "lua/exa/schema.lua",
    ["exa.stream"] = "lua/exa/stream.lua",
    ["exa.transport"] = "lua/exa/transport.lua",
    ["exa.validate"] = "lua/exa/validate.lua",
    ["exa.version"] = "lua/exa/version.lua",
    ["exa_mock"] = "lua/exa_mock/init.lua",
    ["exa_mock.cli"] = "lua/exa_mock/cli.lua",
    ["exa_mock.errors"] = "lua/exa_mock/errors.lua",
    ["exa_mock.faults"] = "lua/exa_mock/faults.lua",
    ["exa_mock.generate"] = "lua/exa_mock/generate.lua",
    ["exa_mock.gzip"] = "lua/exa_mock/gzip.lua",
    ["exa_mock.http"] = "lua/exa_mock/http.lua",
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
  install = {
    bin = { ["exa-agent"] = "bin/exa-agent", ["exa-agent-mock"] = "bin/exa-agent-mock" },
  },
  copy_directories = { "docs", "examples" },
}
test = {
  type = "command",
  command = "make test",
}
