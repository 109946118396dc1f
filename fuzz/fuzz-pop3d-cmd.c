/* Fuzz target: mpopd's command parser (pop3d_cmd_parse, pop3d_cmd_name).
 * The input is one command line without its line end, as a client sends
 * it. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "pop3d_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    struct pop3d_cmd cmd;
    const char *why = NULL, *name;
    bool unknown = false;
    size_t i;

    memset(&cmd, 0, sizeof cmd);
    if (pop3d_cmd_parse(line, size, &cmd, &unknown, &why) != 0) {
        FUZZ_CHECK(why != NULL && strlen(why) > 0);
        /* It goes into "-ERR <why>": no line end, no control character. */
        for (i = 0; why[i]; i++)
            FUZZ_CHECK((unsigned char)why[i] >= 0x20);
        (void)pop3d_cmd_parse(line, size, &cmd, NULL, &why);
        return 0;
    }
    FUZZ_CHECK(!unknown);
    FUZZ_CHECK(size <= POP3D_CMD_LINE_MAX);
    FUZZ_CHECK(memchr(line, '\0', size) == NULL);
    FUZZ_CHECK((unsigned)cmd.verb < POP3D_CMD_COUNT);
    name = pop3d_cmd_name(cmd.verb);
    FUZZ_CHECK(name != NULL && (strlen(name) == 3 || strlen(name) == 4));
    FUZZ_CHECK(size >= strlen(name)
               && strncasecmp(line, name, strlen(name)) == 0);
    FUZZ_CHECK(fuzz_inside(line, size, cmd.arg.p, cmd.arg.len));
    (void)fuzz_touch(cmd.arg.p, cmd.arg.len);
    switch (cmd.verb) {
    case POP3D_CMD_RETR:
    case POP3D_CMD_DELE:
    case POP3D_CMD_TOP:
        FUZZ_CHECK(cmd.msn >= 1 && cmd.msn <= POP3D_CMD_NUM_MAX);
        break;
    case POP3D_CMD_LIST:
    case POP3D_CMD_UIDL:
        FUZZ_CHECK(cmd.has_msn ? cmd.msn >= 1 : cmd.msn == 0);
        break;
    case POP3D_CMD_PASS:
        for (i = 0; i < cmd.arg.len; i++)
            FUZZ_CHECK(cmd.arg.p[i] != '\0' && cmd.arg.p[i] != '\r'
                       && cmd.arg.p[i] != '\n');
        break;
    default:
        break;
    }
    return 0;
}
