/* guardsh-client: the native fast path of guardsh (issue 16).
 *
 * Asks the resident classifier (guardsh daemon) whether this argv would run at once; on "allow"
 * it execve()s the real bash exactly as the Python guardsh does (argv[0] = the name this program
 * was exec'd by, the same arguments, the same environment plus the recursion-guard token, stdio
 * untouched, SIGPIPE and SIGXFSZ back to their defaults).  On anything else -- ask, deny, no
 * daemon, a daemon that does not answer within GUARDSH_TIMEOUT_MS, a protocol error, a daemon it
 * cannot verify -- it execs the Python guardsh with the same argv.  It never allows on doubt.
 *
 * The daemon is trusted only when: its socket directory is a real directory owned by the
 * expected user with no access for anyone else, the socket is a socket owned by that user,
 * SO_PEERCRED names that user, /proc/PID/exe is the expected interpreter, /proc/PID/cmdline is
 * "PYTHON -IS LAUNCHER daemon run" with at most --workers N and --socket-dir THIS_DIR, its
 * environment has no LD_* variable and nothing traces it.  Separate-user mode (GUARDSH_DAEMON_UID
 * another uid): the directory may be 0755 (not writable by others), and exe and environ, which
 * the kernel hides from another user, are not read: that uid is the proof.
 *
 * "guardsh hook AGENT" takes the same path: the agent's JSON (read from stdin) goes to the daemon;
 * on its "print" the hook's answer is written to stdout, else the Python hook gets the same input
 * back on fd 0 (a memory file) and decides.
 *
 * Build: cc -O2 -o guardsh-client guardsh-client.c \
 *          -DGUARDSH_LAUNCHER='"/path/launcher"' -DGUARDSH_PYTHON='"/real/python3.11"'
 * optional: -DGUARDSH_SOCKET_DIR='"/dir"' (default /run/user/UID/guardsh, else /tmp/guardsh-UID),
 *           -DGUARDSH_TIMEOUT_MS=10, -DGUARDSH_DAEMON_UID=N (separate-user mode: the daemon's uid),
 *           -DGUARDSH_ON_DEMAND=0 (do not start a daemon when none is there; default 1),
 *           -DGUARDSH_IDLE_EXIT_S=1800 (how long a daemon started on demand waits for work).
 *
 * On demand: when no daemon is there (no directory, no socket, or nobody listening on it), the
 * client starts one for the next command -- the launcher itself, detached, in a clean environment,
 * at most once per 10 s -- and this command takes the Python path.  A directory or socket that
 * is not the user's own starts nothing.  Not in separate-user mode: the system unit runs that one.
 * libc only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#ifndef GUARDSH_LAUNCHER
#error "define GUARDSH_LAUNCHER (the Python guardsh launcher to fall back to)"
#endif
#ifndef GUARDSH_PYTHON
#error "define GUARDSH_PYTHON (the real path of the interpreter the daemon runs on)"
#endif
#ifndef GUARDSH_TIMEOUT_MS
#define GUARDSH_TIMEOUT_MS 10
#endif
#ifndef GUARDSH_ON_DEMAND
#define GUARDSH_ON_DEMAND 1
#endif
#ifndef GUARDSH_IDLE_EXIT_S
#define GUARDSH_IDLE_EXIT_S 1800
#endif
#define STR_(x) #x
#define STR(x) STR_(x)
#define MAX_ANSWER 65536

extern char **environ;

static char *exec_name;   /* what the Python guardsh would see as sys.argv[0] */
static int nargs;
static char **args;       /* argv + 1 */

/* A hook's stdin, once read: handed back to the Python hook on fallback. */
static char *hook_input;
static size_t hook_len;
static int hook_taken;
#define MAX_HOOK_INPUT (4 << 20)

/* fd 0 delivers the hook input again (a memory file, else an unlinked temporary file). */
static void give_back_stdin(void) {
    int m = memfd_create("guardsh-hook-stdin", 0);
    if (m < 0) m = open("/tmp", O_TMPFILE | O_RDWR, 0600);
    if (m < 0) return; /* the Python hook then reads no input: it denies */
    size_t done = 0;
    while (done < hook_len) {
        ssize_t n = write(m, hook_input + done, hook_len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += (size_t)n;
    }
    lseek(m, 0, SEEK_SET);
    dup2(m, 0);
    close(m);
}

/* The Python guardsh decides: same argv; the launcher takes the name back from --guardsh-argv0. */
static void fallback(const char *why) {
    if (getenv("GUARDSH_CLIENT_DEBUG")) dprintf(2, "guardsh-client: python path: %s\n", why);
    if (hook_taken) give_back_stdin();
    char self[PATH_MAX], launcher[PATH_MAX];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl > 0 && realpath(GUARDSH_LAUNCHER, launcher)) {
        self[sl] = 0;
        if (strcmp(self, launcher) == 0) { /* built to fall back to itself: a loop, not a guard */
            dprintf(2, "guardsh: %s is this client, not the Python guardsh; nothing was run\n", GUARDSH_LAUNCHER);
            _exit(125);
        }
    }
    char **v = calloc((size_t)nargs + 4, sizeof(char *));
    if (v) {
        v[0] = GUARDSH_LAUNCHER;
        v[1] = "--guardsh-argv0";
        v[2] = exec_name;
        for (int i = 0; i < nargs; i++) v[3 + i] = args[i];
        execve(GUARDSH_LAUNCHER, v, environ);
    }
    dprintf(2, "guardsh: cannot run %s (%s); nothing was run\n", GUARDSH_LAUNCHER, strerror(errno));
    _exit(125);
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int read_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    return got < size ? (int)got : -1; /* -1 also when it does not fit */
}

/* Is the process at the other end the genuine daemon? */
static int trusted_peer(int fd, uid_t want_uid, const char *dir) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) return 0;
    if (cred.uid != want_uid || cred.pid <= 1) return 0;
    /* Separate-user mode (built with GUARDSH_DAEMON_UID, another user than ours): the kernel
       hides another user's /proc/PID/exe and environ from us, and we need not read them: the
       uid is the proof (our user cannot create a process of that uid, nor ptrace or inject into
       one). Its cmdline and TracerPid are still checked. */
    int foreign = cred.uid != getuid();
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)cred.pid);
    ssize_t n = foreign ? 0 : readlink(path, buf, sizeof buf - 1);
    if (!foreign) {
        if (n <= 0) return 0;
        buf[n] = 0;
        if (strcmp(buf, GUARDSH_PYTHON) != 0) return 0;
    }
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)cred.pid);
    int got = read_file(path, buf, sizeof buf);
    if (got <= 0) return 0;
    const char *want[] = {"-IS", GUARDSH_LAUNCHER, "daemon", "run"};
    char *p = buf, *end = buf + got;
    p += strnlen(p, (size_t)(end - p)) + 1; /* argv[0]: the interpreter, checked through exe */
    for (int i = 0; i < 4; i++) {
        if (p >= end) return 0;
        size_t l = strnlen(p, (size_t)(end - p));
        if (p + l >= end || strcmp(p, want[i]) != 0) return 0;
        p += l + 1;
    }
    /* and nothing else but its own options, the socket directory being this one: a genuine daemon
       serving another directory must not lend its pid to an impostor that listens on ours */
    while (p < end) {
        size_t l = strnlen(p, (size_t)(end - p));
        if (p + l >= end) return 0;
        char *value = p + l + 1;
        if (value >= end) return 0;
        size_t vl = strnlen(value, (size_t)(end - value));
        if (value + vl >= end) return 0;
        if (strcmp(p, "--socket-dir") == 0) {
            if (strcmp(value, dir) != 0) return 0;
        } else if (strcmp(p, "--workers") == 0 || strcmp(p, "--idle-exit") == 0) {
            if (vl == 0 || strspn(value, "0123456789") != vl) return 0;
        } else {
            return 0;
        }
        p = value + vl + 1;
    }
    snprintf(path, sizeof path, "/proc/%d/environ", (int)cred.pid);
    static char envbuf[262144];
    got = foreign ? 0 : read_file(path, envbuf, sizeof envbuf);
    if (got < 0) return 0;
    for (char *e = envbuf; e < envbuf + got; e += strnlen(e, (size_t)(envbuf + got - e)) + 1)
        if (strncmp(e, "LD_", 3) == 0) return 0; /* LD_PRELOAD & co: code injected into the daemon */
    snprintf(path, sizeof path, "/proc/%d/status", (int)cred.pid);
    got = read_file(path, buf, sizeof buf);
    if (got <= 0) return 0;
    buf[got] = 0;
    char *t = strstr(buf, "\nTracerPid:");
    if (!t) return 0;
    t += strlen("\nTracerPid:");
    while (*t == ' ' || *t == '\t') t++;
    return t[0] == '0' && t[1] == '\n';
}

static int socket_dir(char *out, size_t size, uid_t uid) {
#ifdef GUARDSH_SOCKET_DIR
    (void)uid;
    return snprintf(out, size, "%s", GUARDSH_SOCKET_DIR) < (int)size;
#else
    char run[64];
    struct stat st;
    snprintf(run, sizeof run, "/run/user/%u", (unsigned)uid);
    if (stat(run, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid)
        return snprintf(out, size, "%s/guardsh", run) < (int)size;
    return snprintf(out, size, "/tmp/guardsh-%u", (unsigned)uid) < (int)size;
#endif
}

/* The socket directory is one to trust: a real directory of `owner`'s with none of `open_bits`
   (077 for the user's own daemon; 022 for a separate-user daemon's, which must be reachable). */
static int dir_trusted(const struct stat *st, uid_t owner, mode_t open_bits) {
    return S_ISDIR(st->st_mode) && st->st_uid == owner && !(st->st_mode & open_bits);
}

/* No daemon serves dir: start one (see the head comment), then return; the caller falls back. */
static void start_daemon(const char *dir) {
#if GUARDSH_ON_DEMAND && !defined(GUARDSH_DAEMON_UID)
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return;
    if (lstat(dir, &st) != 0 || !dir_trusted(&st, getuid(), 077)) return;
    char stamp[PATH_MAX], log[PATH_MAX];
    if (snprintf(stamp, sizeof stamp, "%s/daemon.start", dir) >= (int)sizeof stamp) return;
    if (snprintf(log, sizeof log, "%s/daemon.log", dir) >= (int)sizeof log) return;
    int sfd = open(stamp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (sfd < 0) return;
    struct stat ss;
    if (fstat(sfd, &ss) != 0 || (ss.st_size > 0 && time(NULL) - ss.st_mtime < 10 && ss.st_mtime <= time(NULL))) {
        close(sfd); /* an attempt in the last 10 s: it is starting, or it fails (see daemon.log) */
        return;
    }
    if (write(sfd, "1", 1) != 1 || futimens(sfd, NULL) != 0) { close(sfd); return; }
    close(sfd);
    pid_t child = fork();
    if (child < 0) return;
    if (child == 0) {
        if (setsid() < 0 || fork() != 0) _exit(0);
        /* a clean world: stdio on /dev/null and the log, cwd /, default signals, few variables */
        int null = open("/dev/null", O_RDWR);
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
        if (null < 0 || out < 0 || chdir("/") != 0) _exit(127);
        dup2(null, 0);
        dup2(out, 1);
        dup2(out, 2);
        for (int fd = 3; fd < 1024; fd++) close(fd);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
        static const char *keep[] = {"HOME=", "USER=", "LOGNAME=", "PATH=", "LANG=", "LC_ALL=", "LC_CTYPE=", "TZ=",
                                     "XDG_RUNTIME_DIR=", "XDG_CONFIG_HOME=", "XDG_STATE_HOME=", "XDG_CACHE_HOME=",
                                     "XDG_DATA_HOME=", NULL};
        char *env[16];
        int n = 0;
        for (char **e = environ; *e && n < 15; e++)
            for (int k = 0; keep[k]; k++)
                if (strncmp(*e, keep[k], strlen(keep[k])) == 0) { env[n++] = *e; break; }
        env[n] = NULL;
        char *v[] = {GUARDSH_LAUNCHER, "daemon", "run", "--socket-dir", (char *)dir, "--idle-exit",
                     STR(GUARDSH_IDLE_EXIT_S), NULL};
        execve(GUARDSH_LAUNCHER, v, env);
        _exit(127);
    }
    waitpid(child, NULL, 0);
#else
    (void)dir;
#endif
}

/* Growable request buffer of NUL-terminated fields. */
static char *req;
static size_t req_len, req_cap;
static int put(const char *s, size_t n) {
    if (req_len + n + 1 > req_cap) {
        size_t cap = req_cap ? req_cap : 16384;
        while (req_len + n + 1 > cap) cap *= 2;
        char *r = realloc(req, cap);
        if (!r) return 0;
        req = r;
        req_cap = cap;
    }
    memcpy(req + req_len, s, n);
    req[req_len + n] = 0;
    req_len += n + 1;
    return 1;
}
static int puts0(const char *s) { return put(s, strlen(s)); }

static int wait_fd(int fd, short events, long deadline) {
    for (;;) {
        long left = deadline - now_ms();
        if (left < 0) return 0;
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, (int)left);
        if (r > 0) return (p.revents & (events | POLLHUP)) != 0;
        if (r == 0) return 0;
        if (errno != EINTR) return 0;
    }
}

int main(int argc, char **argv) {
    if (argc < 1) _exit(125);
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    exec_name = (char *)(execfn && *execfn ? execfn : argv[0]);
    nargs = argc - 1;
    args = argv + 1;
    long deadline = now_ms() + GUARDSH_TIMEOUT_MS;

    /* Only a shell command (-c and options) can be answered; subcommands, scripts, stdin,
       tool shims: Python. */
    const char *base = strrchr(exec_name, '/');
    base = base ? base + 1 : exec_name;
    while (*base == '-') base++;
    int own = strncmp(base, "guardsh", 7) == 0;
    if (!own && strcmp(base, "bash") != 0 && strcmp(base, "sh") != 0) fallback("not a shell name");
    /* guardsh hook AGENT (no options): the agent's JSON on stdin */
    int hook = own && nargs == 2 && strcmp(args[0], "hook") == 0 &&
               (!strcmp(args[1], "claude-code") || !strcmp(args[1], "codex") || !strcmp(args[1], "gemini") ||
                !strcmp(args[1], "cursor"));
    if (hook) {
        size_t cap = 65536;
        hook_input = malloc(cap);
        if (!hook_input) fallback("out of memory");
        hook_taken = 1;
        for (;;) {
            if (hook_len == cap) {
                if (cap >= MAX_HOOK_INPUT) fallback("hook input too long");
                char *r = realloc(hook_input, cap * 2);
                if (!r) fallback("out of memory");
                hook_input = r;
                cap *= 2;
            }
            ssize_t n = read(0, hook_input + hook_len, cap - hook_len);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            hook_len += (size_t)n;
        }
        if (memchr(hook_input, 0, hook_len)) fallback("hook input holds a NUL byte");
        deadline = now_ms() + GUARDSH_TIMEOUT_MS;
    } else if (nargs < 1 || args[0][0] != '-') {
        fallback("not a shell command line or a plain hook");
    }

#ifdef GUARDSH_DAEMON_UID
    uid_t daemon_uid = (uid_t)GUARDSH_DAEMON_UID;
#else
    uid_t daemon_uid = getuid();
#endif
    char dir[PATH_MAX], sockpath[sizeof(((struct sockaddr_un *)0)->sun_path)];
    if (!socket_dir(dir, sizeof dir, getuid())) fallback("socket directory name");
    struct stat st;
    if (lstat(dir, &st) != 0) {
        if (errno == ENOENT) start_daemon(dir);
        fallback("no socket directory (no daemon)");
    }
    /* our own daemon's directory is private (0700); a separate user's must be reachable (0755)
       and writable by that user alone */
    mode_t open_bits = daemon_uid == getuid() ? 077 : 022;
    if (!dir_trusted(&st, daemon_uid, open_bits)) fallback("socket directory not ours or not private");
    if (snprintf(sockpath, sizeof sockpath, "%s/daemon.sock", dir) >= (int)sizeof sockpath) fallback("socket path too long");
    if (lstat(sockpath, &st) != 0) {
        if (errno == ENOENT) start_daemon(dir);
        fallback("no socket (no daemon)");
    }
    if (!S_ISSOCK(st.st_mode) || st.st_uid != daemon_uid) fallback("the socket is not ours");

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) fallback("socket()");
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, sockpath, strlen(sockpath) + 1);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        if (errno == ECONNREFUSED) start_daemon(dir); /* a socket nobody listens on: the daemon died */
        fallback("connect failed (no daemon, or its backlog is full)");
    }
    if (!trusted_peer(fd, daemon_uid, dir)) fallback("the daemon is not the genuine one"); /* checked before the environment is sent */

    char cwd[PATH_MAX], num[32];
    if (!getcwd(cwd, sizeof cwd)) fallback("no cwd");
    int ok = put("GSH1\0\0\0\0", 8) && puts0(hook ? "h" : "q") && puts0(exec_name) && puts0(cwd) && puts0(isatty(0) ? "1" : "0");
    snprintf(num, sizeof num, "%d", nargs);
    ok = ok && puts0(num);
    for (int i = 0; ok && i < nargs; i++) ok = puts0(args[i]);
    int envc = 0;
    for (char **e = environ; *e; e++) envc++;
    snprintf(num, sizeof num, "%d", envc);
    ok = ok && puts0(num);
    for (char **e = environ; ok && *e; e++) ok = puts0(*e);
    if (ok && hook) ok = put(hook_input, hook_len);
    if (!ok) fallback("out of memory");
    /* the header: magic then the payload length, little-endian (8 bytes were reserved, with a NUL) */
    req_len -= 1;
    memmove(req + 8, req + 9, req_len - 8);
    uint32_t plen = (uint32_t)(req_len - 8);
    memcpy(req, "GSH1", 4);
    for (int i = 0; i < 4; i++) req[4 + i] = (char)((plen >> (8 * i)) & 0xff);

    size_t sent = 0;
    while (sent < req_len) {
        ssize_t n = send(fd, req + sent, req_len - sent, MSG_NOSIGNAL);
        if (n > 0) { sent += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, deadline)) continue;
        fallback("send failed or timed out");
    }
    static char ans[MAX_ANSWER];
    size_t got = 0, want = 8;
    while (got < want) {
        ssize_t n = recv(fd, ans + got, want - got, 0);
        if (n > 0) {
            got += (size_t)n;
            if (got == 8 && want == 8) {
                if (memcmp(ans, "GSH1", 4) != 0) fallback("protocol: bad magic");
                uint32_t l = 0;
                for (int i = 0; i < 4; i++) l |= (uint32_t)(unsigned char)ans[4 + i] << (8 * i);
                if (l < 1 || l > MAX_ANSWER - 9) fallback("protocol: bad length");
                want = 8 + l;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN && wait_fd(fd, POLLIN, deadline)) continue;
        fallback("no answer in time (or the daemon hung up)");
    }
    close(fd);
    /* fields: verdict, bash, token, reason -- exactly four, each NUL-terminated */
    char *f[4], *p = ans + 8, *end = ans + want;
    if (end[-1] != 0) fallback("protocol: unterminated");
    for (int i = 0; i < 4; i++) {
        if (p >= end) fallback("protocol: too few fields");
        f[i] = p;
        p += strlen(p) + 1;
    }
    if (p != end) fallback("protocol: too many fields");
    if (hook) { /* the hook's own answer, printed as the Python hook prints it */
        if (strcmp(f[0], "print") != 0) fallback("not allowed by the daemon");
        size_t len = strlen(f[1]), done = 0;
        while (done < len) {
            ssize_t n = write(1, f[1] + done, len - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) _exit(2); /* the agent left; a hook that fails to answer blocks (exit 2) */
            done += (size_t)n;
        }
        _exit(0);
    }
    if (strcmp(f[0], "allow") != 0 || f[1][0] != '/') fallback("not allowed by the daemon");

    /* never exec ourselves as "bash" (a loop): Python reports that misconfiguration */
    char self[PATH_MAX], target[PATH_MAX];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0 || !realpath(f[1], target)) fallback("bash path");
    self[sl] = 0;
    if (strcmp(self, target) == 0) fallback("bash is this client");

    if (f[2][0] && setenv("GUARDSH_NESTED", f[2], 1) != 0) fallback("setenv");
    signal(SIGPIPE, SIG_DFL); /* as the Python guardsh leaves them for bash */
    signal(SIGXFSZ, SIG_DFL);
    char **v = calloc((size_t)nargs + 2, sizeof(char *));
    if (!v) fallback("out of memory");
    v[0] = exec_name;
    for (int i = 0; i < nargs; i++) v[1 + i] = args[i];
    execve(f[1], v, environ);
    fallback("execve of bash failed"); /* Python reports why */
    return 125;
}
