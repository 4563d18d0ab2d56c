# help2man.cmake: turns a program's --help into a man page, so the page can never
# disagree with the program. Run as: cmake -DPROG=path -DNAME=s3mount -DSUMMARY="..."
#   -DVERSION=x.y.z -DOUT=file.1 -P help2man.cmake
execute_process(COMMAND ${PROG} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROG} --help failed (${rc})")
endif()
# troff: a leading '.' or "'" starts a request and '\' escapes; protect both.
string(REPLACE "\\" "\\e" help "${help}")
string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
string(TOUPPER ${NAME} upper)
file(WRITE ${OUT} ".TH ${upper} 1 \"\" \"${NAME} ${VERSION}\" \"User Commands\"
.SH NAME
${NAME} \\- ${SUMMARY}
.SH DESCRIPTION
.nf
${help}.fi
.SH SEE ALSO
The README.md and docs/semantics.md of the s3mount project.
")
