// SPDX-License-Identifier: GPL-2.0
/*
 * The command policy tables: see policy.h and Documentation/engine.rst.
 */
#include "policy.h"

#define VCMDQ_TLBI_W0_VA	(VCMDQ_0_OP | VCMDQ_TLBI_0_NUM | \
				 VCMDQ_TLBI_0_SCALE | VCMDQ_TLBI_0_VMID)
#define VCMDQ_TLBI_W1_VA	(VCMDQ_TLBI_1_LEAF | VCMDQ_TLBI_1_TTL | \
				 VCMDQ_TLBI_1_TG | VCMDQ_TLBI_1_VA)

/* Defined fields of every command the fast path may issue. */
const struct vcmdq_op_fields vcmdq_fields[256] = {
	[VCMDQ_OP_TLBI_NH_ALL] = {
		.w0 = VCMDQ_0_OP | VCMDQ_TLBI_0_VMID,
	},
	[VCMDQ_OP_TLBI_NH_ASID] = {
		.w0 = VCMDQ_0_OP | VCMDQ_TLBI_0_VMID | VCMDQ_TLBI_0_ASID,
	},
	[VCMDQ_OP_TLBI_NH_VA] = {
		.w0 = VCMDQ_TLBI_W0_VA | VCMDQ_TLBI_0_ASID,
		.w1 = VCMDQ_TLBI_W1_VA,
	},
	[VCMDQ_OP_TLBI_NH_VAA] = {
		.w0 = VCMDQ_TLBI_W0_VA,
		.w1 = VCMDQ_TLBI_W1_VA,
	},
	[VCMDQ_OP_TLBI_NSNH_ALL] = {
		.w0 = VCMDQ_0_OP,
	},
	[VCMDQ_OP_ATC_INV] = {
		.w0 = VCMDQ_0_OP | VCMDQ_ATC_0_GLOBAL | VCMDQ_0_SSV |
		      VCMDQ_ATC_0_SSID | VCMDQ_ATC_0_SID,
		.w1 = VCMDQ_ATC_1_SIZE | VCMDQ_ATC_1_ADDR,
	},
	[VCMDQ_OP_CFGI_CD] = {
		.w0 = VCMDQ_0_OP | VCMDQ_CFGI_0_SSID | VCMDQ_CFGI_0_SID,
		.w1 = VCMDQ_CFGI_1_LEAF,
	},
	[VCMDQ_OP_CFGI_CD_ALL] = {
		.w0 = VCMDQ_0_OP | VCMDQ_CFGI_0_SID,
	},
	[VCMDQ_OP_CMD_SYNC] = {
		.w0 = VCMDQ_0_OP | VCMDQ_SYNC_0_CS | VCMDQ_SYNC_0_MSH |
		      VCMDQ_SYNC_0_MSIATTR | VCMDQ_SYNC_0_MSIDATA,
		.w1 = VCMDQ_SYNC_1_MSIADDR,
	},
};
EXPORT_SYMBOL_NS_GPL(vcmdq_fields, "VCMDQ_SW");

/*
 * Unlisted opcodes are VCMDQ_K_ILL (0): stage-2, EL2 and EL3 invalidations,
 * CFGI_VMS_PIDM (the vSMMU does not advertise VMS) and unknown opcodes.
 */
const u8 vcmdq_policy[VCMDQ_NR_LAYOUTS][256] = {
	[VCMDQ_LAYOUT_SMMUV3] = {
		[VCMDQ_OP_TLBI_NH_ALL]		= VCMDQ_K_TLBI,
		[VCMDQ_OP_TLBI_NH_ASID]		= VCMDQ_K_TLBI,
		[VCMDQ_OP_TLBI_NH_VA]		= VCMDQ_K_TLBI,
		[VCMDQ_OP_TLBI_NH_VAA]		= VCMDQ_K_TLBI,
		[VCMDQ_OP_TLBI_NSNH_ALL]	= VCMDQ_K_NSNH,
		[VCMDQ_OP_ATC_INV]		= VCMDQ_K_SID,
		[VCMDQ_OP_CFGI_CD]		= VCMDQ_K_SID,
		[VCMDQ_OP_CFGI_CD_ALL]		= VCMDQ_K_SID,
		[VCMDQ_OP_CMD_SYNC]		= VCMDQ_K_SYNC,
		[VCMDQ_OP_PREFETCH_CONFIG]	= VCMDQ_K_EXIT,
		[VCMDQ_OP_PREFETCH_ADDR]	= VCMDQ_K_EXIT,
		[VCMDQ_OP_CFGI_STE]		= VCMDQ_K_EXIT,
		[VCMDQ_OP_CFGI_STE_RANGE]	= VCMDQ_K_EXIT,
		[VCMDQ_OP_PRI_RESP]		= VCMDQ_K_EXIT,
		[VCMDQ_OP_RESUME]		= VCMDQ_K_EXIT,
		[VCMDQ_OP_STALL_TERM]		= VCMDQ_K_EXIT,
	},
	/* What a guest-owned tegra241 HW VCMDQ accepts, and nothing else. */
	[VCMDQ_LAYOUT_TEGRA241] = {
		[VCMDQ_OP_TLBI_NH_ASID]		= VCMDQ_K_TLBI,
		[VCMDQ_OP_TLBI_NH_VA]		= VCMDQ_K_TLBI,
		[VCMDQ_OP_ATC_INV]		= VCMDQ_K_SID,
		[VCMDQ_OP_CMD_SYNC]		= VCMDQ_K_SYNC,
	},
};
EXPORT_SYMBOL_NS_GPL(vcmdq_policy, "VCMDQ_SW");

/*
 * A VCMDQ_K_SID command whose vSID no vDEVICE of the vIOMMU has.
 *
 * Main CMDQ: the VMM emulates StreamIDs the kernel does not know (root
 * ports, bridges, emulated devices), and Linux sends CFGI_CD, CFGI_CD_ALL
 * and ATC_INV for them; the trap path lets the VMM decide (QEMU skips
 * them). Hand the command to the VMM, in order, so the queue behaves the
 * same whichever path consumes it.
 *
 * tegra241 VCMDQ: a guest-owned HW VCMDQ never traps, so it cannot hand a
 * command to the VMM: the hardware translates through the VINTF's
 * SID_MATCH/SID_REPLACE pairs, which hold exactly the vDEVICEs' vSIDs, and
 * the host driver (7.2) only learns of a guest queue's command errors.
 * Keep CERROR_ILL. A Linux guest does not meet it in practice: its CMDQV
 * driver puts only TLBI_NH_ASID, TLBI_NH_VA and ATC_INV on a VCMDQ, ATC_INV
 * only for ATS masters (assigned devices, with a vDEVICE), and CFGI_CD of
 * an emulated device goes to the main CMDQ. See Documentation/engine.rst.
 */
const u8 vcmdq_unknown_sid[VCMDQ_NR_LAYOUTS] = {
	[VCMDQ_LAYOUT_SMMUV3]	= VCMDQ_K_EXIT,
	[VCMDQ_LAYOUT_TEGRA241]	= VCMDQ_K_ILL,
};
EXPORT_SYMBOL_NS_GPL(vcmdq_unknown_sid, "VCMDQ_SW");

static const char *const vcmdq_op_names[256] = {
	[VCMDQ_OP_PREFETCH_CONFIG]	= "PREFETCH_CONFIG",
	[VCMDQ_OP_PREFETCH_ADDR]	= "PREFETCH_ADDR",
	[VCMDQ_OP_CFGI_STE]		= "CFGI_STE",
	[VCMDQ_OP_CFGI_STE_RANGE]	= "CFGI_STE_RANGE",
	[VCMDQ_OP_CFGI_CD]		= "CFGI_CD",
	[VCMDQ_OP_CFGI_CD_ALL]		= "CFGI_CD_ALL",
	[VCMDQ_OP_CFGI_VMS_PIDM]	= "CFGI_VMS_PIDM",
	[VCMDQ_OP_TLBI_NH_ALL]		= "TLBI_NH_ALL",
	[VCMDQ_OP_TLBI_NH_ASID]		= "TLBI_NH_ASID",
	[VCMDQ_OP_TLBI_NH_VA]		= "TLBI_NH_VA",
	[VCMDQ_OP_TLBI_NH_VAA]		= "TLBI_NH_VAA",
	[VCMDQ_OP_TLBI_EL3_ALL]		= "TLBI_EL3_ALL",
	[VCMDQ_OP_TLBI_EL3_VA]		= "TLBI_EL3_VA",
	[VCMDQ_OP_TLBI_EL2_ALL]		= "TLBI_EL2_ALL",
	[VCMDQ_OP_TLBI_EL2_ASID]	= "TLBI_EL2_ASID",
	[VCMDQ_OP_TLBI_EL2_VA]		= "TLBI_EL2_VA",
	[VCMDQ_OP_TLBI_EL2_VAA]		= "TLBI_EL2_VAA",
	[VCMDQ_OP_TLBI_S12_VMALL]	= "TLBI_S12_VMALL",
	[VCMDQ_OP_TLBI_S2_IPA]		= "TLBI_S2_IPA",
	[VCMDQ_OP_TLBI_NSNH_ALL]	= "TLBI_NSNH_ALL",
	[VCMDQ_OP_ATC_INV]		= "ATC_INV",
	[VCMDQ_OP_PRI_RESP]		= "PRI_RESP",
	[VCMDQ_OP_RESUME]		= "RESUME",
	[VCMDQ_OP_STALL_TERM]		= "STALL_TERM",
	[VCMDQ_OP_CMD_SYNC]		= "CMD_SYNC",
};

/**
 * vcmdq_op_name() - the architectural name of an opcode
 * @op: opcode
 *
 * Return: the name, or "UNKNOWN".
 */
const char *vcmdq_op_name(u8 op)
{
	return vcmdq_op_names[op] ? vcmdq_op_names[op] : "UNKNOWN";
}
EXPORT_SYMBOL_NS_GPL(vcmdq_op_name, "VCMDQ_SW");
