# The suites' longest tests (ASan+UBSan: 8-30 s each, about 2-3x their
# release time), so that `ctest -j` starts them first: without timing data of
# an earlier run (a clean clone, as in CI) ctest runs tests by COST, then in
# the order they were declared, and a long test declared late would run
# alone at the end. ctest measures and uses the real times on later runs in
# the same build tree. Included by tests/CMakeLists.txt into every suite's
# CTestTestfile after its Catch2 tests are discovered; names of tests that
# do not exist are ignored. Keep the list short and roughly sorted; a
# renamed test only loses its head start.
set_tests_properties(
  [==[session tests with the ptrace mechanism]==]
  [==[lineage:govrun: 8 concurrent govrun loops into one log]==]
  [==[lineage:govrun SIGKILLed at random points: the log verifies, interrupted runs are incomplete]==]
  [==[lineage:8 concurrent writer processes: every record present, the log verifies]==]
  [==[TOCTOU: the program that runs is always the one hashed]==]
  [==[hostile: a policy of 100,000 rules checks without errors]==]
  [==[golden: govc check diagnostics]==]
  PROPERTIES COST 30)
set_tests_properties(
  [==[differential: govrun's program fields equal every test case's]==]
  [==[codegen: random policies decide like the interpreter]==]
  [==[lineage:truncation is detected, a log cut at a record boundary vouches only for its checkpoints]==]
  [==[examples/agent.gov, built and signed, governs real commands as its comments say]==]
  [==[finding 6: `write` never leaves truncate(2) open, at every Landlock ABI]==]
  [==[golden: govc lint diagnostics]==]
  [==[lineage:writers SIGKILLed at random points: the log verifies, interrupted runs are incomplete]==]
  [==[finding 17: governed programs hold no capabilities and create no device nodes]==]
  [==[session: an exec whose path or argument another thread changes runs only as authorized]==]
  [==[session: no escape corpus entry runs a denied program]==]
  [==[a run writes nothing beneath /proc, /sys or /dev unless `write` names it, even as root]==]
  PROPERTIES COST 10)
