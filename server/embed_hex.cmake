# include()d by embed_migrations.cmake and embed_text.cmake:
#   mt_hex_array(VAR FILE) sets VAR to FILE's bytes as C initialisers
#   "(char)0x23,(char)0x20,...", eight to a line.
function(mt_hex_array var file)
  file(READ ${file} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "(char)0x\\1," hex "${hex}")
  string(REGEX REPLACE "((\\(char\\)0x..,)(\\(char\\)0x..,)(\\(char\\)0x..,)(\\(char\\)0x..,)(\\(char\\)0x..,)(\\(char\\)0x..,)(\\(char\\)0x..,)(\\(char\\)0x..,))" "\\1\n    " hex "${hex}")
  set(${var} "${hex}" PARENT_SCOPE)
endfunction()
