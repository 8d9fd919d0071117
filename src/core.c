/*
 * core.c - luaopen_exa_core: the one symbol this module exports.
 * Each part (json.c, lsse.c, lhttp.c, lsig.c) adds its fields to the module table.
 */
#include "bind.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#ifndef EXA_VERSION
#define EXA_VERSION "0.2.0"
#endif

EXA_EXPORT int luaopen_exa_core(lua_State *L);

/* core.monotime() -> seconds from a fixed point; never goes backwards. */
static int core_monotime(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* core.sleep(seconds): block the thread (fractions allowed; <= 0 returns at
 * once).  Retries and polling use it; hosts with an event loop pass their own
 * sleep to exa.new instead. */
static int core_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  struct timespec ts;
  if (!(s > 0)) return 0;
  if (s > 1e9) s = 1e9;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
  if (ts.tv_nsec > 999999999L) ts.tv_nsec = 999999999L;
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
  return 0;
}

/* core.isatty(fd) -> boolean: is fd a terminal?  (The CLI's progress line
 * goes to stderr only then; no `test -t 2` child process for it.) */
static int core_isatty(lua_State *L) {
  lua_Integer fd = luaL_checkinteger(L, 1);
  lua_pushboolean(L, fd >= 0 && fd <= INT_MAX && isatty((int)fd) == 1);
  return 1;
}

int luaopen_exa_core(lua_State *L) {
  lua_newtable(L);
  lua_pushliteral(L, EXA_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
  lua_setfield(L, -2, "curl_version");
  lua_pushcfunction(L, core_monotime);
  lua_setfield(L, -2, "monotime");
  lua_pushcfunction(L, core_sleep);
  lua_setfield(L, -2, "sleep");
  lua_pushcfunction(L, core_isatty);
  lua_setfield(L, -2, "isatty");
  exa_open_json(L);
  exa_open_sse(L);
  exa_open_http(L);
  exa_open_h1(L);
  exa_open_signals(L);
  return 1;
}
