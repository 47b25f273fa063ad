/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An L2 guest that drives an SMMUv3 command queue the way the Linux
 * SMMUv3 driver does: write entries at PROD, store PROD, then wait for
 * completion by polling CONS (CMD_SYNC CS=NONE) or the MSI write into the
 * CMD_SYNC entry itself (CS=IRQ, MSIADDR = the entry, MSIDATA = 0). On
 * CERROR_ILL it replaces the failing entry with a CMD_SYNC, waits for
 * GERROR.CMDQ_ERR to be active and acknowledges it in GERRORN, as
 * arm_smmu_gerror_handler() and arm_smmu_cmdq_skip_err() do; any other
 * error ends the run. A CMD_SYNC with CS=IRQ and no MSIADDR in the script
 * gets its own address as MSIADDR when the guest writes it into the queue.
 *
 * Entered with
 *   x0 register page          x1 batches to run     x2 results (RAM)
 *   x3 script (RAM)           x4 queue base         x5 log2size
 *   x6 PROD offset            x7 CONS offset        x8 GERROR offset
 *   x9 GERRORN offset         x10 batches in the script (cycled)
 *   x11 offset of the register its first entry goes at: CONS, or PROD
 *       for a queue taken over with entries still pending
 * Script: per batch a 16-byte header (u32 entries, u32 mode: 0 = poll
 * CONS, 1 = poll the MSI word of the batch's last entry, u32 flags: bit 0
 * = at a CERROR_ILL, store CONS to +0xff8 (no doorbell: exits) after
 * fixing the entry and before acknowledging, bit 1 = the same store
 * before fixing the entry), then the entries.
 * Results: [0] status (0, or 0x100 | CONS.ERR of a fatal error),
 * [8] errors recovered << 8 | last CONS.ERR, [16] batches done,
 * [24 + 8 * i] counter ticks of batch i (first 4096 batches).
 * Ends by storing the batch count to +0xff0 (no doorbell: exits), then
 * spins.
 */
	.section .rodata
	.balign 4

	.globl guest_cmdq_start, guest_cmdq_end
guest_cmdq_start:
	ldr	w17, [x0, x11]		/* where PROD starts */
	mov	x11, #1
	lsl	x11, x11, x5		/* size */
	lsl	x12, x11, #1
	sub	x12, x12, #1		/* pointer mask (wrap | index) */
	sub	x13, x11, #1		/* index mask */
	mov	x14, #0			/* batches done */
	mov	x15, x3			/* script cursor */
	mov	x16, #0			/* script batch */
	and	x17, x17, x12

batch:
	cmp	x14, x1
	b.hs	done
	cmp	x16, x10
	b.lo	1f
	mov	x15, x3			/* cycle the script */
	mov	x16, #0
1:	ldr	w18, [x15]		/* entries */
	ldr	w19, [x15, #4]		/* mode */
	ldr	w26, [x15, #8]		/* flags */
	add	x15, x15, #16
	isb
	mrs	x20, cntvct_el0

copy:	cbz	w18, posted
	and	x21, x17, x13
	add	x21, x4, x21, lsl #4
	ldp	x22, x23, [x15], #16
	mov	w24, #0x30ff		/* CMD_SYNC with CS=IRQ: MSI to itself */
	and	w24, w22, w24
	mov	w25, #0x1046
	cmp	w24, w25
	b.ne	2f
	cbnz	x23, 2f			/* an MSIADDR of its own: keep it */
	mov	x23, x21
2:	stp	x22, x23, [x21]
	add	x17, x17, #1
	and	x17, x17, x12
	sub	w18, w18, #1
	b	copy

posted:	dsb	ishst			/* entries before PROD */
	str	w17, [x0, x6]
	cbnz	w19, poll_msi

poll_cons:
	ldr	w21, [x0, x7]
	ubfx	w22, w21, #24, #7
	cbnz	w22, error
	and	w21, w21, w12
	cmp	w21, w17
	b.ne	poll_cons
	b	finished

poll_msi:
	sub	x21, x17, #1
	and	x21, x21, x13
	add	x21, x4, x21, lsl #4
1:	ldr	w22, [x21]
	cbz	w22, finished
	ldr	w22, [x0, x7]
	ubfx	w22, w22, #24, #7
	cbnz	w22, error
	b	1b

error:	ldr	x23, [x2, #8]
	add	x23, x23, #0x100
	bfi	x23, x22, #0, #8
	str	x23, [x2, #8]
	cmp	w22, #1
	b.ne	fatal
	ldr	w25, [x0, x7]		/* CONS at the error, until acknowledged */
	tbz	w26, #1, 6f
	str	w25, [x0, #0xff8]	/* the VMM looks before the fix */
6:	and	x21, x25, x13		/* the failing entry: CMD_SYNC instead */
	add	x21, x4, x21, lsl #4
	mov	x23, #0x46
	stp	x23, xzr, [x21]
	dsb	ishst
3:	ldr	w23, [x0, x8]		/* wait for GERROR.CMDQ_ERR active */
	ldr	w24, [x0, x9]
	eor	w24, w23, w24
	tbz	w24, #0, 3b
	tbz	w26, #0, 5f
	str	w25, [x0, #0xff8]	/* the VMM looks before the ack */
5:	str	w23, [x0, x9]		/* acknowledge: GERRORN = GERROR */
2:	ldr	w23, [x0, x7]		/* until CONS moves on (ERR cleared, */
	cmp	w23, w25		/* or the next entry failed) */
	b.eq	2b
	cbnz	w19, poll_msi
	b	poll_cons

fatal:	orr	x23, x22, #0x100
	str	x23, [x2]
	b	done

finished:
	isb
	mrs	x21, cntvct_el0
	sub	x21, x21, x20
	cmp	x14, #4096
	b.hs	3f
	add	x22, x2, #24
	str	x21, [x22, x14, lsl #3]
3:	add	x14, x14, #1
	add	x16, x16, #1
	str	x14, [x2, #16]
	b	batch

done:	str	w14, [x0, #0xff0]
4:	b	4b
guest_cmdq_end:

/*
 * PROD stores in a loop, for a queue destroyed under a running stream.
 * Entered with
 *   x0 register page    x2 results (RAM)     x3 MSI flag (RAM)
 *   x4 queue base       x5 log2size          x6 PROD offset
 * The VMM filled the queue with pairs: a command, then a CMD_SYNC whose
 * MSI writes a non-zero word to the flag. Each turn clears the flag,
 * stores PROD two entries on and waits for the flag, a bounded while: a
 * queue that is gone no longer answers, and the guest goes on storing
 * PROD, which then exits. Results: [0] turns the MSI completed, [8]
 * turns. Never ends.
 */
	.globl guest_prod_loop_start, guest_prod_loop_end
guest_prod_loop_start:
	mov	x11, #1
	lsl	x11, x11, x5
	lsl	x12, x11, #1
	sub	x12, x12, #1		/* pointer mask (wrap | index) */
	mov	x17, #0			/* PROD */
	mov	x14, #0			/* turns */
	mov	x15, #0			/* turns completed */
1:	str	wzr, [x3]
	add	x17, x17, #2
	and	x17, x17, x12
	dsb	ishst			/* the flag cleared before PROD */
	str	w17, [x0, x6]
	mov	x16, #0x100000		/* wait so long for the MSI */
2:	ldr	w18, [x3]
	cbnz	w18, 3f
	subs	x16, x16, #1
	b.ne	2b
	b	4f
3:	add	x15, x15, #1
	str	x15, [x2]
4:	add	x14, x14, #1
	str	x14, [x2, #8]
	b	1b
guest_prod_loop_end:

/*
 * GERRORN stores in a loop, from a second vCPU while the first runs a
 * stream: each store is a doorbell, so the two vCPUs contend for the
 * queue's consumer. The value stored is the one read (the guest makes no
 * error, so GERRORN never changes). Entered with
 *   x0 register page    x1 stop flag (RAM)    x2 store count (RAM)
 *   x9 GERRORN offset
 * Ends by storing the count to +0xff8 (no doorbell: exits), then spins.
 */
	.globl guest_gerrorn_loop_start, guest_gerrorn_loop_end
guest_gerrorn_loop_start:
	mov	x14, #0
1:	ldr	w18, [x1]
	cbnz	w18, 2f
	ldr	w17, [x0, x9]
	str	w17, [x0, x9]
	add	x14, x14, #1
	str	x14, [x2]
	b	1b
2:	str	w14, [x0, #0xff8]
3:	b	3b
guest_gerrorn_loop_end:

/*
 * A store the VMM asks for, one per round, for a vCPU of a test that
 * decides which vCPU stores what and when: each time the round word of
 * the control block changes, wait (if asked) until CONS is at least a
 * given distance past a given pointer, note the CONS seen, store the
 * given value to the given register and acknowledge the round. Entered
 * with
 *   x0 register page    x1 control block (RAM)    x7 CONS offset
 * Control block (u32): [0] round, [4] value, [8] register offset,
 * [12] 1 = wait first, [16] the pointer, [20] round acknowledged,
 * [24] CONS seen just before the store, [28] stop, [32] the distance,
 * [36] the pointer mask (wrap | index), [40] the round it is ready for
 * (set before it waits or stores).
 * Ends (stop != 0) by storing the last round to +0xff8 (no doorbell:
 * exits), then spins.
 */
	.globl guest_store_on_go_start, guest_store_on_go_end
guest_store_on_go_start:
	mov	w14, #0			/* the last round */
	add	x22, x1, #20
	add	x23, x1, #40
1:	ldr	w15, [x1, #28]
	cbnz	w15, 9f
	ldar	w15, [x1]		/* the round, before what it asks */
	cmp	w15, w14
	b.eq	1b
	mov	w14, w15
	ldr	w16, [x1, #4]
	ldr	w17, [x1, #8]
	ldr	w18, [x1, #12]
	ldr	w19, [x1, #16]
	ldr	w20, [x1, #32]
	ldr	w24, [x1, #36]
	stlr	w14, [x23]		/* ready: about to wait or store */
2:	ldr	w21, [x0, x7]
	cbz	w18, 3f
	ldr	w15, [x1, #28]
	cbnz	w15, 9f
	sub	w25, w21, w19		/* how far CONS is past the pointer */
	and	w25, w25, w24
	cmp	w25, w20
	b.lo	2b
3:	str	w21, [x1, #24]
	str	w16, [x0, x17]		/* the doorbell */
	stlr	w14, [x22]
	b	1b
9:	str	w14, [x0, #0xff8]
8:	b	8b
guest_store_on_go_end:

/*
 * One of several vCPUs posting batches to one command queue, the way
 * Linux's arm_smmu_cmdq_issue_cmdlist() shares its queue between CPUs:
 * each vCPU reserves its entries with an atomic on a shared producer word,
 * writes them and marks them written; the vCPU that found no owner becomes
 * the owner, waits for the previous owner to have published, stops the
 * gathering, waits until every entry gathered is written and stores PROD
 * once for all of them. Every vCPU then waits for the MSI of its own
 * CMD_SYNC (the last entry of each batch: CS=IRQ, MSIADDR the entry
 * itself, MSIDATA 0). A batch of the script must not exceed 255 entries,
 * and the vCPUs together may have no more than a queue's worth posted.
 * Entered with
 *   x0 register page    x1 batches to run      x2 results (RAM)
 *   x3 script (RAM)     x4 queue base          x5 log2size
 *   x6 PROD offset      x7 shared state (RAM)  x8 offset of the final store
 *   x10 batches in the script (cycled)
 * Shared state: [0] u32 producer: entries reserved (31-bit count) | bit 31
 * owned; [4] u32 entries published by the last owner; [64 + index] u8,
 * the entry count of a batch written at that index, 0 once gathered. All
 * zero at the start, as CONS and PROD are.
 * Script: per batch a 16-byte header (u32 entries), then the entries.
 * Results: [0] counter ticks spent as owner waiting for the previous
 * owner's PROD store to complete, [8] PROD stores that published other
 * vCPUs' entries too, [16] batches done, [24 + 8 * i] counter ticks of
 * batch i (first 4096 batches), from before the reservation to the MSI
 * seen; [0x8100 + 8 * i] the ticks of those it waited as owner for the
 * previous owner (first 1024 batches).
 * Ends by storing the batch count to +x8 (no doorbell: exits), then spins.
 */
	.globl guest_cmdq_mp_start, guest_cmdq_mp_end
guest_cmdq_mp_start:
	mov	x11, #1
	lsl	x11, x11, x5		/* size */
	lsl	x12, x11, #1
	sub	x12, x12, #1		/* pointer mask (wrap | index) */
	sub	x13, x11, #1		/* index mask */
	add	x9, x7, #64		/* the written marks */
	add	x29, x7, #4		/* published */
	mov	x14, #0			/* batches done */
	mov	x15, x3			/* script cursor */
	mov	x16, #0			/* script batch */

mp_batch:
	cmp	x14, x1
	b.hs	mp_done
	cmp	x16, x10
	b.lo	1f
	mov	x15, x3			/* cycle the script */
	mov	x16, #0
1:	ldr	w18, [x15]		/* entries */
	add	x15, x15, #16
	isb
	mrs	x20, cntvct_el0

	/* reserve; w22 = first entry, w21 bit 31 = an owner was there */
2:	ldaxr	w21, [x7]
	and	w22, w21, #0x7fffffff
	add	w23, w22, w18
	and	w23, w23, #0x7fffffff
	orr	w23, w23, #0x80000000
	stxr	w24, w23, [x7]
	cbnz	w24, 2b

	mov	w25, w22
	mov	w26, w18
mp_copy:
	and	x27, x25, x13
	add	x27, x4, x27, lsl #4
	ldp	x17, x19, [x15], #16
	mov	w24, #0x30ff		/* CMD_SYNC with CS=IRQ: MSI to itself */
	and	w24, w17, w24
	mov	w23, #0x1046
	cmp	w24, w23
	b.ne	3f
	cbnz	x19, 3f
	mov	x19, x27
3:	stp	x17, x19, [x27]
	add	w25, w25, #1
	subs	w26, w26, #1
	b.ne	mp_copy
	mov	x28, x27		/* the CMD_SYNC: its MSI clears word 0 */
	mov	x30, #0			/* this batch's wait for an owner */
	and	x23, x22, x13
	add	x23, x9, x23
	stlrb	w18, [x23]		/* written, after the entries */
	tbnz	w21, #31, mp_wait

	/* the owner: after the previous owner's PROD store */
	mrs	x17, cntvct_el0
4:	ldar	w23, [x29]
	cmp	w23, w22
	b.ne	4b
	mrs	x19, cntvct_el0
	sub	x19, x19, x17
	ldr	x17, [x2]
	add	x17, x17, x19
	str	x17, [x2]
	mov	x30, x19
5:	ldaxr	w21, [x7]		/* stop gathering */
	and	w23, w21, #0x7fffffff
	stxr	w24, w23, [x7]
	cbnz	w24, 5b
	mov	w25, w22		/* every batch up to w23 written */
6:	cmp	w25, w23
	b.eq	8f
	and	x24, x25, x13
	add	x24, x9, x24
7:	ldarb	w26, [x24]
	cbz	w26, 7b
	strb	wzr, [x24]
	add	w25, w25, w26
	and	w25, w25, #0x7fffffff
	b	6b
8:	add	w24, w22, w18		/* gathered more than its own? */
	and	w24, w24, #0x7fffffff
	cmp	w24, w23
	b.eq	11f
	ldr	x17, [x2, #8]
	add	x17, x17, #1
	str	x17, [x2, #8]
11:	dsb	ish			/* all those entries before PROD */
	and	w24, w23, w12
	str	w24, [x0, x6]
	stlr	w23, [x29]		/* published */

mp_wait:
	ldr	w24, [x28]
	cbnz	w24, mp_wait
	mrs	x21, cntvct_el0
	sub	x21, x21, x20
	cmp	x14, #4096
	b.hs	9f
	add	x24, x2, x14, lsl #3
	str	x21, [x24, #24]
	cmp	x14, #1024
	b.hs	9f
	add	x24, x24, #0x8, lsl #12
	str	x30, [x24, #0x100]
9:	add	x14, x14, #1
	str	x14, [x2, #16]
	add	x16, x16, #1
	b	mp_batch

mp_done:
	str	w14, [x0, x8]
10:	b	10b
guest_cmdq_mp_end:

/*
 * A hostile guest: until a flag in RAM is set, each turn draws from a
 * xorshift64 generator and does one of: write a random entry at a random
 * index of the queue (its opcode often one of a table, so the policy's
 * paths are reached; as a CMD_SYNC its MSIADDR random, in a scratch area
 * of RAM, or in the register page); store PROD one to sixteen entries on;
 * store a random PROD (out of range, backwards, the wrap bit flipped, high
 * bits set); store GERRORN (GERROR's value after rewriting the entry at
 * CONS as a CMD_SYNC or a command of the table, as a driver recovers from
 * a command error, or random); read CONS and
 * GERROR and spin a while. It never stores to a register other than PROD
 * and GERRORN. Entered with
 *   x0 register page    x1 stop flag (RAM)     x2 results (RAM)
 *   x3 seed (non-zero)  x4 queue base          x5 log2size
 *   x6 PROD offset      x7 CONS offset         x8 GERROR offset
 *   x9 GERRORN offset   x10 scratch (RAM, 64 KiB)
 *   x11 opcode table (16 bytes)                x12 register page GPA
 * Results: [0] turns, [8] PROD stores, [16] GERRORN stores, [24] entries
 * written. Ends by storing the turn count to +0xff0 (no doorbell: exits),
 * then spins.
 */
	.globl guest_hostile_start, guest_hostile_end
guest_hostile_start:
	mov	x13, #1
	lsl	x13, x13, x5
	lsl	x14, x13, #1
	sub	x14, x14, #1		/* pointer mask */
	sub	x13, x13, #1		/* index mask */
	mov	x15, x3			/* generator state */
	mov	x16, #0			/* the PROD last stored */
	mov	x17, #0			/* turns */
	mov	x18, #0			/* PROD stores */
	mov	x19, #0			/* GERRORN stores */
	mov	x20, #0			/* entries written */

h_turn:
	ldr	w21, [x1]
	cbnz	w21, h_done
	eor	x15, x15, x15, lsl #13	/* xorshift64 */
	eor	x15, x15, x15, lsr #7
	eor	x15, x15, x15, lsl #17
	and	x21, x15, #7
	cmp	x21, #3
	b.lo	h_entry
	b.eq	h_prod_on
	cmp	x21, #5
	b.lo	h_prod_on
	b.eq	h_gerrorn
	cmp	x21, #6
	b.eq	h_read
	/* 7: a PROD no driver would store */
	lsr	x22, x15, #3
	and	x23, x22, #3
	cbz	x23, 1f
	cmp	x23, #1
	b.eq	2f
	cmp	x23, #2
	b.eq	3f
	add	w24, w13, #1		/* 3: the wrap bit flipped */
	eor	w16, w16, w24
	b	h_store_prod
1:	lsr	x16, x15, #5		/* 0: anything */
	b	h_store_prod
2:	lsr	x24, x15, #8		/* 1: backwards */
	and	x24, x24, #0xff
	sub	w16, w16, w24
	and	w16, w16, w14
	b	h_store_prod
3:	lsr	x24, x15, #8		/* 2: far out of range */
	orr	w16, w16, w24
	b	h_store_prod

h_prod_on:
	lsr	x22, x15, #3
	and	x22, x22, #15
	add	w16, w16, w22
	add	w16, w16, #1
	and	w16, w16, w14
h_store_prod:
	dsb	ishst
	str	w16, [x0, x6]
	add	x18, x18, #1
	str	x18, [x2, #8]
	and	w16, w16, w14		/* go on from a pointer in range */
	b	h_next

h_gerrorn:
	ldr	w22, [x0, x8]		/* GERROR */
	tst	x15, #0x100
	b.eq	1f
	lsr	x22, x15, #9		/* random */
	b	3f
1:	ldr	w23, [x0, x7]		/* as a driver: fix the entry at CONS */
	and	x23, x23, x13
	add	x23, x4, x23, lsl #4
	mov	x24, #0x46		/* CMD_SYNC, CS=NONE */
	mov	x25, #0
	tst	x15, #0x200
	b.eq	2f
	lsr	x24, x15, #10		/* or a command of the table */
	lsr	x25, x15, #12
	and	x25, x25, #15
	ldrb	w25, [x11, x25]
	and	x24, x24, #0xffffffff00000000
	orr	x24, x24, x25
	lsl	x25, x15, #12
2:	stp	x24, x25, [x23]
	dsb	ishst			/* the entry before the acknowledgement */
3:	str	w22, [x0, x9]
	add	x19, x19, #1
	str	x19, [x2, #16]
	b	h_next

h_read:
	ldr	w22, [x0, x7]
	ldr	w22, [x0, x8]
	lsr	x22, x15, #3
	and	x22, x22, #0x3ff
1:	subs	x22, x22, #1
	b.pl	1b
	b	h_next

h_entry:
	lsr	x22, x15, #3
	and	x22, x22, x13
	add	x22, x4, x22, lsl #4	/* the entry */
	mov	x23, x15		/* word 0 */
	eor	x24, x15, x15, lsl #13	/* word 1: the generator, one step on */
	eor	x24, x24, x24, lsr #7
	eor	x24, x24, x24, lsl #17
	tst	x15, #0x100		/* an opcode from the table */
	b.eq	1f
	lsr	x25, x15, #9
	and	x25, x25, #15
	ldrb	w25, [x11, x25]
	bfi	x23, x25, #0, #8
	tst	x15, #0x80000000	/* half of them plain: no range, no */
	b.eq	1f			/* substream, one page */
	and	x23, x23, #0xffffffff000000ff
	and	x24, x24, #0xfffffffffffff000
	tst	x15, #0x40000000	/* a CMD_SYNC of them with CS=IRQ */
	b.eq	1f
	orr	x23, x23, #0x1000
1:	and	x25, x23, #0xff
	cmp	x25, #0x46		/* CMD_SYNC: where its MSI goes */
	b.ne	3f
	tst	x15, #0x200000
	b.eq	2f
	lsr	x25, x15, #22		/* scratch */
	and	x25, x25, #0xfffc
	add	x24, x10, x25
	b	3f
2:	tst	x15, #0x400000
	b.eq	3f			/* random */
	lsr	x25, x15, #23		/* the register page */
	and	x25, x25, #0xffc
	add	x24, x12, x25
3:	stp	x23, x24, [x22]
	add	x20, x20, #1
	str	x20, [x2, #24]

h_next:
	add	x17, x17, #1
	str	x17, [x2]
	b	h_turn

h_done:
	str	w17, [x0, #0xff0]
4:	b	4b
guest_hostile_end:
