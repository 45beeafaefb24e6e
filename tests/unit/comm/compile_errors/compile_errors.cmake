# Code that must not compile, and what the compiler must say about it. Each test compiles one
# file with -fsyntax-only and passes when the error names the fix.
set(hilo_compile_error_dir ${CMAKE_CURRENT_LIST_DIR})
add_test(NAME unit.comm.archive_rejects_pointers
         COMMAND ${CMAKE_CXX_COMPILER} -std=c++20 -fsyntax-only
                 -I${PROJECT_SOURCE_DIR}/runtime/include ${hilo_compile_error_dir}/pointer_member.cpp)
set_tests_properties(unit.comm.archive_rejects_pointers PROPERTIES
  LABELS unit TIMEOUT 120
  PASS_REGULAR_EXPRESSION "hilo::use_boost_archive<YourType> : std::true_type")
