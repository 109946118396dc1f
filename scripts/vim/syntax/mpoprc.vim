" Vim syntax file
" Language:     mpop configuration file (~/.mpoprc, ~/.config/mpop/config)
" Maintainer:   The mpop authors
" License:      GPL-3.0-or-later

if exists("b:current_syntax")
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match

" A line is a command and an optional argument; only the first word of a
" line can be a command.
syn keyword mpoprcTodo      contained TODO FIXME XXX NOTE

syn match   mpoprcString    +"\%(\\.\|[^"\\]\)*"+ contained
syn match   mpoprcPercent   "%[FSUH]" contained containedin=mpoprcString
syn match   mpoprcNumber    "\<\d\+[kKmM]\=\>" contained
syn match   mpoprcDuration  "\<\%(\d\+[wdhms]\s*\)\+\>" contained
syn keyword mpoprcConstant  contained on off auto system
syn match   mpoprcFingerprint "\<\x\x\%(:\x\x\)\{15,31}\>" contained
syn match   mpoprcArg       ".*$" contained contains=mpoprcString,mpoprcPercent,mpoprcNumber,mpoprcDuration,mpoprcConstant,mpoprcFingerprint

" Anything at the start of a line that is not a known command is an
" error.  The known words below are defined later, so they win.
syn match   mpoprcError     "^\s*\S\+"

" Structure.
syn match   mpoprcDefaults  "^\s*defaults\s*$"
syn match   mpoprcAccount   "^\s*account\>" nextgroup=mpoprcAccountName skipwhite
syn match   mpoprcAccountName "[^ \t:]\+" contained nextgroup=mpoprcInherit skipwhite
syn match   mpoprcInherit   ":.*$" contained
syn match   mpoprcEval      "^\s*eval\>" nextgroup=mpoprcArg skipwhite

" Account commands (the table of src/conf.c).
syn match   mpoprcCommand   "^\s*\%(host\|port\|source_ip\|proxy_host\|proxy_port\|socket\|timeout\|pipelining\|received_header\)\>" nextgroup=mpoprcArg skipwhite
syn match   mpoprcCommand   "^\s*\%(auth\|user\|passwordeval\|ntlmdomain\|ntlm_domain\)\>" nextgroup=mpoprcArg skipwhite
syn match   mpoprcCommand   "^\s*\%(tls\|tls_starttls\|tls_trust_file\|tls_crl_file\|tls_fingerprint\|tls_key_file\|tls_cert_file\|tls_certcheck\|tls_min_dh_prime_bits\|tls_priorities\|tls_host_override\)\>" nextgroup=mpoprcArg skipwhite
syn match   mpoprcCommand   "^\s*\%(oauth2_provider\|oauth2_tenant\|oauth2_client_id\|oauth2_scope\|oauth2_authorization_endpoint\|oauth2_token_endpoint\|oauth2_device_endpoint\|oauth2_token_file\)\>" nextgroup=mpoprcArg skipwhite
syn match   mpoprcCommand   "^\s*\%(uidls_file\|only_new\|keep\|killsize\|skipsize\|filter\)\>" nextgroup=mpoprcArg skipwhite
syn match   mpoprcCommand   "^\s*delivery\>" nextgroup=mpoprcMethod skipwhite
syn keyword mpoprcMethod    contained mda maildir mbox exchange nextgroup=mpoprcArg skipwhite
" A literal password stands out: it is better kept elsewhere.
syn match   mpoprcCommand   "^\s*\%(password\|oauth2_client_secret\)\>" nextgroup=mpoprcPassword skipwhite
syn match   mpoprcPassword  ".*$" contained

syn match   mpoprcComment   "^\s*#.*$" contains=mpoprcTodo

hi def link mpoprcComment     Comment
hi def link mpoprcTodo        Todo
hi def link mpoprcDefaults    Statement
hi def link mpoprcAccount     Statement
hi def link mpoprcAccountName Identifier
hi def link mpoprcInherit     Identifier
hi def link mpoprcEval        PreProc
hi def link mpoprcCommand     Keyword
hi def link mpoprcMethod      Type
hi def link mpoprcString      String
hi def link mpoprcPercent     Special
hi def link mpoprcNumber      Number
hi def link mpoprcDuration    Number
hi def link mpoprcConstant    Constant
hi def link mpoprcFingerprint Constant
hi def link mpoprcPassword    Todo
hi def link mpoprcError       Error

let b:current_syntax = "mpoprc"

let &cpo = s:cpo_save
unlet s:cpo_save
