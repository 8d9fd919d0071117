/*
 * core.c - luaopen_exa_core: the one symbol this module exports.
 * Each part (json.c, lsse.c, http.c) adds its fields to the module table.
 */
#include "compat.h"

#include <curl/curl.h>

#ifndef EXA_VERSION
#define EXA_VERSION "0.1.0"
#endif

EXA_EXPORT int luaopen_exa_core(lua_State *L);

int luaopen_exa_core(lua_State *L) {
  lua_newtable(L);
  lua_pushliteral(L, EXA_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
  lua_setfield(L, -2, "curl_version");
  exa_open_json(L);
  exa_open_sse(L);
  exa_open_http(L);
  return 1;
}
