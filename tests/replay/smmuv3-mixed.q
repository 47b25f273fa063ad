# A main-CMDQ dump: the Linux guest driver's invalidation pattern, an STE
# change in the middle (exits to the VMM, in order), a CFGI_CD of a root
# port the VMM emulates without a vDEVICE (exits too: the VMM decides),
# then a stage-2 TLBI the guest must never get issued (CERROR_ILL; the
# queue stops there).
layout smmuv3
vmid 0x1
log2size 4
caps msi
sid 0x42 0x8
sid 0x43 0x9
cons 0xe
cmd 0x05a5007700000012 0x00007f0000001d01   # TLBI_NH_VA asid 0x5a5, guest vmid 0x77
cmd 0x00000042000c0040 0x0000000000002003   # ATC_INV vsid 0x42
cmd 0x000000000fc00046 0x0000000000000000   # CMD_SYNC CS=NONE, MSH+MSIATTR as Linux sets them
cmd 0x0000004300000003 0x0000000000000001   # CFGI_STE vsid 0x43: exit
cmd 0x0000001000000005 0x0000000000000001   # CFGI_CD vsid 0x10, no vDEVICE: exit
cmd 0x0000000000000030 0x0000000000000000   # TLBI_NSNH_ALL
cmd 0x0000beef00001046 0x0000000080001000   # CMD_SYNC CS=IRQ (MSI)
cmd 0x000000000000002a 0x0000000000040000   # TLBI_S2_IPA: illegal
cmd 0x0000000000000046 0x0000000000000000   # never reached
