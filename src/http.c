/* http.c - transfers on a libcurl multi handle (placeholder until it lands). */
#include "compat.h"

void exa_open_http(lua_State *L) { (void)L; }
