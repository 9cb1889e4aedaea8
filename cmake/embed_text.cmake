# cmake -DIN=FILE -DOUT=HEADER -DNAME=SYMBOL -P embed_text.cmake: FILE's text as
# `static const char SYMBOL[]`, so a script kept (and shellchecked) as its own file is compiled
# into the program byte for byte, with its comment lines left out (they stay in the file).
get_filename_component(source "${IN}" NAME)
file(READ "${IN}" text)
string(REGEX REPLACE "(^|\n)[ \t]*#[^\n]*" "" text "${text}")
string(REGEX REPLACE "^\n+" "" text "${text}")
string(REPLACE "\\" "\\\\" text "${text}")
string(REPLACE "\"" "\\\"" text "${text}")
string(REPLACE "\t" "\\t" text "${text}")
string(REPLACE "\n" "\\n\"\n    \"" text "${text}")
file(WRITE "${OUT}.tmp" "/* Made from ${source} by cmake/embed_text.cmake: edit that file, not this one. */\n"
	"static const char ${NAME}[] =\n    \"${text}\";\n")
file(RENAME "${OUT}.tmp" "${OUT}")
