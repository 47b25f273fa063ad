/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vcmdq-sw tracepoints: doorbell, host batch, guest CMD_SYNC completion,
 * CMD_SYNC MSI abort, exit to the VMM, command error, fault.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vcmdq_sw

#if !defined(VCMDQ_SW_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define VCMDQ_SW_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(vcmdq_sw_doorbell,
	    TP_PROTO(u32 qid, u32 prod),
	    TP_ARGS(qid, prod),
	    TP_STRUCT__entry(__field(u32, qid)
			     __field(u32, prod)),
	    TP_fast_assign(__entry->qid = qid;
			   __entry->prod = prod;),
	    TP_printk("q=%u prod=0x%x", __entry->qid, __entry->prod)
);

TRACE_EVENT(vcmdq_sw_batch,
	    TP_PROTO(u32 qid, u32 n, bool sync, u64 first, int ret),
	    TP_ARGS(qid, n, sync, first, ret),
	    TP_STRUCT__entry(__field(u32, qid)
			     __field(u32, n)
			     __field(bool, sync)
			     __field(u64, first)
			     __field(int, ret)),
	    TP_fast_assign(__entry->qid = qid;
			   __entry->n = n;
			   __entry->sync = sync;
			   __entry->first = first;
			   __entry->ret = ret;),
	    TP_printk("q=%u n=%u sync=%d first=0x%016llx ret=%d", __entry->qid,
		      __entry->n, __entry->sync, __entry->first, __entry->ret)
);

TRACE_EVENT(vcmdq_sw_complete,
	    TP_PROTO(u32 qid, u32 index, u32 kind, int ret),
	    TP_ARGS(qid, index, kind, ret),
	    TP_STRUCT__entry(__field(u32, qid)
			     __field(u32, index)
			     __field(u32, kind)
			     __field(int, ret)),
	    TP_fast_assign(__entry->qid = qid;
			   __entry->index = index;
			   __entry->kind = kind;
			   __entry->ret = ret;),
	    TP_printk("q=%u index=0x%x kind=%s ret=%d", __entry->qid,
		      __entry->index,
		      __print_symbolic(__entry->kind, { 1, "msi" }, { 2, "irq" },
				       { 3, "sev" }),
		      __entry->ret)
);

TRACE_EVENT(vcmdq_sw_msi_abort,
	    TP_PROTO(u32 qid, u32 index, u64 addr, bool gerror),
	    TP_ARGS(qid, index, addr, gerror),
	    TP_STRUCT__entry(__field(u32, qid)
			     __field(u32, index)
			     __field(u64, addr)
			     __field(bool, gerror)),
	    TP_fast_assign(__entry->qid = qid;
			   __entry->index = index;
			   __entry->addr = addr;
			   __entry->gerror = gerror;),
	    TP_printk("q=%u index=0x%x addr=0x%llx gerror=%d", __entry->qid,
		      __entry->index, __entry->addr, __entry->gerror)
);

TRACE_EVENT(vcmdq_sw_handover,
	    TP_PROTO(u32 qid, u32 cons),
	    TP_ARGS(qid, cons),
	    TP_STRUCT__entry(__field(u32, qid)
			     __field(u32, cons)),
	    TP_fast_assign(__entry->qid = qid;
			   __entry->cons = cons;),
	    TP_printk("q=%u cons=0x%x", __entry->qid, __entry->cons)
);

TRACE_EVENT(vcmdq_sw_exit,
	    TP_PROTO(u32 qid, u32 index, u8 op),
	    TP_ARGS(qid, index, op),
	    TP_STRUCT__entry(__field(u32, qid)
			     __field(u32, index)
			     __field(u8, op)),
	    TP_fast_assign(__entry->qid = qid;
			   __entry->index = index;
			   __entry->op = op;),
	    TP_printk("q=%u index=0x%x op=0x%02x", __entry->qid, __entry->index,
		      __entry->op)
);

TRACE_EVENT(vcmdq_sw_error,
	    TP_PROTO(u32 qid, u32 index, u32 cerror, u8 op),
	    TP_ARGS(qid, index, cerror, op),
	    TP_STRUCT__entry(__field(u32, qid)
			     __field(u32, index)
			     __field(u32, cerror)
			     __field(u8, op)),
	    TP_fast_assign(__entry->qid = qid;
			   __entry->index = index;
			   __entry->cerror = cerror;
			   __entry->op = op;),
	    TP_printk("q=%u index=0x%x cerror=%u op=0x%02x", __entry->qid,
		      __entry->index, __entry->cerror, __entry->op)
);

TRACE_EVENT(vcmdq_sw_fault,
	    TP_PROTO(u32 qid, u32 index, u32 type, int err),
	    TP_ARGS(qid, index, type, err),
	    TP_STRUCT__entry(__field(u32, qid)
			     __field(u32, index)
			     __field(u32, type)
			     __field(int, err)),
	    TP_fast_assign(__entry->qid = qid;
			   __entry->index = index;
			   __entry->type = type;
			   __entry->err = err;),
	    TP_printk("q=%u index=0x%x %s err=%d", __entry->qid, __entry->index,
		      __print_symbolic(__entry->type, { 2, "fault" },
				       { 3, "unmapped" }, { 4, "bad_prod" }),
		      __entry->err)
);

#endif /* VCMDQ_SW_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE vcmdq_sw_trace
#include <trace/define_trace.h>
