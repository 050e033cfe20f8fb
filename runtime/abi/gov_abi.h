/* The decision ABI: the C interface between a compiled policy's native code
 * (or the IR interpreter) and its callers (govrun, govc eval/test,
 * govverify replay). Plain C so the native code needs no C++ runtime.
 *
 *   int gov_decide(const gov_request* request, gov_decision* decision,
 *                  const gov_helpers* helpers);
 *
 * The function reads only `request` (and the constant data compiled into the
 * code), writes only `decision` and its own stack, allocates nothing, throws
 * nothing, keeps no global state, and is safe to call from many threads at
 * once. It returns the verdict (also stored in decision->verdict).
 * docs/abi.md describes every field. */
#ifndef GOV_ABI_H_
#define GOV_ABI_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 2: gov_request gained invoked_path and invoked_name (how the program was
 * invoked, beside the file that runs). */
/* 3: gov_decision.deciding_count (was `reserved`); an ask lists the
 * matching allow rules after the ask rules and carries merged obligations. */
/* 4: gov_request.program_written_in_session (was reserved[0]): the file
 * that runs, or a script's interpreter, changed during the governed session. */
/* 5: gov_helpers.arg_read (argument grammars). */
#define GOV_ABI_VERSION 5u

/* A byte string (not NUL-terminated). */
typedef struct gov_str {
  const char* data;
  uint64_t size;
} gov_str;

/* A list of byte strings; sets are sorted bytewise and unique. */
typedef struct gov_str_list {
  const gov_str* items;
  uint64_t count;
} gov_str_list;

/* A map of byte strings, sorted bytewise by unique key. */
typedef struct gov_str_map {
  const gov_str* keys;
  const gov_str* values;
  uint64_t count;
} gov_str_map;

/* One declared context field's value (order = the policy's declaration order). */
typedef struct gov_context_value {
  uint8_t present; /* 0: absent (only valid for optional fields) */
  uint8_t reserved[7];
  int64_t number;  /* bool (0/1), int, duration (ms), size (bytes) */
  gov_str text;    /* string, path (normalized), digest */
} gov_context_value;

/* Everything a policy may read about one command. All paths are absolute and
 * lexically normalized by the caller; all strings are UTF-8 or raw bytes. */
typedef struct gov_request {
  uint32_t abi_version; /* GOV_ABI_VERSION */
  uint32_t context_count;
  gov_str program_path; /* the file that runs: canonical, symlinks resolved */
  gov_str program_name;
  gov_str program_sha256; /* "sha256:" + 64 lower-case hex digits */
  gov_str invoked_path;   /* how it was invoked: the PATH candidate or the name
                           * given, absolute, before symlinks are resolved */
  gov_str invoked_name;   /* last segment of invoked_path */
  gov_str_list args;      /* argv[1..] */
  gov_str argv0;
  gov_str_map env;
  gov_str cwd;
  gov_str user_name;
  int64_t user_uid;
  int64_t user_gid;
  gov_str_list user_groups; /* sorted, unique */
  gov_str host_name;
  int64_t time_unix;
  int64_t time_hour;
  int64_t time_minute;
  gov_str time_weekday; /* "mon".."sun" */
  gov_str time_date;    /* "YYYY-MM-DD" */
  uint8_t has_parent;
  uint8_t program_written_in_session; /* 1: the file that runs (or a script's
                                       * interpreter) changed during the
                                       * governed session; 0 outside one */
  uint8_t reserved[6];
  gov_str parent_run_id;
  int64_t parent_depth;
  gov_str parent_program;
  const gov_context_value* context; /* context_count entries */
} gov_request;

enum gov_verdict { GOV_ALLOW = 0, GOV_DENY = 1, GOV_ASK = 2 };

enum gov_error {
  GOV_OK = 0,
  GOV_ERR_OVERFLOW = 1,       /* integer overflow in a rule */
  GOV_ERR_DIVISION = 2,       /* division or remainder by zero in a rule */
  GOV_ERR_SCRATCH = 3,        /* a rule needed more scratch memory than a decision has */
  GOV_ERR_BAD_REQUEST = 4,    /* abi_version or context_count does not match the policy */
  GOV_ERR_TOO_MANY_RULES = 5, /* rules[] would need more than GOV_MAX_DECIDING_RULES ids */
  GOV_ERR_INTERNAL = 6,       /* a malformed policy reached evaluation */
};

enum gov_network { GOV_NET_UNSET = 0, GOV_NET_NONE = 1, GOV_NET_LOOPBACK = 2, GOV_NET_ANY = 3 };

#define GOV_MAX_DECIDING_RULES 256u
/* Scratch bytes a decision may use for strings it builds (see docs/ir.md). */
#define GOV_SCRATCH_BYTES 65536u
#define GOV_NO_RULE 0xffffffffu

/* The outcome. rules[0..deciding_count) are the deciding rules: for allow
 * every matching allow rule; for ask every matching ask rule; for deny every
 * matching deny rule (none when no rule allowed: default deny); for an error
 * the erring rule. For ask only, rules[deciding_count..rule_count) then list
 * every matching allow rule: an approved ask runs under the obligations of
 * all of rules[0..rule_count). For every other decision deciding_count ==
 * rule_count. Ids ascend within each part. Only rules[0..rule_count) are
 * written; later entries are unspecified. */
typedef struct gov_decision {
  uint32_t verdict;    /* gov_verdict */
  uint32_t error;      /* gov_error; non-zero implies verdict == GOV_DENY */
  uint32_t error_rule; /* the rule whose evaluation failed, or GOV_NO_RULE */
  uint32_t rule_count; /* valid entries in rules, <= GOV_MAX_DECIDING_RULES */
  uint32_t rules[GOV_MAX_DECIDING_RULES];
  /* Scalar obligations merged over the obligation rules of an allow or an
   * ask (rules[0..rule_count)) — most restrictive: minimum of set limits,
   * the narrowest network. 0 / UNSET when no such rule sets them and for a
   * deny. Path and variable lists are merged by the runtime from
   * the rules' obligations (see docs/abi.md). */
  int64_t timeout_ms;
  int64_t memory_bytes;
  int64_t processes;
  uint32_t network;        /* gov_network */
  uint32_t deciding_count; /* rules[0..deciding_count) decided the verdict */
} gov_decision;

/* Runtime helpers the native code may call (the only external code it may
 * use); passed by pointer so the code has no unresolved symbols. */
typedef struct gov_helpers {
  uint32_t abi_version;
  uint32_t reserved;
  /* Whole-string DFA match of `text` against pattern `pattern_index` of the policy. */
  int (*match)(const void* policy_data, uint32_t pattern_index, const char* text, uint64_t size);
  /* Lexical path operations into a caller-provided scratch buffer; return
   * the length written or -1 when `capacity` is too small. */
  int64_t (*path_join)(const char* a, uint64_t a_size, const char* b, uint64_t b_size, char* out, uint64_t capacity);
  int (*path_under)(const char* path, uint64_t path_size, const char* root, uint64_t root_size);
  /* Appended for native code: the one-operand lexical path operation `op`
   * (gov_path_op) of `a`, written like path_join. */
  int64_t (*path_unary)(uint32_t op, const char* a, uint64_t a_size, char* out, uint64_t capacity);
  /* Appended in ABI 5: reads the list items[0..count) under the command table
   * (`table_size` bytes: one entry of the IR's commands section), path values
   * resolved against cwd, and stores in *result what `what` (gov_arg_read)
   * asks for of field `field` (docs/ir.md "Argument grammars"). Strings and
   * lists are written into out[0..capacity) as the interpreter lays them out
   * in its scratch arena; returns the bytes used, -1 when they do not fit,
   * -2 when the table is malformed. */
  int64_t (*arg_read)(const char* table, uint64_t table_size, uint32_t what, uint32_t field, const gov_str* items,
                      uint64_t count, const char* cwd, uint64_t cwd_size, char* out, uint64_t capacity,
                      struct gov_arg_result* result);
} gov_helpers;

/* What gov_helpers.arg_read computes (the IR ops kArgParses, kArgField, kArgSubcommand). */
enum gov_arg_read { GOV_ARG_PARSES = 0, GOV_ARG_FIELD = 1, GOV_ARG_SUBCOMMAND = 2 };

/* arg_read's answer: `present` (0: absent); bool and int values, and a
 * list's item count, in `number`; a string's bytes, or a list's items
 * (gov_str or int64_t array), in `data` (`size` bytes for a string). */
typedef struct gov_arg_result {
  uint8_t present;
  uint8_t reserved[7];
  int64_t number;
  const void* data;
  uint64_t size;
} gov_arg_result;

/* Operations of gov_helpers.path_unary (runtime/support/path.h semantics). */
enum gov_path_op {
  GOV_PATH_NORMALIZE = 0, /* Normalize (IR kToPath) */
  GOV_PATH_NAME = 1,      /* BaseName (kPathName) */
  GOV_PATH_PARENT = 2,    /* DirName (kPathParent) */
  GOV_PATH_EXT = 3,       /* Extension (kPathExt) */
};

typedef uint32_t (*gov_decide_fn)(const gov_request* request, gov_decision* decision, const gov_helpers* helpers);

#ifdef __cplusplus
}
#endif

#endif /* GOV_ABI_H_ */
