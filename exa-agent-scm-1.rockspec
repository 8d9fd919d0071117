-- exa-agent: the Exa Agent API client for Lua 5.1-5.4 and LuaJIT (the C core
-- exa.core on libcurl, and the Lua layer exa.*). The simulator is its own rock,
-- exa-agent-mock (Lua 5.4 only).
--
--   luarocks make --deps-mode=none exa-agent-scm-1.rockspec            from a checkout, offline
--   luarocks install exa-agent                                 from a rocks server
--
-- Needs libcurl with its headers (Debian/Ubuntu: apt-get install libcurl4-openssl-dev;
-- Fedora: libcurl-devel; macOS: brew install curl, then pass CURL_DIR=$(brew --prefix curl))
-- and lua-cjson at run time (declared below; with --deps-mode=none install it yourself:
-- apt-get install lua-cjson, or luarocks install lua-cjson).
--
-- The module list must match the files on disk (lua/exa/**; every src/*.c is compiled by make rock):
-- spec/rockspec_spec.lua checks, and `lua scripts/rockspecs.lua --fix` rewrites them.
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
multi handle, so iterators are coroutine-friendly. The API simulator for
development and CI is the separate rock exa-agent-mock.
]],
  homepage = "https://github.com/exa-lua/exa-agent",
  license = "MIT",
  labels = { "exa", "api", "sse", "curl", "http" },
}
supported_platforms = { "unix" }
dependencies = {
  "lua >= 5.1, < 5.5",
  "lua-cjson >= 2.1.0",
}
-- libcurl. LuaRocks looks for a header at <prefix>/include/curl/curl.h, but Debian and
-- Ubuntu keep it in the multiarch directory /usr/include/<triplet>/curl/, which the
-- compiler searches by itself and the probe cannot name. So on Linux the probe looks
-- for the library and for curl-config, which every libcurl development package ships
-- (libcurl4-openssl-dev, libcurl-devel, curl-dev); elsewhere for the header and the
-- library. Another prefix: CURL_DIR=/opt/curl (Homebrew: CURL_DIR=$(brew --prefix curl));
-- or each directory: CURL_INCDIR=... CURL_LIBDIR=...
external_dependencies = {
  CURL = { library = "curl" },
  platforms = {
    linux = { CURL = { program = "curl-config" } },
    macosx = { CURL = { header = "curl/curl.h" } },
    bsd = { CURL = { header = "curl/curl.h" } },
    solaris = { CURL = { header = "curl/curl.h" } },
  },
}
build = {
  -- Not "builtin": builtin also copies all of lua/ into the rock, which would put the
  -- simulator into the client's rock (and the client into the simulator's).
  type = "make",
  build_target = "rock", -- the Makefile compiles every src/*.c into build/rock/exa/core.so
  build_variables = {
    CC = "$(CC)", CFLAGS = "$(CFLAGS)", LIBFLAG = "$(LIBFLAG)", LUA_INCDIR = "$(LUA_INCDIR)",
    CURL_INCDIR = "$(CURL_INCDIR)", CURL_LIBDIR = "$(CURL_LIBDIR)", BUILD = "build",
  },
  install_pass = false,
  install = {
    lib = { ["exa.core"] = "build/rock/exa/core.so" },
    lua = {
      ["exa"] = "lua/exa/init.lua",
      ["exa.api"] = "lua/exa/api.lua",
      ["exa.batch"] = "lua/exa/batch.lua",
      ["exa.wire.body"] = "lua/exa/wire/body.lua",
      ["exa.builder"] = "lua/exa/builder.lua",
      ["exa.citations"] = "lua/exa/citations.lua",
      ["exa.cli"] = "lua/exa/cli/init.lua",
      ["exa.cli.proc"] = "lua/exa/cli/proc.lua",
      ["exa.cli.render"] = "lua/exa/cli/render.lua",
      ["exa.client"] = "lua/exa/client.lua",
      ["exa.loop.clock"] = "lua/exa/loop/clock.lua",
      ["exa.cost"] = "lua/exa/cost.lua",
      ["exa.errors"] = "lua/exa/errors.lua",
      ["exa.backend.curl"] = "lua/exa/backend/curl.lua",
      ["exa.wire.json"] = "lua/exa/wire/json.lua",
      ["exa.ledger"] = "lua/exa/ledger.lua",
      ["exa.loop"] = "lua/exa/loop/init.lua",
      ["exa.loop.builtin"] = "lua/exa/loop/builtin.lua",
      ["exa.loop.cqueues"] = "lua/exa/loop/cqueues.lua",
      ["exa.loop.uv"] = "lua/exa/loop/uv.lua",
      ["exa.backend.ngx"] = "lua/exa/backend/ngx.lua",
      ["exa.loop.pcall"] = "lua/exa/loop/pcall.lua",
      ["exa.wire.retry"] = "lua/exa/wire/retry.lua",
      ["exa.runs"] = "lua/exa/runs.lua",
      ["exa.schema"] = "lua/exa/schema.lua",
      ["exa.wire.stream"] = "lua/exa/wire/stream.lua",
      ["exa.wire.transport"] = "lua/exa/wire/transport.lua",
      ["exa.wire.url"] = "lua/exa/wire/url.lua",
      ["exa.validate"] = "lua/exa/validate.lua",
      ["exa.version"] = "lua/exa/version.lua",
    },
    bin = { ["exa-agent"] = "bin/exa-agent" },
  },
  copy_directories = { "docs", "examples" },
}
test = {
  type = "command",
  command = "make test",
}
