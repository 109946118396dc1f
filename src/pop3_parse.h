/* Pure parsers of what a POP3 server says: status lines with RFC 2449 /
 * RFC 3206 response codes, the greeting and its APOP timestamp, CAPA lines,
 * the STAT reply, and LIST / UIDL lines.
 *
 * Everything here works on one line (without its line end) received from an
 * untrusted peer.  Nothing allocates, prints or touches a socket.  Each
 * function returns 0 on success, or -1 and sets *why_r to a static,
 * untranslated English reason (for --debug and for error messages, wrapped
 * in a translated sentence by the caller).  Spans point into the line given
 * and are valid as long as that line is. */
#ifndef MPOP_POP3_PARSE_H
#define MPOP_POP3_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "strparse.h"

/* Limits on what a server may claim.  A count above POP3_MSGS_MAX is
 * refused before anything is allocated for it: one million messages cost
 * about 100 MB of UIDs and sizes, which is the most we are willing to spend;
 * no real maildrop that anybody fetches over POP3 is that large. */
#define POP3_MSGS_MAX 1000000UL
/* Message and maildrop sizes: anything up to 2^62 fits every sum we make
 * without overflow in a long long. */
#define POP3_SIZE_MAX (1ULL << 62)
/* RFC 1939 §7: a unique-id is 1 to 70 characters 0x21..0x7E. */
#define POP3_UID_MAX 70
/* The APOP timestamp, brackets included.  RFC 1939 does not bound it; a
 * msg-id of a real server is well below 100 bytes. */
#define POP3_TIMESTAMP_MAX 256
/* IMPLEMENTATION text and the SASL mechanism list, as stored in pop3_caps. */
#define POP3_IMPL_MAX 256
#define POP3_SASL_MAX 512
/* Durations in CAPA (LOGIN-DELAY, EXPIRE), in seconds or days. */
#define POP3_CAPA_NUM_MAX 2147483647ULL

enum pop3_status_kind {
    POP3_OK,            /* "+OK" */
    POP3_ERR,           /* "-ERR" */
    POP3_CONT           /* "+" or "+ text": a SASL continuation (RFC 5034) */
};

/* RFC 2449 §8 and RFC 3206.  A code the table does not know is
 * POP3_RC_UNKNOWN and means nothing more than a plain -ERR. */
enum pop3_resp_code {
    POP3_RC_NONE = 0,
    POP3_RC_IN_USE,         /* [IN-USE]: the maildrop is locked */
    POP3_RC_LOGIN_DELAY,    /* [LOGIN-DELAY]: logged in too recently */
    POP3_RC_SYS_TEMP,       /* [SYS/TEMP]: temporary system problem */
    POP3_RC_SYS_PERM,       /* [SYS/PERM]: permanent system problem */
    POP3_RC_AUTH,           /* [AUTH]: the credentials are wrong */
    POP3_RC_UNKNOWN
};

struct pop3_status {
    enum pop3_status_kind kind;
    enum pop3_resp_code code;
    struct span code_text;  /* inside the brackets; len 0 without a code */
    struct span text;       /* the text after the status and the code */
};

/* Parses a status line: "+OK", "+OK text", "-ERR", "-ERR [CODE] text",
 * "+" and "+ text".  The status word must be exact (RFC 1939 §3: upper
 * case, then a space or the end).  A bracket that does not form a valid
 * RFC 2449 code (1*(ALPHA / DIGIT / "-") levels separated by "/") is text.
 * Hierarchical codes match their first known levels, as RFC 2449 §8 asks:
 * [SYS/TEMP/QUOTA] is POP3_RC_SYS_TEMP, [AUTH/X] is POP3_RC_AUTH. */
int pop3_parse_status(const char *line, size_t len, struct pop3_status *st_r,
                      const char **why_r);

/* The code's name, e.g. "IN-USE", or NULL for NONE and UNKNOWN. */
const char *pop3_resp_code_name(enum pop3_resp_code c);

struct pop3_greeting {
    struct span text;       /* everything after "+OK " */
    struct span timestamp;  /* the APOP timestamp with its brackets, or
                             * len 0 when there is none or it is invalid */
    const char *timestamp_why;  /* NULL, or why a '<' ... did not make a
                                 * valid timestamp (APOP then unavailable) */
};

/* Parses the greeting line.  -ERR is parsed too (g->text is its text) but
 * returns -1 ("the server refused the connection"); a line that is no
 * status line returns -1.
 * The APOP timestamp (RFC 1939 §7) is accepted only in this strict form:
 * exactly one '<' and one '>' in the whole greeting, '<' before '>', and
 * between them 1..POP3_TIMESTAMP_MAX-2 printable ASCII characters (0x21 to
 * 0x7E, no space) with exactly one '@' that is neither first nor last.
 * Anything else leaves the timestamp empty and says why. */
int pop3_parse_greeting(const char *line, size_t len,
                        struct pop3_greeting *g_r, const char **why_r);

/* Capability flags (RFC 2449 §6). */
enum {
    POP3_CAP_TOP            = 1 << 0,
    POP3_CAP_USER           = 1 << 1,
    POP3_CAP_SASL           = 1 << 2,
    POP3_CAP_RESP_CODES     = 1 << 3,
    POP3_CAP_AUTH_RESP_CODE = 1 << 4,
    POP3_CAP_LOGIN_DELAY    = 1 << 5,
    POP3_CAP_PIPELINING     = 1 << 6,
    POP3_CAP_EXPIRE         = 1 << 7,
    POP3_CAP_UIDL           = 1 << 8,
    POP3_CAP_IMPLEMENTATION = 1 << 9,
    POP3_CAP_STLS           = 1 << 10
};

#define POP3_EXPIRE_NEVER (-2LL)

/* What CAPA said.  Filled line by line; pop3_caps_init() first.  The
 * strings are copies (bounded, NUL-terminated, raw server text: quote them
 * with log_quote() before showing them). */
struct pop3_caps {
    unsigned flags;             /* POP3_CAP_* */
    long long login_delay;      /* seconds; -1 if not announced */
    bool login_delay_user;      /* "LOGIN-DELAY n USER" (per user) */
    long long expire;           /* days, POP3_EXPIRE_NEVER, or -1 */
    bool expire_user;           /* "EXPIRE n USER" */
    char implementation[POP3_IMPL_MAX];
    char sasl[POP3_SASL_MAX];   /* mechanisms, upper case as sent,
                                 * separated by one space */
};

void pop3_caps_init(struct pop3_caps *c);

/* Adds one line of a CAPA listing (after the "+OK", before the "."; dot
 * unstuffing already done) to c.  Capability names are case-insensitive.
 * Unknown capabilities are ignored (RFC 2449 §5).  Errors: a known
 * capability with bad arguments (LOGIN-DELAY without a number, EXPIRE x,
 * SASL mechanism names with characters outside RFC 4422's set, arguments
 * after a capability that takes none), control characters, an over-long
 * IMPLEMENTATION or SASL list. */
int pop3_parse_capa_line(const char *line, size_t len, struct pop3_caps *c,
                         const char **why_r);

/* Is the mechanism (case-insensitive) in c->sasl? */
bool pop3_caps_has_sasl(const struct pop3_caps *c, const char *mech);

/* The text of a +OK STAT reply: "nn mm", optionally followed by a space
 * and anything.  nn <= POP3_MSGS_MAX, mm <= POP3_SIZE_MAX. */
int pop3_parse_stat(const char *text, size_t len, unsigned long *n_r,
                    unsigned long long *total_r, const char **why_r);

/* One scan listing: "msn size", optionally followed by a space and anything
 * (RFC 1939 §5 leaves what follows the size open).  Used both for the
 * lines of a multi-line LIST and for the text of "+OK msn size".  msn must
 * be in 1..nmsgs; size <= POP3_SIZE_MAX. */
int pop3_parse_list_line(const char *line, size_t len, unsigned long nmsgs,
                         unsigned long *msn_r, unsigned long long *size_r,
                         const char **why_r);

/* One unique-id listing: "msn uid" (RFC 1939 §7).  msn in 1..nmsgs; the
 * UID is 1..POP3_UID_MAX characters 0x21..0x7E and is the rest of the
 * line.  *uid_r points into line. */
int pop3_parse_uidl_line(const char *line, size_t len, unsigned long nmsgs,
                         unsigned long *msn_r, struct span *uid_r,
                         const char **why_r);

#endif
