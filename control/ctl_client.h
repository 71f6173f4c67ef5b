/*
 * ctl_client.h - the client side of the control protocol
 * (include/ips/control.h): one request, one reply, over a unix socket.
 *
 * Used by ipsctl (load, reload, stats, rules, version, ping) and by
 * ips-control (load after a compile).  Blocking, with a deadline: both are
 * command-line processes, never the dataplane.
 */
#ifndef IPS_CTL_CLIENT_H
#define IPS_CTL_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#define CTL_CLIENT_SOCKET "/run/ips/ctl.sock"   /* the dataplane's */

/*
 * Connect to socket_path, send req (not consumed) as one line and read one
 * reply line, all within timeout_ms.  Returns the reply object (the caller
 * owns it; it may be {"ok":false,...}), or NULL with err set when the
 * exchange itself failed (no such socket, refused, timed out, closed, not
 * JSON).
 */
json_t *ctl_client_request(const char *socket_path, json_t *req,
                           int timeout_ms, char *err, size_t errlen);

/*
 * ipsctl's socket commands:
 *   [--socket PATH] [--json] [--timeout SECONDS]
 *   load BUNDLE | reload | stats | rules | version | ping
 * argv[0] is the first argument after "ipsctl".  Returns the exit status:
 * 0 ok, 1 the server answered with an error, 2 usage or no answer.
 */
int ctl_client_main(int argc, char **argv);

/* Whether argv (after "ipsctl") names one of those commands. */
int ctl_client_is_command(int argc, char **argv);

#endif /* IPS_CTL_CLIENT_H */
