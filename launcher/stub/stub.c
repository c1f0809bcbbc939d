/* The file a runtime executes for one program (bridge, host-local, ...): it runs the frozen
 * program of the same name in the support directory beside its own real location, with the same
 * argv and environment. Its identity is built in (-DPROGRAM), so resolved paths, wrappers
 * (bridge -> bridge.real), renames (10-tuning) and copies taken with their support directory all
 * work. Copied without the support directory it says so in one line on stderr and answers a CNI
 * error on stdout, where a runtime reads it. One execve: it costs well under a millisecond.
 *
 * Built by scripts/build: cc -O2 -DPROGRAM='"bridge"' -DSUPPORT='"cni-plugins.d"' -DPROJECT=...
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef PROGRAM
#error "build with -DPROGRAM=\"name\""
#endif
#ifndef SUPPORT
#define SUPPORT "cni-plugins.d"
#endif
#ifndef PROJECT
#define PROJECT "pycni-plugins"
#endif
#ifndef VERSION
#define VERSION "0"
#endif
#ifndef TARBALL
#define TARBALL PROJECT "-linux-<arch>-v" VERSION ".tgz"
#endif

/* Lets the plugins recognise their own siblings in CNI_PATH (pkg/ipam.py runs them in-process). */
__attribute__((used)) static const char marker[] = "\n" PROJECT "-program=" PROGRAM "\n";

int main(int argc, char **argv) {
    (void)argc;
    char self[PATH_MAX];
    char target[PATH_MAX + sizeof(SUPPORT) + sizeof(PROGRAM) + 2];
    const char *why = "cannot read /proc/self/exe";
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            snprintf(target, sizeof(target), "%s/" SUPPORT "/" PROGRAM, self);
            execv(target, argv);
            why = strerror(errno);
        }
    } else {
        snprintf(target, sizeof(target), SUPPORT "/" PROGRAM);
    }
    fprintf(stderr,
            PROGRAM ": cannot run %s (%s): this program needs the directory " SUPPORT "/ of "
            PROJECT " v" VERSION " beside it; install the whole release: extract " TARBALL
            " into the plugin directory (or `make install`)\n",
            target, why);
    printf("{\n    \"cniVersion\": \"1.1.0\",\n    \"code\": 999,\n    \"msg\": \"" PROGRAM
           " is installed without its support directory " SUPPORT "/\",\n    \"details\": \""
           "install the whole " PROJECT " release (" TARBALL ") into the plugin directory\"\n}\n");
    return 1;
}
