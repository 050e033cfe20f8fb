/* The kernel binding of a governed session (kernel mechanism, docs/govrun.md
 * "Sessions"). No BPF LSM and no trampolines are needed: tracepoints with BTF,
 * task storage, a ring buffer and bpf_loop (Linux 5.17+).
 *
 *   membership  task storage: govrun marks the session's root by pidfd before it
 *               may run; sched_process_fork copies the mark to every new task
 *               (process or thread) before it is woken, so no task of the tree
 *               ever runs unmarked, and nothing the tree does removes a mark.
 *   binding     sched_process_exec runs after the binary loader succeeded and
 *               before the new image's first instruction. The exec'ing thread's
 *               authorization (written by govrun when it answered the seccomp
 *               notification) must match the file the kernel loaded and the new
 *               image's own argv and envp bytes (keyed SipHash-2-4); otherwise,
 *               or without an authorization, the task is killed right there.
 *   memory      sys_enter of mmap, mprotect and pkey_mprotect: a task of the tree
 *               that asks for executable memory backed by a file written in the
 *               session (ctime at or after its start) is killed there, before the
 *               call returns, and govrun is told (drift).
 *   events      fork, exec, kill, exit and memory events for govrun's records. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "session_abi.h"

#define GOV_SIGKILL 9
#define GOV_CHUNK 4096
#define GOV_WAKE_AT (256 * 1024)

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct gov_mark {
	__u64 run;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct gov_mark);
} gov_marks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct gov_session_auth);
} gov_auths SEC(".maps");

struct gov_scratch {
	__u64 words[GOV_CHUNK / 8];
};

/* Per task, not per CPU: a preempted program must not share its buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct gov_scratch);
} gov_scratches SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gov_session_config);
} gov_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} gov_events SEC(".maps");

/* The session's seccomp filter, learnt at the root's exec: a task whose filter
 * chain holds it belongs to the session even without a mark (its storage could
 * not be allocated at fork) and is killed at its exec (fail closed). */
__u64 gov_session_filter;

/* Inode times: 6.11+ split fields, 6.6-6.10 __i_ctime, before that i_ctime. */
struct inode___split {
	time64_t i_ctime_sec, i_mtime_sec;
	__u32 i_ctime_nsec, i_mtime_nsec;
} __attribute__((preserve_access_index));
struct timespec64___old {
	__s64 tv_sec;
	long tv_nsec;
} __attribute__((preserve_access_index));
struct inode___private_ctime {
	struct timespec64___old __i_ctime;
	struct timespec64___old i_mtime;
} __attribute__((preserve_access_index));
struct inode___old {
	struct timespec64___old i_ctime;
	struct timespec64___old i_mtime;
} __attribute__((preserve_access_index));

static __always_inline void gov_times(struct inode *inode, __s64 *ctime_sec, __u32 *ctime_nsec, __s64 *mtime_sec,
				      __u32 *mtime_nsec)
{
	if (bpf_core_field_exists(((struct inode___split *)0)->i_ctime_sec)) {
		struct inode___split *split = (void *)inode;
		*ctime_sec = BPF_CORE_READ(split, i_ctime_sec);
		/* 6.13+: bit 31 is I_CTIME_QUERIED, not time */
		*ctime_nsec = BPF_CORE_READ(split, i_ctime_nsec) & ~(1U << 31);
		*mtime_sec = BPF_CORE_READ(split, i_mtime_sec);
		*mtime_nsec = BPF_CORE_READ(split, i_mtime_nsec);
	} else if (bpf_core_field_exists(((struct inode___private_ctime *)0)->__i_ctime)) {
		struct inode___private_ctime *private_ctime = (void *)inode;
		*ctime_sec = BPF_CORE_READ(private_ctime, __i_ctime.tv_sec);
		*ctime_nsec = BPF_CORE_READ(private_ctime, __i_ctime.tv_nsec);
		*mtime_sec = BPF_CORE_READ(private_ctime, i_mtime.tv_sec);
		*mtime_nsec = BPF_CORE_READ(private_ctime, i_mtime.tv_nsec);
	} else {
		struct inode___old *old = (void *)inode;
		*ctime_sec = BPF_CORE_READ(old, i_ctime.tv_sec);
		*ctime_nsec = BPF_CORE_READ(old, i_ctime.tv_nsec);
		*mtime_sec = BPF_CORE_READ(old, i_mtime.tv_sec);
		*mtime_nsec = BPF_CORE_READ(old, i_mtime.tv_nsec);
	}
}

static __always_inline struct gov_session_event *gov_emit(__u32 type, __u32 detail, struct task_struct *task,
							  __u32 other, __u64 run, __s32 status, __u64 file_dev,
							  __u64 file_ino)
{
	struct gov_session_event *event = bpf_ringbuf_reserve(&gov_events, sizeof(*event), 0);
	__u64 wake;
	if (!event)
		return 0; /* govrun notices lost events: an unknown task's exec is denied */
	__builtin_memset(event, 0, sizeof(*event));
	event->type = type;
	event->detail = detail;
	event->pid = BPF_CORE_READ(task, pid);
	event->tgid = BPF_CORE_READ(task, tgid);
	event->other = other;
	event->status = status;
	event->run = run;
	event->time_ns = bpf_ktime_get_ns();
	event->file_dev = file_dev;
	event->file_ino = file_ino;
	if (type == GOV_SESSION_EXIT && (detail & GOV_SESSION_GROUP_DEAD)) {
		event->user_ns = BPF_CORE_READ(task, utime) + BPF_CORE_READ(task, signal, utime);
		event->system_ns = BPF_CORE_READ(task, stime) + BPF_CORE_READ(task, signal, stime);
		event->max_rss_kib = BPF_CORE_READ(task, signal, maxrss) * 4;
	}
	/* Kills wake govrun at once; the rest is read at its next notification
	 * or poll timeout, unless the buffer fills up. */
	wake = type == GOV_SESSION_KILL || type == GOV_SESSION_EXEC_MEMORY || bpf_ringbuf_query(&gov_events, BPF_RB_AVAIL_DATA) > GOV_WAKE_AT ?
		       BPF_RB_FORCE_WAKEUP :
		       BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(event, wake);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(gov_fork, struct task_struct *parent, struct task_struct *child)
{
	struct gov_mark *mark = bpf_task_storage_get(&gov_marks, parent, 0, 0), *copy;
	if (!mark)
		return 0;
	copy = bpf_task_storage_get(&gov_marks, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (copy)
		copy->run = mark->run;
	gov_emit(GOV_SESSION_FORK, 0, child, parent->pid, mark->run, 0, 0, 0);
	return 0;
}

static __always_inline int gov_in_session_filter(struct task_struct *task)
{
	struct seccomp_filter *filter = task->seccomp.filter;
	int i;
	if (!gov_session_filter)
		return 0;
#pragma clang loop unroll(full)
	for (i = 0; i < 16; i++) {
		if (!filter)
			return 0;
		if ((__u64)filter == gov_session_filter)
			return 1;
		filter = filter->prev;
	}
	return 1; /* more than 16 stacked filters: treated as governed (fail closed) */
}

#define GOV_ROTL(x, b) (__u64)(((x) << (b)) | ((x) >> (64 - (b))))
#define GOV_SIPROUND                                                                                    \
	do {                                                                                            \
		v0 += v1; v1 = GOV_ROTL(v1, 13); v1 ^= v0; v0 = GOV_ROTL(v0, 32);                     \
		v2 += v3; v3 = GOV_ROTL(v3, 16); v3 ^= v2;                                              \
		v0 += v3; v3 = GOV_ROTL(v3, 21); v3 ^= v0;                                              \
		v2 += v1; v1 = GOV_ROTL(v1, 17); v1 ^= v2; v2 = GOV_ROTL(v2, 32);                     \
	} while (0)

struct gov_hash_state {
	__u64 v0, v1, v2, v3;
	__u64 address, len;
	int error;
};

/* One 64-bit word per call (a loop whose bound depends on the length would
 * multiply the verifier's states); a 4 KiB chunk is read every 512 words. */
static long gov_hash_word(__u32 index, struct gov_hash_state *state)
{
	struct gov_scratch *scratch = bpf_task_storage_get(&gov_scratches, bpf_get_current_task_btf(), 0, 0);
	__u64 v0 = state->v0, v1 = state->v1, v2 = state->v2, v3 = state->v3, word;
	__u32 slot = index & (GOV_CHUNK / 8 - 1);
	if (!scratch) {
		state->error = 1;
		return 1;
	}
	if (slot == 0) {
		__u64 offset = (__u64)index * 8, size = state->len - offset;
		if (size > GOV_CHUNK)
			size = GOV_CHUNK;
		if (size < 8 || bpf_probe_read_user(scratch->words, size, (const void *)(state->address + offset))) {
			state->error = 2;
			return 1;
		}
	}
	word = scratch->words[slot];
	v3 ^= word;
	GOV_SIPROUND;
	GOV_SIPROUND;
	v0 ^= word;
	state->v0 = v0;
	state->v1 = v1;
	state->v2 = v2;
	state->v3 = v3;
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(gov_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0, caller = old_pid, reason = 0;
	struct gov_session_config *config = bpf_map_lookup_elem(&gov_config, &zero);
	struct gov_mark *mark = bpf_task_storage_get(&gov_marks, task, 0, 0);
	struct gov_session_auth *auth;
	struct gov_hash_state state = {};
	struct inode *inode;
	struct mm_struct *mm;
	__u64 v0, v1, v2, v3, last, hash, len, tail, run = 0;
	__s64 ctime_sec, mtime_sec;
	__u32 ctime_nsec, mtime_nsec;
	if (!config)
		return 0;
	if (!mark) {
		if (!gov_in_session_filter(task))
			return 0; /* not a task of the session */
		reason = GOV_SESSION_NO_AUTHORIZATION;
		goto kill;
	}
	if (!gov_session_filter)
		gov_session_filter = (__u64)task->seccomp.filter; /* the root's exec */
	auth = bpf_map_lookup_elem(&gov_auths, &caller);
	if (!auth) {
		reason = GOV_SESSION_NO_AUTHORIZATION;
		goto kill;
	}
	run = auth->run;
	inode = bprm->file->f_inode;
	gov_times(inode, &ctime_sec, &ctime_nsec, &mtime_sec, &mtime_nsec);
	if (inode->i_sb->s_dev != auth->dev || inode->i_ino != auth->ino || inode->i_size != auth->size ||
	    ctime_sec != auth->ctime_sec || ctime_nsec != auth->ctime_nsec || mtime_sec != auth->mtime_sec ||
	    mtime_nsec != auth->mtime_nsec) {
		reason = GOV_SESSION_OTHER_FILE;
		goto kill_consumed;
	}
	if (inode->i_writecount.counter > 0) {
		reason = GOV_SESSION_WRITERS;
		goto kill_consumed;
	}
	if ((__u32)bprm->argc != auth->argc || (__u32)bprm->envc != auth->envc) {
		reason = GOV_SESSION_COUNTS;
		goto kill_consumed;
	}
	mm = task->mm;
	len = mm->env_end - mm->arg_start; /* argv strings then envp strings, contiguous */
	if (len != auth->len || len > (6 << 20)) {
		reason = GOV_SESSION_LENGTH;
		goto kill_consumed;
	}
	state.v0 = config->key0 ^ 0x736f6d6570736575ULL;
	state.v1 = config->key1 ^ 0x646f72616e646f6dULL;
	state.v2 = config->key0 ^ 0x6c7967656e657261ULL;
	state.v3 = config->key1 ^ 0x7465646279746573ULL;
	state.address = mm->arg_start;
	state.len = len;
	if (!bpf_task_storage_get(&gov_scratches, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE)) {
		reason = GOV_SESSION_UNREADABLE;
		goto kill_consumed;
	}
	if (len / 8)
		bpf_loop(len / 8, gov_hash_word, &state, 0);
	bpf_task_storage_delete(&gov_scratches, task);
	tail = 0;
	if (len & 7) { /* the stack's top 8 bytes are reserved: an 8-byte read here stays mapped */
		if (bpf_probe_read_user(&tail, 8, (const void *)(state.address + (len & ~7ULL))))
			state.error = 3;
		tail &= (1ULL << (8 * (len & 7))) - 1;
	}
	if (state.error) {
		reason = GOV_SESSION_UNREADABLE;
		goto kill_consumed;
	}
	v0 = state.v0;
	v1 = state.v1;
	v2 = state.v2;
	v3 = state.v3;
	last = (len << 56) | tail;
	v3 ^= last;
	GOV_SIPROUND;
	GOV_SIPROUND;
	v0 ^= last;
	v2 ^= 0xff;
	GOV_SIPROUND;
	GOV_SIPROUND;
	GOV_SIPROUND;
	GOV_SIPROUND;
	hash = v0 ^ v1 ^ v2 ^ v3;
	if (hash != auth->hash) {
		reason = GOV_SESSION_HASH;
		goto kill_consumed;
	}
	bpf_map_delete_elem(&gov_auths, &caller); /* one authorization, one exec */
	mark->run = run;
	gov_emit(GOV_SESSION_EXEC, 0, task, caller, run, 0, 0, 0);
	return 0;
kill_consumed:
	bpf_map_delete_elem(&gov_auths, &caller);
	mark->run = run; /* its exit ends the run that was killed */
kill:
	/* current is the exec'ing task: the signal is delivered before the first instruction */
	bpf_send_signal(GOV_SIGKILL);
	gov_emit(GOV_SESSION_KILL, reason, task, caller, run, 0, 0, 0);
	return 0;
}

static __always_inline void gov_exited(struct task_struct *task, bool group_dead)
{
	struct gov_mark *mark = bpf_task_storage_get(&gov_marks, task, 0, 0);
	if (!mark)
		return;
	gov_emit(GOV_SESSION_EXIT, group_dead ? GOV_SESSION_GROUP_DEAD : 0, task, 0, mark->run,
		 BPF_CORE_READ(task, exit_code), 0, 0);
}

/* Linux 6.x: (task, group_dead). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(gov_exit, struct task_struct *task, bool group_dead)
{
	gov_exited(task, group_dead);
	return 0;
}

/* Older kernels: (task) only; the group is dead when no live thread is left. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(gov_exit_one_argument, struct task_struct *task)
{
	gov_exited(task, BPF_CORE_READ(task, signal, live.counter) == 0);
	return 0;
}

/* Executable memory from a file written in the session. */
#define GOV_NR_MMAP 9
#define GOV_NR_MPROTECT 10
#define GOV_NR_PKEY_MPROTECT 329
#define GOV_PROT_EXEC 4
#define GOV_MAP_ANONYMOUS 0x20

struct gov_vma_file {
	struct file *file;
};

static long gov_vma_file(struct task_struct *task, struct vm_area_struct *vma, struct gov_vma_file *found)
{
	found->file = vma->vm_file;
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(gov_sys_enter, struct pt_regs *regs, long id)
{
	__u32 zero = 0;
	struct task_struct *task;
	struct gov_mark *mark;
	struct gov_session_config *config;
	struct gov_vma_file found = {};
	struct file *file = 0;
	struct inode *inode;
	__s64 ctime_sec, mtime_sec;
	__u32 ctime_nsec, mtime_nsec;
	if (id != GOV_NR_MMAP && id != GOV_NR_MPROTECT && id != GOV_NR_PKEY_MPROTECT)
		return 0;
	if (!(regs->dx & GOV_PROT_EXEC))
		return 0;
	task = bpf_get_current_task_btf();
	mark = bpf_task_storage_get(&gov_marks, task, 0, 0);
	config = bpf_map_lookup_elem(&gov_config, &zero);
	if (!mark || !config)
		return 0;
	if (id == GOV_NR_MMAP) {
		int fd = (int)regs->r8;
		struct fdtable *fdt;
		struct file **files;
		if ((regs->r10 & GOV_MAP_ANONYMOUS) || fd < 0)
			return 0;
		fdt = BPF_CORE_READ(task, files, fdt);
		if (!fdt || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
			return 0;
		files = BPF_CORE_READ(fdt, fd);
		if (bpf_probe_read_kernel(&file, sizeof(file), &files[fd]))
			return 0;
	} else {
		if (bpf_find_vma(task, regs->di, gov_vma_file, &found, 0))
			return 0; /* no mapping there: the call fails */
		file = found.file;
	}
	if (!file)
		return 0; /* anonymous memory is not a file's code */
	inode = BPF_CORE_READ(file, f_inode);
	if (BPF_CORE_READ(inode, __i_nlink) == 0)
		return 0; /* a memfd, O_TMPFILE or removed file: code nobody can name, like a JIT's */
	gov_times(inode, &ctime_sec, &ctime_nsec, &mtime_sec, &mtime_nsec);
	if (ctime_sec < config->written_since)
		return 0;
	bpf_send_signal(GOV_SIGKILL); /* the task dies before the call returns to its code */
	gov_emit(GOV_SESSION_EXEC_MEMORY, 0, task, 0, mark->run, 0, BPF_CORE_READ(inode, i_sb, s_dev),
		 BPF_CORE_READ(inode, i_ino));
	return 0;
}
