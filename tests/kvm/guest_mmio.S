/* SPDX-License-Identifier: GPL-2.0 */
/*
 * L2 guest for kvm_exits_test: copied to GPA 0 and entered with
 *   x0 = MMIO base (no memslot), x1 = read-only memslot, x2 = value,
 *   x3 = iterations.
 * Each iteration stores x2 to MMIO, loads from the read-only slot (must
 * not exit), stores what it loaded to MMIO+4 and stores x2 into the
 * read-only slot (must exit as MMIO). Then it stores 1 to MMIO+0xff0
 * ("done") and spins.
 */
	.section .rodata
	.globl guest_mmio_start, guest_mmio_end
	.balign 4
guest_mmio_start:
1:	cbz	x3, 2f
	str	w2, [x0]
	ldr	w4, [x1]
	str	w4, [x0, #4]
	str	w2, [x1]
	add	w2, w2, #1
	sub	x3, x3, #1
	b	1b
2:	mov	w5, #1
	str	w5, [x0, #0xff0]
3:	b	3b
guest_mmio_end:
