# Precompiled.cmake -- precompiled headers for the expensive third-party headers.
#
#   include(cmake/Precompiled.cmake)
#   clawback_precompile(<target> json|net|test)
#
# Three precompiled headers, each compiled once in a small host target and reused
# (REUSE_FROM) by every target that asks for it:
#   json  the standard headers most files include and nlohmann/json.hpp
#         (through shared/log.h nearly every file includes it)
#   net   json + Boost.Asio/Beast with SSL (the files that speak HTTP or TLS;
#         their code is still compiled once, in clawback_net)
#   test  json + GoogleTest and gmock
# A target takes the one its heaviest files need; its other files merely load it.
# Reuse is valid because compile options and definitions are project-wide
# (macros a target adds, like CLAWBACK_SOURCE_DIR, appear in none of these
# headers). GCC checks the flags that matter and falls back to the plain
# headers otherwise (-Winvalid-pch makes that visible).
#
# Options:
#   CLAWBACK_PCH (ON)  OFF compiles every file without them (e.g. to check that
#                      each file includes what it uses). Always off with clang
#                      (the libFuzzer build), whose PCH checks differ.
# ccache caches these compilations given sloppiness pch_defines,time_macros,
# which the top-level CMakeLists.txt sets for its ccache launcher.

include_guard(GLOBAL)

option(CLAWBACK_PCH "Precompile the third-party headers (GCC)" ON)

set(_clawback_pch_std <algorithm> <atomic> <chrono> <cstdint> <cstring> <functional> <map> <memory>
                      <mutex> <optional> <set> <string> <string_view> <thread> <utility> <vector>)
set(_clawback_pch_json ${_clawback_pch_std} <nlohmann/json.hpp>)
set(_clawback_pch_net ${_clawback_pch_json}
    <boost/asio/io_context.hpp> <boost/asio/ip/tcp.hpp> <boost/asio/ssl.hpp> <boost/asio/steady_timer.hpp>
    <boost/asio/strand.hpp> <boost/beast/core.hpp> <boost/beast/http.hpp> <boost/beast/ssl.hpp>)
set(_clawback_pch_test ${_clawback_pch_json} <gtest/gtest.h> <gmock/gmock.h>)

function(clawback_precompile target kind)
  if(NOT CLAWBACK_PCH OR NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    return()
  endif()
  if(NOT DEFINED _clawback_pch_${kind})
    message(FATAL_ERROR "clawback_precompile(${target} ${kind}): kind must be json, net or test")
  endif()
  set(host clawback_pch_${kind})
  if(NOT TARGET ${host})
    set(source ${CMAKE_BINARY_DIR}/pch/${host}.cc)
    if(NOT EXISTS ${source})
      file(WRITE ${source} "// Host of the ${kind} precompiled header (cmake/Precompiled.cmake).\n")
    endif()
    add_library(${host} OBJECT ${source})
    target_link_libraries(${host} PRIVATE nlohmann_json::nlohmann_json Boost::headers)
    if(kind STREQUAL "test")
      target_link_libraries(${host} PRIVATE GTest::gtest GTest::gmock)
    endif()
    target_precompile_headers(${host} PRIVATE ${_clawback_pch_${kind}})
  endif()
  target_precompile_headers(${target} REUSE_FROM ${host})
endfunction()
