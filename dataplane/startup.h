/*
 * startup.h - what the host must provide before the gateway can start,
 * checked before EAL init, and each thing missing reported with the
 * command that provides it.
 *
 * Owns: the checks of privileges (root, or the capabilities the ports
 * need), the DPDK driver plugins the ports need, the interfaces of
 * net_af_packet / net_af_xdp ports, the PCI devices and the driver they
 * are bound to, hugepages (a hugetlbfs mount and free pages, unless the
 * EAL runs with --no-huge), and the directories of the control socket
 * and the EVE log; and the hints printed when EAL init or a port fails
 * anyway.  All problems are reported at once, one line each: what is
 * missing, where in the config it comes from, the fix.  Nothing here
 * touches a device; the checks read /proc and /sys only.
 *
 * Thread: main, before EAL init.
 */
#ifndef IPS_STARTUP_H
#define IPS_STARTUP_H

#include <stddef.h>
#include <stdint.h>

struct ips_config;

/* Where to look: "" for the host; tests point it at a fake tree holding
 * proc/ and sys/ (and whatever mounts list). */
struct startup_env {
	const char *root;
	uint32_t euid;
	uint64_t cap_eff;           /* CapEff of /proc/self/status */
};

/* The running process: root "", its uid and effective capabilities. */
void startup_env_self(struct startup_env *env);

/*
 * Check everything c needs (ports from c unless replay, the EAL arguments
 * of eal_argv, control socket path ctl_socket, which may be NULL or "").
 * Returns the number of problems, each a line "  - what: fix\n" appended
 * to out (truncated at outlen).
 */
int startup_check(const struct startup_env *env, const struct ips_config *c,
                  int replay, const char *const *eal_argv, int eal_argc,
                  const char *ctl_socket, char *out, size_t outlen);

/* After rte_eal_init failed with rte_errno err: what the EAL's messages
 * above most likely mean, and what to do. */
const char *startup_eal_hint(int err);

/* After probing, port i of c (devargs) did not appear: why, most
 * likely, by its driver, in out. */
void startup_port_hint(const struct ips_config *c, unsigned i, char *out,
                       size_t outlen);

#endif /* IPS_STARTUP_H */
