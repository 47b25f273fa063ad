/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vIOMMU stack of the in-VM tests, shared by tests/iommufd and
 * tests/fastpath: the emulated PCIe device (SID 0x8 behind QEMU's SMMUv3)
 * bound to vfio-pci and opened through its cdev, an IOAS, a nest-parent
 * HWPT the device is attached to, an ARM SMMUv3 vIOMMU on it and a
 * vDEVICE giving the device a virtual SID.
 *
 * Header-only (static functions) so single-file test programs can use it.
 */
#ifndef VCMDQ_TESTS_VIOMMU_H
#define VCMDQ_TESTS_VIOMMU_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#define VIOMMU_PCI_DEV	"0000:00:01.0"

struct viommu_stack {
	int iommufd, devfd;
	uint32_t dev_id, ioas_id, s2_id, viommu_id, vdev_id;
};

static inline int viommu_write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Bind the device to vfio-pci; its cdev path goes to @cdev. */
static inline int viommu_bind_vfio(char *cdev, size_t len)
{
	const char *base = "/sys/bus/pci/devices/" VIOMMU_PCI_DEV;
	char path[256];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/driver/unbind", base);
	viommu_write_str(path, VIOMMU_PCI_DEV);	/* not bound is fine */
	snprintf(path, sizeof(path), "%s/driver_override", base);
	if (viommu_write_str(path, "vfio-pci"))
		return -ENODEV;
	if (viommu_write_str("/sys/bus/pci/drivers_probe", VIOMMU_PCI_DEV))
		return -ENODEV;
	snprintf(path, sizeof(path), "%s/vfio-dev", base);
	dir = opendir(path);
	if (!dir)
		return -ENOENT;
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, "vfio", 4))
			break;
	if (d)
		snprintf(cdev, len, "/dev/vfio/devices/%s", d->d_name);
	closedir(dir);
	return d ? 0 : -ENOENT;
}

static inline int viommu_fail(const char *what)
{
	int err = errno ? errno : EINVAL;

	fprintf(stderr, "# viommu: %s: %s\n", what, strerror(err));
	return -err;
}

/*
 * Set up the whole stack with virtual SID @vsid. Returns 0 or a negative
 * errno after printing what failed; @s's fds are -1 or open either way
 * (the caller closes them).
 */
static inline int viommu_stack_setup(struct viommu_stack *s, uint32_t vsid)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct iommu_hwpt_alloc s2 = {
		.size = sizeof(s2), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
	};
	struct iommu_viommu_alloc viommu = {
		.size = sizeof(viommu), .type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
	};
	struct iommu_vdevice_alloc vdev = {
		.size = sizeof(vdev), .virt_id = vsid,
	};
	char cdev[300];
	int ret;

	s->iommufd = s->devfd = -1;
	ret = viommu_bind_vfio(cdev, sizeof(cdev));
	if (ret) {
		errno = -ret;
		return viommu_fail("binding " VIOMMU_PCI_DEV " to vfio-pci");
	}
	s->iommufd = open("/dev/iommu", O_RDWR);
	if (s->iommufd < 0)
		return viommu_fail("open /dev/iommu");
	s->devfd = open(cdev, O_RDWR);
	if (s->devfd < 0)
		return viommu_fail(cdev);
	bind.iommufd = s->iommufd;
	if (ioctl(s->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return viommu_fail("VFIO_DEVICE_BIND_IOMMUFD");
	s->dev_id = bind.out_devid;
	if (ioctl(s->iommufd, IOMMU_IOAS_ALLOC, &ioas))
		return viommu_fail("IOMMU_IOAS_ALLOC");
	s->ioas_id = ioas.out_ioas_id;
	s2.dev_id = s->dev_id;
	s2.pt_id = s->ioas_id;
	if (ioctl(s->iommufd, IOMMU_HWPT_ALLOC, &s2))
		return viommu_fail("IOMMU_HWPT_ALLOC nest parent");
	s->s2_id = s2.out_hwpt_id;
	attach.pt_id = s->s2_id;
	if (ioctl(s->devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return viommu_fail("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	viommu.dev_id = s->dev_id;
	viommu.hwpt_id = s->s2_id;
	if (ioctl(s->iommufd, IOMMU_VIOMMU_ALLOC, &viommu))
		return viommu_fail("IOMMU_VIOMMU_ALLOC (booted without arm_smmu_v3.test_viommu_without_s2fwb=1?)");
	s->viommu_id = viommu.out_viommu_id;
	vdev.viommu_id = s->viommu_id;
	vdev.dev_id = s->dev_id;
	if (ioctl(s->iommufd, IOMMU_VDEVICE_ALLOC, &vdev))
		return viommu_fail("IOMMU_VDEVICE_ALLOC");
	s->vdev_id = vdev.out_vdevice_id;
	return 0;
}

/*
 * IOMMU_HWPT_INVALIDATE on the vIOMMU: @n commands of two 64-bit words at
 * @cmds (struct iommu_viommu_arm_smmuv3_invalidate; the test machine is
 * little-endian). Returns 0 or -errno; *@done = commands the kernel took.
 */
static inline int viommu_invalidate(const struct viommu_stack *s,
				    const void *cmds, uint32_t n,
				    uint32_t *done)
{
	struct iommu_hwpt_invalidate inv = {
		.size = sizeof(inv),
		.hwpt_id = s->viommu_id,
		.data_uptr = (uintptr_t)cmds,
		.data_type = IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
		.entry_len = sizeof(struct iommu_viommu_arm_smmuv3_invalidate),
		.entry_num = n,
	};
	int ret;

	ret = ioctl(s->iommufd, IOMMU_HWPT_INVALIDATE, &inv) ? -errno : 0;
	*done = inv.entry_num;
	return ret;
}

#endif /* VCMDQ_TESTS_VIOMMU_H */
