/*
 * startup.c - the host's side of starting the gateway: checks and hints
 * (see startup.h).  Only /proc and /sys are read; every message ends with
 * the command that fixes it.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "startup.h"

#define SU_CAP_NET_ADMIN 12
#define SU_CAP_NET_RAW   13
#define SU_CAP_IPC_LOCK  14
#define SU_CAP_SYS_RAWIO 17
#define SU_CAP_SYS_ADMIN 21
#define SU_CAP_BPF       39

#define SU_HOST_HELPER "scripts/ips-host.sh"
#define SU_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SU_DIM(a) (sizeof(a) / sizeof((a)[0]))

/* One check run: where to look and where problems go. */
struct su_ctx {
	const struct startup_env *env;
	const struct ips_config *c;
	char *out;
	size_t outlen;
	size_t used;
	int problems;
};

static void __attribute__((format(printf, 2, 3)))
su_problem(struct su_ctx *x, const char *fmt, ...)
{
	va_list ap;
	int n;

	x->problems++;
	if (x->used + 8 >= x->outlen)
		return;
	n = snprintf(x->out + x->used, x->outlen - x->used, "  - ");
	if (n > 0)
		x->used += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(x->out + x->used, x->outlen - x->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		x->used = SU_MIN(x->used + (size_t)n, x->outlen - 2);
	x->out[x->used++] = '\n';
	x->out[x->used] = '\0';
}

/* root + path in buf (path absolute). */
static const char *
su_path(const struct su_ctx *x, char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static const char *
su_path(const struct su_ctx *x, char *buf, size_t len, const char *fmt, ...)
{
	size_t n = (size_t)snprintf(buf, len, "%s", x->env->root);
	va_list ap;

	va_start(ap, fmt);
	if (n < len)
		vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	return buf;
}

static int
su_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* First line of a small file, newline stripped; -1 if unreadable. */
static int
su_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (f == NULL)
		return -1;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* ---- the EAL arguments ---------------------------------------------------- */

static int
su_has_arg(const char *const *argv, int argc, const char *flag)
{
	for (int i = 0; i < argc; i++)
		if (argv[i] != NULL && strcmp(argv[i], flag) == 0)
			return 1;
	return 0;
}

/* The value of "--flag V" or "--flag=V"; NULL if absent. */
static const char *
su_arg_value(const char *const *argv, int argc, const char *flag)
{
	size_t n = strlen(flag);

	for (int i = 0; i < argc; i++) {
		if (argv[i] == NULL)
			continue;
		if (strcmp(argv[i], flag) == 0 && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], flag, n) == 0 && argv[i][n] == '=')
			return argv[i] + n + 1;
	}
	return NULL;
}

/* MiB the EAL is asked to reserve (-m, or the sum of --socket-mem);
 * 0 = not given. */
static unsigned long
su_eal_mem_mb(const char *const *argv, int argc)
{
	const char *m = su_arg_value(argv, argc, "-m");
	const char *s = su_arg_value(argv, argc, "--socket-mem");
	unsigned long total = 0;

	if (m != NULL)
		return strtoul(m, NULL, 10);
	for (const char *p = s; p != NULL && *p != '\0';) {
		char *end;

		total += strtoul(p, &end, 10);
		p = *end == ',' ? end + 1 : NULL;
	}
	return total;
}

/* ---- ports ------------------------------------------------------------------ */

enum su_kind { SU_AF_PACKET, SU_AF_XDP, SU_PCAP, SU_VDEV, SU_PCI };

static enum su_kind
su_kind(const char *devargs)
{
	if (strncmp(devargs, "net_af_packet", 13) == 0)
		return SU_AF_PACKET;
	if (strncmp(devargs, "net_af_xdp", 10) == 0)
		return SU_AF_XDP;
	if (strncmp(devargs, "net_pcap", 8) == 0)
		return SU_PCAP;
	if (strncmp(devargs, "net_", 4) == 0)
		return SU_VDEV;
	return SU_PCI;
}

/* "iface=NAME" of a devargs string, into buf; NULL if absent. */
static const char *
su_devarg(const char *devargs, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);

	for (const char *p = strchr(devargs, ','); p != NULL;
	     p = strchr(p + 1, ',')) {
		if (strncmp(p + 1, key, klen) == 0 && p[1 + klen] == '=') {
			size_t n = strcspn(p + 2 + klen, ",");

			snprintf(buf, len, "%.*s", (int)n, p + 2 + klen);
			return buf;
		}
	}
	return NULL;
}

/* The driver name of a virtual device: "net_af_packet0,..." -> net_af_packet */
static void
su_vdev_driver(const char *devargs, char *buf, size_t len)
{
	size_t n = strcspn(devargs, ",");

	while (n > 0 && devargs[n - 1] >= '0' && devargs[n - 1] <= '9')
		n--;
	snprintf(buf, len, "%.*s", (int)n, devargs);
}

static void
su_check_plugin(struct su_ctx *x, unsigned i, const char *devargs)
{
	char drv[64], path[PATH_MAX];

	if (x->c->pmd_dir[0] == '\0')
		return;
	if (su_kind(devargs) == SU_PCI) {
		if (!su_exists(su_path(x, path, sizeof(path), "%s",
		                       x->c->pmd_dir)))
			su_problem(x, "ports[%u] (%s): the DPDK driver directory "
			           "%s does not exist: apt-get install dpdk, or "
			           "set pmd_dir", i, x->c->ports[i].name,
			           x->c->pmd_dir);
		return;
	}
	su_vdev_driver(devargs, drv, sizeof(drv));
	if (!su_exists(su_path(x, path, sizeof(path), "%s/librte_%s.so",
	                       x->c->pmd_dir, drv)))
		su_problem(x, "ports[%u] (%s): DPDK driver plugin librte_%s.so "
		           "is not in %s: apt-get install dpdk (it ships the "
		           "net_* drivers), or set pmd_dir", i,
		           x->c->ports[i].name, drv, x->c->pmd_dir);
}

static void
su_check_iface(struct su_ctx *x, unsigned i, const char *devargs)
{
	char iface[64], path[PATH_MAX];

	if (su_devarg(devargs, "iface", iface, sizeof(iface)) == NULL) {
		su_problem(x, "ports[%u] (%s): devargs '%s' name no interface: "
		           "add iface=NAME (see `ip -br link`)", i,
		           x->c->ports[i].name, devargs);
		return;
	}
	if (!su_exists(su_path(x, path, sizeof(path), "/sys/class/net/%s",
	                       iface)))
		su_problem(x, "ports[%u] (%s): network interface '%s' does not "
		           "exist: list them with `ip -br link` and fix iface= "
		           "in the port's devargs", i, x->c->ports[i].name, iface);
}

/* Drivers a PCI port may be bound to: DPDK's user-space ones, and the
 * kernel drivers of NICs DPDK shares with the kernel (bifurcated). */
static int
su_driver_ok(const char *drv)
{
	static const char *const ok[] = { "vfio-pci", "uio_pci_generic",
		"igb_uio", "mlx5_core", "mlx4_core", NULL };

	for (const char *const *d = ok; *d != NULL; d++)
		if (strcmp(drv, *d) == 0)
			return 1;
	return 0;
}

static void
su_check_pci(struct su_ctx *x, unsigned i, const char *devargs)
{
	char addr[32], path[PATH_MAX], link[PATH_MAX];
	size_t n = strcspn(devargs, ",");
	ssize_t len;
	const char *drv;

	snprintf(addr, sizeof(addr), "%.*s", (int)SU_MIN(n, 31), devargs);
	/* the kernel names functions with their domain */
	if (strlen(addr) == 7 && addr[2] == ':')
		snprintf(addr, sizeof(addr), "0000:%.*s", (int)n, devargs);
	if (!su_exists(su_path(x, path, sizeof(path),
	                       "/sys/bus/pci/devices/%s", addr))) {
		su_problem(x, "ports[%u] (%s): no PCI device %s: list the NICs "
		           "with `dpdk-devbind.py --status` and fix the port's "
		           "devargs", i, x->c->ports[i].name, addr);
		return;
	}
	su_path(x, path, sizeof(path), "/sys/bus/pci/devices/%s/driver", addr);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0) {
		su_problem(x, "ports[%u] (%s): PCI device %s has no driver: %s "
		           "bind %s (dpdk-devbind.py -b vfio-pci %s)", i,
		           x->c->ports[i].name, addr, SU_HOST_HELPER, addr, addr);
		return;
	}
	link[len] = '\0';
	drv = strrchr(link, '/') != NULL ? strrchr(link, '/') + 1 : link;
	if (!su_driver_ok(drv))
		su_problem(x, "ports[%u] (%s): PCI device %s is held by the "
		           "kernel driver %s: %s bind %s (dpdk-devbind.py -b "
		           "vfio-pci %s; the interface leaves the kernel)", i,
		           x->c->ports[i].name, addr, drv, SU_HOST_HELPER, addr,
		           addr);
	else if (strcmp(drv, "vfio-pci") == 0 &&
	         !su_exists(su_path(x, path, sizeof(path), "/dev/vfio/vfio")))
		su_problem(x, "ports[%u] (%s): /dev/vfio/vfio is missing: "
		           "modprobe vfio-pci", i, x->c->ports[i].name);
}

/* ---- privileges -------------------------------------------------------- */

static const char *
su_cap_name(unsigned cap)
{
	switch (cap) {
	case SU_CAP_NET_ADMIN: return "CAP_NET_ADMIN";
	case SU_CAP_NET_RAW: return "CAP_NET_RAW";
	case SU_CAP_IPC_LOCK: return "CAP_IPC_LOCK";
	case SU_CAP_SYS_RAWIO: return "CAP_SYS_RAWIO";
	case SU_CAP_SYS_ADMIN: return "CAP_SYS_ADMIN";
	case SU_CAP_BPF: return "CAP_BPF";
	}
	return "?";
}

static uint64_t
su_caps_needed(const struct ips_config *c, int replay, int huge)
{
	uint64_t need = huge ? 1ull << SU_CAP_IPC_LOCK : 0;

	for (unsigned i = 0; !replay && i < c->n_ports; i++) {
		switch (su_kind(c->ports[i].devargs)) {
		case SU_AF_PACKET:
			need |= 1ull << SU_CAP_NET_RAW | 1ull << SU_CAP_NET_ADMIN;
			break;
		case SU_AF_XDP:
			need |= 1ull << SU_CAP_NET_RAW | 1ull << SU_CAP_NET_ADMIN |
			        1ull << SU_CAP_IPC_LOCK | 1ull << SU_CAP_SYS_ADMIN;
			break;
		case SU_PCI:
			need |= 1ull << SU_CAP_IPC_LOCK | 1ull << SU_CAP_SYS_RAWIO |
			        1ull << SU_CAP_SYS_ADMIN;
			break;
		default:
			break;
		}
	}
	return need;
}

static void
su_check_privileges(struct su_ctx *x, int replay, int huge)
{
	uint64_t missing = su_caps_needed(x->c, replay, huge) & ~x->env->cap_eff;
	char names[256] = "";
	size_t n = 0;

	if (missing == 0)
		return;
	for (unsigned cap = 0; cap < 64; cap++)
		if (missing & (1ull << cap))
			n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s",
			                      n ? " " : "", su_cap_name(cap));
	su_problem(x, "missing privileges %s (uid %u): run it as root (sudo), "
	           "or as the systemd unit scripts/systemd/ips-dataplane.service "
	           "(AmbientCapabilities)", names, x->env->euid);
}

/* ---- hugepages --------------------------------------------------------- */

/* Is a hugetlbfs mounted (at dir, when dir is given)? */
static int
su_hugetlbfs_mounted(const struct su_ctx *x, const char *dir)
{
	char path[PATH_MAX], line[1024], mnt[PATH_MAX], type[64];
	FILE *f = fopen(su_path(x, path, sizeof(path), "/proc/mounts"), "r");
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%*s %4095s %63s", mnt, type) == 2 &&
		    strcmp(type, "hugetlbfs") == 0 &&
		    (dir == NULL || strcmp(mnt, dir) == 0))
			found = 1;
	fclose(f);
	return found;
}

/* Free hugepage memory of every size, MiB. */
static unsigned long
su_hugepages_free_mb(const struct su_ctx *x)
{
	static const unsigned long sizes_kb[] = { 2048, 1048576 };
	unsigned long total = 0;

	for (unsigned i = 0; i < SU_DIM(sizes_kb); i++) {
		char path[PATH_MAX], v[64];

		su_path(x, path, sizeof(path),
		        "/sys/kernel/mm/hugepages/hugepages-%lukB/free_hugepages",
		        sizes_kb[i]);
		if (su_read_line(path, v, sizeof(v)) == 0)
			total += strtoul(v, NULL, 10) * (sizes_kb[i] / 1024);
	}
	return total;
}

static void
su_check_hugepages(struct su_ctx *x, const char *const *argv, int argc)
{
	const char *dir = su_arg_value(argv, argc, "--huge-dir");
	unsigned long want = su_eal_mem_mb(argv, argc);
	unsigned long free_mb = su_hugepages_free_mb(x);
	const char *trial = "for a trial without hugepages, add \"--no-huge\", "
	                    "\"-m\", \"1024\" to eal in the config";

	if (!su_hugetlbfs_mounted(x, dir))
		su_problem(x, "no hugetlbfs mounted%s%s: %s hugepages 2G (runs "
		           "dpdk-hugepages.py --setup 2G); %s", dir ? " at " : "",
		           dir ? dir : "", SU_HOST_HELPER, trial);
	else if (free_mb == 0)
		su_problem(x, "no free hugepages (see HugePages_Free in "
		           "/proc/meminfo): %s hugepages 2G (runs "
		           "dpdk-hugepages.py --setup 2G); %s", SU_HOST_HELPER,
		           trial);
	else if (want > free_mb)
		su_problem(x, "eal asks for %lu MiB (-m / --socket-mem) but %lu "
		           "MiB of hugepages are free: %s hugepages %luM, or lower "
		           "-m", want, free_mb, SU_HOST_HELPER, want);
}

/* ---- directories --------------------------------------------------------- */

static void
su_check_dir_of(struct su_ctx *x, const char *file, const char *what,
                const char *fix)
{
	char dir[PATH_MAX], path[PATH_MAX];
	const char *slash = strrchr(file, '/');

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == file ? 1 :
		         (int)(slash - file), file);
	su_path(x, path, sizeof(path), "%s", dir);
	if (!su_exists(path))
		su_problem(x, "%s: directory %s does not exist: mkdir -p %s%s",
		           what, dir, dir, fix);
	else if (access(path, W_OK | X_OK) != 0)
		su_problem(x, "%s: directory %s is not writable by uid %u: chown "
		           "or chmod it, or run as root", what, dir, x->env->euid);
}

/* ---- entry points --------------------------------------------------------- */

void
startup_env_self(struct startup_env *env)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	env->root = "";
	env->euid = (uint32_t)geteuid();
	env->cap_eff = 0;
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "CapEff:", 7) == 0)
			env->cap_eff = strtoull(line + 7, NULL, 16);
	fclose(f);
}

int
startup_check(const struct startup_env *env, const struct ips_config *c,
              int replay, const char *const *eal_argv, int eal_argc,
              const char *ctl_socket, char *out, size_t outlen)
{
	struct su_ctx x = { env, c, out, outlen, 0, 0 };
	int huge = !su_has_arg(eal_argv, eal_argc, "--no-huge");

	if (outlen > 0)
		out[0] = '\0';
	su_check_privileges(&x, replay, huge);
	for (unsigned i = 0; !replay && i < c->n_ports; i++) {
		const char *d = c->ports[i].devargs;

		su_check_plugin(&x, i, d);
		if (su_kind(d) == SU_AF_PACKET || su_kind(d) == SU_AF_XDP)
			su_check_iface(&x, i, d);
		else if (su_kind(d) == SU_PCI)
			su_check_pci(&x, i, d);
	}
	if (huge)
		su_check_hugepages(&x, eal_argv, eal_argc);
	if (ctl_socket != NULL && ctl_socket[0] != '\0')
		su_check_dir_of(&x, ctl_socket, "control.socket",
		                " (the systemd unit makes /run/ips: "
		                "RuntimeDirectory=ips), or set control.socket");
	if (c->eve_path[0] != '\0')
		su_check_dir_of(&x, c->eve_path, "log.eve", ", or set log.eve");
	return x.problems;
}

const char *
startup_eal_hint(int err)
{
	switch (err) {
	case EACCES:
		return "the EAL was denied hugepages, /dev/vfio or "
		       "/var/run/dpdk: run as root or as the systemd unit; "
		       "check `dpdk-hugepages.py --show`";
	case ENOMEM:
		return "not enough memory for the EAL: reserve more hugepages "
		       "(scripts/ips-host.sh hugepages 2G) or lower -m in eal";
	case EALREADY:
	case EBUSY:
	case EAGAIN:
		return "another DPDK process holds /var/run/dpdk/rte: stop it, "
		       "or give this one \"--file-prefix\", \"NAME\" in eal";
	case EINVAL:
		return "an EAL argument was refused: check eal in the config "
		       "against `ips-dataplane` EAL messages above";
	case ENODEV:
	case ENOTSUP:
		return "a device could not be probed: see the EAL messages "
		       "above and `dpdk-devbind.py --status`";
	}
	return "see the EAL messages above";
}

void
startup_port_hint(const struct ips_config *c, unsigned i, char *out,
                  size_t outlen)
{
	const char *d = c->ports[i].devargs;
	char iface[64] = "?";

	su_devarg(d, "iface", iface, sizeof(iface));
	switch (su_kind(d)) {
	case SU_AF_XDP:
		snprintf(out, outlen, "AF_XDP could not attach to %s (see the "
		         "messages above): it needs XDP in the kernel and driver, "
		         "CAP_BPF or CAP_SYS_ADMIN, and queues= no more than the "
		         "interface has (ethtool -l %s); on a VM without it use "
		         "net_af_packet%u,iface=%s", iface, iface, i, iface);
		break;
	case SU_AF_PACKET:
		snprintf(out, outlen, "no packet socket on %s (see the messages "
		         "above): is the interface there (`ip link show %s`) and "
		         "the process root?", iface, iface);
		break;
	case SU_PCAP:
		snprintf(out, outlen, "net_pcap could not open its files (see "
		         "the messages above): check rx_pcap= / tx_pcap= paths");
		break;
	case SU_PCI:
		snprintf(out, outlen, "the PCI device was not probed: bind it "
		         "with scripts/ips-host.sh bind ADDR (dpdk-devbind.py -b "
		         "vfio-pci ADDR) and check `dpdk-devbind.py --status`; "
		         "pmd_dir = '%s'", c->pmd_dir);
		break;
	default:
		snprintf(out, outlen, "driver plugin missing? pmd_dir = '%s'",
		         c->pmd_dir);
	}
}
