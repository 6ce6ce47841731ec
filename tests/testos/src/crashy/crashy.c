/* crashy: a program of TestOS that crashes on purpose, in each of the ways the retrace tests need.
 *
 *   crashy null      NULL dereference several calls deep inside libtoken (via libparse)
 *   crashy abort     abort() from a failed assert() inside libparse
 *   crashy threads   four threads; one of them crashes inside libtoken
 *   crashy wild-write   a write to a wild (unmapped, not near NULL) address
 *   crashy wild-jump    a call through a pointer to data that is not executable
 *   crashy smash        a stack buffer overflow caught by the stack protector
 *   crashy recurse      unbounded recursion until the stack runs out (>= 100 000 frames)
 *
 * CRASHY_MAJOR and CRASHY_BUILD come from the spec file, so each packaged version has its own
 * function names and frames. */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
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

/* An address no mapping uses on x86_64 (canonical, far from NULL, far from the usual layout). */
#define WILD_ADDRESS 0x0000123456789000UL

__attribute__((noipa)) static int run_wild_write(void)
{
        volatile unsigned long *p = (volatile unsigned long *) (WILD_ADDRESS + (unsigned long) sink);

        *p = 0x4141414141414141UL; /* @line run_wild_write */
        return 0;
}

/* Data, not code: .data is mapped without PROT_EXEC, so the call faults at the jump target. */
static unsigned char not_code[64];

__attribute__((noipa)) static int run_wild_jump(void)
{
        int (*volatile fn)(void) = (int (*)(void)) (void *) not_code;
        int r = fn(); /* @line run_wild_jump */

        sink = r;
        return r;
}

/* Built with -fstack-protector-explicit: only this function carries a canary. */
__attribute__((noipa, stack_protect)) static int run_smash(const char *input, size_t len)
{
        char buf[16];

        memcpy(buf, input, len);
        sink = buf[3];
        return buf[0];
} /* @line run_smash */

static const char smash_input[256] = "a string much longer than the buffer it is copied into";

/* The stack's growth is checked against RLIMIT_STACK at each fault: 8 MiB whatever the caller had. */
static void limit_stack(void)
{
        struct rlimit rl = { 8u << 20, 8u << 20 };

        (void) setrlimit(RLIMIT_STACK, &rl);
}

__attribute__((noipa)) static int recurse(unsigned depth)
{
        int r;

        if (depth == ~0u) /* never: keeps the compiler from calling the recursion infinite */
                return 0;
        r = recurse(depth + 1); /* @line recurse */

        sink = r;
        return r + 1;
}

int main(int argc, char *argv[])
{
        if (argc == 2 && strcmp(argv[1], "null") == 0)
                return run_null(); /* @line main:null */
        if (argc == 2 && strcmp(argv[1], "abort") == 0)
                return run_abort(); /* @line main:abort */
        if (argc == 2 && strcmp(argv[1], "threads") == 0)
                return run_threads(); /* @line main:threads */
        if (argc == 2 && strcmp(argv[1], "wild-write") == 0)
                return run_wild_write(); /* @line main:wild-write */
        if (argc == 2 && strcmp(argv[1], "wild-jump") == 0)
                return run_wild_jump(); /* @line main:wild-jump */
        if (argc == 2 && strcmp(argv[1], "smash") == 0)
                return run_smash(smash_input, sizeof(smash_input) - (size_t) sink); /* @line main:smash */
        if (argc == 2 && strcmp(argv[1], "recurse") == 0)
                return limit_stack(), recurse(0); /* @line main:recurse */
        fprintf(stderr, "usage: crashy null|abort|threads|wild-write|wild-jump|smash|recurse\n");
        return 2;
}
