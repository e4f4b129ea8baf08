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


# -- Tests that run Python ----------------------------------------------------------------------
# fsd_add_python_test(<name> COMMAND <python> ... [ENVIRONMENT VAR=value ...] [TIMEOUT s]
#                     [WORKING_DIRECTORY dir] [SKIP_RETURN_CODE n])
# registers a test whose command is a Python interpreter that loads libfastserde. In a sanitized
# tree the interpreter is not instrumented but the library is, and ASan/TSan insist on being the
# first library loaded: the test preloads the runtime (LD_PRELOAD, found with the C compiler's
# -print-file-name), with libstdc++ (ASan's __cxa_throw interceptor must find the real one
# before torch throws its first C++ exception), and leak detection off (the interpreter does not
# free everything at exit; the C tests check leaks). Under TSan, die_after_fork=0: the fork test's
# child starts threads (checked: python/tests green with the TSan runtime preloaded, run under
# setarch -R as tools/ci-hardening.sh runs TSan). UBSan alone needs no preload. Where the
# runtime cannot be preloaded (MSan needs every library instrumented) or is not found, the test
# is registered all the same and skips (exit 77), printing why.
function(fsd_add_python_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "TIMEOUT;WORKING_DIRECTORY;SKIP_RETURN_CODE"
                        "COMMAND;ENVIRONMENT")
  set(preload "")
  set(modify "")
  set(why "")
  if("address" IN_LIST FSD_SANITIZE OR "thread" IN_LIST FSD_SANITIZE)
    if("address" IN_LIST FSD_SANITIZE)
      set(kind ASan)
      set(options ASAN_OPTIONS)
      set(extra "detect_leaks=0" "protect_shadow_gap=0")
      if(CMAKE_C_COMPILER_ID MATCHES "Clang")
        set(runtime libclang_rt.asan-${CMAKE_SYSTEM_PROCESSOR}.so)
      else()
        set(runtime libasan.so)
      endif()
    else()
      set(kind TSan)
      set(options TSAN_OPTIONS)
      set(extra "report_signal_unsafe=0" "die_after_fork=0")
      if(CMAKE_C_COMPILER_ID MATCHES "Clang")
        set(runtime libclang_rt.tsan-${CMAKE_SYSTEM_PROCESSOR}.so)
      else()
        set(runtime libtsan.so)
      endif()
    endif()
    foreach(lib ${runtime} libstdc++.so.6)
      execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=${lib}
                      OUTPUT_VARIABLE path OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(NOT IS_ABSOLUTE "${path}" OR NOT EXISTS "${path}")
        set(why "the ${kind} runtime's ${lib} was not found (${CMAKE_C_COMPILER} -print-file-name) to preload into the uninstrumented interpreter")
        break()
      endif()
      file(REAL_PATH "${path}" path)
      list(APPEND preload "${path}")
    endforeach()
    list(JOIN preload ":" preload)
    foreach(o ${extra})
      list(APPEND modify "${options}=path_list_append:${o}")
    endforeach()
  elseif("memory" IN_LIST FSD_SANITIZE)
    set(why "MSan needs every library of the process instrumented, and the interpreter and torch are not")
  endif()

  if(why)
    message(STATUS "fastserde: ${name} will skip: FSD_SANITIZE=${FSD_SANITIZE}: ${why}")
    add_test(NAME ${name} COMMAND sh -c "echo \"skipped: FSD_SANITIZE=$1: $2\"; exit 77"
             sh "${FSD_SANITIZE}" "${why}")
    set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77)
    return()
  endif()
  if(arg_WORKING_DIRECTORY)
    add_test(NAME ${name} COMMAND ${arg_COMMAND} WORKING_DIRECTORY ${arg_WORKING_DIRECTORY})
  else()
    add_test(NAME ${name} COMMAND ${arg_COMMAND})
  endif()
  set(env ${arg_ENVIRONMENT})
  if(preload)
    list(APPEND env "LD_PRELOAD=${preload}")
  endif()
  if(env)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${env}")
  endif()
  if(modify)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT_MODIFICATION "${modify}")
  endif()
  if(arg_TIMEOUT)
    set_tests_properties(${name} PROPERTIES TIMEOUT ${arg_TIMEOUT})
  endif()
  if(arg_SKIP_RETURN_CODE)
    set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE ${arg_SKIP_RETURN_CODE})
  endif()
endfunction()
