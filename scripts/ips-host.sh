#!/usr/bin/env bash
# ips-host.sh - prepare a host for ips-dataplane: hugepages and NIC
# binding, with DPDK's own tools (dpdk-hugepages.py, dpdk-devbind.py from
# Debian's "dpdk" package).  This script only chooses their arguments and
# explains what it does; it never replaces them.
#
#   scripts/ips-host.sh status                 hugepages, and NICs with their drivers
#   scripts/ips-host.sh hugepages SIZE         reserve SIZE (2G, 1024M) of hugepages
#                                              and mount hugetlbfs at /dev/hugepages
#   scripts/ips-host.sh hugepages-clear        give them back, unmount
#   scripts/ips-host.sh bind PCI...            hand NICs to DPDK (vfio-pci); their
#                                              kernel interfaces disappear
#   scripts/ips-host.sh unbind DRIVER PCI...   give NICs back to a kernel driver
#                                              (e.g. ixgbe, i40e, ice, virtio-pci)
#
# Options (before the command): --dry-run prints the commands instead of
# running them; --node N reserves hugepages on NUMA node N only.
#
# Which deployment needs what:
#   bare metal (PCI NICs: ixgbe, i40e, ice)   hugepages + bind
#   bare metal, mlx5                          hugepages only: mlx5 stays on
#                                             its kernel driver (bifurcated)
#   VM, virtio-net / ENA / vmxnet3 by PCI     hugepages + bind (vfio-pci; without
#                                             a vIOMMU see "noiommu" below)
#   VM, net_af_packet / net_af_xdp            hugepages (or --no-huge): the
#                                             interfaces stay in the kernel
#   pcap replay                               nothing (tests use --no-huge)
#
# The systemd unit runs "hugepages" before the dataplane when
# IPS_HUGEPAGES is set in /etc/default/ips-dataplane (see
# scripts/systemd/ips-dataplane.service).  Needs root.
set -euo pipefail

DRY=0
NODE=()

die() { echo "ips-host: $*" >&2; exit 2; }

run() {
  echo "+ $*" >&2
  [ "$DRY" -eq 1 ] || "$@"
}

need_tool() {
  command -v "$1" >/dev/null 2>&1 || \
    die "$1 not found: apt-get install dpdk (it ships dpdk-hugepages.py and dpdk-devbind.py)"
}

need_root() {
  [ "$DRY" -eq 1 ] || [ "$(id -u)" -eq 0 ] || die "$1 needs root: sudo $0 $*"
}

cmd_status() {
  need_tool dpdk-hugepages.py
  need_tool dpdk-devbind.py
  run dpdk-hugepages.py --show
  run dpdk-devbind.py --status-dev net
}

cmd_hugepages() {
  [ $# -eq 1 ] || die "usage: $0 hugepages SIZE   (e.g. 2G, 1024M)"
  need_tool dpdk-hugepages.py
  need_root hugepages
  # --setup = clear what DPDK reserved before, mount hugetlbfs, reserve
  run dpdk-hugepages.py "${NODE[@]}" --setup "$1"
  run dpdk-hugepages.py --show
}

cmd_hugepages_clear() {
  need_tool dpdk-hugepages.py
  need_root hugepages-clear
  run dpdk-hugepages.py --clear --unmount
}

# vfio-pci needs an IOMMU; a VM without a virtual one can still use it in
# "no-IOMMU" mode (no DMA isolation from the rest of the VM).
check_iommu() {
  if [ -z "$(ls -A /sys/kernel/iommu_groups 2>/dev/null)" ]; then
    echo "ips-host: no IOMMU groups: on bare metal boot with intel_iommu=on" \
         "(or amd_iommu=on) iommu=pt; in a VM without a vIOMMU:" \
         "echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode" >&2
  fi
}

cmd_bind() {
  [ $# -ge 1 ] || die "usage: $0 bind PCI...   (addresses from: $0 status)"
  need_tool dpdk-devbind.py
  need_root bind
  run modprobe vfio-pci
  check_iommu
  run dpdk-devbind.py --bind=vfio-pci "$@"
  run dpdk-devbind.py --status-dev net
}

cmd_unbind() {
  [ $# -ge 2 ] || die "usage: $0 unbind DRIVER PCI...   (DRIVER: ixgbe, i40e, ice, virtio-pci, ...)"
  need_tool dpdk-devbind.py
  need_root unbind
  local driver=$1; shift
  run dpdk-devbind.py --bind="$driver" "$@"
  run dpdk-devbind.py --status-dev net
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1; shift ;;
    --node) [ $# -ge 2 ] || die "--node needs a number"; NODE=(--node "$2"); shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || die "usage: $0 [--dry-run] [--node N] status|hugepages SIZE|hugepages-clear|bind PCI...|unbind DRIVER PCI..."
cmd=$1; shift
case "$cmd" in
  status) cmd_status "$@" ;;
  hugepages) cmd_hugepages "$@" ;;
  hugepages-clear) cmd_hugepages_clear "$@" ;;
  bind) cmd_bind "$@" ;;
  unbind) cmd_unbind "$@" ;;
  *) die "unknown command '$cmd' (status, hugepages, hugepages-clear, bind, unbind)" ;;
esac
