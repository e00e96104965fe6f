# Sanitizers.cmake -- sanitizer and libFuzzer instrumentation for every target.
#
#   include(cmake/Sanitizers.cmake)   # before any target is defined
#
# Options / variables:
#   CLAWBACK_SANITIZE ("")   a -fsanitize= list applied to every compiled file and
#                            every link: "address,undefined" or "thread" (gcc or clang).
#                            Sanitized runtimes cannot be linked with -static, so this
#                            forces CLAWBACK_STATIC_AGENT=OFF: the agent then links the
#                            system's shared libarchive/zstd/OpenSSL (the same plain C
#                            APIs; cmake/StaticAgentDeps.cmake's OFF branch), and the
#                            tests run that dynamically linked agent from the build dir.
#                            Errors are fatal (-fno-sanitize-recover=all), so a UBSan
#                            finding fails the test that hit it.
#   CLAWBACK_FUZZ (OFF)      build the libFuzzer targets in tests/fuzz (needs clang):
#                            adds -fsanitize=fuzzer-no-link to everything (coverage for
#                            the code under test); the targets themselves link
#                            -fsanitize=fuzzer. Without it, tests/fuzz still builds each
#                            target against a small replay driver so the seed corpus
#                            runs as an ordinary ctest in every build.
#
# Runtime options and suppressions live in tests/sanitizers/ (see README there);
# scripts/test-hardening.sh sets ASAN_OPTIONS/UBSAN_OPTIONS/TSAN_OPTIONS from them.

include_guard(GLOBAL)

set(CLAWBACK_SANITIZE "" CACHE STRING "Sanitizers for every target: '', 'address,undefined' or 'thread'")
option(CLAWBACK_FUZZ "Build libFuzzer targets (needs clang)" OFF)

if(CLAWBACK_SANITIZE)
  string(REPLACE "," ";" _clawback_san_list "${CLAWBACK_SANITIZE}")
  if("thread" IN_LIST _clawback_san_list AND "address" IN_LIST _clawback_san_list)
    message(FATAL_ERROR "CLAWBACK_SANITIZE: thread and address cannot be combined")
  endif()
  # Sanitized builds cannot be fully static; the agent links shared libs there.
  set(CLAWBACK_STATIC_AGENT OFF CACHE BOOL "Link clawback-agent fully statically" FORCE)
  add_compile_options(-fsanitize=${CLAWBACK_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  # -O1 and line tables only (these come after CMAKE_CXX_FLAGS_<CONFIG>, so they
  # win): instrumented code compiles about twice as fast as at -O2 -g on the
  # 2-core CI machine, and reports still carry file:line for every frame.
  add_compile_options(-O1 -g1)
  add_link_options(-fsanitize=${CLAWBACK_SANITIZE})
  add_compile_definitions(CLAWBACK_SANITIZED_BUILD=1)
  message(STATUS "clawback: sanitizers ${CLAWBACK_SANITIZE} on every target (agent linked dynamically)")
endif()

if(CLAWBACK_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CLAWBACK_FUZZ needs clang (libFuzzer): configure with "
                        "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
