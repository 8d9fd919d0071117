# exa-agent for Lua.
#
#   make demo    install what is missing, build, run examples/research.lua against the simulator
#   make test    install what is missing, build for every Lua found, run the whole busted suite
#   make build   build build/<lua>/exa/core.so for every Lua found (5.1 5.2 5.3 5.4 jit)
#   make bench   timings, written to bench/results/
#   make bench-users what users run, beside exa-js: 1,000 TLS (HTTP/2 proxy) and plain streams, one 64 MiB stream
#   make bench-ngx   OpenResty only: a location's latency while 20 runs stream (ngx vs curl transport)
#   make sanitize / make valgrind   the whole suite under ASan+UBSan / valgrind memcheck
#   make fuzz    libFuzzer on the SSE framer, resp.c, h1.c and json.c (SECS=60 per target)
#   make docs    the API reference from the source comments (LDoc), in docs/api/
#   make dist    the source rocks in dist/, each installed into an empty tree and smoke-tested
#   make rock    what LuaRocks runs to build exa.core (see the rockspecs)
#   make nvim    the Neovim plugin's build step: exa.core for LuaJIT in build/nvim/ (see nvim/README.md)
#
# Nothing here needs root except the dependency step, which says what to install when it cannot.

CC      ?= cc
VERSION := 0.2.0
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith
CFLAGS  ?= -O2 -g
CURL_CFLAGS := $(shell curl-config --cflags 2>/dev/null)
CURL_LIBS   := $(shell curl-config --libs 2>/dev/null || echo -lcurl)
# The language, defines and libraries every build of exa.core uses (make build and make rock).
CORE_CFLAGS := -std=c99 -D_POSIX_C_SOURCE=200809L -fvisibility=hidden -DEXA_VERSION='"$(VERSION)"'
CORE_LIBS   := -lm
ALL_CFLAGS   = $(CORE_CFLAGS) -fPIC $(WARN) $(CFLAGS) $(CURL_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS_SO   = -shared $(LDFLAGS) $(EXTRA_LDFLAGS)

# Header directory for each Lua tag.  Override e.g. INC_5.4=/opt/lua/include.
INC_5.1 ?= /usr/include/lua5.1
INC_5.2 ?= /usr/include/lua5.2
INC_5.3 ?= /usr/include/lua5.3
INC_5.4 ?= /usr/include/lua5.4
INC_jit ?= /usr/include/luajit-2.1
LUA_TAGS ?= $(foreach t,5.1 5.2 5.3 5.4 jit,$(if $(wildcard $(INC_$(t))/lua.h),$(t)))

SRCS := $(sort $(wildcard src/*.c))
HDRS := $(wildcard src/*.h)
BUILD ?= build

.PHONY: nvim all build deps deps-test deps-demo test demo bench bench-users bench-ngx sanitize valgrind fuzz clean mock check-tags rock docs dist

all: build

build: check-tags $(foreach t,$(LUA_TAGS),$(BUILD)/$(t)/exa/core.so)

check-tags:
	@if [ -z "$(LUA_TAGS)" ]; then \
	  echo "no Lua headers found: run 'make deps' (or: apt-get install liblua5.4-dev libluajit-5.1-dev libcurl4-openssl-dev)"; \
	  exit 1; fi

# One rule per tag; objects per tag because each compiles against its own lua.h.
define LUA_BUILD
$(BUILD)/$(1)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $$(@D)
	@echo "  CC  [$(1)] $$<"
	@$$(CC) $$(ALL_CFLAGS) -I$$(INC_$(1)) -c $$< -o $$@
$(BUILD)/$(1)/exa/core.so: $(patsubst src/%.c,$(BUILD)/$(1)/obj/%.o,$(SRCS))
	@mkdir -p $$(@D)
	@echo "  LD  $$@"
	@$$(CC) $$(LDFLAGS_SO) -o $$@ $$^ $$(CURL_LIBS) $$(CORE_LIBS)
endef
$(foreach t,5.1 5.2 5.3 5.4 jit,$(eval $(call LUA_BUILD,$(t))))

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

deps-demo:
	@scripts/deps.sh demo

test: deps-test
	@$(MAKE) --no-print-directory build
	@scripts/test.sh

demo: deps-demo
	@$(MAKE) --no-print-directory build
	@scripts/demo.sh

# Run the simulator in the foreground: make mock ARGS="--port 8080"
# (it needs no build: it finds lua/ relative to itself, and only lua-cqueues and lua-cjson)
mock: deps-demo
	@lua5.4 bin/exa-agent-mock $(ARGS)

bench: deps-test
	@$(MAKE) --no-print-directory build
	@bench/run.sh

bench-users: deps-test
	@$(MAKE) --no-print-directory build
	@bench/users.sh

bench-ngx: deps-test
	@$(MAKE) --no-print-directory build
	@bench/ngx_latency.sh

sanitize: deps-test
	@scripts/sanitize.sh asan

valgrind: deps-test
	@$(MAKE) --no-print-directory build
	@scripts/sanitize.sh valgrind

# libFuzzer on the framer, resp.c, h1.c and json.c (clang), SECS per target: make fuzz SECS=120
fuzz:
	@fuzz/run.sh $(or $(SECS),60)

# LuaRocks builds exa.core with this target (build.type = "make" in exa-agent-*.rockspec),
# passing the compiler, flags and directories it found. Always from scratch: the same
# checkout may be built for another Lua next. No -Werror: a newer compiler at a user's
# must not break an install.
LIBFLAG ?= -shared
ROCK := $(BUILD)/rock
comma := ,
rock:
	@rm -rf $(ROCK) && mkdir -p $(ROCK)/obj $(ROCK)/exa
	@set -e; for s in $(SRCS); do \
	  o=$(ROCK)/obj/$$(basename $$s .c).o; echo "  CC  [rock] $$s"; \
	  $(CC) $(CFLAGS) $(CORE_CFLAGS) \
	    -Isrc $(if $(LUA_INCDIR),-I$(LUA_INCDIR)) $(if $(CURL_INCDIR),-I$(CURL_INCDIR)) -c $$s -o $$o; done
	@echo "  LD  $(ROCK)/exa/core.so"
	@$(CC) $(LIBFLAG) -o $(ROCK)/exa/core.so $(patsubst src/%.c,$(ROCK)/obj/%.o,$(SRCS)) \
	  $(if $(CURL_LIBDIR),-L$(CURL_LIBDIR) -Wl$(comma)-rpath$(comma)$(CURL_LIBDIR)) -lcurl $(CORE_LIBS)

# The Neovim plugin's build step (lazy.nvim `build = "make nvim"`, packer `run = "make nvim"`):
# exa.core for Neovim's LuaJIT in build/nvim/exa/core.so, which nvim/ puts on package.cpath.
# Built like the rock (no -Werror: a user's newer compiler must not break an install).
NVIM_INC ?= $(INC_jit)
nvim:
	@test -f $(NVIM_INC)/lua.h || { echo "make nvim: no LuaJIT headers in $(NVIM_INC): apt-get install \
	libluajit-5.1-dev (or libluajit2-5.1-dev), or make nvim NVIM_INC=/path/to/luajit/include"; exit 1; }
	@command -v curl-config >/dev/null || { echo "make nvim: no libcurl headers: apt-get install \
	libcurl4-openssl-dev"; exit 1; }
	@$(MAKE) --no-print-directory rock ROCK=$(BUILD)/nvim LUA_INCDIR=$(NVIM_INC) \
	  CFLAGS="$(CFLAGS) -fPIC $(CURL_CFLAGS)" LIBFLAG=-shared
	@echo "exa.core for Neovim: $(BUILD)/nvim/exa/core.so"

# The API reference (LDoc, config.ld) in docs/api/; not committed: built here and by spec/docs_spec.lua.
docs:
	@command -v ldoc >/dev/null || { echo "docs: needs ldoc (apt-get install lua-ldoc, or luarocks install ldoc)"; exit 1; }
	@scripts/docs.sh docs/api

# Source rocks of what is committed (HEAD) in dist/, each installed into an empty tree and smoke-tested.
dist: deps-test
	@scripts/dist.sh

clean:
	rm -rf $(BUILD) build-asan dist
