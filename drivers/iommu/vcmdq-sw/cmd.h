/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SMMUv3 command queue entries: opcodes and fields, as the SMMUv3
 * architecture lays them out (and as Linux's arm-smmu-v3.h names them).
 * Prefixed VCMDQ_ so that the kernel build can include both headers.
 *
 * An entry is two 64-bit words, little-endian in guest memory; the engine
 * works on CPU-order words (struct vcmdq_cmd), the backend's read() converts.
 */
#ifndef VCMDQ_CMD_H
#define VCMDQ_CMD_H

#include "compat.h"

/**
 * struct vcmdq_cmd - one command queue entry in CPU byte order
 * @w: the two 64-bit words of the entry
 */
struct vcmdq_cmd {
	u64 w[2];
};

#define VCMDQ_CMD_SIZE			16

enum vcmdq_opcode {
	VCMDQ_OP_PREFETCH_CONFIG	= 0x01,
	VCMDQ_OP_PREFETCH_ADDR		= 0x02,
	VCMDQ_OP_CFGI_STE		= 0x03,
	VCMDQ_OP_CFGI_STE_RANGE		= 0x04,	/* RANGE == 31: CFGI_ALL */
	VCMDQ_OP_CFGI_CD		= 0x05,
	VCMDQ_OP_CFGI_CD_ALL		= 0x06,
	VCMDQ_OP_CFGI_VMS_PIDM		= 0x07,
	VCMDQ_OP_TLBI_NH_ALL		= 0x10,
	VCMDQ_OP_TLBI_NH_ASID		= 0x11,
	VCMDQ_OP_TLBI_NH_VA		= 0x12,
	VCMDQ_OP_TLBI_NH_VAA		= 0x13,
	VCMDQ_OP_TLBI_EL3_ALL		= 0x18,
	VCMDQ_OP_TLBI_EL3_VA		= 0x1a,
	VCMDQ_OP_TLBI_EL2_ALL		= 0x20,
	VCMDQ_OP_TLBI_EL2_ASID		= 0x21,
	VCMDQ_OP_TLBI_EL2_VA		= 0x22,
	VCMDQ_OP_TLBI_EL2_VAA		= 0x23,
	VCMDQ_OP_TLBI_S12_VMALL		= 0x28,
	VCMDQ_OP_TLBI_S2_IPA		= 0x2a,
	VCMDQ_OP_TLBI_NSNH_ALL		= 0x30,
	VCMDQ_OP_ATC_INV		= 0x40,
	VCMDQ_OP_PRI_RESP		= 0x41,
	VCMDQ_OP_RESUME			= 0x44,
	VCMDQ_OP_STALL_TERM		= 0x45,
	VCMDQ_OP_CMD_SYNC		= 0x46,
};

/* Word 0, all commands */
#define VCMDQ_0_OP			VCMDQ_GENMASK(7, 0)
#define VCMDQ_0_SSEC			VCMDQ_BIT(10)
#define VCMDQ_0_SSV			VCMDQ_BIT(11)

/* PREFETCH_* */
#define VCMDQ_PREFETCH_0_SID		VCMDQ_GENMASK(63, 32)

/* CFGI_* */
#define VCMDQ_CFGI_0_SSID		VCMDQ_GENMASK(31, 12)
#define VCMDQ_CFGI_0_SID		VCMDQ_GENMASK(63, 32)
#define VCMDQ_CFGI_1_LEAF		VCMDQ_BIT(0)
#define VCMDQ_CFGI_1_RANGE		VCMDQ_GENMASK(4, 0)
#define VCMDQ_CFGI_RANGE_ALL		31

/* TLBI_* */
#define VCMDQ_TLBI_0_NUM		VCMDQ_GENMASK(16, 12)
#define VCMDQ_TLBI_0_SCALE		VCMDQ_GENMASK(24, 20)
#define VCMDQ_TLBI_0_VMID		VCMDQ_GENMASK(47, 32)
#define VCMDQ_TLBI_0_ASID		VCMDQ_GENMASK(63, 48)
#define VCMDQ_TLBI_1_LEAF		VCMDQ_BIT(0)
#define VCMDQ_TLBI_1_TTL		VCMDQ_GENMASK(9, 8)
#define VCMDQ_TLBI_1_TG			VCMDQ_GENMASK(11, 10)
#define VCMDQ_TLBI_1_VA			VCMDQ_GENMASK(63, 12)

/* ATC_INV */
#define VCMDQ_ATC_0_GLOBAL		VCMDQ_BIT(9)
#define VCMDQ_ATC_0_SSID		VCMDQ_GENMASK(31, 12)
#define VCMDQ_ATC_0_SID			VCMDQ_GENMASK(63, 32)
#define VCMDQ_ATC_1_SIZE		VCMDQ_GENMASK(5, 0)
#define VCMDQ_ATC_1_ADDR		VCMDQ_GENMASK(63, 12)

/* CMD_SYNC */
#define VCMDQ_SYNC_0_CS			VCMDQ_GENMASK(13, 12)
#define VCMDQ_SYNC_0_MSH		VCMDQ_GENMASK(23, 22)
#define VCMDQ_SYNC_0_MSIATTR		VCMDQ_GENMASK(27, 24)
#define VCMDQ_SYNC_0_MSIDATA		VCMDQ_GENMASK(63, 32)
#define VCMDQ_SYNC_1_MSIADDR		VCMDQ_GENMASK(51, 2)

enum vcmdq_sync_cs {
	VCMDQ_SYNC_CS_NONE	= 0,
	VCMDQ_SYNC_CS_IRQ	= 1,
	VCMDQ_SYNC_CS_SEV	= 2,
};

static inline u8 vcmdq_cmd_op(const struct vcmdq_cmd *c)
{
	return (u8)c->w[0];
}

#endif /* VCMDQ_CMD_H */
