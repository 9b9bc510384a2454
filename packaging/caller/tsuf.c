/* tsuf's native caller: hands the command line to the resident tsuf and, when none serves
 * it, becomes the Python tsuf of the same installation.
 *
 * The Python caller (flasher/cli/resident.py) spends 30-40 ms starting an interpreter
 * before it can hand a command over; this one about a millisecond, so a lab script's
 * `tsuf getvar` or `tsuf flash` costs what the stock client's does. It speaks the same
 * request (resident.py describes it) and decides nothing of its own: the server says
 * whether it runs the command, and every other case runs the Python tsuf, which does
 * exactly what it would have done without this caller.
 *
 * packaging/build_caller.py compiles it with the installation's interpreter and package
 * folder (TSUF_PYTHON, TSUF_PACKAGE), which the server checks against its own. POSIX. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#if !defined(TSUF_PYTHON) || !defined(TSUF_PACKAGE)
#error "build with packaging/build_caller.py: TSUF_PYTHON and TSUF_PACKAGE name the installation"
#endif

#define PROTOCOL "tsuf-resident-2"
#define SOCKET_NAME "resident.sock"
#define MAX_REQUEST (1u << 20)
#define ANSWER_SECONDS 10 /* for the server to fork and say it started; never bounds the command */
#define EXIT_INTERRUPTED 130

#ifdef MSG_NOSIGNAL
#define SEND_FLAGS MSG_NOSIGNAL
#else
#define SEND_FLAGS 0 /* macOS: SO_NOSIGPIPE on the socket instead */
#endif

extern char **environ;

static volatile sig_atomic_t interrupted;

static void on_interrupt(int signum) {
    (void)signum;
    interrupted = 1;
}

/* The command runs in this process: the Python tsuf, which never asks the server again. */
static void run_here(int argc, char **argv) {
    char **args = calloc((size_t)argc + 4, sizeof *args);
    if (args) {
        args[0] = TSUF_PYTHON;
        args[1] = "-P"; /* nothing imported from the working folder */
        args[2] = "-c";
        args[3] = "import sys; from flasher.cli.main import main; sys.exit(main())";
        for (int i = 1; i < argc; i++)
            args[3 + i] = argv[i];
        execv(TSUF_PYTHON, args);
    }
    fprintf(stderr, "tsuf: cannot start %s: %s\n", TSUF_PYTHON, strerror(errno));
    exit(1);
}

static void interrupted_before_start(void) {
    fputs("tsuf: interrupted\n", stderr);
    exit(EXIT_INTERRUPTED);
}

/* Where the socket lives, as resident.runtime_folder() says. */
static int socket_folder(char *folder, size_t size) {
    const char *home = getenv("TSUF_HOME");
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    int length;
    if (home && *home)
        length = snprintf(folder, size, "%s/run", home);
    else if (runtime && runtime[0] == '/')
        length = snprintf(folder, size, "%s/tsuf", runtime);
    else
        length = snprintf(folder, size, "/tmp/tsuf-%lu", (unsigned long)getuid());
    return length > 0 && (size_t)length < size;
}

/* Only this user may enter it: owned by them, no access for group or others. */
static int folder_is_private(const char *folder) {
    struct stat status;
    return lstat(folder, &status) == 0 && S_ISDIR(status.st_mode) && status.st_uid == getuid() &&
           (status.st_mode & 077) == 0;
}

struct request {
    char *data;
    size_t size, capacity;
    int too_large;
};

static void append(struct request *request, const char *bytes, size_t size) {
    if (request->too_large || request->size + size > MAX_REQUEST + 4) {
        request->too_large = 1;
        return;
    }
    if (request->size + size > request->capacity) {
        size_t capacity = request->capacity ? request->capacity : 4096;
        while (capacity < request->size + size)
            capacity *= 2;
        char *grown = realloc(request->data, capacity);
        if (!grown) {
            request->too_large = 1;
            return;
        }
        request->data = grown;
        request->capacity = capacity;
    }
    memcpy(request->data + request->size, bytes, size);
    request->size += size;
}

static void field(struct request *request, const char *text) {
    if (request->size > 4)
        append(request, "", 1); /* the NUL between fields */
    append(request, text, strlen(text));
}

/* The command line and what it runs in, in resident.encode_request's order. */
static int encode_request(struct request *request, int argc, char **argv) {
    char number[32];
    char *cwd = getcwd(NULL, 0);
    mode_t umask_now = umask(0);
    umask(umask_now);
    if (!cwd)
        return 0;
    append(request, "\0\0\0\0", 4);
    field(request, PROTOCOL);
    field(request, TSUF_PYTHON);
    field(request, TSUF_PACKAGE);
    field(request, cwd);
    free(cwd);
    snprintf(number, sizeof number, "%u", (unsigned)umask_now);
    field(request, number);
    snprintf(number, sizeof number, "%d", argc - 1);
    field(request, number);
    for (int i = 1; i < argc; i++)
        field(request, argv[i]);
    for (char **item = environ; *item; item++)
        field(request, *item);
    if (request->too_large)
        return 0;
    uint32_t body = (uint32_t)(request->size - 4);
    unsigned char length[4] = {body >> 24, body >> 16 & 0xff, body >> 8 & 0xff, body & 0xff};
    memcpy(request->data, length, 4);
    return 1;
}

/* The request, with descriptors 0, 1 and 2 beside its first bytes. */
static int send_request(int sock, const struct request *request) {
    int streams[3] = {0, 1, 2};
    union {
        char bytes[CMSG_SPACE(sizeof streams)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct iovec part = {request->data, request->size};
    struct msghdr message = {0};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control.bytes;
    message.msg_controllen = sizeof control.bytes;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof streams);
    memcpy(CMSG_DATA(header), streams, sizeof streams);
    ssize_t sent;
    do {
        sent = sendmsg(sock, &message, SEND_FLAGS);
    } while (sent < 0 && errno == EINTR && !interrupted);
    size_t done = sent > 0 ? (size_t)sent : 0;
    while (sent >= 0 && done < request->size) {
        sent = send(sock, request->data + done, request->size - done, SEND_FLAGS);
        if (sent > 0)
            done += (size_t)sent;
        else if (sent < 0 && errno == EINTR && !interrupted)
            sent = 0;
    }
    if (interrupted)
        interrupted_before_start();
    return done == request->size;
}

static char read_answer(int sock) {
    char answer;
    ssize_t got;
    do {
        got = recv(sock, &answer, 1, 0);
    } while (got < 0 && errno == EINTR && !interrupted);
    if (interrupted)
        interrupted_before_start(); /* a command that started stops: it sees this end close */
    return got == 1 ? answer : 0;
}

/* The server's one line on why it stopped, printed before the command runs here. */
static void print_note(int sock) {
    char note[1024];
    ssize_t got = recv(sock, note, sizeof note, 0);
    if (got > 0)
        fwrite(note, 1, (size_t)got, stderr);
}

/* The command runs in the server's child: relay Ctrl-C (and a polite kill) to it, and take
 * its exit status. The signals are blocked but in pselect, so none is missed. */
static int wait_for_exit(int sock, const sigset_t *waiting_mask) {
    unsigned char status[5];
    size_t have = 0;
    while (have < sizeof status) {
        if (interrupted) {
            interrupted = 0;
            if (send(sock, "I", 1, SEND_FLAGS) < 0)
                break; /* the child is gone: its status will not come */
        }
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(sock, &readable);
        int ready = pselect(sock + 1, &readable, NULL, NULL, NULL, waiting_mask);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            break;
        ssize_t got = recv(sock, status + have, sizeof status - have, 0);
        if (got <= 0)
            break;
        have += (size_t)got;
    }
    if (have < sizeof status || status[0] != 'X') {
        fputs("tsuf: the resident tsuf's command ended without an exit status\n", stderr);
        return 1;
    }
    uint32_t code = (uint32_t)status[1] << 24 | (uint32_t)status[2] << 16 | (uint32_t)status[3] << 8 | status[4];
    return (int)(int32_t)code & 0xff;
}

int main(int argc, char **argv) {
    const char *mode = getenv("TSUF_RESIDENT");
    char folder[4096];
    struct sockaddr_un address;
    if ((mode && strcmp(mode, "off") == 0) || !socket_folder(folder, sizeof folder) || !folder_is_private(folder))
        run_here(argc, argv);
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if ((size_t)snprintf(address.sun_path, sizeof address.sun_path, "%s/%s", folder, SOCKET_NAME) >=
        sizeof address.sun_path)
        run_here(argc, argv);

    struct request request = {0};
    if (!encode_request(&request, argc, argv))
        run_here(argc, argv);

    struct sigaction relay = {0};
    relay.sa_handler = on_interrupt; /* no SA_RESTART: a blocked call returns EINTR */
    sigemptyset(&relay.sa_mask);
    sigaction(SIGINT, &relay, NULL);
    sigaction(SIGTERM, &relay, NULL);

    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    if (sock < 0)
        run_here(argc, argv);
    fcntl(sock, F_SETFD, FD_CLOEXEC); /* never handed to the Python tsuf this may become */
#ifdef SO_NOSIGPIPE
    int on = 1;
    setsockopt(sock, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on);
#endif
    struct timeval answer_time = {ANSWER_SECONDS, 0};
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &answer_time, sizeof answer_time);
    setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &answer_time, sizeof answer_time);
    int connected;
    do {
        connected = connect(sock, (struct sockaddr *)&address, sizeof address);
    } while (connected < 0 && errno == EINTR && !interrupted);
    if (interrupted)
        interrupted_before_start();
    char answer = connected == 0 && send_request(sock, &request) ? read_answer(sock) : 0;
    free(request.data);
    if (answer == 'S')
        print_note(sock);
    if (answer != 'R') {
        close(sock);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        run_here(argc, argv); /* no server, another installation's, or a command it leaves to the caller */
    }

    struct timeval forever = {0, 0};
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &forever, sizeof forever);
    sigset_t relayed, waiting_mask;
    sigemptyset(&relayed);
    sigaddset(&relayed, SIGINT);
    sigaddset(&relayed, SIGTERM);
    sigprocmask(SIG_BLOCK, &relayed, &waiting_mask);
    return wait_for_exit(sock, &waiting_mask);
}
