// A slow disk for the durability benchmark: preloaded into an agent, it makes every
// fdatasync and fsync take HEARSAY_SLOW_SYNC_MS milliseconds longer (default 200),
// as a loaded network volume or a failing disk does. This kernel has no device-mapper
// delay target, so the delay sits in front of the real call instead.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void delay(void) {
    const char *text = getenv("HEARSAY_SLOW_SYNC_MS");
    long ms = text ? atol(text) : 200;
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&pause, &pause) != 0) {
    }
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    delay();
    return real(fd);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    delay();
    return real(fd);
}
