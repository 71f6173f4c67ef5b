/*
 * control.h - the control protocol spoken on the dataplane's and
 * ips-control's unix sockets (DESIGN §8).
 *
 * One JSON object per line, each way.  A request names its command:
 *   {"cmd":"load","bundle":PATH}   validate a bundle, swap it in (dataplane)
 *   {"cmd":"stats"}                every counter, summed and per worker
 *   {"cmd":"rules"}                every rule with its hit count
 *   {"cmd":"version"}
 *   {"cmd":"ping"}
 *   {"cmd":"reload"}               recompile the signatures (ips-control)
 * and gets one reply line: {"ok":true,"cmd":NAME,...} or
 * {"ok":false,"error":"..."}.  A line longer than IPS_CTL_MAX_LINE bytes
 * gets an error and the connection is closed: the server cannot tell where
 * the next request would start.
 */
#ifndef IPS_CONTROL_H
#define IPS_CONTROL_H

/* Longest request line accepted, newline excluded.  A load request is a
 * path; 64 KiB leaves room for any PATH_MAX without letting a client
 * make the server buffer without bound. */
#define IPS_CTL_MAX_LINE (64 * 1024)

/* Default socket of ips-control (the dataplane's is control.socket in the
 * config). */
#define IPS_CTL_CONTROL_SOCKET "/run/ips/control.sock"

#endif /* IPS_CONTROL_H */
