# cmake -DIN=<file> -DOUT=<file.c> -DNAME=<identifier> -P embed_text.cmake
# Writes a C file with IN's bytes as "const char NAME[]" (NUL-terminated; a
# byte array, since -pedantic refuses string literals over 4095 characters).
include(${CMAKE_CURRENT_LIST_DIR}/embed_hex.cmake)
mt_hex_array(hex ${IN})
get_filename_component(base ${IN} NAME)
set(body "/* Generated from ${base} by embed_text.cmake. */\n")
string(APPEND body "extern const char ${NAME}[];\nconst char ${NAME}[] = {\n    ${hex}0x00};\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
