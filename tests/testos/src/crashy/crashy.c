/* crashy: a program of TestOS that crashes on purpose, in each of the ways the retrace tests need.
 *
 *   crashy null      NULL dereference several calls deep inside libtoken (via libparse)
 *   crashy abort     abort() from a failed assert() inside libparse
 *   crashy threads   four threads; one of them crashes inside libtoken
 *
 * CRASHY_MAJOR and CRASHY_BUILD come from the spec file, so each packaged version has its own
 * function names and frames. */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "parse.h"

#if CRASHY_MAJOR >= 2
#define run_null    cmd_null_deref
#define run_abort   cmd_failed_assert
#define run_threads cmd_thread_crash
#endif

static volatile int sink;

#if CRASHY_MAJOR == 1 && CRASHY_BUILD >= 2
/* Since 1.0-2 every record goes through this helper, which adds a frame. */
__attribute__((noipa)) static int parse_input(const char *record)
{
        int r = parse_record(record); /* @line parse_input */
        sink = r;
        return r;
}
#define PARSE(record) parse_input(record)
#else
#define PARSE(record) parse_record(record)
#endif

__attribute__((noipa)) static int run_null(void)
{
        int r = PARSE(""); /* @line run_null */
        sink = r;
        return r;
}

__attribute__((noipa)) static int run_abort(void)
{
        int r = parse_validate("alpha averyveryverylongtoken", 8); /* @line run_abort */
        sink = r;
        return r;
}

static pthread_barrier_t parked;

static void *worker_idle(void *arg)
{
        (void) arg;
        pthread_barrier_wait(&parked);
        for (;;)
                pause();
        return NULL;
}

static void *worker_crash(void *arg)
{
        int r;

        (void) arg;
        pthread_barrier_wait(&parked);
        usleep(200 * 1000); /* let the idle workers reach pause() */
        r = PARSE("");      /* @line worker_crash */
        sink = r;
        return NULL;
}

__attribute__((noipa)) static int run_threads(void)
{
        pthread_t threads[3];
        pthread_attr_t attr;

        /* One malloc arena: per-thread arenas reserve 64 MiB each and would bloat the core. */
        mallopt(M_ARENA_MAX, 1);
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        pthread_barrier_init(&parked, NULL, 3);
        pthread_create(&threads[0], &attr, worker_idle, NULL);
        pthread_create(&threads[1], &attr, worker_idle, NULL);
        pthread_create(&threads[2], &attr, worker_crash, NULL);
        pthread_join(threads[2], NULL); /* @line run_threads */
        return 0;
}

int main(int argc, char *argv[])
{
        if (argc == 2 && strcmp(argv[1], "null") == 0)
                return run_null(); /* @line main:null */
        if (argc == 2 && strcmp(argv[1], "abort") == 0)
                return run_abort(); /* @line main:abort */
        if (argc == 2 && strcmp(argv[1], "threads") == 0)
                return run_threads(); /* @line main:threads */
        fprintf(stderr, "usage: crashy null|abort|threads\n");
        return 2;
}
