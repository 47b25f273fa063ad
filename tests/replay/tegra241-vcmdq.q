# A tegra241 VCMDQ dump: only NH_ASID, NH_VA, ATC_INV and CMD_SYNC are
# legal; TLBI_NH_ALL is CERROR_ILL here, as on a guest-owned HW VCMDQ.
layout tegra241
vmid 0x3
log2size 2
sid 0xdeadbeef 0x10
cons 0x2
cmd 0x0007000000000011 0x0000000000000000   # TLBI_NH_ASID asid 7
cmd 0xdeadbeef00000040 0x0000000000005000   # ATC_INV vsid 0xdeadbeef
cmd 0x0000000000000010 0x0000000000000000   # TLBI_NH_ALL: illegal on a VCMDQ
