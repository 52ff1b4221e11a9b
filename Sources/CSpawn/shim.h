#ifndef HEARSAY_CSPAWN_SHIM_H
#define HEARSAY_CSPAWN_SHIM_H
#include <spawn.h>
/* glibc (2.34 and later) has both, but declares them only under _GNU_SOURCE, which
   Swift's Glibc module is built without. Event handlers need them: pipes that are
   close-on-exec from birth, so that a handler started on another thread at the same
   moment never inherits one (it would hold the other's input open), and a child that
   gets none of the agent's descriptors. */
int pipe2(int pipefd[2], int flags);
int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
#endif
