# Runs the browser suite (cmake -P): `npm ci` when node_modules is missing or
# package-lock.json changed since the last install, then
# `node --test --test-concurrency=1 SUITE_FILE` in SUITE_DIR (default
# dashboard.test.js; browse.test.js is the archive browser's suite).
# playwright-core downloads no browser; the suite uses /usr/bin/chromium.
#
#   cmake -DNODE=node -DNPM=npm -DSUITE_DIR=tests/browser [-DSUITE_FILE=browse.test.js] -P run_browser_tests.cmake
foreach(var NODE NPM SUITE_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_browser_tests.cmake needs -D${var}=...")
  endif()
endforeach()

if(NOT DEFINED SUITE_FILE)
  set(SUITE_FILE dashboard.test.js)
endif()

set(lock ${SUITE_DIR}/package-lock.json)
set(stamp ${SUITE_DIR}/node_modules/.clawback-lock-sha256)
file(SHA256 ${lock} want)
set(have "")
if(EXISTS ${stamp} AND EXISTS ${SUITE_DIR}/node_modules/playwright-core/package.json)
  file(READ ${stamp} have)
  string(STRIP "${have}" have)
endif()
if(NOT have STREQUAL want)
  message(STATUS "browser tests: npm ci (node_modules missing or package-lock.json changed)")
  execute_process(COMMAND ${NPM} ci --no-audit --no-fund
                  WORKING_DIRECTORY ${SUITE_DIR} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "browser tests: npm ci failed (${rc})")
  endif()
  file(WRITE ${stamp} "${want}\n")
endif()

execute_process(COMMAND ${NODE} --test --test-concurrency=1 ${SUITE_FILE}
                WORKING_DIRECTORY ${SUITE_DIR} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "browser tests failed (node exit ${rc})")
endif()
