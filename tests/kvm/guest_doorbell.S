/* SPDX-License-Identifier: GPL-2.0 */
/*
 * L2 guests for doorbell_test, each copied to GPA 0 and entered with
 *   x0 = register page (read-only memslot over the shadow page),
 *   x1 = count, x2 = RAM scratch (results).
 * The main-CMDQ layout is used: PROD at +0x98, CONS at +0x9c. Every
 * program ends by storing to +0xff0 of the register page, which is no
 * doorbell and so exits ("done"), then spins.
 */
	.section .rodata
	.balign 4

/* PROD = 1..count, each time waiting until CONS == PROD */
	.globl guest_db_handshake_start, guest_db_handshake_end
guest_db_handshake_start:
	mov	w3, #1
1:	cmp	w3, w1
	b.hi	3f
	str	w3, [x0, #0x98]
2:	ldr	w4, [x0, #0x9c]
	cmp	w4, w3
	b.ne	2b
	add	w3, w3, #1
	b	1b
3:	str	w3, [x0, #0xff0]
4:	b	4b
guest_db_handshake_end:

/* PROD = 1..count as fast as possible, then record cycles in [x2] */
	.globl guest_db_storm_start, guest_db_storm_end
guest_db_storm_start:
	isb
	mrs	x5, cntvct_el0
	mov	w3, #1
1:	cmp	w3, w1
	b.hi	2f
	str	w3, [x0, #0x98]
	add	w3, w3, #1
	b	1b
2:	isb
	mrs	x6, cntvct_el0
	sub	x6, x6, x5
	str	x6, [x2]
	str	w3, [x0, #0xff0]
3:	b	3b
guest_db_storm_end:

/*
 * Accesses a doorbell must leave to the VMM: another register, a 2-byte
 * store inside the doorbell at the wrong address, 1- and 2-byte stores at
 * it, an 8-byte store over it; then the one store it takes. At +0x100 an
 * 8-byte doorbell: an 8-byte store is taken, a 4-byte one exits. Values
 * are distinct for the checks.
 */
	.globl guest_db_odd_start, guest_db_odd_end
guest_db_odd_start:
	mov	w3, #0x11
	str	w3, [x0, #0xa0]
	mov	w3, #0x22
	strh	w3, [x0, #0x9a]
	mov	w3, #0x33
	strb	w3, [x0, #0x98]
	mov	w3, #0x44
	strh	w3, [x0, #0x98]
	mov	x3, #0x55
	str	x3, [x0, #0x98]
	mov	w3, #0x66
	str	w3, [x0, #0x98]
	movz	x3, #0x7788
	movk	x3, #0x5566, lsl #16
	movk	x3, #0x3344, lsl #32
	movk	x3, #0x1122, lsl #48
	str	x3, [x0, #0x100]
	mov	w3, #0x77
	str	w3, [x0, #0x100]
	str	w3, [x0, #0xff0]
1:	b	1b
guest_db_odd_end:

/* PROD = 1, 2, 3, ... forever (for teardown races) */
	.globl guest_db_forever_start, guest_db_forever_end
guest_db_forever_start:
	mov	w3, #1
1:	str	w3, [x0, #0x98]
	add	w3, w3, #1
	b	1b
guest_db_forever_end:
