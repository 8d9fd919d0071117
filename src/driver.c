/* driver.c - see driver.h.  No Lua in here. */
#include "driver.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__) && !defined(EXA_NO_EPOLL)
#define EXA_EPOLL 1
#include <sys/epoll.h>
#endif

#define NO_DEADLINE LLONG_MAX
#define STEP_CAP_MS 60000L /* one step never sleeps longer: a guard, not a poll interval */
#define READY_MAX 64       /* sockets acted on per wake-up round */
/* connections per host while transfers multiplex (HTTP/2): libcurl 7.88 with
 * PIPEWAIT waits for the first connection, but once that one is full (100
 * streams) it opens a new connection per further transfer (1,000 streams:
 * 901 TLS connections, bench/h2_streams.lua); 20 x 100 streams is 2,000 */
#define EXA_MUX_CONNECTIONS 20L

struct exa_sock {
  curl_socket_t fd;
  int what;     /* EXA_WATCH_*: what it is watched for now (0: not yet) */
  exa_sock *prev, *next;
  size_t pidx;  /* poll fallback: index in pfds */
  size_t log_idx;
  unsigned log_gen; /* log_idx is valid while this equals m->log_gen */
  int logged;
  long long foreign; /* a host's fd watched like a transfer (exa_multi_watch_fd): its id; 0: curl's */
  int ready;         /* foreign: found readable, not reported yet */
};

long long exa_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the progressed list and the transfer lists ----------------------- */

static void progressed(exa_xfer *x) {
  exa_multi *m = x->owner;
  if (x->plinked || m == NULL) return;
  x->plinked = 1;
  x->pnext = NULL;
  x->pprev = m->ptail;
  if (m->ptail) m->ptail->pnext = x;
  else m->phead = x;
  m->ptail = x;
}

static void unprogress(exa_xfer *x) {
  exa_multi *m = x->owner;
  if (!x->plinked) return;
  if (x->pprev) x->pprev->pnext = x->pnext;
  else m->phead = x->pnext;
  if (x->pnext) x->pnext->pprev = x->pprev;
  else m->ptail = x->pprev;
  x->pprev = x->pnext = NULL;
  x->plinked = 0;
}

exa_xfer *exa_multi_pop_progressed(exa_multi *m) {
  exa_xfer *x = m->phead;
  if (x) unprogress(x);
  return x;
}

/* An idle deadline moved earlier than the bound (a new transfer, a resume). */
static void idle_bound(exa_multi *m, exa_xfer *x) {
  long long dl = x->last_ms + x->idle_ms;
  if (x->idle_ms > 0 && dl < m->idle_next) m->idle_next = dl;
}

/* The bound on connections per host follows what the transfers can share.
 * HTTP/1.1 needs a connection per transfer in flight: a bound would park an
 * event stream behind others that may never end.  So the bound holds only
 * while no plain-http transfer runs and no https one was answered over
 * HTTP/1.x (then it is lifted for good on this multi).  Applied outside curl's
 * callbacks (curl_multi_setopt refuses to run inside them). */
/* libcurl 7.88 parks a transfer that found no connection under the bound
 * (or waits, PIPEWAIT, for the first one) on its pending list, and takes the
 * list's first transfer back only when a transfer ends, a handle is removed
 * or a connection's multiplexing changes (multi.c process_pending_handles;
 * each one taken back that gets a connection takes the next).  Lifting the
 * bound is none of these: when the first head says HTTP/1.1 after every
 * connection under the bound was made, the transfers past it would wait
 * behind event streams that may never end.  Adding and removing a handle
 * that never runs takes the first back, and the rest follow. */
static void wake_pending(exa_multi *m) {
  CURL *e = curl_easy_init();
  if (e == NULL) return;
  if (curl_multi_add_handle(m->cm, e) == CURLM_OK) curl_multi_remove_handle(m->cm, e);
  curl_easy_cleanup(e);
}

static void cap_update(exa_multi *m) {
  long want;
  m->cap_dirty = 0;
  if (m->cm == NULL || m->cap_user > 0) return;
  want = (m->n_plain == 0 && !m->tls_h1) ? EXA_MUX_CONNECTIONS : 0;
  if (want == m->cap_now) return;
  if (curl_multi_setopt(m->cm, CURLMOPT_MAX_HOST_CONNECTIONS, want) == CURLM_OK) {
    int lifted = m->cap_now > 0 && want == 0;
    m->cap_now = want;
    if (lifted && m->nrunning > 0) wake_pending(m);
  }
}

/* ---- failures ---------------------------------------------------------- */

static int curl_kind(CURLcode rc) {
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: return EXA_EK_TIMEOUT;
    case CURLE_COULDNT_CONNECT: return EXA_EK_CONNECT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return EXA_EK_DNS;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED: return EXA_EK_TLS;
    default: return EXA_EK_TRANSPORT;
  }
}

static void fail_curl(exa_xfer *x, CURLcode rc) {
  const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
  if (rc == CURLE_SEND_FAIL_REWIND && x->once) {
    /* on_seek refused: the connection died after (some of) the body went
     * out, where libcurl would have sent it again on a new one */
    exa_resp_fail(&x->r, EXA_EK_TRANSPORT, (long)rc,
                  "the connection failed after the request body was sent; it is not sent again "
                  "by the transport (curl: %s)", detail);
  } else if (!x->r.head_done && rc == CURLE_OUT_OF_MEMORY) {
    /* curl 7.88 refuses a header line over 100 KiB this way ("Out of memory") */
    exa_resp_fail(&x->r, EXA_EK_TOO_LARGE, (long)rc, "response headers too large for curl (%s)", detail);
  } else if (!x->r.head_done && rc == CURLE_BAD_FUNCTION_ARGUMENT) {
    /* curl 7.88's answer to a folded line it cannot unfold */
    exa_resp_fail(&x->r, EXA_EK_TRANSPORT, (long)rc, "malformed response head (curl: %s)", detail);
  } else if (x->errbuf[0]) {
    exa_resp_fail(&x->r, curl_kind(rc), (long)rc, "%s: %s", curl_easy_strerror(rc), x->errbuf);
  } else {
    exa_resp_fail(&x->r, curl_kind(rc), (long)rc, "%s", curl_easy_strerror(rc));
  }
}

/* ---- curl's transfer callbacks: no Lua, no driving -------------------- */

static size_t on_header(char *b, size_t size, size_t nitems, void *ud) {
  exa_xfer *x = (exa_xfer *)ud;
  size_t n = size * nitems;
  int was = x->r.head_done;
  x->last_ms = exa_now_ms();
  if (exa_resp_header(&x->r, b, n) != 0) return 0; /* curl ends it: CURLE_WRITE_ERROR */
  if (!was && x->r.head_done) {
    if (exa_h1_frame(&x->h1) != 0) return 0; /* a framing h1.c refuses (Transfer-Encoding, Content-Length) */
    long v = 0;
    if (!x->plain && x->owner && !x->owner->tls_h1 &&
        curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &v) == CURLE_OK && v != 0 && v < CURL_HTTP_VERSION_2_0) {
      x->owner->tls_h1 = 1; /* this host does not multiplex */
      x->owner->cap_dirty = 1;
    }
    progressed(x);
  }
  return n;
}

static size_t on_write(char *b, size_t size, size_t nmemb, void *ud) {
  exa_xfer *x = (exa_xfer *)ud;
  size_t n = size * nmemb;
  unsigned long before = x->r.nevents;
  int rc = exa_h1_feed(&x->h1, b, n); /* raw bytes: h1.c decodes a chunked body */
  if (rc == EXA_RESP_PAUSE) { /* the reader is behind: curl holds the bytes */
    if (!x->paused) x->npaused++;
    x->paused = 1;
    return CURL_WRITEFUNC_PAUSE;
  }
  if (rc != EXA_RESP_OK) return n ? 0 : 1; /* anything but n: curl ends it */
  x->last_ms = exa_now_ms();
  if (x->r.nevents != before) progressed(x);
  return n;
}

/* The request body, read by curl from our copy. */
static size_t on_read(char *b, size_t size, size_t nitems, void *ud) {
  exa_xfer *x = (exa_xfer *)ud;
  size_t n = size * nitems, left = x->body_len - x->body_off;
  if (n > left) n = left;
  memcpy(b, x->body + x->body_off, n);
  x->body_off += n;
  if (x->body_off == x->body_len && !x->upqueued && x->m != NULL) { /* its buffer can go (upload_sweep) */
    x->upnext = x->m->upq;
    x->m->upq = x;
    x->upqueued = 1;
  }
  return n;
}

/* libcurl rewinds a body it means to send again: a reused connection that
 * died (HTTP/1.1 keep-alive closed or reset under the request), an HTTP/2
 * stream refused (RST_STREAM REFUSED_STREAM, a GOAWAY below the stream) after
 * some of the body went out (lib/transfer.c Curl_retry_request ->
 * Curl_readrewind).  A "once" body refuses, and libcurl fails the transfer
 * with CURLE_SEND_FAIL_REWIND instead of sending it again: the retry policy
 * decides (for a create, through its marker).  Where no body byte went out
 * libcurl retries without asking: the body is then sent for the first time. */
static int on_seek(void *ud, curl_off_t offset, int origin) {
  exa_xfer *x = (exa_xfer *)ud;
  if (x->once || origin != SEEK_SET || offset < 0 || (curl_off_t)x->body_len < offset) return CURL_SEEKFUNC_CANTSEEK;
  x->body_off = (size_t)offset;
  return CURL_SEEKFUNC_OK;
}

/* curl's upload buffer (16 KiB, one page of it touched) carries the body and
 * then nothing: it would live as long as the transfer, ~4 KiB of RSS per open
 * stream.  Once on_read has handed out the last byte the transfer goes on its
 * multi's upq; after each action, outside curl's callbacks, the sweep frees
 * the buffer of those curl counts as wholly sent, by setting the option again
 * (libcurl's setopt.c frees it there: "force a realloc next opportunity"; a
 * rewind, where allowed, allocates a new one).  The rest wait for the next. */
#define UPLOAD_BUFFER 16384L

static void upq_unlink(exa_multi *m, exa_xfer *x) {
  exa_xfer **pp = &m->upq;
  while (*pp != NULL && *pp != x) pp = &(*pp)->upnext;
  if (*pp == x) *pp = x->upnext;
  x->upnext = NULL;
  x->upqueued = 0;
}

static void upload_sweep(exa_multi *m) {
  exa_xfer **pp = &m->upq;
  while (*pp != NULL) {
    exa_xfer *x = *pp;
    curl_off_t sent = 0;
    int out = x->easy == NULL || x->body_off != x->body_len; /* gone, or rewound: not ours to free now */
    if (!out && curl_easy_getinfo(x->easy, CURLINFO_SIZE_UPLOAD_T, &sent) == CURLE_OK &&
        sent >= (curl_off_t)x->body_len) {
      curl_easy_setopt(x->easy, CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER);
      m->n_upload_freed++;
      out = 1;
    }
    if (out) {
      *pp = x->upnext;
      x->upnext = NULL;
      x->upqueued = 0;
    } else {
      pp = &x->upnext;
    }
  }
}

/* ---- transfer lifecycle ------------------------------------------------ */

void exa_xfer_snapshot(exa_xfer *x) {
  long v = 0;
  double d = 0;
  curl_off_t o = 0;
  char *u = NULL;
  if (x->easy == NULL) return;
  if (curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &v) == CURLE_OK) x->http_version = v;
  if (curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &v) == CURLE_OK) x->num_connects = v;
  if (curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &d) == CURLE_OK) x->total_time = d;
  if (curl_easy_getinfo(x->easy, CURLINFO_SIZE_DOWNLOAD_T, &o) == CURLE_OK) x->size_download = o;
  if (curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &u) == CURLE_OK && u != NULL &&
      (x->eff_url == NULL || strcmp(x->eff_url, u) != 0)) {
    size_t n = strlen(u) + 1;
    char *c = (char *)malloc(n);
    if (c != NULL) {
      memcpy(c, u, n);
      free(x->eff_url);
      x->eff_url = c;
    }
  }
}

/* Nothing more will arrive: take the easy handle off the multi (its
 * connection is closed unless the transfer completed) and clean it up. */
static void complete(exa_xfer *x, int report) {
  exa_multi *m = x->m;
  if (x->done) return;
  x->done = 1;
  x->paused = 0;
  if (x->easy) {
    exa_xfer_snapshot(x);
    if (m != NULL && m->cm != NULL) curl_multi_remove_handle(m->cm, x->easy);
    curl_easy_cleanup(x->easy);
    x->easy = NULL;
  }
  curl_slist_free_all(x->req_headers);
  x->req_headers = NULL;
  free(x->body);
  x->body = NULL;
  exa_sse_free(&x->r.sse); /* an unterminated block goes with it; queued events stay */
  if (m != NULL) {
    if (x->prev) x->prev->next = x->next;
    else m->running = x->next;
    if (x->next) x->next->prev = x->prev;
    if (x->idle_ms > 0) {
      if (x->iprev) x->iprev->inext = x->inext;
      else m->idle = x->inext;
      if (x->inext) x->inext->iprev = x->iprev;
    }
    x->prev = x->next = x->iprev = x->inext = NULL;
    if (x->upqueued) upq_unlink(m, x);
    m->nrunning--;
    if (x->plain && --m->n_plain == 0) m->cap_dirty = 1;
    x->m = NULL;
  }
  if (report) progressed(x);
}

void exa_xfer_close(exa_xfer *x) {
  complete(x, 0);
  unprogress(x);
  exa_resp_free(&x->r);
  exa_h1_free(&x->h1);
  free(x->eff_url);
  x->eff_url = NULL;
}

/* Read what curl finished. */
static void reap(exa_multi *m) {
  CURLMsg *msg;
  int left;
  while (m->cm != NULL && (msg = curl_multi_info_read(m->cm, &left)) != NULL) {
    char *priv = NULL;
    exa_xfer *x;
    CURLcode result;
    if (msg->msg != CURLMSG_DONE) continue;
    result = msg->data.result;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    x = (exa_xfer *)(void *)priv;
    if (x == NULL || x->easy != msg->easy_handle) continue;
    if (result != CURLE_OK) fail_curl(x, result);
    else if (!x->r.head_done) exa_resp_fail(&x->r, EXA_EK_TRANSPORT, -1, "the response ended before its headers");
    else exa_h1_eof(&x->h1); /* the body ends, unless h1.c saw it cut short */
    complete(x, 1); /* msg is void from here */
  }
}

/* The bound passed: fail the silent transfers, make the bound exact. */
static void check_idle(exa_multi *m, long long now) {
  exa_xfer *x = m->idle, *nx;
  long long next = NO_DEADLINE;
  m->n_idle_scans++;
  for (; x; x = nx) {
    long long dl = x->last_ms + x->idle_ms;
    nx = x->inext;
    m->n_idle_visits++;
    if (x->paused) continue; /* its clock stops; a resume restarts it */
    if (now >= dl) {
      exa_resp_fail(&x->r, EXA_EK_TIMEOUT, -1, "no data received for %ld ms (idle_timeout)", x->idle_ms);
      complete(x, 1);
    } else if (dl < next) {
      next = dl;
    }
  }
  m->idle_next = next;
}

/* Does url start with "http://" (any case)? */
static int plain_http(const char *url) {
  static const char want[] = "http://";
  size_t i;
  for (i = 0; want[i] != '\0'; i++) {
    char c = url[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != want[i]) return 0;
  }
  return 1;
}

/* An error report on a socket (EPOLLERR, POLLERR, a host loop's "err")
 * becomes "try it both ways" for curl.  Told CURL_CSELECT_ERR alone, curl
 * fails the transfer at once ("select/poll returned error", CURLE_SEND_ERROR)
 * without reading what is already buffered: a peer that answered and then
 * reset the connection would lose its answer.  Linux can report that error
 * before the hang-up (a reset sets the socket's error and wakes its waiters
 * before marking it shut), so the epoll waiter met it under load.  Read and
 * write return the buffered bytes first, then the real error (ECONNRESET);
 * curl's own poll check counts POLLERR as readable the same way. */
static void act(exa_multi *m, curl_socket_t fd, int mask) {
  int running = 0;
  if (m->cm == NULL) return;
  m->n_actions++;
  if (mask & CURL_CSELECT_ERR) mask |= CURL_CSELECT_IN | CURL_CSELECT_OUT;
  curl_multi_socket_action(m->cm, fd, mask, &running);
}

/* curl's timer fell due.  curl calls the timer callback only when its next
 * expiry changes; when this call expired nothing (our clock ran a little
 * ahead of curl's), ask it for the time left instead of forgetting the timer. */
static void fire_timer(exa_multi *m) {
  long long was = m->timer_at;
  act(m, CURL_SOCKET_TIMEOUT, 0);
  if (m->cm != NULL && m->timer_at == was) {
    long ms = -1;
    curl_multi_timeout(m->cm, &ms);
    m->timer_at = ms < 0 ? -1 : exa_now_ms() + ms;
  }
}

static void after_action(exa_multi *m) {
  reap(m);
  if (m->upq != NULL) upload_sweep(m);
  if (m->cap_dirty) cap_update(m);
  if (m->idle_next != NO_DEADLINE && exa_now_ms() >= m->idle_next) check_idle(m, exa_now_ms());
}

/* ---- the sockets curl wants watched ----------------------------------- */

static void log_change(exa_multi *m, exa_sock *k, int what) {
  exa_change *c;
  if (!m->log_sockets) return;
  if (what != EXA_WATCH_REMOVE && k->logged && k->log_gen == m->log_gen) {
    m->log[k->log_idx].what = what; /* not read yet: the newest wish replaces it */
    return;
  }
  if (m->nlog == m->caplog) {
    size_t cap = m->caplog ? m->caplog * 2 : 16;
    exa_change *nl = (exa_change *)realloc(m->log, cap * sizeof *nl);
    if (nl == NULL) return;
    m->log = nl;
    m->caplog = cap;
  }
  c = &m->log[m->nlog];
  c->fd = (int)k->fd;
  c->what = what;
  k->log_idx = m->nlog++;
  k->log_gen = m->log_gen;
  k->logged = 1;
}

const exa_change *exa_multi_changes(const exa_multi *m, size_t *n) {
  *n = m->nlog;
  return m->log;
}

void exa_multi_changes_clear(exa_multi *m) {
  m->nlog = 0;
  m->log_gen++;
}

static int watch(exa_multi *m, exa_sock *k, int what) {
#ifdef EXA_EPOLL
  if (m->epfd >= 0) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = ((what & EXA_WATCH_IN) ? EPOLLIN : 0u) | ((what & EXA_WATCH_OUT) ? EPOLLOUT : 0u);
    ev.data.fd = (int)k->fd;
    if (k->what == 0) {
      if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, k->fd, &ev) != 0 &&
          (errno != EEXIST || epoll_ctl(m->epfd, EPOLL_CTL_MOD, k->fd, &ev) != 0))
        return -1;
    } else if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, k->fd, &ev) != 0) {
      /* closed and reused behind our back: the kernel dropped it from the set */
      if (errno != ENOENT || epoll_ctl(m->epfd, EPOLL_CTL_ADD, k->fd, &ev) != 0) return -1;
    }
    k->what = what;
    return 0;
  }
#endif
  {
    struct pollfd *p;
    if (k->what == 0) {
      if (m->npfd == m->cappfd) {
        size_t cap = m->cappfd ? m->cappfd * 2 : 16;
        struct pollfd *np = (struct pollfd *)realloc(m->pfds, cap * sizeof *np);
        exa_sock **nk;
        if (np == NULL) return -1;
        m->pfds = np;
        nk = (exa_sock **)realloc(m->psocks, cap * sizeof *nk);
        if (nk == NULL) return -1;
        m->psocks = nk;
        m->cappfd = cap;
      }
      k->pidx = m->npfd++;
      m->psocks[k->pidx] = k;
    }
    p = (struct pollfd *)m->pfds + k->pidx;
    p->fd = (int)k->fd;
    p->events = (short)(((what & EXA_WATCH_IN) ? POLLIN : 0) | ((what & EXA_WATCH_OUT) ? POLLOUT : 0));
    p->revents = 0;
    k->what = what;
    return 0;
  }
}

static void unwatch(exa_multi *m, exa_sock *k) {
  if (k->what == 0) return;
#ifdef EXA_EPOLL
  if (m->epfd >= 0) {
    struct epoll_event ev; /* pre-2.6.9 kernels want a non-NULL event */
    memset(&ev, 0, sizeof ev);
    epoll_ctl(m->epfd, EPOLL_CTL_DEL, k->fd, &ev); /* EBADF/ENOENT: already gone with its fd */
    k->what = 0;
    return;
  }
#endif
  {
    struct pollfd *p = (struct pollfd *)m->pfds;
    size_t last = --m->npfd;
    if (k->pidx != last) {
      p[k->pidx] = p[last];
      m->psocks[k->pidx] = m->psocks[last];
      m->psocks[k->pidx]->pidx = k->pidx;
    }
    k->what = 0;
  }
}

static void sock_free(exa_multi *m, exa_sock *k) {
  if (k->prev) k->prev->next = k->next;
  else m->socks = k->next;
  if (k->next) k->next->prev = k->prev;
  free(k);
}

static void foreign_free(exa_multi *m, exa_sock *k);

/* CURLMOPT_SOCKETFUNCTION: record what curl wants for s. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
  exa_multi *m = (exa_multi *)userp;
  exa_sock *k = (exa_sock *)socketp;
  int w;
  (void)e;
  if (what == CURL_POLL_REMOVE) {
    if (k != NULL) {
      unwatch(m, k);
      log_change(m, k, EXA_WATCH_REMOVE);
      sock_free(m, k);
    }
    return 0;
  }
  w = what == CURL_POLL_IN ? EXA_WATCH_IN : what == CURL_POLL_OUT ? EXA_WATCH_OUT : EXA_WATCH_INOUT;
  if (k == NULL) {
    k = (exa_sock *)calloc(1, sizeof *k);
    if (k == NULL) return -1;
    k->fd = s;
    k->next = m->socks;
    if (m->socks) m->socks->prev = k;
    m->socks = k;
    curl_multi_assign(m->cm, s, k);
  }
  if (k->what == w) return 0;
  if (watch(m, k, w) != 0) return -1;
  log_change(m, k, w);
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: record when curl wants its timer run. */
static int on_timer(CURLM *cm, long ms, void *userp) {
  exa_multi *m = (exa_multi *)userp;
  (void)cm;
  m->timer_at = ms < 0 ? -1 : exa_now_ms() + ms;
  return 0;
}

/* ---- the multi ---------------------------------------------------------- */

int exa_multi_open(exa_multi *m, const exa_multi_opts *o) {
  memset(m, 0, sizeof *m);
  m->epfd = -1;
  m->timer_at = -1;
  m->idle_next = NO_DEADLINE;
  m->log_sockets = o->log_sockets;
#ifdef EXA_EPOLL
  m->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (m->epfd < 0) return -1;
#endif
  m->cm = curl_multi_init();
  if (m->cm == NULL) {
    if (m->epfd >= 0) close(m->epfd);
    m->epfd = -1;
    return -1;
  }
  curl_multi_setopt(m->cm, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(m->cm, CURLMOPT_SOCKETDATA, (void *)m);
  curl_multi_setopt(m->cm, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(m->cm, CURLMOPT_TIMERDATA, (void *)m);
  curl_multi_setopt(m->cm, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  m->cap_user = o->max_host_connections;
  if (o->max_host_connections > 0)
    curl_multi_setopt(m->cm, CURLMOPT_MAX_HOST_CONNECTIONS, o->max_host_connections);
  else
    cap_update(m);
  if (o->max_total_connections > 0)
    curl_multi_setopt(m->cm, CURLMOPT_MAX_TOTAL_CONNECTIONS, o->max_total_connections);
  return 0;
}

void exa_multi_close(exa_multi *m) {
  CURLM *cm = m->cm;
  if (cm == NULL) return;
  while (m->running) {
    exa_xfer *x = m->running;
    exa_resp_fail(&x->r, EXA_EK_CLOSED, -1, "client closed");
    complete(x, 0); /* unlinks x */
  }
  while (m->phead) unprogress(m->phead);
  curl_multi_cleanup(cm); /* closes the pooled connections: REMOVE callbacks may come */
  m->cm = NULL;
  while (m->foreign) foreign_free(m, m->foreign);
  while (m->socks) { /* curl let go of them without a word: a host must still forget them */
    log_change(m, m->socks, EXA_WATCH_REMOVE);
    sock_free(m, m->socks);
  }
  free(m->pfds);
  free(m->psocks);
  m->pfds = NULL;
  m->psocks = NULL;
  m->npfd = m->cappfd = 0;
  m->timer_at = -1;
  m->idle_next = NO_DEADLINE;
  if (m->epfd >= 0) close(m->epfd);
  m->epfd = -1;
  /* the change log stays: its last removes are what a host loop reads next */
}

void exa_multi_free(exa_multi *m) {
  exa_multi_close(m);
  free(m->log);
  m->log = NULL;
  m->nlog = m->caplog = 0;
}

void exa_xfer_start(exa_multi *m, exa_xfer *x, const exa_req *req, struct curl_slist *headers) {
  CURL *e;
  CURLcode rc = CURLE_OK;
  /* only http and https are allowed (CURLOPT_PROTOCOLS_STR): all else is TLS,
   * where ALPN may choose HTTP/2 */
  int may_h2 = !plain_http(req->url);
  exa_resp_cfg rcfg = req->resp;
  memset(x, 0, sizeof *x);
  rcfg.h1_only = !may_h2; /* plain http: libcurl never asks for HTTP/2 (no h2c upgrade) */
  exa_resp_init(&x->r, &rcfg);
  exa_h1_init(&x->h1, &x->r, 0, strcmp(req->method, "HEAD") == 0);
  x->owner = m;
  x->id = ++m->next_id;
  x->req_headers = headers;
  x->idle_ms = req->idle_ms;
  x->once = req->once;
  x->last_ms = exa_now_ms(); /* the idle clock runs from creation */
  e = curl_easy_init(); /* never reused: curl 7.88 keeps a stale header pointer across curl_easy_reset */
  if (e == NULL) {
    exa_resp_fail(&x->r, EXA_EK_TRANSPORT, -1, "curl_easy_init failed");
    complete(x, 1);
    return;
  }
  x->easy = e;
#define SET(opt, val) \
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
  SET(CURLOPT_PRIVATE, (void *)x);
  SET(CURLOPT_ERRORBUFFER, x->errbuf);
  SET(CURLOPT_URL, req->url);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_TCP_NODELAY, 1L);
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  /* The body comes raw and goes through h1.c, as on the ngx backend: libcurl
   * still finds where it ends, but a chunk size libcurl would misread
   * ("0x40" as 0) cannot end a stream cleanly.  No content coding is asked
   * for or decoded (with transfer decoding off, libcurl 7.88 would not decode
   * a chunked one either); h1.c refuses a Content-Encoding on a body. */
  SET(CURLOPT_HTTP_TRANSFER_DECODING, 0L);
  SET(CURLOPT_HTTP_CONTENT_DECODING, 0L);
  SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  /* PIPEWAIT only where ALPN can say "h2": over plain http libcurl 7.88 parks
   * a second transfer behind a running HTTP/1.1 one until that one ends
   * (a concurrent GET would wait for a whole stream). */
  if (may_h2) SET(CURLOPT_PIPEWAIT, 1L);
  SET(CURLOPT_SSL_VERIFYPEER, 1L);
  SET(CURLOPT_SSL_VERIFYHOST, 2L);
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  /* Event streams over plain http read through 2 KiB instead of 16 KiB (memory
   * per open stream, bench/loop_scale.lua).  Not where TLS may negotiate
   * HTTP/2: libcurl 7.88 with a small buffer leaves the last bytes of an h2
   * stream undelivered, with no wake-up asked for (spec/http2_spec.lua). */
  if (req->resp.want_sse && !may_h2) SET(CURLOPT_BUFFERSIZE, 2048L);
  SET(CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
  SET(CURLOPT_TIMEOUT_MS, req->timeout_ms);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, (void *)x);
  SET(CURLOPT_WRITEFUNCTION, on_write);
  SET(CURLOPT_WRITEDATA, (void *)x);
  if (req->ca_file) SET(CURLOPT_CAINFO, req->ca_file);
  if (headers) SET(CURLOPT_HTTPHEADER, headers);
  if (strcmp(req->method, "GET") == 0 && req->body == NULL) {
    SET(CURLOPT_HTTPGET, 1L);
  } else if (strcmp(req->method, "HEAD") == 0) {
    SET(CURLOPT_NOBODY, 1L);
  } else {
    if (req->body_len > 0) {
      /* through on_read, never CURLOPT_POSTFIELDS: libcurl re-sends
       * POSTFIELDS on its own, a read callback body only through on_seek */
      x->body = (char *)malloc(req->body_len);
      if (x->body == NULL) {
        rc = CURLE_OUT_OF_MEMORY;
      } else {
        memcpy(x->body, req->body, req->body_len);
        x->body_len = req->body_len;
      }
      SET(CURLOPT_POST, 1L);
      SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
      SET(CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER); /* libcurl's least; 64 KiB by default */
      SET(CURLOPT_READFUNCTION, on_read);
      SET(CURLOPT_READDATA, (void *)x);
      SET(CURLOPT_SEEKFUNCTION, on_seek);
      SET(CURLOPT_SEEKDATA, (void *)x);
    } else if (strcmp(req->method, "POST") == 0 || req->body != NULL) {
      SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
      SET(CURLOPT_COPYPOSTFIELDS, "");
    }
    if (strcmp(req->method, "POST") != 0) SET(CURLOPT_CUSTOMREQUEST, req->method);
  }
#undef SET
  if (rc != CURLE_OK) {
    fail_curl(x, rc);
    complete(x, 1);
    return;
  }
  /* on the lists first: adding runs the timer callback, nothing else */
  x->plain = !may_h2;
  if (x->plain && m->n_plain++ == 0) cap_update(m); /* before curl sees it */
  x->m = m;
  x->next = m->running;
  if (m->running) m->running->prev = x;
  m->running = x;
  m->nrunning++;
  if (x->idle_ms > 0) {
    x->inext = m->idle;
    if (m->idle) m->idle->iprev = x;
    m->idle = x;
    idle_bound(m, x);
  }
  if (curl_multi_add_handle(m->cm, e) != CURLM_OK) {
    exa_resp_fail(&x->r, EXA_EK_TRANSPORT, -1, "curl_multi_add_handle failed");
    curl_easy_cleanup(e); /* never added: complete() must not remove it */
    x->easy = NULL;
    complete(x, 1);
  }
}

void exa_xfer_drained(exa_xfer *x) {
  CURLcode rc;
  if (!x->paused || x->easy == NULL || x->m == NULL || !exa_resp_can_resume(&x->r)) return;
  x->paused = 0;
  x->last_ms = exa_now_ms();
  idle_bound(x->m, x);
  rc = curl_easy_pause(x->easy, CURLPAUSE_CONT); /* may run on_write right here */
  if (rc != CURLE_OK) {
    fail_curl(x, rc);
    complete(x, 1);
  }
}

/* ---- waiting and acting ------------------------------------------------- */

long exa_multi_timeout(const exa_multi *m) {
  long long now, t = NO_DEADLINE;
  if (m->cm == NULL) return -1;
  if (m->phead || m->nready_foreign) return 0;
  if (m->timer_at >= 0) t = m->timer_at;
  if (m->idle_next < t) t = m->idle_next;
  if (t == NO_DEADLINE) return -1;
  now = exa_now_ms();
  if (t <= now) return 0;
  return t - now > INT_MAX ? INT_MAX : (long)(t - now);
}

/* ---- a host's own fds, watched like transfers ---------------------------- */

/* fd is a watched foreign fd: mark it ready (once) and say so. */
static int foreign_ready(exa_multi *m, int fd) {
  exa_sock *k;
  for (k = m->foreign; k != NULL; k = k->next) {
    if ((int)k->fd != fd) continue;
    if (!k->ready) {
      k->ready = 1;
      m->nready_foreign++;
    }
    return 1;
  }
  return 0;
}

long long exa_multi_watch_fd(exa_multi *m, int fd) {
  exa_sock *k;
  if (m->cm == NULL || fd < 0) return -1;
  for (k = m->socks; k != NULL; k = k->next)
    if ((int)k->fd == fd) return -1; /* one of curl's */
  for (k = m->foreign; k != NULL; k = k->next)
    if ((int)k->fd == fd) return k->foreign;
  k = (exa_sock *)calloc(1, sizeof *k);
  if (k == NULL) return -1;
  k->fd = (curl_socket_t)fd;
  k->foreign = ++m->next_id;
  if (watch(m, k, EXA_WATCH_IN) != 0) {
    free(k);
    return -1;
  }
  k->next = m->foreign;
  if (m->foreign) m->foreign->prev = k;
  m->foreign = k;
  return k->foreign;
}

static void foreign_free(exa_multi *m, exa_sock *k) {
  unwatch(m, k);
  if (k->ready) m->nready_foreign--;
  if (k->prev) k->prev->next = k->next;
  else m->foreign = k->next;
  if (k->next) k->next->prev = k->prev;
  free(k);
}

void exa_multi_unwatch_fd(exa_multi *m, long long id) {
  exa_sock *k;
  for (k = m->foreign; k != NULL; k = k->next) {
    if (k->foreign == id) {
      foreign_free(m, k);
      return;
    }
  }
}

long long exa_multi_pop_ready_fd(exa_multi *m) {
  exa_sock *k;
  if (m->nready_foreign == 0) return 0;
  for (k = m->foreign; k != NULL; k = k->next) {
    if (k->ready) {
      k->ready = 0;
      m->nready_foreign--;
      return k->foreign;
    }
  }
  return 0;
}

void exa_multi_step(exa_multi *m, long long deadline) {
  struct {
    int fd, mask;
  } ready[READY_MAX];
  int nready = 0, i;
  long long now = exa_now_ms(), t = deadline < 0 ? now + STEP_CAP_MS : deadline;
  long tmo;
  if (m->cm == NULL) return;
  m->n_steps++;
  if (m->timer_at >= 0 && m->timer_at < t) t = m->timer_at;
  if (m->idle_next < t) t = m->idle_next;
  tmo = t <= now ? 0 : t - now > STEP_CAP_MS ? STEP_CAP_MS : (long)(t - now);
#ifdef EXA_EPOLL
  if (m->epfd >= 0) {
    struct epoll_event ev[READY_MAX];
    int n = epoll_wait(m->epfd, ev, READY_MAX, (int)tmo);
    for (i = 0; i < n; i++) {
      unsigned e = ev[i].events;
      if (foreign_ready(m, ev[i].data.fd)) continue;
      ready[nready].fd = ev[i].data.fd;
      ready[nready++].mask = ((e & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) ? CURL_CSELECT_IN : 0) |
                             ((e & EPOLLOUT) ? CURL_CSELECT_OUT : 0) | ((e & EPOLLERR) ? CURL_CSELECT_ERR : 0);
    }
  } else
#endif
  {
    /* the poll fallback: copy out the ready ones first, acting reshapes the array */
    struct pollfd *p = (struct pollfd *)m->pfds;
    int n = poll(p, (nfds_t)m->npfd, (int)tmo);
    size_t j;
    for (j = 0; n > 0 && j < m->npfd && nready < READY_MAX; j++) {
      short r = p[j].revents;
      if (r == 0 || foreign_ready(m, p[j].fd)) continue;
      ready[nready].fd = p[j].fd;
      ready[nready++].mask = ((r & (POLLIN | POLLHUP)) ? CURL_CSELECT_IN : 0) |
                             ((r & POLLOUT) ? CURL_CSELECT_OUT : 0) | ((r & (POLLERR | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
    }
  }
  for (i = 0; i < nready; i++) act(m, ready[i].fd, ready[i].mask);
  if (m->timer_at >= 0 && m->timer_at <= exa_now_ms()) fire_timer(m);
  after_action(m);
}

void exa_multi_action(exa_multi *m, int fd, int events) {
  if (m->cm == NULL) return;
  if (fd < 0) fire_timer(m);
  else act(m, (curl_socket_t)fd, events);
  after_action(m);
}
