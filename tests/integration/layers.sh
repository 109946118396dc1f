#!/bin/bash
# The module map in doc/HACKING is true (scripts/check-layers): every file
# of src/ is in it, no include points up a layer, pure parsers stay pure.
# And the check can fail: a copy of the tree with an upward include, an
# unmapped file and an impure parser must be refused, each by name.
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"

plan 6

check=$top_srcdir/scripts/check-layers
out=$("$check" "$top_srcdir" 2>&1)
rc=$?
is "$rc" 0 "the tree follows doc/HACKING"
[ "$rc" -eq 0 ] || diag "$out"

mkdir -p "$T/tree/src" "$T/tree/doc"
cp "$top_srcdir"/doc/HACKING "$T/tree/doc/"
cp "$top_srcdir"/src/*.[ch] "$T/tree/src/"
# transport -> mail
printf '#include "account.h"\n' >>"$T/tree/src/tls.h"
# a new module nobody mapped
printf '#include "new_module.h"\n' >"$T/tree/src/new_module.c"
printf '/* nothing */\n' >"$T/tree/src/new_module.h"
# a pure parser that allocates
printf '#include "xalloc.h"\n#include <stdio.h>\n' >>"$T/tree/src/pop3_parse.c"
out=$("$check" "$T/tree" 2>&1)
rc=$?
is "$rc" 1 "a broken copy is refused"
like "$out" '*src/tls.h:*includes "account.h" of layer mail from layer transport*' \
    "an include up a layer is named"
like "$out" '*src/new_module.c: not in the module map; add a line for new_module to doc/HACKING*' \
    "an unmapped file is named, with what to do"
like "$out" '*src/pop3_parse.c:*includes "xalloc.h", but pop3_parse is pure*' \
    "a pure parser including a project header is named"
like "$out" '*src/pop3_parse.c:*includes <stdio.h>, but pop3_parse is pure*' \
    "a pure parser including <stdio.h> is named"
done_testing
