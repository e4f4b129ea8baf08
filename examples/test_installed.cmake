# test_installed.cmake — ctest's `install_consumer`: packaging tested, not assumed.
#
#   cmake -DBUILD_DIR=... -DWORK_DIR=... -DCONSUMER_DIR=... -DC_COMPILER=... -DLIB_TYPE=...
#         -DVERSION=... [-DCONFIG=...] [-DMAKE=...] [-DPKG_CONFIG=...] [-DNM=...]
#         [-DREADELF=...] [-DCUDA_ROOT=...] -P test_installed.cmake
#
# 1. `cmake --install` of the current build into WORK_DIR/prefix; the files are there; the
#    shared library's soname is libfastserde.so.0 and `nm -D` shows only fsd_* symbols.
# 2. examples/consumer configured out of tree with find_package(fastserde), built, run; asking
#    for fastserde 1.0 must fail (the version file works).
# 3. examples/consumer built with its Makefile through `pkg-config --cflags --libs fastserde`
#    (or a plain cc call when there is no make), run.

foreach(var BUILD_DIR WORK_DIR CONSUMER_DIR C_COMPILER LIB_TYPE VERSION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "test_installed.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run what)
  cmake_parse_arguments(ARG "EXPECT_FAIL" "OUTPUT_VARIABLE" "COMMAND" ${ARGN})
  string(JOIN " " shown ${ARG_COMMAND})
  message(STATUS "${what}: ${shown}")
  execute_process(COMMAND ${ARG_COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE out)
  if(ARG_EXPECT_FAIL)
    if(rc EQUAL 0)
      message(FATAL_ERROR "${what}: succeeded but must fail\n${out}")
    endif()
  elseif(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what}: exit status ${rc}\n${out}")
  endif()
  if(ARG_OUTPUT_VARIABLE)
    set(${ARG_OUTPUT_VARIABLE} "${out}" PARENT_SCOPE)
  endif()
endfunction()

set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# -- 1. install ---------------------------------------------------------------------------------
set(config_args "")
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()
run("install" COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}"
    ${config_args})

file(GLOB_RECURSE pc_files "${prefix}/*/fastserde.pc")
list(LENGTH pc_files npc)
if(NOT npc EQUAL 1)
  message(FATAL_ERROR "expected one installed fastserde.pc, found: ${pc_files}")
endif()
get_filename_component(pkgconfig_dir "${pc_files}" DIRECTORY)
get_filename_component(libdir "${pkgconfig_dir}" DIRECTORY)
foreach(f "${prefix}/include/fastserde.h" "${libdir}/cmake/fastserde/fastserdeConfig.cmake"
          "${libdir}/cmake/fastserde/fastserdeConfigVersion.cmake"
          "${libdir}/cmake/fastserde/fastserdeTargets.cmake")
  if(NOT EXISTS "${f}")
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
file(GLOB internal "${libdir}/*fastserde_internal*")
if(internal)
  message(FATAL_ERROR "the tests' static library must not be installed: ${internal}")
endif()

if(LIB_TYPE STREQUAL "SHARED_LIBRARY")
  set(lib "${libdir}/libfastserde.so.0")
  if(NOT EXISTS "${lib}" OR NOT EXISTS "${libdir}/libfastserde.so")
    message(FATAL_ERROR "libfastserde.so / libfastserde.so.0 not installed in ${libdir}")
  endif()
  if(READELF)
    run("soname" COMMAND "${READELF}" -d "${lib}" OUTPUT_VARIABLE dyn)
    if(NOT dyn MATCHES "SONAME[^\n]*\\[libfastserde\\.so\\.0\\]")
      message(FATAL_ERROR "soname is not libfastserde.so.0:\n${dyn}")
    endif()
  endif()
  if(NM)
    run("exported symbols" COMMAND "${NM}" -D --defined-only "${lib}" OUTPUT_VARIABLE syms)
    string(REGEX REPLACE "\n$" "" syms "${syms}")
    string(REPLACE "\n" ";" lines "${syms}")
    set(count 0)
    foreach(line IN LISTS lines)
      if(NOT line MATCHES " fsd_[A-Za-z0-9_]+$")
        message(FATAL_ERROR "libfastserde.so exports a non-fsd_ symbol: '${line}'\n${syms}")
      endif()
      math(EXPR count "${count} + 1")
    endforeach()
    if(count LESS 10)
      message(FATAL_ERROR "only ${count} fsd_ symbols exported:\n${syms}")
    endif()
    message(STATUS "exported: ${count} symbols, all fsd_*")
  endif()
else()
  if(NOT EXISTS "${libdir}/libfastserde.a")
    message(FATAL_ERROR "libfastserde.a not installed in ${libdir}")
  endif()
endif()

# -- 2. find_package ----------------------------------------------------------------------------
set(cmake_args -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${C_COMPILER})
if(CUDA_ROOT)
  list(APPEND cmake_args -DCUDAToolkit_ROOT=${CUDA_ROOT})
endif()
run("configure (find_package)" COMMAND "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}"
    -B "${WORK_DIR}/cmake-build" ${cmake_args})
run("build (find_package)" COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}/cmake-build")
run("run (find_package)" COMMAND "${WORK_DIR}/cmake-build/consumer" OUTPUT_VARIABLE out)
message("${out}")
if(NOT out MATCHES "OK: fastserde")
  message(FATAL_ERROR "the find_package consumer did not report OK")
endif()

run("configure asking for fastserde 1.0 (must fail)" EXPECT_FAIL OUTPUT_VARIABLE out
    COMMAND "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${WORK_DIR}/cmake-build-v1"
    ${cmake_args} -DFSD_CONSUMER_REQUIRE=1.0)
if(NOT out MATCHES "version")
  message(FATAL_ERROR "version 1.0 refused, but not for its version:\n${out}")
endif()

# -- 3. pkg-config ------------------------------------------------------------------------------
if(NOT PKG_CONFIG)
  message(FATAL_ERROR "pkg-config not found")
endif()
set(env "${CMAKE_COMMAND}" -E env "PKG_CONFIG_PATH=${pkgconfig_dir}")
run("pkg-config version" COMMAND ${env} "${PKG_CONFIG}" --modversion fastserde
    OUTPUT_VARIABLE modversion)
string(STRIP "${modversion}" modversion)
if(NOT modversion STREQUAL VERSION)
  message(FATAL_ERROR "pkg-config says fastserde ${modversion}, the build is ${VERSION}")
endif()
run("pkg-config flags" COMMAND ${env} "${PKG_CONFIG}" --cflags --libs fastserde
    OUTPUT_VARIABLE flags)
message(STATUS "pkg-config --cflags --libs fastserde: ${flags}")

file(MAKE_DIRECTORY "${WORK_DIR}/pc-build")
if(MAKE)
  run("build (pkg-config, make)" COMMAND ${env} "${MAKE}" -C "${CONSUMER_DIR}"
      "OUT=${WORK_DIR}/pc-build" "CC=${C_COMPILER}")
else()
  run("pkg-config libdir" COMMAND ${env} "${PKG_CONFIG}" --variable=libdir fastserde
      OUTPUT_VARIABLE pc_libdir)
  string(STRIP "${pc_libdir}" pc_libdir)
  separate_arguments(flag_list UNIX_COMMAND "${flags}")
  run("build (pkg-config, cc)" COMMAND "${C_COMPILER}" -std=c11 -O2 -o
      "${WORK_DIR}/pc-build/consumer" "${CONSUMER_DIR}/consumer.c" ${flag_list}
      "-Wl,-rpath,${pc_libdir}")
endif()
run("run (pkg-config)" COMMAND "${WORK_DIR}/pc-build/consumer" OUTPUT_VARIABLE out)
message("${out}")
if(NOT out MATCHES "OK: fastserde")
  message(FATAL_ERROR "the pkg-config consumer did not report OK")
endif()

message(STATUS "installed package: find_package and pkg-config consumers built and ran")
