# The sync layer's examples, run as a user would and judged by their output.
# They need the release tree's example executables, so sanitizer trees skip them.
if(NOT HILO_BUILD_EXAMPLES OR HILO_SANITIZER)
  return()
endif()

# greetings: by default a mutex keeps every line whole, so the output is exactly 10 lines
# "Welcome Mr.  <id>" and nothing else.
string(REPEAT "Welcome Mr\\.  [0-9]+\n" 10 ten_whole_lines)
add_test(NAME integration.examples.greetings COMMAND $<TARGET_FILE:greetings>)
set_tests_properties(integration.examples.greetings PROPERTIES
  LABELS integration TIMEOUT 60 PASS_REGULAR_EXPRESSION "^${ten_whole_lines}$")

# greetings --unlocked: the lines may interleave, so only check that it greets and exits 0.
add_test(NAME integration.examples.greetings_unlocked COMMAND $<TARGET_FILE:greetings> --unlocked)
set_tests_properties(integration.examples.greetings_unlocked PROPERTIES
  LABELS integration TIMEOUT 60 PASS_REGULAR_EXPRESSION "Welcome Mr\\.")

# greetings rejects a bad option with exit status 2 and a message.
add_test(NAME integration.examples.greetings_bad_option
  COMMAND $<TARGET_FILE:greetings> --threads zero)
set_tests_properties(integration.examples.greetings_bad_option PROPERTIES
  LABELS integration TIMEOUT 60 WILL_FAIL TRUE)

# pool_sum prints exactly the list the seed's Python prints, and takes other lists.
add_test(NAME integration.examples.pool_sum COMMAND $<TARGET_FILE:pool_sum>)
set_tests_properties(integration.examples.pool_sum PROPERTIES
  LABELS integration TIMEOUT 60
  PASS_REGULAR_EXPRESSION "^\\[5000050000, 20000100000, 45000150000, 80000200000\\]\n$")
add_test(NAME integration.examples.pool_sum_arguments COMMAND $<TARGET_FILE:pool_sum> 10 0 1000)
set_tests_properties(integration.examples.pool_sum_arguments PROPERTIES
  LABELS integration TIMEOUT 60 PASS_REGULAR_EXPRESSION "^\\[55, 0, 500500\\]\n$")

# thread_connections: the bounded semaphore holds 100 threads to 3 at once, and the 3 are
# reached; the program itself exits 1 if it ever saw more than the limit.
add_test(NAME integration.examples.thread_connections COMMAND $<TARGET_FILE:thread_connections>)
set_tests_properties(integration.examples.thread_connections PROPERTIES
  LABELS integration TIMEOUT 60
  PASS_REGULAR_EXPRESSION "thread_connections: OK max_concurrent=3 limit=3 served=100\n")
add_test(NAME integration.examples.thread_connections_limit_5
  COMMAND $<TARGET_FILE:thread_connections> --threads 40 --limit 5)
set_tests_properties(integration.examples.thread_connections_limit_5 PROPERTIES
  LABELS integration TIMEOUT 60
  PASS_REGULAR_EXPRESSION "thread_connections: OK max_concurrent=5 limit=5 served=40\n")
# Without the semaphore far more than 3 are connected at once (4 or more; in practice dozens).
add_test(NAME integration.examples.thread_connections_no_limit
  COMMAND $<TARGET_FILE:thread_connections> --no-limit)
set_tests_properties(integration.examples.thread_connections_no_limit PROPERTIES
  LABELS integration TIMEOUT 60
  PASS_REGULAR_EXPRESSION "NO LIMIT max_concurrent=([4-9]|[1-9][0-9]+) .*served=100\n")
