/*
 * lsig.c - signals as a readable fd (the self-pipe trick), for a loop to
 * watch like a transfer.
 *
 *   s = core.signals({"INT", "TERM", "HUP", "PIPE"} [, {"HUP"}])  -- catch these from now on;
 *               -- those of the second list stay ignored if they are (nohup's SIGHUP)
 *   s:fd()      -- the read end of the pipe: readable once a signal came
 *   s:read()    -- the names caught since the last read, in order (never blocks)
 *   s:ignored() -- the names left ignored (they were ignored before: nohup)
 *   s:close()   -- the dispositions from before come back; idempotent, also __gc
 *
 * The handler only writes the signal's number into a non-blocking pipe
 * (write is async-signal-safe; errno is kept), so no Lua runs in it.  A pipe
 * works on every POSIX system, unlike signalfd, and needs no signal mask:
 * a blocked mask would be inherited by every process the host starts and by
 * curl's resolver threads.  SA_RESTART keeps stdio going; the epoll/poll wait
 * returns EINTR and then finds the pipe readable.  Handlers are process-wide:
 * one watcher is open at a time.  A signal of the second list that is
 * ignored when the watcher opens stays ignored (nohup's SIGHUP), as POSIX
 * tools do; s:ignored() lists those.  (Not by default: a shell script's
 * background job starts with SIGINT ignored, and `kill -INT` must still
 * reach a command whose interpreter, lua.c, catches it too.)
 */
#include "bind.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define SIG_MT "exa.signals"

static const struct {
  const char *name;
  int sig;
} known[] = {{"INT", SIGINT}, {"TERM", SIGTERM}, {"HUP", SIGHUP}, {"PIPE", SIGPIPE},
             {"QUIT", SIGQUIT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}};
#define NKNOWN (sizeof known / sizeof known[0])

typedef struct exa_sigs {
  int rfd, wfd; /* -1 once closed */
  int n;
  int sigs[NKNOWN];
  int kept[NKNOWN]; /* ignored before: left ignored */
  struct sigaction old[NKNOWN];
} exa_sigs;

static volatile sig_atomic_t write_end = -1; /* the open watcher's pipe, for the handler */
static exa_sigs *open_one = NULL;

static void on_signal(int sig) {
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  int fd = write_end;
  if (fd >= 0) {
    ssize_t r = write(fd, &b, 1); /* full pipe: the fd is readable anyway */
    (void)r;
  }
  errno = saved;
}

static const char *sig_name(int sig) {
  size_t i;
  for (i = 0; i < NKNOWN; i++)
    if (known[i].sig == sig) return known[i].name;
  return "?";
}

static exa_sigs *check_sigs(lua_State *L) {
  return (exa_sigs *)luaL_checkudata(L, 1, SIG_MT);
}

static void sigs_close(exa_sigs *s) {
  int i;
  if (s->rfd < 0) return;
  for (i = s->n - 1; i >= 0; i--) sigaction(s->sigs[i], &s->old[i], NULL);
  write_end = -1;
  open_one = NULL;
  close(s->wfd);
  close(s->rfd);
  s->rfd = s->wfd = -1;
}

static int set_flags(int fd) {
  int fl = fcntl(fd, F_GETFL);
  int fdfl = fcntl(fd, F_GETFD);
  if (fl < 0 || fdfl < 0) return -1;
  if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
  return fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC);
}

/* core.signals(names) -> watcher */
/* Is name in the list at index idx (absent: no)? */
static int listed(lua_State *L, int idx, const char *name) {
  int i, n, found = 0;
  if (lua_isnoneornil(L, idx)) return 0;
  n = (int)lua_rawlen(L, idx);
  for (i = 1; i <= n && !found; i++) {
    const char *v;
    exa_rawgeti(L, idx, i);
    v = lua_tostring(L, -1);
    found = v != NULL && strcmp(v, name) == 0;
    lua_pop(L, 1);
  }
  return found;
}

static int l_signals(lua_State *L) {
  exa_sigs *s;
  int p[2], i, n;
  struct sigaction sa;
  luaL_checktype(L, 1, LUA_TTABLE);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2); /* the watcher goes to 3: index 2 is the keep list or nil */
  n = (int)lua_rawlen(L, 1);
  if (n < 1 || n > (int)NKNOWN) return luaL_argerror(L, 1, "a list of 1 to 7 signal names");
  if (open_one != NULL) return luaL_error(L, "exa.signals: one watcher at a time (close the other first)");
  s = (exa_sigs *)lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  s->rfd = s->wfd = -1;
  luaL_setmetatable(L, SIG_MT);
  for (i = 0; i < n; i++) {
    size_t k;
    const char *name;
    exa_rawgeti(L, 1, i + 1);
    name = lua_tostring(L, -1);
    for (k = 0; name && k < NKNOWN; k++)
      if (strcmp(name, known[k].name) == 0) break;
    if (name == NULL || k == NKNOWN)
      return luaL_error(L, "exa.signals: unknown signal %s (INT TERM HUP PIPE QUIT USR1 USR2)",
                        name ? name : "(not a string)");
    lua_pop(L, 1);
    s->sigs[i] = known[k].sig;
    s->kept[i] = listed(L, 2, known[k].name); /* for now: "may stay ignored" */
  }
  if (pipe(p) != 0) return luaL_error(L, "exa.signals: pipe: %s", strerror(errno));
  if (set_flags(p[0]) != 0 || set_flags(p[1]) != 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    return luaL_error(L, "exa.signals: fcntl: %s", strerror(e));
  }
  s->rfd = p[0];
  s->wfd = p[1];
  write_end = p[1];
  open_one = s;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (i = 0; i < n; i++) sigaddset(&sa.sa_mask, s->sigs[i]);
  for (i = 0; i < n; i++) {
    int rc = sigaction(s->sigs[i], NULL, &s->old[i]);
    s->kept[i] = s->kept[i] && rc == 0 && s->old[i].sa_handler == SIG_IGN;
    if (rc == 0 && !s->kept[i]) rc = sigaction(s->sigs[i], &sa, NULL);
    if (rc != 0) {
      int e = errno;
      s->n = i;
      sigs_close(s);
      return luaL_error(L, "exa.signals: sigaction: %s", strerror(e));
    }
    s->n = i + 1;
  }
  return 1;
}

static int s_ignored(lua_State *L) {
  exa_sigs *s = check_sigs(L);
  int i, n = 0;
  lua_newtable(L);
  for (i = 0; i < s->n; i++) {
    if (!s->kept[i]) continue;
    lua_pushstring(L, sig_name(s->sigs[i]));
    lua_rawseti(L, -2, ++n);
  }
  return 1;
}

static int s_fd(lua_State *L) {
  exa_sigs *s = check_sigs(L);
  if (s->rfd < 0) return luaL_error(L, "exa.signals: closed");
  lua_pushinteger(L, s->rfd);
  return 1;
}

static int s_read(lua_State *L) {
  exa_sigs *s = check_sigs(L);
  unsigned char buf[64];
  int n = 0;
  if (s->rfd < 0) return luaL_error(L, "exa.signals: closed");
  lua_newtable(L);
  for (;;) {
    ssize_t r = read(s->rfd, buf, sizeof buf), i;
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    for (i = 0; i < r; i++) {
      lua_pushstring(L, sig_name(buf[i]));
      lua_rawseti(L, -2, ++n);
    }
  }
  return 1;
}

static int s_close(lua_State *L) {
  sigs_close(check_sigs(L));
  return 0;
}

static int s_tostring(lua_State *L) {
  exa_sigs *s = check_sigs(L);
  lua_pushfstring(L, "exa.signals (%s): %p", s->rfd < 0 ? "closed" : "open", (void *)s);
  return 1;
}

static const luaL_Reg sig_methods[] = {{"fd", s_fd},       {"read", s_read},   {"ignored", s_ignored},
                                       {"close", s_close}, {NULL, NULL}};

void exa_open_signals(lua_State *L) {
  exa_new_type(L, SIG_MT, sig_methods, s_close, s_tostring);
  lua_pushcfunction(L, l_signals);
  lua_setfield(L, -2, "signals");
}
