build/tests/test_log.o: tests/test_log.c common/log.h
common/log.h:
