/* The file a runtime executes for one program (bridge, host-local, ...): it runs the frozen
 * program of the same name in the support directory beside its own real location, with the same
 * argv and environment. Its identity is built in (-DPROGRAM), so resolved paths, wrappers
 * (bridge -> bridge.real), renames (10-tuning) and copies taken with their support directory all
 * work. Copied without the support directory it says so in one line on stderr and answers a CNI
 * error on stdout, where a runtime reads it. One execve: it costs well under a millisecond.
 *
 * The plugins' launchers (-DWARM_CLIENT) are also the client of the opt-in warm server
 * (launcher/warm): with CNI_PY_WARM=1 in the environment they hand the call to the server of this
 * context, exactly as launcher/warm/client.py does, so a warm call starts no Python at all. See
 * warm_call() below; without CNI_PY_WARM the launcher does nothing more than one getenv.
 *
 * Built by scripts/build: cc -O2 -DPROGRAM='"bridge"' -DSUPPORT='"cni-plugins.d"' -DPROJECT=...
 * (tests/unit/test_stub.py also builds it with -DWARM_TEST: a program that prints what the
 * launcher computes, to compare with the Python side).
 */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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

#if defined(WARM_CLIENT) || defined(WARM_TEST)
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <fcntl.h>

extern char **environ;

/* -- kept equal to the Python side (tests/unit/test_stub.py compares them) -------------------- */

/* launcher/warm/context.py: PREFIX, NAMESPACES and, in the frozen build, the module file whose
 * identity names the build (its __file__ relative to the support directory) */
#define WARM_PREFIX "cni-py-warm"
#define WARM_MODULE "launcher/warm/context.pyc"
/* launcher/warm/protocol.py */
#define WARM_MAGIC "CNIW1"
#define WARM_HELLO_SIZE 9
#define WARM_ACCEPT_TIMEOUT_MS 2000
#define WARM_FDS 4
/* launcher/multicall.py: the frozen program runs cold with this set when the launcher has tried
 * the server already (it then does not try again, and starts a server after its call) */
#define WARM_TRIED "_CNI_PY_WARM_TRIED"

/* launcher/multicall.py main(): these first arguments are handled by the frozen program itself */
static int program_flag(int argc, char **argv) {
    static const char *const flags[] = {"--version", "--serve", "--warm-status", "--warm-stop"};
    if (argc < 2)
        return 0;
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (strcmp(argv[1], flags[i]) == 0)
            return 1;
    return 0;
}

/* Length of the whitespace character (Python's str.isspace, UTF-8) at s, or 0. */
static size_t space_at(const unsigned char *s, size_t left) {
    static const unsigned char *const wide[] = {
        (const unsigned char *)"\xc2\x85",     (const unsigned char *)"\xc2\xa0",
        (const unsigned char *)"\xe1\x9a\x80", (const unsigned char *)"\xe2\x80\xa8",
        (const unsigned char *)"\xe2\x80\xa9", (const unsigned char *)"\xe2\x80\xaf",
        (const unsigned char *)"\xe2\x81\x9f", (const unsigned char *)"\xe3\x80\x80"};
    if (left == 0)
        return 0;
    if ((s[0] >= '\t' && s[0] <= '\r') || (s[0] >= 0x1c && s[0] <= 0x20))
        return 1;
    if (left >= 3 && s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0x80 && s[2] <= 0x8a)
        return 3; /* U+2000 .. U+200A */
    for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
        size_t n = strlen((const char *)wide[i]);
        if (left >= n && memcmp(s, wide[i], n) == 0)
            return n;
    }
    return 0;
}

/* Length of the whitespace character ending just before s + len, or 0. */
static size_t space_before(const unsigned char *s, size_t len) {
    for (size_t n = 1; n <= 3 && n <= len; n++)
        if (space_at(s + len - n, n) == n)
            return n;
    return 0;
}

/* launcher/multicall.py warm_requested(): value.strip().lower() in ("1", "true", "yes", "on") */
static int warm_requested(const char *value) {
    static const char *const words[] = {"1", "true", "yes", "on"};
    if (value == NULL)
        return 0;
    const unsigned char *s = (const unsigned char *)value;
    size_t len = strlen(value), n;
    while ((n = space_at(s, len)) > 0) {
        s += n;
        len -= n;
    }
    while ((n = space_before(s, len)) > 0)
        len -= n;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strlen(words[i]) != len)
            continue;
        size_t j = 0;
        while (j < len && (s[j] | (s[j] >= 'A' && s[j] <= 'Z' ? 0x20 : 0)) == (unsigned char)words[i][j])
            j++;
        if (j == len)
            return 1;
    }
    return 0;
}

/* BLAKE2b (RFC 7693), unkeyed, as Python's blake2b(data, digest_size=outlen). */
static const uint64_t blake2b_iv[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};
static const uint8_t blake2b_sigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

static uint64_t rotr64(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

#define B2G(a, b, c, d, x, y)              \
    do {                                   \
        v[a] = v[a] + v[b] + (x);          \
        v[d] = rotr64(v[d] ^ v[a], 32);    \
        v[c] = v[c] + v[d];                \
        v[b] = rotr64(v[b] ^ v[c], 24);    \
        v[a] = v[a] + v[b] + (y);          \
        v[d] = rotr64(v[d] ^ v[a], 16);    \
        v[c] = v[c] + v[d];                \
        v[b] = rotr64(v[b] ^ v[c], 63);    \
    } while (0)

static void blake2b_compress(uint64_t h[8], const unsigned char block[128], uint64_t count, int last) {
    uint64_t m[16], v[16];
    for (int i = 0; i < 16; i++) {
        m[i] = 0;
        for (int j = 7; j >= 0; j--)
            m[i] = (m[i] << 8) | block[8 * i + j];
    }
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = blake2b_iv[i];
    }
    v[12] ^= count; /* the high word of the 128-bit counter stays 0 */
    if (last)
        v[14] = ~v[14];
    for (int r = 0; r < 12; r++) {
        const uint8_t *s = blake2b_sigma[r];
        B2G(0, 4, 8, 12, m[s[0]], m[s[1]]);
        B2G(1, 5, 9, 13, m[s[2]], m[s[3]]);
        B2G(2, 6, 10, 14, m[s[4]], m[s[5]]);
        B2G(3, 7, 11, 15, m[s[6]], m[s[7]]);
        B2G(0, 5, 10, 15, m[s[8]], m[s[9]]);
        B2G(1, 6, 11, 12, m[s[10]], m[s[11]]);
        B2G(2, 7, 8, 13, m[s[12]], m[s[13]]);
        B2G(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++)
        h[i] ^= v[i] ^ v[i + 8];
}

static void blake2b(unsigned char *out, size_t outlen, const unsigned char *in, size_t inlen) {
    uint64_t h[8];
    unsigned char block[128];
    uint64_t count = 0;
    memcpy(h, blake2b_iv, sizeof(h));
    h[0] ^= 0x01010000ULL ^ outlen;
    while (inlen > 128) {
        count += 128;
        blake2b_compress(h, in, count, 0);
        in += 128;
        inlen -= 128;
    }
    memset(block, 0, sizeof(block));
    memcpy(block, in, inlen);
    blake2b_compress(h, block, count + inlen, 1);
    for (size_t i = 0; i < outlen; i++)
        out[i] = (unsigned char)(h[i / 8] >> (8 * (i % 8)));
}

/* launcher/warm/context.py file_identity() of a stat'ed path, appended at *at. */
static int append_identity(char *buf, size_t size, size_t *at, const char *path) {
    struct stat st;
    int n;
    if (stat(path, &st) != 0)
        return -1;
    if (S_ISDIR(st.st_mode))
        n = snprintf(buf + *at, size - *at, "%s:%llu:%llu\n", path, (unsigned long long)st.st_dev,
                     (unsigned long long)st.st_ino);
    else
        n = snprintf(buf + *at, size - *at, "%s:%llu:%llu:%lld:%lld\n", path,
                     (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                     (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
                     (long long)st.st_size);
    if (n < 0 || (size_t)n >= size - *at)
        return -1;
    *at += (size_t)n;
    return 0;
}

/* launcher/warm/context.py address() of the frozen program `target` (as it computes it when it
 * runs: its support directory is the real directory of its executable); returns the length of the
 * abstract address written to addr (a leading NUL, no terminator), or 0 when it cannot be known. */
static size_t warm_address(const char *target, char *addr, size_t addr_size) {
    static char context[2 * PATH_MAX + 512];
    char root[PATH_MAX], module[PATH_MAX + sizeof(WARM_MODULE) + 1];
    size_t at;
    int n;
    if (realpath(target, root) == NULL)
        return 0;
    char *slash = strrchr(root, '/');
    if (slash == NULL)
        return 0;
    *slash = '\0';
    snprintf(module, sizeof(module), "%s/" WARM_MODULE, root);
    unsigned euid = (unsigned)geteuid();
    at = (size_t)snprintf(context, sizeof(context), "euid=%u\n", euid);
    if (append_identity(context, sizeof(context), &at, root) != 0 ||
        append_identity(context, sizeof(context), &at, module) != 0)
        return 0;
    static const char *const namespaces[] = {"mnt", "pid", "user"};
    for (size_t i = 0; i < 3; i++) {
        char path[32];
        struct stat st;
        snprintf(path, sizeof(path), "/proc/self/ns/%s", namespaces[i]);
        if (stat(path, &st) != 0)
            return 0;
        n = snprintf(context + at, sizeof(context) - at, "%s=%llu\n", namespaces[i],
                     (unsigned long long)st.st_ino);
        if (n < 0 || (size_t)n >= sizeof(context) - at)
            return 0;
        at += (size_t)n;
    }
    struct stat st;
    if (stat("/", &st) != 0)
        return 0;
    n = snprintf(context + at, sizeof(context) - at, "root=%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino);
    if (n < 0 || (size_t)n >= sizeof(context) - at)
        return 0;
    at += (size_t)n;
    unsigned char digest[16];
    blake2b(digest, sizeof(digest), (const unsigned char *)context, at);
    n = snprintf(addr, addr_size, "%c" WARM_PREFIX "/%u/", 0, euid);
    for (size_t i = 0; i < sizeof(digest) && (size_t)n + 2 < addr_size; i++, n += 2)
        snprintf(addr + n, addr_size - (size_t)n, "%02x", digest[i]);
    return (size_t)n;
}
#endif /* WARM_CLIENT || WARM_TEST */

#ifdef WARM_CLIENT
/* -- the warm client: launcher/warm/client.py call_warm(), in C --------------------------------- */

static void put_item(char **at, const void *data, size_t size) {
    uint32_t n = (uint32_t)size;
    for (int i = 0; i < 4; i++)
        *(*at)++ = (char)(n >> (8 * i));
    memcpy(*at, data, size);
    *at += size;
}

/* Entries of environ as Python's os.environ sees them: with a '=', the first of each name. */
static int env_entry_kept(char **env, size_t index) {
    const char *eq = strchr(env[index], '=');
    if (eq == NULL)
        return 0;
    size_t key = (size_t)(eq - env[index]);
    for (size_t j = 0; j < index; j++)
        if (strncmp(env[j], env[index], key + 1) == 0)
            return 0;
    return 1;
}

/* The framed REQUEST (protocol.py frame()): run, name, umask, argc, argv..., environment... */
static char *warm_request(int argc, char **argv, size_t *length) {
    static char *const empty[] = {"", NULL};
    char umask_text[16], argc_text[16];
    mode_t mask = umask(022);
    umask(mask);
    if (argc < 1) { /* Python's sys.argv is [''] then */
        argc = 1;
        argv = (char **)empty;
    }
    snprintf(umask_text, sizeof(umask_text), "%u", (unsigned)mask);
    snprintf(argc_text, sizeof(argc_text), "%d", argc);
    const char *fixed[] = {"run", PROGRAM, umask_text, argc_text};
    size_t size = 4;
    for (size_t i = 0; i < 4; i++)
        size += 4 + strlen(fixed[i]);
    for (int i = 0; i < argc; i++)
        size += 4 + strlen(argv[i]);
    for (size_t i = 0; environ != NULL && environ[i] != NULL; i++)
        if (env_entry_kept(environ, i))
            size += 4 + strlen(environ[i]);
    char *buf = malloc(size);
    if (buf == NULL)
        return NULL;
    char *at = buf;
    uint32_t body = (uint32_t)(size - 4);
    for (int i = 0; i < 4; i++)
        *at++ = (char)(body >> (8 * i));
    for (size_t i = 0; i < 4; i++)
        put_item(&at, fixed[i], strlen(fixed[i]));
    for (int i = 0; i < argc; i++)
        put_item(&at, argv[i], strlen(argv[i]));
    for (size_t i = 0; environ != NULL && environ[i] != NULL; i++)
        if (env_entry_kept(environ, i))
            put_item(&at, environ[i], strlen(environ[i]));
    *length = size;
    return buf;
}

/* Exactly size bytes, or -1 (end of stream, error, or no data within timeout_ms; -1: no limit). */
static int recv_exact(int sock, unsigned char *buf, size_t size, int timeout_ms) {
    size_t got = 0;
    while (got < size) {
        if (timeout_ms >= 0) {
            struct pollfd p = {.fd = sock, .events = POLLIN};
            int ready = poll(&p, 1, timeout_ms);
            if (ready < 0 && errno == EINTR)
                continue;
            if (ready <= 0)
                return -1;
        }
        ssize_t n = recv(sock, buf + got, size - got, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* Send the request with the caller's stdio and working directory; -1 when it did not all go. */
static int send_request(int sock, const char *request, size_t length, int cwd) {
    int fds[WARM_FDS] = {0, 1, 2, cwd};
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(fds))];
    } control;
    struct iovec iov = {.iov_base = (void *)request, .iov_len = length};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space,
                         .msg_controllen = sizeof(control.space)};
    memset(control.space, 0, sizeof(control.space));
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(fds));
    memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
    ssize_t sent;
    do
        sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    if (sent < 0) /* e.g. a closed stdio fd: the worker never got a request */
        return -1;
    while ((size_t)sent < length) {
        ssize_t n = send(sock, request + sent, length - (size_t)sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        sent += n;
    }
    return 0;
}

static void warm_stderr(const char *text) {
    ssize_t n = write(2, text, strlen(text));
    (void)n;
}

/* Run this call in the warm server of this context and exit with its code; return to run cold.
 *
 * Exactly once, as in client.py: the call is accepted when the worker greets us (HELLO, within
 * ACCEPT_TIMEOUT); before that, any failure (no server, another uid listening, busy) means the
 * worker cannot have seen the request, so the caller runs the frozen program cold. After HELLO we
 * never fall back (except when the request could not be sent: then nothing ran). If this process
 * is killed while the worker runs, the server sees our end close and kills the worker and all it
 * started (server.py, Server._client_gone). */
static void warm_call(const char *target, int argc, char **argv) {
    char addr[sizeof(((struct sockaddr_un *)0)->sun_path)];
    size_t addr_len = warm_address(target, addr, sizeof(addr));
    if (addr_len == 0)
        return;
    int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cwd < 0)
        return;
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (sock < 0) {
        close(cwd);
        return;
    }
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, addr, addr_len);
    struct ucred cred;
    socklen_t cred_len = sizeof(cred);
    unsigned char hello[WARM_HELLO_SIZE];
    size_t length = 0;
    char *request = NULL;
    /* Abstract names have no permissions: whoever listens must be our own uid, or we hand over
     * nothing (no stdio, environment or config) */
    if (connect(sock, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + addr_len)) == 0 &&
        getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) == 0 && cred.uid == geteuid() &&
        recv_exact(sock, hello, sizeof(hello), WARM_ACCEPT_TIMEOUT_MS) == 0 &&
        memcmp(hello, WARM_MAGIC, sizeof(WARM_MAGIC) - 1) == 0 && fcntl(sock, F_SETFL, 0) == 0 &&
        (request = warm_request(argc, argv, &length)) != NULL && send_request(sock, request, length, cwd) == 0) {
        /* accepted: from here on the call is the server's */
        unsigned char reply[5];
        if (recv_exact(sock, reply, sizeof(reply), -1) != 0 || reply[0] != 'E') {
            char message[128];
            unsigned worker = (unsigned)hello[5] | (unsigned)hello[6] << 8 | (unsigned)hello[7] << 16 |
                              (unsigned)hello[8] << 24;
            snprintf(message, sizeof(message),
                     "cni warm server: worker %u ended without an exit status (killed?)\n", worker);
            warm_stderr(message);
            _exit(1);
        }
        _exit((int)((uint32_t)reply[1] | (uint32_t)reply[2] << 8 | (uint32_t)reply[3] << 16 |
                    (uint32_t)reply[4] << 24));
    }
    free(request);
    close(sock);
    close(cwd);
}
#endif /* WARM_CLIENT */

#ifdef WARM_TEST
/* tests/unit/test_stub.py: `stub-test address`, `stub-test requested` (CNI_PY_WARM), `stub-test
 * blake2b` (of stdin) print what the launcher computes. */
int main(int argc, char **argv) {
    char self[PATH_MAX], target[PATH_MAX + sizeof(SUPPORT) + sizeof(PROGRAM) + 2];
    if (argc < 2)
        return 2;
    if (strcmp(argv[1], "requested") == 0) {
        printf("%d\n", warm_requested(getenv("CNI_PY_WARM")));
        return 0;
    }
    if (strcmp(argv[1], "flag") == 0) {
        printf("%d\n", program_flag(argc - 1, argv + 1));
        return 0;
    }
    if (strcmp(argv[1], "blake2b") == 0) {
        static unsigned char data[1 << 20];
        size_t n = fread(data, 1, sizeof(data), stdin);
        unsigned char digest[16];
        blake2b(digest, sizeof(digest), data, n);
        for (size_t i = 0; i < sizeof(digest); i++)
            printf("%02x", digest[i]);
        printf("\n");
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0 || strcmp(argv[1], "address") != 0)
        return 2;
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    snprintf(target, sizeof(target), "%s/" SUPPORT "/" PROGRAM, self);
    char addr[108];
    size_t len = warm_address(target, addr, sizeof(addr));
    if (len == 0)
        return 1;
    fwrite(addr + 1, 1, len - 1, stdout);
    printf("\n");
    return 0;
}
#else
int main(int argc, char **argv) {
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
#ifdef WARM_CLIENT
            if (warm_requested(getenv("CNI_PY_WARM")) && !program_flag(argc, argv)) {
                warm_call(target, argc, argv); /* returns only when no server took the call */
                setenv(WARM_TRIED, "1", 1);
            }
#else
            (void)argc;
#endif
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
#endif
