// SPDX-License-Identifier: GPL-2.0
/*
 * L2 helper of the two-vSMMU scenario (scripts/guest.sh multi).
 *
 *   multicheck slot-off BDF
 *	powers off the hot-plug slot of PCIe port BDF (Slot Control: power
 *	indicator off, power controller off), as pciehp does before a
 *	removal; QEMU then unplugs the device behind it. The L2 kernel has
 *	no PCI hot-plug driver, so this is done through the port's config
 *	space in sysfs.
 *
 * Exit status 0 only when the check held.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int mc_slot_off(const char *bdf)
{
	char path[128];
	uint8_t cfg[256];
	unsigned int pos;
	uint16_t ctl;
	int fd, guard = 0;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDWR);
	if (fd < 0 || pread(fd, cfg, sizeof(cfg), 0) != sizeof(cfg)) {
		fprintf(stderr, "multicheck: %s: %s\n", path, strerror(errno));
		return 1;
	}
	/* the PCI Express capability (ID 0x10) */
	for (pos = cfg[0x34] & ~3u; pos && guard < 48; guard++) {
		if (cfg[pos] == 0x10)
			break;
		pos = cfg[pos + 1] & ~3u;
	}
	if (!pos || cfg[pos] != 0x10) {
		fprintf(stderr, "multicheck: %s has no PCIe capability\n", bdf);
		close(fd);
		return 1;
	}
	/* Slot Control at +0x18: PIC (bits 9:8) = 11b off, PCC (bit 10) = off */
	ctl = (uint16_t)(cfg[pos + 0x18] | cfg[pos + 0x19] << 8);
	ctl = (uint16_t)((ctl & ~0x0300u) | 0x0300u | 0x0400u);
	if (pwrite(fd, &ctl, 2, pos + 0x18) != 2) {
		fprintf(stderr, "multicheck: writing Slot Control of %s: %s\n",
			bdf, strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "slot-off"))
		return mc_slot_off(argv[2]);
	fprintf(stderr, "usage: multicheck slot-off BDF\n");
	return 2;
}
