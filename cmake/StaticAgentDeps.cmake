# StaticAgentDeps.cmake -- third-party libraries of the clawback AGENT.
#
#   include(cmake/StaticAgentDeps.cmake)
#   target_link_libraries(clawback-agent PRIVATE clawback::agent_static_deps)
#
# Targets defined:
#   clawback::zstd_mt            zstd headers + library.  Include <zstd.h> through this
#                                target: headers match the library that is linked
#                                (the agent calls the zstd API directly, e.g.
#                                ZSTD_c_nbWorkers for multithreaded compression).
#   clawback::libarchive         libarchive headers + library (+ its deps).
#   clawback::sqlite3            SQLite built by scripts/build-static-deps.sh from Debian's
#                                source with sqlite_dbpage (Debian's libsqlite3 lacks it),
#                                in BOTH modes: the agent's database capture needs it.
#                                <sqlite3.h> comes from the prefix's include/sqlite3/.
#   clawback::agent_deps         libarchive + zstd + OpenSSL + threads, WITHOUT -static:
#                                for the agent's internal libraries and their unit tests
#                                (tests may also link shared-only libs such as spdlog/fmt).
#   clawback::agent_static_deps  everything the agent links: libarchive, zstd, OpenSSL
#                                (libssl + libcrypto), threads; with
#                                CLAWBACK_STATIC_AGENT=ON also `-static` and
#                                `-Wl,--gc-sections`, so the EXECUTABLE linking it is
#                                fully static.  Link it only into executables that
#                                must be static (the agent and, if wanted, its tests).
#
# Options / variables:
#   CLAWBACK_STATIC_AGENT (ON)  ON : static libzstd.a (multithreaded) and a minimal
#                                    libarchive.a built from Debian source packages by
#                                    scripts/build-static-deps.sh into a cache outside
#                                    the clone, plus Debian's libssl.a/libcrypto.a/libacl.a.
#                               OFF: the system's shared libarchive/libzstd/OpenSSL (for
#                                    sanitizer builds; -static and ASan/TSan don't mix);
#                                    SQLite still comes from the script's prefix.
#   CLAWBACK_DEPS_PREFIX        prefix produced by build-static-deps.sh (include/, lib/).
#                               If unset, the script is run at configure time (fast when
#                               cached) and its last stdout line is taken.
#   CLAWBACK_DEPS_CACHE_ROOT    where the script keeps prefixes (default: the script's
#                               default, /var/cache/clawback/deps, or ~/.cache/... when
#                               /var/cache is not writable).
#
# The controller does NOT use this module; it links the system shared libraries.
# This module never calls find_package(OpenSSL) in static mode, so it does not
# pollute the OPENSSL_* cache variables the controller's find_package uses.

include_guard(GLOBAL)

option(CLAWBACK_STATIC_AGENT "Link clawback-agent fully statically (deps built from Debian source)" ON)
set(CLAWBACK_DEPS_PREFIX "" CACHE PATH "Prefix from scripts/build-static-deps.sh (empty: run it at configure time)")
set(CLAWBACK_DEPS_CACHE_ROOT "" CACHE PATH "Cache root for scripts/build-static-deps.sh (empty: script default)")

find_package(Threads REQUIRED)

set(_clawback_deps_script "${CMAKE_CURRENT_LIST_DIR}/../scripts/build-static-deps.sh")
get_filename_component(_clawback_deps_script "${_clawback_deps_script}" ABSOLUTE)

# ------------------------------------------------------------------ prefix
# Needed in both modes: libsqlite3.a (sqlite_dbpage) always comes from it.
if(CLAWBACK_DEPS_PREFIX)
  set(_clawback_prefix "${CLAWBACK_DEPS_PREFIX}")
else()
  # Re-run configure when the recipe changes (new recipe => new cache key).
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_clawback_deps_script}")
  set(_args "${_clawback_deps_script}")
  if(CLAWBACK_DEPS_CACHE_ROOT)
    list(APPEND _args "${CLAWBACK_DEPS_CACHE_ROOT}")
  endif()
  message(STATUS "clawback: locating/building static agent deps (first build takes ~1.5 min)")
  execute_process(
    COMMAND bash ${_args}
    OUTPUT_VARIABLE _out
    ERROR_VARIABLE _err
    RESULT_VARIABLE _rc
    INPUT_FILE /dev/null)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "scripts/build-static-deps.sh failed (${_rc}):\n${_err}\n"
                        "Run scripts/install-deps.sh first "
                        "(both modes need it: the agent's SQLite comes from it).")
  endif()
  string(STRIP "${_out}" _out)
  string(REGEX REPLACE "^.*\n" "" _clawback_prefix "${_out}") # last line
endif()
set(CLAWBACK_DEPS_PREFIX_RESOLVED "${_clawback_prefix}" CACHE INTERNAL "")
foreach(_f include/sqlite3/sqlite3.h lib/libsqlite3.a clawback-deps.cmake)
  if(NOT EXISTS "${_clawback_prefix}/${_f}")
    message(FATAL_ERROR "clawback deps prefix '${_clawback_prefix}' is incomplete: ${_f} missing")
  endif()
endforeach()
include("${_clawback_prefix}/clawback-deps.cmake")
add_library(clawback::sqlite3 STATIC IMPORTED GLOBAL)
set_target_properties(clawback::sqlite3 PROPERTIES
  IMPORTED_LOCATION "${_clawback_prefix}/lib/libsqlite3.a"
  INTERFACE_INCLUDE_DIRECTORIES "${_clawback_prefix}/include/sqlite3"
  INTERFACE_LINK_LIBRARIES "Threads::Threads;m")
message(STATUS "clawback: SQLite ${CLAWBACK_DEPS_SQLITE_VERSION} with sqlite_dbpage for the agent")

if(CLAWBACK_STATIC_AGENT)
  foreach(_f include/zstd.h include/archive.h lib/libzstd.a lib/libarchive.a)
    if(NOT EXISTS "${_clawback_prefix}/${_f}")
      message(FATAL_ERROR "clawback deps prefix '${_clawback_prefix}' is incomplete: ${_f} missing")
    endif()
  endforeach()
  message(STATUS "clawback: static agent deps in ${_clawback_prefix} "
                 "(zstd ${CLAWBACK_DEPS_ZSTD_VERSION} MT, libarchive ${CLAWBACK_DEPS_LIBARCHIVE_VERSION}, "
                 "ACL=${CLAWBACK_DEPS_LIBARCHIVE_ACL} xattr=${CLAWBACK_DEPS_LIBARCHIVE_XATTR})")

  # ------------------------------------------------ system static libraries
  # Explicit .a names with our own cache variables (no FindOpenSSL: see above).
  find_library(CLAWBACK_STATIC_LIBSSL NAMES libssl.a)
  find_library(CLAWBACK_STATIC_LIBCRYPTO NAMES libcrypto.a)
  if(NOT CLAWBACK_STATIC_LIBSSL OR NOT CLAWBACK_STATIC_LIBCRYPTO)
    message(FATAL_ERROR "libssl.a/libcrypto.a not found: apt-get install libssl-dev")
  endif()
  set(_archive_extra "")
  foreach(_l IN LISTS CLAWBACK_DEPS_LIBARCHIVE_EXTRA_LIBS)
    find_library(CLAWBACK_STATIC_LIB${_l} NAMES lib${_l}.a)
    if(NOT CLAWBACK_STATIC_LIB${_l})
      message(FATAL_ERROR "lib${_l}.a (needed by libarchive.a) not found: run scripts/install-deps.sh")
    endif()
    list(APPEND _archive_extra "${CLAWBACK_STATIC_LIB${_l}}")
  endforeach()

  # ---------------------------------------------------------------- targets
  # IMPORTED targets' include dirs are -isystem, which still precede /usr/include,
  # so <zstd.h>/<archive.h> resolve to the prefix, not to libzstd-dev/libarchive-dev.
  add_library(clawback::zstd_mt STATIC IMPORTED GLOBAL)
  set_target_properties(clawback::zstd_mt PROPERTIES
    IMPORTED_LOCATION "${_clawback_prefix}/lib/libzstd.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_clawback_prefix}/include"
    INTERFACE_LINK_LIBRARIES Threads::Threads)

  add_library(clawback::libarchive STATIC IMPORTED GLOBAL)
  set_target_properties(clawback::libarchive PROPERTIES
    IMPORTED_LOCATION "${_clawback_prefix}/lib/libarchive.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_clawback_prefix}/include"
    INTERFACE_LINK_LIBRARIES "clawback::zstd_mt;${_archive_extra}")

  # The .a files are PIE-compatible (Debian's gcc defaults to -fPIE), so
  # clawback::agent_deps also links into ordinary (dynamic, PIE) test executables.
  add_library(clawback_agent_deps INTERFACE)
  target_link_libraries(clawback_agent_deps INTERFACE
    clawback::libarchive clawback::zstd_mt
    "${CLAWBACK_STATIC_LIBSSL}" "${CLAWBACK_STATIC_LIBCRYPTO}"
    Threads::Threads ${CMAKE_DL_LIBS})
  target_compile_definitions(clawback_agent_deps INTERFACE CLAWBACK_STATIC_AGENT=1)

  add_library(clawback_agent_static_deps INTERFACE)
  target_link_libraries(clawback_agent_static_deps INTERFACE clawback_agent_deps)
  # -static: fully static executable (not static-pie, so `file` says
  # "statically linked").  libcrypto.a's getaddrinfo/dlopen warnings are harmless.
  # --gc-sections pairs with the -ffunction-sections the deps were built with.
  # Only executables get these flags (a static library linking this target
  # merely forwards them to whatever executable links it in the end).
  target_link_options(clawback_agent_static_deps INTERFACE
    "$<$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>:-static;LINKER:--gc-sections>")
else()
  # ---------------------------------------------- shared system libraries
  find_package(PkgConfig REQUIRED)
  find_package(OpenSSL REQUIRED)
  pkg_check_modules(CLAWBACK_SYS_ZSTD REQUIRED IMPORTED_TARGET GLOBAL libzstd)
  pkg_check_modules(CLAWBACK_SYS_ARCHIVE REQUIRED IMPORTED_TARGET GLOBAL libarchive)

  # Debian's shared libzstd.so.1 IS multithreaded, so ZSTD_c_nbWorkers works here too.
  add_library(clawback::zstd_mt INTERFACE IMPORTED GLOBAL)
  set_target_properties(clawback::zstd_mt PROPERTIES
    INTERFACE_LINK_LIBRARIES PkgConfig::CLAWBACK_SYS_ZSTD)
  add_library(clawback::libarchive INTERFACE IMPORTED GLOBAL)
  set_target_properties(clawback::libarchive PROPERTIES
    INTERFACE_LINK_LIBRARIES PkgConfig::CLAWBACK_SYS_ARCHIVE)

  add_library(clawback_agent_deps INTERFACE)
  target_link_libraries(clawback_agent_deps INTERFACE
    clawback::libarchive clawback::zstd_mt OpenSSL::SSL OpenSSL::Crypto Threads::Threads)
  add_library(clawback_agent_static_deps INTERFACE)
  target_link_libraries(clawback_agent_static_deps INTERFACE clawback_agent_deps)
  message(STATUS "clawback: CLAWBACK_STATIC_AGENT=OFF, agent links system shared libarchive/zstd/OpenSSL")
endif()

add_library(clawback::agent_deps ALIAS clawback_agent_deps)
add_library(clawback::agent_static_deps ALIAS clawback_agent_static_deps)
