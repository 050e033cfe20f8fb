" Gov execution policies: *.gov
autocmd BufRead,BufNewFile *.gov setfiletype gov
