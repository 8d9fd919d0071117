/*
 * driver.h - transfers on a curl multi handle, driven through curl's socket
 * API, with no Lua.
 *
 * curl's CURLMOPT_SOCKETFUNCTION and CURLMOPT_TIMERFUNCTION callbacks only
 * record: which sockets curl wants watched for what (kept in an epoll set, or
 * a pollfd array where epoll is absent, and, with log_sockets, in an ordered
 * change log for a host loop), and when curl next wants its timer run.  The
 * multi is moved only by curl_multi_socket_action, from exa_multi_step (the
 * built-in wait: epoll/poll on exactly the recorded sockets, then act on the
 * ready ones) or exa_multi_action (a host loop says a socket is ready or the
 * timer fired).  A wake-up costs O(ready sockets): transfers that finish are
 * read from curl_multi_info_read, and idle deadlines keep a lower bound of
 * the earliest one, so the idle transfers are scanned only once it passes.
 *
 * A transfer that made progress (its head completed, an event was queued, it
 * ended or failed) is linked once into the multi's progressed list, which
 * exa_multi_pop_progressed empties.  Every easy handle serves one transfer
 * only (curl_easy_init per transfer, cleaned up at its end): the connection
 * pool lives in the multi.
 */
#ifndef EXA_DRIVER_H
#define EXA_DRIVER_H

#include <curl/curl.h>

#include "h1.h"
#include "resp.h"

typedef struct exa_multi exa_multi;
typedef struct exa_xfer exa_xfer;
typedef struct exa_sock exa_sock;

/* what a socket is watched for, as in the change log */
enum { EXA_WATCH_REMOVE = 0, EXA_WATCH_IN = 1, EXA_WATCH_OUT = 2, EXA_WATCH_INOUT = 3 };

typedef struct exa_change {
  int fd;
  int what; /* EXA_WATCH_* */
} exa_change;

struct exa_multi {
  CURLM *cm;           /* NULL once closed */
  int epfd;            /* -1: the poll() fallback */
  exa_sock *socks;     /* every socket curl asked us to watch */
  void *pfds;          /* poll fallback: struct pollfd[npfd] */
  exa_sock **psocks;   /* poll fallback: the record of pfds[i] */
  size_t npfd, cappfd;
  long long timer_at;  /* curl's timer: absolute ms, -1 when none */
  exa_xfer *running;   /* transfers still running */
  size_t nrunning;
  exa_xfer *idle;      /* the running transfers that have an idle timeout */
  long long idle_next; /* <= the earliest idle deadline; LLONG_MAX when none */
  exa_xfer *phead, *ptail; /* transfers that made progress, in order */
  exa_xfer *upq;           /* transfers whose body curl has read to its end (upload_sweep) */
  long long next_id;
  int log_sockets;
  /* connections per host: the user's fixed bound, or EXA_MUX_CONNECTIONS
   * while every running transfer may multiplex (see cap_update) */
  long cap_user, cap_now;
  size_t n_plain;      /* running plain-http transfers */
  int tls_h1;          /* an https transfer was answered over HTTP/1.x */
  int cap_dirty;       /* cap_update is due (never from inside curl) */
  exa_change *log;
  size_t nlog, caplog;
  unsigned log_gen;    /* bumped when the log is read: older log indexes are void */
  exa_sock *foreign;    /* a host's fds watched like transfers (exa_multi_watch_fd) */
  size_t nready_foreign; /* of those, found readable and not reported yet */
  /* counts, for m:stats() */
  unsigned long long n_steps, n_actions, n_idle_scans, n_idle_visits, n_upload_freed;
};

struct exa_xfer {
  exa_multi *m;        /* the multi while running; NULL once done */
  exa_multi *owner;    /* the multi it was made on (for the progressed list) */
  exa_xfer *prev, *next;   /* m->running */
  exa_xfer *iprev, *inext; /* m->idle */
  exa_xfer *pprev, *pnext; /* owner->phead */
  int plinked;
  CURL *easy;          /* NULL once released */
  struct curl_slist *req_headers;
  char *body;          /* the request body (a copy), sent by on_read; NULL: none */
  size_t body_len, body_off;
  int once;            /* the body may go out once only: on_seek refuses to rewind */
  int upqueued;        /* on owner's upq */
  exa_xfer *upnext;
  long long id;
  exa_resp r;
  exa_h1 h1;           /* the body as read (transfer decoding off): chunked decoded here */
  int done;            /* nothing more will arrive */
  int plain;           /* plain http: one connection per transfer in flight */
  int paused;          /* curl holds the body: the reader is behind */
  long npaused;        /* times paused */
  long idle_ms;
  long long last_ms;   /* last byte (or creation, or resume) */
  char errbuf[CURL_ERROR_SIZE];
  /* info, kept when the easy handle goes */
  long http_version, num_connects;
  double total_time;
  curl_off_t size_download;
  char *eff_url;
};

typedef struct exa_multi_opts {
  long max_host_connections, max_total_connections; /* 0: curl's default */
  int log_sockets;
} exa_multi_opts;

typedef struct exa_req {
  const char *method, *url;
  const char *body; /* NULL: none */
  size_t body_len;
  const char *ca_file;
  long timeout_ms, connect_timeout_ms, idle_ms; /* 0: none (connect: curl's) */
  int once; /* never send the body twice (a create): see exa_xfer_start */
  exa_resp_cfg resp;
} exa_req;

long long exa_now_ms(void);

/* 0, or -1 (curl_multi_init or epoll_create failed). */
int exa_multi_open(exa_multi *m, const exa_multi_opts *o);
/* Running transfers end with a "closed" error, pooled connections close;
 * idempotent.  The change log stays readable (the last removes). */
void exa_multi_close(exa_multi *m);
/* Close, and free the change log too (garbage collection). */
void exa_multi_free(exa_multi *m);

/* Start x (memory owned by the caller, zeroed here) on m.  headers is taken
 * over.  A failure to start ends x at once with its error recorded (not a
 * programmer error: the caller reads it like any other failure). */
void exa_xfer_start(exa_multi *m, exa_xfer *x, const exa_req *req, struct curl_slist *headers);
/* Release everything x holds; it leaves every list.  Idempotent. */
void exa_xfer_close(exa_xfer *x);
/* The reader drained x's queue: let a paused body flow again. */
void exa_xfer_drained(exa_xfer *x);
/* Refresh x's info from its easy handle (while it has one). */
void exa_xfer_snapshot(exa_xfer *x);

/* Wait until a recorded socket is ready, curl's timer or an idle deadline
 * falls due, progress is pending, or deadline (absolute ms; -1: none) passes;
 * then act on what is due.  One round. */
void exa_multi_step(exa_multi *m, long long deadline);
/* A host loop's call: fd is ready for events (CURL_CSELECT_* bits), or
 * fd = -1: the timer fired.  Then reap and expire what is due. */
void exa_multi_action(exa_multi *m, int fd, int events);
/* ms until exa_multi_action(m, -1, 0) is due (curl's timer, an idle
 * deadline); 0 when progress is pending; -1 when nothing is due. */
long exa_multi_timeout(const exa_multi *m);
/* Watch a host's fd (a signal pipe, say) for reading, like a transfer: the
 * wait returns once it is readable, and exa_multi_pop_ready_fd reports its id
 * (unique among the multi's transfer ids).  Level-triggered: it is reported
 * again while it stays readable.  Returns the id (the same id for an fd
 * already watched), or -1 (closed, an fd of curl's, no memory). */
long long exa_multi_watch_fd(exa_multi *m, int fd);
void exa_multi_unwatch_fd(exa_multi *m, long long id);
/* The id of a watched fd found readable since the last call, or 0. */
long long exa_multi_pop_ready_fd(exa_multi *m);
/* The oldest progressed transfer, unlinked, or NULL. */
exa_xfer *exa_multi_pop_progressed(exa_multi *m);
/* The change log since the last exa_multi_changes_clear (log_sockets only). */
const exa_change *exa_multi_changes(const exa_multi *m, size_t *n);
void exa_multi_changes_clear(exa_multi *m);

#endif
