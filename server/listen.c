#include "listen.h"

#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int fail(const char *what, const char *spec, char *err, size_t errlen)
{
	int e = errno ? errno : EIO;

	snprintf(err, errlen, "%s %s: %s", what, spec, strerror(e));
	return -e;
}

static int mkdir_parents(const char *path)
{
	char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/*
 * Binds fd to path so that the socket file is never reachable with a wider
 * mode or group than asked, whatever the umask: bind() creates the file
 * with 0777 & ~umask, and chmod() after it would leave a window. So the
 * file is made in a fresh directory only we can enter, given its mode and
 * group there, and renamed into place (which also replaces a stale one).
 */
static int bind_private(int fd, const char *path, const struct listen_opts *opts,
			char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char tmpdir[sizeof(sa.sun_path)];
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	int ret = 0;

	if (dirlen + sizeof(".pinvmd-XXXXXX/s") > sizeof(sa.sun_path)) {
		snprintf(err, errlen, "unix socket path %s leaves no room in its %zu "
			 "bytes for the private directory it is bound in", path,
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%.*s.pinvmd-XXXXXX", (int)dirlen, path);
	if (!mkdtemp(tmpdir))
		return fail("cannot make a private directory next to", path, err, errlen);
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", tmpdir) >=
	    (int)sizeof(sa.sun_path)) {
		rmdir(tmpdir);
		snprintf(err, errlen, "unix socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(sa.sun_path, opts->mode) < 0) {
		ret = fail("cannot bind", path, err, errlen);
		goto out;
	}
	if (opts->group) {
		struct group *g = getgrnam(opts->group);

		if (!g || chown(sa.sun_path, (uid_t)-1, g->gr_gid) < 0) {
			snprintf(err, errlen, "cannot give %s to group %s: %s", path,
				 opts->group, g ? strerror(errno) : "no such group");
			ret = -EINVAL;
			goto out;
		}
		/* chown() may drop set-id bits; the mode is ours to restate. */
		if (chmod(sa.sun_path, opts->mode) < 0) {
			ret = fail("cannot bind", path, err, errlen);
			goto out;
		}
	}
	if (rename(sa.sun_path, path) < 0)
		ret = fail("cannot move the socket into place at", path, err, errlen);
out:
	if (ret < 0)
		unlink(sa.sun_path);
	rmdir(tmpdir);
	return ret;
}

static int open_unix(const char *path, const struct listen_opts *opts,
		     char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "unix socket path is %zu bytes, the limit is %zu: %s",
			 strlen(path), sizeof(sa.sun_path) - 1, path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ret = mkdir_parents(path);
	if (ret < 0) {
		errno = -ret;
		return fail("cannot create the directory of", path, err, errlen);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket for", path, err, errlen);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			close(fd);
			snprintf(err, errlen, "%s exists and is not a socket", path);
			return -EEXIST;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			snprintf(err, errlen, "another server answers on %s", path);
			return -EADDRINUSE;
		}
	}
	ret = bind_private(fd, path, opts, err, errlen);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	if (listen(fd, 64) < 0) {
		ret = fail("cannot listen on", path, err, errlen);
		close(fd);
		unlink(path);
		return ret;
	}
	return fd;
}

static bool loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

/* The spec of what fd is bound to, port 0 resolved. */
static void bound_spec(int fd, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "";
	unsigned port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(out, outlen, "tcp:?");
		return;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
		snprintf(out, outlen, "tcp:[%s]:%u", host, port);
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
		snprintf(out, outlen, "tcp:%s:%u", host, port);
	}
}

static int open_tcp(const char *hostport, bool *is_loopback, char *bound,
		    size_t boundlen, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char host[256];
	const char *port;
	int fd, one = 1, ret;

	if (hostport[0] == '[') {
		const char *end = strchr(hostport, ']');

		if (!end || end[1] != ':' || (size_t)(end - hostport) > sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(end - hostport - 1),
			 hostport + 1);
		port = end + 2;
	} else {
		const char *colon = strrchr(hostport, ':');

		if (!colon || (size_t)(colon - hostport) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport),
			 hostport);
		port = colon + 1;
	}
	/* 0: any free port, told back in bound. */
	if (!*host || !*port || strspn(port, "0123456789") != strlen(port) ||
	    strlen(port) > 5 || atoi(port) > 65535)
		goto bad;
	ret = getaddrinfo(host, port, &hints, &ai);
	if (ret) {
		snprintf(err, errlen, "cannot resolve %s: %s", hostport,
			 gai_strerror(ret));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = fail("socket for", hostport, err, errlen);
		freeaddrinfo(ai);
		return ret;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	*is_loopback = loopback(ai->ai_addr);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		ret = fail("cannot listen on", hostport, err, errlen);
		close(fd);
		freeaddrinfo(ai);
		return ret;
	}
	freeaddrinfo(ai);
	bound_spec(fd, bound, boundlen);
	return fd;
bad:
	snprintf(err, errlen, "bad tcp address \"%s\": want HOST:PORT or [IPV6]:PORT",
		 hostport);
	return -EINVAL;
}

int listen_open(const char *spec, const struct listen_opts *opts,
		struct listen_info *info, char *err, size_t errlen)
{
	info->is_unix = info->is_loopback = false;
	snprintf(info->bound, sizeof(info->bound), "%s", spec);
	if (!strncmp(spec, "unix:", 5) && spec[5]) {
		info->is_unix = true;
		return open_unix(spec + 5, opts, err, errlen);
	}
	if (!strncmp(spec, "tcp:", 4))
		return open_tcp(spec + 4, &info->is_loopback, info->bound,
				sizeof(info->bound), err, errlen);
	snprintf(err, errlen, "bad --listen \"%s\": want unix:PATH or tcp:HOST:PORT",
		 spec);
	return -EINVAL;
}
