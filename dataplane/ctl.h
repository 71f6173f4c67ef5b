/*
 * ctl.h - the control socket: a unix stream socket speaking the control
 * protocol (include/ips/control.h), served from the service thread.
 *
 * Owns: the listening socket, its clients (bounded in number, each with a
 * bounded input line and output buffer, dropped when slow or gone), the
 * request parser and the dispatch to a backend.  Does not own what the
 * commands do: the backend (the dataplane's reload.c, ips-control's
 * recompile, or a test's fake) implements them and returns JSON.
 *
 * Nothing here blocks: every socket is non-blocking and ctl_server_poll
 * waits at most the timeout it is given.  No worker ever calls into this
 * module.
 */
#ifndef IPS_CTL_H
#define IPS_CTL_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "ips/control.h"

#define CTL_MAX_CLIENTS 16
/* A client that neither sends nor takes a byte for this long is dropped:
 * it holds one of the few slots. */
#define CTL_IDLE_TIMEOUT_MS 30000
/* Reply bytes a client may leave unread before it is dropped.  A rules
 * reply for 10,000 rules is about 2 MiB. */
#define CTL_MAX_OUTPUT (32u << 20)

/*
 * What the commands do.  Each returns a new JSON object whose members are
 * added to the {"ok":true,"cmd":...} reply, or NULL with the reason in err
 * (sent as {"ok":false,"error":err}).  A NULL function pointer makes that
 * command unknown to this server.  Called on the service thread, one
 * request at a time.
 */
struct ctl_backend {
	void *arg;
	json_t *(*load)(void *arg, const char *bundle, char *err, size_t errlen);
	json_t *(*stats)(void *arg, char *err, size_t errlen);
	json_t *(*rules)(void *arg, char *err, size_t errlen);
	json_t *(*version)(void *arg, char *err, size_t errlen);
	json_t *(*reload)(void *arg, char *err, size_t errlen);
};

/*
 * Handle one request line (len bytes, without its newline; need not be
 * NUL-terminated, may hold any bytes).  Returns the reply line, newline
 * included, NUL-terminated, malloc'd (the caller frees it); NULL only when
 * out of memory.  The socket-free entry point of the unit tests and the
 * fuzz harness.  Thread: service.
 */
char *ctl_handle_line(const struct ctl_backend *be, const char *line,
                      size_t len);

/* The reply for a line over IPS_CTL_MAX_LINE (malloc'd, as above). */
char *ctl_error_reply(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

struct ctl_conf {
	const char *path;           /* socket path */
	unsigned mode;              /* chmod bits, e.g. 0660 */
	const char *group;          /* group owning it; NULL or "" = ours */
	unsigned idle_timeout_ms;   /* 0: CTL_IDLE_TIMEOUT_MS */
};

struct ctl_server;

/*
 * Create the listening socket at conf->path with conf->mode and group.  A
 * stale socket file (nobody accepting) is replaced; a live one is an error:
 * two dataplanes must not share a socket.  Returns NULL with the reason in
 * err.  Thread: setup (main).
 */
struct ctl_server *ctl_server_open(const struct ctl_conf *conf,
                                   const struct ctl_backend *be,
                                   char *err, size_t errlen);

/*
 * Accept clients, read their requests, answer them, write pending replies,
 * drop clients that misbehave; wait at most timeout_ms for something to
 * happen.  Returns the number of requests answered.  Thread: service.
 */
int ctl_server_poll(struct ctl_server *srv, int timeout_ms);

/* Close every client and the socket, remove the socket file.  NULL is
 * fine.  Thread: main, at exit. */
void ctl_server_close(struct ctl_server *srv);

#endif /* IPS_CTL_H */
