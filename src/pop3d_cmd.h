/* Pure parser for the command lines a POP3 client sends to mpopd (RFC 1939,
 * RFC 2449 CAPA, RFC 2595 STLS).  It knows each command's argument syntax
 * but not the session: whether a command is allowed in the current state
 * and whether a message number exists are the session's business.  Nothing
 * here allocates, reads a socket or prints. */
#ifndef MPOP_POP3D_CMD_H
#define MPOP_POP3D_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "strparse.h"

/* The longest command line accepted, without its CRLF.  RFC 2449 §4 allows
 * 255 octets including the CRLF; we accept 255 without it. */
#define POP3D_CMD_LINE_MAX 255

/* The largest message number or TOP line count accepted.  A maildir with
 * more mails than this is not served whole anyway (see pop3d_store.h). */
#define POP3D_CMD_NUM_MAX 4294967295UL

enum pop3d_verb {
    POP3D_CMD_USER,
    POP3D_CMD_PASS,
    POP3D_CMD_QUIT,
    POP3D_CMD_STAT,
    POP3D_CMD_LIST,
    POP3D_CMD_RETR,
    POP3D_CMD_DELE,
    POP3D_CMD_NOOP,
    POP3D_CMD_RSET,
    POP3D_CMD_TOP,
    POP3D_CMD_UIDL,
    POP3D_CMD_CAPA,
    POP3D_CMD_STLS,
    POP3D_CMD_COUNT
};

struct pop3d_cmd {
    enum pop3d_verb verb;
    bool has_msn;           /* LIST and UIDL: an argument was given */
    unsigned long msn;      /* 1-based message number, 0 when absent */
    unsigned long lines;    /* TOP: body lines wanted */
    struct span arg;        /* USER: the name; PASS: the whole rest of the
                             * line (RFC 1939 §7: a password may contain
                             * spaces); points into the line */
};

/* Parses one command line (without its line end) into *cmd_r.  The verb is
 * case-blind and separated from each argument by exactly one space.
 * Returns 0, or -1 with *why_r set to a static English sentence suitable
 * for "-ERR <why>" (protocol text, not translated) when:
 *   the line is longer than POP3D_CMD_LINE_MAX or holds a NUL or another
 *   control character (PASS may hold any byte but NUL, CR and LF);
 *   the verb is unknown (*unknown_r is then true, else false);
 *   an argument is missing, extra, or a message number is not a decimal
 *   number in [1, POP3D_CMD_NUM_MAX] (TOP's line count may be 0).
 * unknown_r may be NULL.  cmd_r->arg points into line. */
int pop3d_cmd_parse(const char *line, size_t len, struct pop3d_cmd *cmd_r,
                    bool *unknown_r, const char **why_r);

/* The upper-case name of a verb ("RETR"). */
const char *pop3d_cmd_name(enum pop3d_verb verb);

#endif
