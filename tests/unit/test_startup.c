/*
 * test_startup.c - unit tests for dataplane/startup.c on a fake host
 * (a temporary directory with proc/ and sys/): each missing thing is
 * reported once, with the command that fixes it, and a host that has
 * everything passes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "startup.h"

#define ALL_CAPS UINT64_MAX

static char root[256];
static char out[8192];

static void
put(const char *rel, const char *text)
{
	char path[1024], dir[1024], *slash;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir + strlen(root) + 1, '/'); slash != NULL;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(dir, 0755);
		*slash = '/';
	}
	if (text != NULL) {
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fputs(text, f);
		fclose(f);
	} else {
		mkdir(path, 0755);
	}
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_startup.XXXXXX");
	assert_non_null(mkdtemp(root));
	put("pmds/librte_net_af_packet.so", "");
	put("pmds/librte_mempool_ring.so", "");
	put("sys/class/net/eth1", NULL);
	put("sys/class/net/eth2", NULL);
	put("run/ips", NULL);
	put("proc/mounts", "sysfs /sys sysfs rw 0 0\n");
	put("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n");
	put("sys/bus/pci/drivers/ixgbe", NULL);
	put("sys/bus/pci/drivers/vfio-pci", NULL);
	put("sys/bus/pci/devices/0000:03:00.0", NULL);
	put("sys/bus/pci/devices/0000:03:00.1", NULL);
	{
		char link[1024], target[1024];

		snprintf(target, sizeof(target), "%s/sys/bus/pci/drivers/ixgbe",
		         root);
		snprintf(link, sizeof(link),
		         "%s/sys/bus/pci/devices/0000:03:00.0/driver", root);
		assert_int_equal(symlink(target, link), 0);
		snprintf(target, sizeof(target),
		         "%s/sys/bus/pci/drivers/vfio-pci", root);
		snprintf(link, sizeof(link),
		         "%s/sys/bus/pci/devices/0000:03:00.1/driver", root);
		assert_int_equal(symlink(target, link), 0);
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
load(struct ips_config *c, const char *ports)
{
	char text[2048], err[512];

	snprintf(text, sizeof(text), "pmd_dir = \"/pmds\";\nports = (%s);\n",
	         ports);
	config_defaults(c);
	if (config_load_string(c, text, "t.conf", err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static int
check(const struct ips_config *c, uint64_t caps, const char *const *eal,
      int n_eal, const char *sock)
{
	struct startup_env env = { root, 1000, caps };

	return startup_check(&env, c, 0, eal, n_eal, sock, out, sizeof(out));
}

static void
expect(const char *needle)
{
	if (strstr(out, needle) == NULL)
		fail_msg("no '%s' in:\n%s", needle, out);
}

static const char *const no_huge[] = { "prog", "--no-huge", "-m", "512" };
static const char *const huge[] = { "prog", "-m", "1024" };

#define AF_PACKET_PAIR \
	"{ name = \"a\"; devargs = \"net_af_packet0,iface=eth1\"; role = \"public\"; }," \
	"{ name = \"b\"; devargs = \"net_af_packet1,iface=eth2\"; role = \"private\"; }"

static void
test_host_with_everything(void **state)
{
	struct ips_config c;

	(void)state;
	load(&c, AF_PACKET_PAIR);
	assert_int_equal(check(&c, ALL_CAPS, no_huge, 4, "/run/ips/ctl.sock"), 0);
	assert_string_equal(out, "");
	config_free(&c);
}

static void
test_missing_interface_and_plugin(void **state)
{
	struct ips_config c;

	(void)state;
	load(&c, "{ name = \"a\"; devargs = \"net_af_packet0,iface=veth0\"; role = \"public\"; },"
	         "{ name = \"b\"; devargs = \"net_af_xdp0,iface=eth2\"; role = \"private\"; }");
	assert_int_equal(check(&c, ALL_CAPS, no_huge, 4, NULL), 2);
	expect("ports[0] (a): network interface 'veth0' does not exist: "
	       "list them with `ip -br link`");
	expect("ports[1] (b): DPDK driver plugin librte_net_af_xdp.so is not in");
	expect("apt-get install dpdk");
	config_free(&c);
}

static void
test_privileges(void **state)
{
	struct ips_config c;
	uint64_t raw_only = 1ull << 13;

	(void)state;
	load(&c, AF_PACKET_PAIR);
	assert_int_equal(check(&c, raw_only, no_huge, 4, NULL), 1);
	expect("missing privileges CAP_NET_ADMIN (uid 1000): run it as root "
	       "(sudo), or as the systemd unit");
	/* hugepages add CAP_IPC_LOCK */
	put("proc/mounts", "hugetlbfs /dev/hugepages hugetlbfs rw 0 0\n");
	put("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "1024\n");
	assert_int_equal(check(&c, raw_only, huge, 3, NULL), 1);
	expect("missing privileges CAP_NET_ADMIN CAP_IPC_LOCK");
	put("proc/mounts", "sysfs /sys sysfs rw 0 0\n");
	put("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n");
	config_free(&c);
}

static void
test_hugepages(void **state)
{
	struct ips_config c;
	static const char *const dir[] = { "prog", "--huge-dir", "/mnt/huge" };

	(void)state;
	load(&c, AF_PACKET_PAIR);
	assert_int_equal(check(&c, ALL_CAPS, huge, 3, NULL), 1);
	expect("no hugetlbfs mounted: scripts/ips-host.sh hugepages 2G (runs "
	       "dpdk-hugepages.py --setup 2G); for a trial without hugepages, "
	       "add \"--no-huge\", \"-m\", \"1024\" to eal");
	put("proc/mounts", "hugetlbfs /dev/hugepages hugetlbfs rw 0 0\n");
	assert_int_equal(check(&c, ALL_CAPS, huge, 3, NULL), 1);
	expect("no free hugepages");
	put("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "256\n");
	assert_int_equal(check(&c, ALL_CAPS, huge, 3, NULL), 1);
	expect("eal asks for 1024 MiB (-m / --socket-mem) but 512 MiB of "
	       "hugepages are free: scripts/ips-host.sh hugepages 1024M");
	put("sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages", "1\n");
	assert_int_equal(check(&c, ALL_CAPS, huge, 3, NULL), 0);
	/* --huge-dir must be the mount */
	assert_int_equal(check(&c, ALL_CAPS, dir, 3, NULL), 1);
	expect("no hugetlbfs mounted at /mnt/huge");
	put("proc/mounts", "sysfs /sys sysfs rw 0 0\n");
	put("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n");
	put("sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages", "0\n");
	config_free(&c);
}

static void
test_pci(void **state)
{
	struct ips_config c;

	(void)state;
	load(&c, "{ name = \"a\"; devargs = \"0000:03:00.0\"; role = \"public\"; },"
	         "{ name = \"b\"; devargs = \"03:00.1\"; role = \"private\"; },"
	         "{ name = \"c\"; devargs = \"0000:09:00.0\"; role = \"private\"; }");
	assert_int_equal(check(&c, ALL_CAPS, no_huge, 4, NULL), 3);
	expect("ports[0] (a): PCI device 0000:03:00.0 is held by the kernel "
	       "driver ixgbe: scripts/ips-host.sh bind 0000:03:00.0 "
	       "(dpdk-devbind.py -b vfio-pci 0000:03:00.0");
	expect("ports[1] (b): /dev/vfio/vfio is missing: modprobe vfio-pci");
	expect("ports[2] (c): no PCI device 0000:09:00.0: list the NICs with "
	       "`dpdk-devbind.py --status`");
	config_free(&c);
}

static void
test_directories(void **state)
{
	struct ips_config c;

	(void)state;
	load(&c, AF_PACKET_PAIR);
	snprintf(c.eve_path, sizeof(c.eve_path), "/var/log/ips/eve.json");
	assert_int_equal(check(&c, ALL_CAPS, no_huge, 4, "/run/nope/ctl.sock"), 2);
	expect("control.socket: directory /run/nope does not exist: mkdir -p "
	       "/run/nope (the systemd unit makes /run/ips");
	expect("log.eve: directory /var/log/ips does not exist: mkdir -p "
	       "/var/log/ips, or set log.eve");
	config_free(&c);
}

static void
test_hints(void **state)
{
	struct ips_config c;
	char hint[512];

	(void)state;
	load(&c, "{ name = \"a\"; devargs = \"net_af_xdp0,iface=eth1\"; role = \"public\"; },"
	         "{ name = \"b\"; devargs = \"0000:03:00.1\"; role = \"private\"; }");
	startup_port_hint(&c, 0, hint, sizeof(hint));
	assert_non_null(strstr(hint, "AF_XDP could not attach to eth1"));
	assert_non_null(strstr(hint, "use net_af_packet0,iface=eth1"));
	startup_port_hint(&c, 1, hint, sizeof(hint));
	assert_non_null(strstr(hint, "dpdk-devbind.py -b vfio-pci"));
	assert_non_null(strstr(startup_eal_hint(12 /* ENOMEM */), "hugepages"));
	config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_with_everything),
		cmocka_unit_test(test_missing_interface_and_plugin),
		cmocka_unit_test(test_privileges),
		cmocka_unit_test(test_hugepages),
		cmocka_unit_test(test_pci),
		cmocka_unit_test(test_directories),
		cmocka_unit_test(test_hints),
	};

	return cmocka_run_group_tests_name("startup", tests, setup, teardown);
}
