/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Replays files (or every file in directories) through a fuzz target, as the fuzz suite does. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common-file.h"
#include "common-macro.h"
#include "common-path.h"
#include "fuzz.h"

static int replay_file(const char *path)
{
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        r = file_read_at(AT_FDCWD, path, 64 << 20, &buf, &len);
        if (r < 0) {
                fprintf(stderr, "cannot read %s: %s\n", path, strerror(-r));
                return r;
        }
        printf("%s (%zu bytes)\n", path, len);
        fflush(stdout);
        (void) LLVMFuzzerTestOneInput((const uint8_t *) buf, len);
        return 0;
}

int main(int argc, char *argv[])
{
        unsigned n = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                _cleanup_closedir_ DIR *d = NULL;

                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        return EXIT_FAILURE;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (replay_file(argv[i]) < 0)
                                return EXIT_FAILURE;
                        n++;
                        continue;
                }
                d = opendir(argv[i]);
                if (!d)
                        return EXIT_FAILURE;
                for (struct dirent *de; (de = readdir(d));) {
                        _cleanup_free_ char *p = NULL;

                        if (de->d_name[0] == '.')
                                continue;
                        p = path_join(argv[i], de->d_name);
                        if (!p || replay_file(p) < 0)
                                return EXIT_FAILURE;
                        n++;
                }
        }
        if (n == 0) {
                fprintf(stderr, "no corpus files given\n");
                return EXIT_FAILURE;
        }
        printf("%u inputs replayed\n", n);
        return EXIT_SUCCESS;
}
