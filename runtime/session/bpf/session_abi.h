/* The kernel binding of a governed session (kernel mechanism): the records
 * that govrun and the BPF programs of session.bpf.c exchange through maps and
 * the ring buffer. C, shared by both sides; docs/govrun.md "Sessions". */
#ifndef GOV_SESSION_BPF_ABI_H
#define GOV_SESSION_BPF_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Per-session secrets and settings (array map, one entry). */
struct gov_session_config {
	__u64 key0, key1; /* SipHash-2-4 key: the tree can read neither maps nor govrun */
	/* A file whose ctime is at or after this (seconds, realtime) was written in
	 * the session: mapping it executable kills the mapping process. ~0: not yet. */
	__s64 written_since;
};

/* What govrun authorized one exec to become, keyed by the calling thread id:
 * the file the kernel must load (kernel dev_t: major << 20 | minor) and the
 * new image's argv and envp strings (count, bytes, keyed hash). */
struct gov_session_auth {
	__u64 run;
	__u64 dev, ino;
	__s64 size;
	__s64 ctime_sec, mtime_sec;
	__u32 ctime_nsec, mtime_nsec;
	__u32 argc, envc;
	__u64 len;
	__u64 hash;
};

/* Event types (ring buffer). */
#define GOV_SESSION_EXEC 1 /* an authorized image was bound: it runs */
#define GOV_SESSION_KILL 2 /* an image did not match its authorization: killed before it ran */
#define GOV_SESSION_FORK 3 /* a task (process or thread) of the session was created */
#define GOV_SESSION_EXIT 4 /* a task of the session ended (flags: GOV_SESSION_GROUP_DEAD) */
#define GOV_SESSION_EXEC_MEMORY 5 /* a task mapped a file written in the session executable: killed */

#define GOV_SESSION_GROUP_DEAD 1

/* Why an image was killed (GOV_SESSION_KILL). */
#define GOV_SESSION_NO_AUTHORIZATION 1
#define GOV_SESSION_OTHER_FILE 2
#define GOV_SESSION_WRITERS 3
#define GOV_SESSION_COUNTS 4
#define GOV_SESSION_LENGTH 5
#define GOV_SESSION_HASH 6
#define GOV_SESSION_UNREADABLE 7

struct gov_session_event {
	__u32 type;
	__u32 detail;    /* KILL: reason; EXIT: flags */
	__u32 pid, tgid; /* the task (EXEC: after the exec) */
	__u32 other;     /* EXEC, KILL: the thread that called exec; FORK: the parent task */
	__s32 status;    /* EXIT: wait status */
	__u64 run;       /* the run the task belongs to (EXEC, KILL: the authorized run) */
	__u64 time_ns;   /* CLOCK_MONOTONIC */
	__u64 user_ns, system_ns, max_rss_kib; /* EXIT with GROUP_DEAD */
	__u64 file_dev, file_ino;              /* EXEC_MEMORY: the file (kernel dev_t) */
};

#endif
