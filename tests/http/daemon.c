#include "daemon.h"

#define _XOPEN_SOURCE 700
#include "client.h"

#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int daemon_free_port(void)
{
	/* Below the kernel's ephemeral range (32768-60999), which bind(0)
	 * and every client connection of the tests running in parallel draw
	 * from, and chosen at random, so parallel tests rarely meet. */
	for (int tries = 0; tries < 64; tries++) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		unsigned short r;
		int fd, ok;

		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r = (unsigned short)(getpid() * 7919 + tries);
		sa.sin_port = htons((unsigned short)(20000 + r % 12000));
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok)
			return ntohs(sa.sin_port);
	}
	return -1;
}

pid_t daemon_spawn(const char *pinvmd, const char *const *args,
		   const char *logpath)
{
	const char *argv[16] = { pinvmd };
	pid_t pid;
	int i;

	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	pid = fork();
	if (pid == 0) {
		if (!freopen(logpath, "w", stderr))
			_exit(127);
		execv(pinvmd, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/*
 * How long a wait for pinvmd (to listen, to be ready, to exit) may last.
 * Each wait ends at its event, so the bound costs nothing when things go
 * well; it is wide because an ASan pinvmd on a machine busy with other
 * work took more than the 5 s this once was to exit by itself.
 */
#define DAEMON_WAIT_S 60

static bool wait_connect(const struct sockaddr *sa, socklen_t len, int family,
			 pid_t pid)
{
	double t0 = client_now();

	while (client_now() - t0 < DAEMON_WAIT_S) {
		int fd = socket(family, SOCK_STREAM, 0);
		int ok = connect(fd, sa, len) == 0;

		close(fd);
		if (ok)
			return true;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		usleep(20000);
	}
	return false;
}

bool daemon_wait_socket(const char *path, pid_t pid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >=
	    (int)sizeof(sa.sun_path))
		return false;
	return wait_connect((struct sockaddr *)&sa, sizeof(sa), AF_UNIX, pid);
}

bool daemon_wait_tcp(int port, pid_t pid)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((unsigned short)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	return wait_connect((struct sockaddr *)&sa, sizeof(sa), AF_INET, pid);
}

int daemon_wait_ready(const char *path, pid_t pid)
{
	double t0 = client_now();

	while (client_now() - t0 < DAEMON_WAIT_S) {
		FILE *f = fopen(path, "r");

		if (f) {
			char line[160] = "";
			const char *colon;
			bool got = fgets(line, sizeof(line), f) != NULL;

			fclose(f);
			/* pinvmd renames the file into place whole: one look. */
			colon = strrchr(line, ':');
			if (!got || strncmp(line, "tcp:", 4) || !colon)
				return -1;
			return atoi(colon + 1) > 0 ? atoi(colon + 1) : -1;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		usleep(20000);
	}
	return -1;
}

int daemon_run_to_exit(const char *pinvmd, const char *const *args,
		       const char *logpath, char *log, size_t len)
{
	pid_t pid = daemon_spawn(pinvmd, args, logpath);
	double t0 = client_now();
	int status;
	FILE *f;

	while (client_now() - t0 < DAEMON_WAIT_S) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			log[0] = '\0';
			f = fopen(logpath, "r");
			if (f) {
				log[fread(log, 1, len - 1, f)] = '\0';
				fclose(f);
			}
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

int daemon_remove_dir(const char *dir)
{
	return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

bool daemon_make_cert(const char *dir, const char *cert, const char *key, const char *cn)
{
	char subj[64], log[512];
	pid_t pid;
	int status;

	snprintf(subj, sizeof(subj), "/CN=%s", cn);
	snprintf(log, sizeof(log), "%s/openssl.log", dir);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("openssl", "openssl", "req", "-x509", "-newkey", "ec",
		       "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
		       "-keyout", key, "-out", cert, "-days", "2", "-subj", subj,
		       "-addext", "subjectAltName=IP:127.0.0.1", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return false;
	return chmod(key, 0600) == 0 && access(cert, R_OK) == 0;
}
