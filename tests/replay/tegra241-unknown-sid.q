# A tegra241 VCMDQ dump: an ATC_INV naming a vSID that no vDEVICE has is
# CERROR_ILL on a VCMDQ (a guest-owned HW VCMDQ cannot hand it to the VMM;
# see Documentation/engine.rst), after the TLBI before it was issued.
layout tegra241
vmid 0x3
log2size 2
sid 0x42 0x8
cons 0x0
cmd 0x0007000000000011 0x0000000000000000   # TLBI_NH_ASID asid 7
cmd 0x0000001000000040 0x0000000000005000   # ATC_INV vsid 0x10: no vDEVICE
cmd 0x0000000000000046 0x0000000000000000   # CMD_SYNC: not reached
