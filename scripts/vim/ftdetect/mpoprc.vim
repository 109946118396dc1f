" Detect mpop configuration files.
autocmd BufRead,BufNewFile .mpoprc,*/.mpoprc,mpoprc,*.mpoprc,mpoprc.example
      \ setfiletype mpoprc
autocmd BufRead,BufNewFile */mpop/config setfiletype mpoprc
