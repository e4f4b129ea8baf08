# sanitize.cmake — sanitizer and fuzzer instrumentation for the whole tree (library and tests).
# Included by the top-level CMakeLists.txt before any target is defined, so that the flags
# below reach every target of every directory.
#
#   -DFSD_SANITIZE="address;undefined"   ASan + UBSan (UB aborts: -fno-sanitize-recover=all)
#   -DFSD_SANITIZE=thread                ThreadSanitizer
#   -DFSD_SANITIZE=memory                (clang only; needs every dependency instrumented)
#   -DFSD_FUZZ=ON                        libFuzzer targets of tests/fuzz (clang only); defaults
#                                        FSD_SANITIZE to "address;undefined" (tests/fuzz adds the
#                                        coverage instrumentation to the library's C code)
#
# C code gets the flags directly. The host side of CUDA code (.cu, compiled by nvcc) gets them
# through -Xcompiler, but only when the C compiler is GCC like nvcc's host compiler: a clang
# build (the fuzzers) cannot mix clang's sanitizer runtime with GCC-instrumented objects, so
# there the nvcc objects stay uninstrumented (their code still runs, unchecked). Executables
# that contain CUDA code are linked by nvcc's host compiler (g++), which gets the link flags
# directly in a GCC build.

option(FSD_FUZZ "Build the libFuzzer targets of tests/fuzz (clang only)" OFF)

set(_fsd_sanitize_default "")
if(FSD_FUZZ)
  set(_fsd_sanitize_default "address;undefined")
endif()
set(FSD_SANITIZE "${_fsd_sanitize_default}" CACHE STRING
    "Sanitizers for library and tests, a ;-list: address;undefined, thread, memory, or empty")

if(FSD_FUZZ AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "FSD_FUZZ=ON needs clang (libFuzzer): configure with -DCMAKE_C_COMPILER=clang")
endif()

if(FSD_SANITIZE)
  set(_fsd_known address undefined thread memory leak)
  foreach(s IN LISTS FSD_SANITIZE)
    if(NOT s IN_LIST _fsd_known)
      message(FATAL_ERROR "FSD_SANITIZE: unknown sanitizer '${s}' (known: ${_fsd_known})")
    endif()
  endforeach()
  if("thread" IN_LIST FSD_SANITIZE AND ("address" IN_LIST FSD_SANITIZE OR "memory" IN_LIST FSD_SANITIZE))
    message(FATAL_ERROR "FSD_SANITIZE: thread cannot be combined with address or memory")
  endif()
  if("memory" IN_LIST FSD_SANITIZE AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FSD_SANITIZE=memory needs clang")
  endif()

  # One -fsanitize= per sanitizer: nvcc's -Xcompiler splits its argument at commas.
  set(FSD_SANITIZE_LINK_FLAGS "")
  foreach(s IN LISTS FSD_SANITIZE)
    list(APPEND FSD_SANITIZE_LINK_FLAGS -fsanitize=${s})
  endforeach()
  set(FSD_SANITIZE_FLAGS ${FSD_SANITIZE_LINK_FLAGS} -fno-omit-frame-pointer -g)
  if("undefined" IN_LIST FSD_SANITIZE)
    list(APPEND FSD_SANITIZE_FLAGS -fno-sanitize-recover=all)
  endif()

  # C: every C target, compile and link.
  add_compile_options("$<$<COMPILE_LANGUAGE:C>:${FSD_SANITIZE_FLAGS}>")
  add_link_options("$<$<LINK_LANGUAGE:C>:${FSD_SANITIZE_LINK_FLAGS}>")

  if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
    # CUDA: host code via nvcc -Xcompiler (device code is never instrumented); the final link
    # of executables with CUDA code runs g++, which takes the flags as they are.
    foreach(f IN LISTS FSD_SANITIZE_FLAGS)
      add_compile_options("$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=${f}>")
    endforeach()
    add_link_options("$<$<LINK_LANGUAGE:CUDA>:${FSD_SANITIZE_LINK_FLAGS}>")
    add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${FSD_SANITIZE_FLAGS}>")
    add_link_options("$<$<LINK_LANGUAGE:CXX>:${FSD_SANITIZE_LINK_FLAGS}>")
  else()
    message(STATUS "fastserde: FSD_SANITIZE=${FSD_SANITIZE} with ${CMAKE_C_COMPILER_ID}: C code "
                   "instrumented, CUDA host code (nvcc + g++) not")
  endif()
  message(STATUS "fastserde: sanitizers ${FSD_SANITIZE}")
endif()

