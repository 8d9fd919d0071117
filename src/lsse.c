/* lsse.c - Lua binding of the SSE framer (placeholder until the framer lands). */
#include "compat.h"

void exa_open_sse(lua_State *L) { (void)L; }
