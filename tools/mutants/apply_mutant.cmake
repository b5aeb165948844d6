# Writes the mutant of one source file that a .mutant file describes (tools/mutants/README.md):
# the source with the spec's "@@ find" block replaced by its "@@ replace" block. The find block
# must occur exactly once, so a mutant whose code moved fails loudly instead of testing nothing.
#
#   cmake -DSPEC=tools/mutants/x.mutant -DSOURCE=core/raft/raft.cc -DOUTPUT=out.cc -P apply_mutant.cmake
foreach(variable IN ITEMS SPEC SOURCE OUTPUT)
  if(NOT DEFINED ${variable})
    message(FATAL_ERROR "apply_mutant.cmake: -D${variable}=... is required")
  endif()
endforeach()

file(READ "${SPEC}" spec)
set(spec "\n${spec}")
string(FIND "${spec}" "\n@@ find\n" find_marker)
string(FIND "${spec}" "\n@@ replace\n" replace_marker)
if(find_marker EQUAL -1 OR replace_marker EQUAL -1 OR replace_marker LESS find_marker)
  message(FATAL_ERROR "${SPEC}: needs an '@@ find' block followed by an '@@ replace' block")
endif()
math(EXPR find_start "${find_marker} + 9")
math(EXPR find_length "${replace_marker} + 1 - ${find_start}")
math(EXPR replace_start "${replace_marker} + 12")
string(SUBSTRING "${spec}" ${find_start} ${find_length} find_text)
string(SUBSTRING "${spec}" ${replace_start} -1 replace_text)
if(find_text STREQUAL "")
  message(FATAL_ERROR "${SPEC}: the '@@ find' block is empty")
endif()

file(READ "${SOURCE}" source)
string(REPLACE "${find_text}" "" without "${source}")
string(LENGTH "${source}" source_length)
string(LENGTH "${without}" without_length)
string(LENGTH "${find_text}" find_text_length)
math(EXPR occurrences "(${source_length} - ${without_length}) / ${find_text_length}")
if(NOT occurrences EQUAL 1)
  message(FATAL_ERROR "${SPEC}: the '@@ find' block occurs ${occurrences} times in ${SOURCE} (it must occur once); "
                      "update the mutant to the code as it is now")
endif()
string(REPLACE "${find_text}" "${replace_text}" mutated "${source}")
file(WRITE "${OUTPUT}.tmp" "// Mutant of ${SOURCE} (${SPEC}): a deliberate bug, never in a production binary.\n")
file(APPEND "${OUTPUT}.tmp" "#line 1 \"${SOURCE}\"\n${mutated}")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
