# Checks that hfscan-genws reproduces inputs/belle2_like.json byte for byte
# with the default seed, that standard output and -o give the same bytes,
# that another seed gives a different workspace, and that a bad seed is
# refused.  Run as:
#   cmake -DGENWS=<exe> -DREFERENCE=<json> -DWORKDIR=<dir> -P genws_reproducible.cmake
foreach(var GENWS REFERENCE WORKDIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "genws_reproducible: ${var} is not set")
  endif()
endforeach()
file(MAKE_DIRECTORY ${WORKDIR})

function(run_genws out)
  execute_process(COMMAND ${GENWS} ${ARGN} RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "hfscan-genws ${ARGN} failed (${rc}): ${err}")
  endif()
endfunction()

function(expect_same a b what)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${a} ${b} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what}: ${a} and ${b} differ")
  endif()
endfunction()

# The default seed reproduces the committed file.
run_genws(default -o ${WORKDIR}/default.json)
expect_same(${REFERENCE} ${WORKDIR}/default.json
  "default seed does not reproduce the committed workspace (regenerate it, see docs/inputs.md)")

# Naming the default seed explicitly and writing to stdout change nothing.
execute_process(COMMAND ${GENWS} --seed 20231124 OUTPUT_FILE ${WORKDIR}/stdout.json
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "hfscan-genws --seed 20231124 > stdout.json failed (${rc})")
endif()
expect_same(${WORKDIR}/default.json ${WORKDIR}/stdout.json "stdout and -o")

# Another seed gives another workspace.
run_genws(other --seed 1 -o ${WORKDIR}/seed1.json)
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORKDIR}/default.json
  ${WORKDIR}/seed1.json RESULT_VARIABLE rc)
if(rc EQUAL 0)
  message(FATAL_ERROR "seeds 20231124 and 1 gave identical workspaces")
endif()

# Seed 0 would alias GSL's default seed, so it is refused.
execute_process(COMMAND ${GENWS} --seed 0 -o ${WORKDIR}/seed0.json
  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(rc EQUAL 0)
  message(FATAL_ERROR "hfscan-genws accepted --seed 0")
endif()
message(STATUS "genws_reproducible: all checks passed")
