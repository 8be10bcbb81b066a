# Scheduler benchmark; included from bench/CMakeLists.txt with
#   include(${CMAKE_CURRENT_SOURCE_DIR}/sched.cmake)
# Run: mpiexec -n N bench/bench_sched --unit noop|spin (see bench_sched.c).
add_executable(bench_sched ${CMAKE_CURRENT_LIST_DIR}/bench_sched.c)
target_link_libraries(bench_sched PRIVATE hfs_sched)
