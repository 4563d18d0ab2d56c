# Warnings are errors (STYLE.md rule 10). POSIX 2008 for the few calls C11 lacks
# (strdup, clock_gettime, pthread_rwlock); _GNU_SOURCE is set per file where needed.
# No -Wnull-dereference: GCC 12 reports it only at some -O levels, with false positives
# at -O3 (Release), so the same tree would build or not by build type.
add_compile_definitions(_POSIX_C_SOURCE=200809L _FILE_OFFSET_BITS=64)
add_compile_options(
  -Wall -Wextra -Werror
  -Wshadow -Wpointer-arith -Wcast-qual -Wstrict-prototypes -Wmissing-prototypes
  -Wformat=2 -Wundef -Wvla -Wwrite-strings
  -Wno-unused-parameter)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  add_compile_options(-Wlogical-op -Wduplicated-cond)
endif()
if(S3M_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(S3M_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
