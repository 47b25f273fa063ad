/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * KVM shadow doorbells: a guest store to a doorbell register is written
 * into a shadow page and wakes a consumer, without an exit to user space.
 *
 * The register page is meant to be installed in the guest as a read-only
 * KVM memslot backed by the same shadow page, so guest loads never exit and
 * see what the consumer publishes (e.g. CONS), while stores fault into KVM;
 * a store that a doorbell takes is completed in the kernel, every other
 * store exits to the VMM as before.
 */
#ifndef _UAPI_LINUX_KVM_SHADOW_DOORBELL_H
#define _UAPI_LINUX_KVM_SHADOW_DOORBELL_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * ioctl code 0xB9, numbers 0x00-0x0f; vcmdq_sw.h has 0x10-0x1f. 0xB9 has no
 * entry in Linux 7.2's Documentation/userspace-api/ioctl/ioctl-number.rst
 * and no kernel header uses it as an ioctl type (0xB7 is nsfs's and
 * remoteproc's).
 */
#define KVM_SHADOW_DOORBELL_TYPE	0xB9

/**
 * struct kvm_shadow_doorbell_assign - KVM_SHADOW_DOORBELL_ASSIGN argument
 * @size: sizeof(struct kvm_shadow_doorbell_assign); the struct may grow,
 *	older and newer sizes are accepted as long as the unknown tail is 0
 * @flags: must be 0
 * @vm_fd: a KVM VM file descriptor
 * @eventfd: eventfd signalled after every store the doorbell takes
 * @gpa: guest physical address of the doorbell register; aligned to @len
 * @len: register width in bytes, 4 or 8. Only stores of exactly @len
 *	bytes at exactly @gpa are taken; any other access exits to user
 *	space as if there were no doorbell
 * @shadow_uaddr: page-aligned address of the shadow page in the caller's
 *	memory; it is pinned while the doorbell exists
 * @shadow_offset: offset of the register in the shadow page; aligned to
 *	@len, within the page
 *
 * The stored value is written little-endian at @shadow_offset, and is
 * visible before @eventfd is signalled. Returns a new doorbell file
 * descriptor; closing it unregisters the doorbell. The doorbell holds a
 * reference on the VM, the shadow page and the eventfd until then.
 */
struct kvm_shadow_doorbell_assign {
	__u32 size;
	__u32 flags;
	__s32 vm_fd;
	__s32 eventfd;
	__aligned_u64 gpa;
	__u32 len;
	__u32 shadow_offset;
	__aligned_u64 shadow_uaddr;
};

/* On /dev/kvm-shadow-doorbell; returns a doorbell fd. */
#define KVM_SHADOW_DOORBELL_ASSIGN	_IO(KVM_SHADOW_DOORBELL_TYPE, 0x00)

/**
 * struct kvm_shadow_doorbell_stats - KVM_SHADOW_DOORBELL_GET_STATS argument
 * @size: sizeof(struct kvm_shadow_doorbell_stats)
 * @__reserved: must be 0
 * @stores: guest stores the doorbell took
 * @ignored: accesses routed to the doorbell that it left to user space
 *	(wrong size or address)
 */
struct kvm_shadow_doorbell_stats {
	__u32 size;
	__u32 __reserved;
	__aligned_u64 stores;
	__aligned_u64 ignored;
};

/* On a doorbell fd. */
#define KVM_SHADOW_DOORBELL_GET_STATS	_IO(KVM_SHADOW_DOORBELL_TYPE, 0x01)

#endif /* _UAPI_LINUX_KVM_SHADOW_DOORBELL_H */
