/* Thin gettext wrapper: _() translates, N_() marks for translation. */
#ifndef MPOP_GETTEXT_H
#define MPOP_GETTEXT_H

#ifdef ENABLE_NLS
# include <libintl.h>
# define _(s) gettext(s)
#else
# define _(s) ((const char *)(s))
# define ngettext(s, p, n) ((n) == 1 ? (s) : (p))
# define bindtextdomain(d, dir) ((void)0)
# define textdomain(d) ((void)0)
#endif
#define N_(s) (s)

#endif
