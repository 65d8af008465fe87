/* pinvmd's client to another pinvmd. */
#include "peer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * A request may name a token file on this host, and pinvmd sends what it
 * holds to a URL of the caller's choice: so only a file made for it is
 * read: a regular file (no symlink) of pinvmd's own user, closed to group
 * and others, holding one token and at most a newline.
 */
static int read_token_file(const char *path, char *tok, size_t size,
			   struct api_error *err)
{
	char buf[PEER_TOKEN_MAX + 3];
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return api_fail(err, 422, "bad_token_file", "token_file",
				"token_file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077)) {
		ret = api_fail(err, 422, "bad_token_file", "token_file",
			       "token_file %s must be a regular file of "
			       "pinvmd's user that only it may read (mode 600)",
			       path);
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		ret = api_fail(err, 422, "bad_token_file", "token_file",
			       "token_file %s: %s", path, strerror(errno));
		goto out;
	}
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if ((size_t)n >= size ||
	    peer_token_check(buf, (size_t)n, "token_file", err) < 0) {
		ret = api_fail(err, 422, "bad_token_file", "token_file",
			       "token_file %s must hold one token (%d..%d "
			       "visible ASCII characters) and at most a "
			       "newline",
			       path, PEER_TOKEN_MIN, PEER_TOKEN_MAX);
		goto out;
	}
	memcpy(tok, buf, (size_t)n + 1);
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return ret;
}

int peer_request(const struct peer_ref *ref, const char *default_ca,
		 const char *method, const char *path, const char *body,
		 struct httpc_answer *ans, struct api_error *err)
{
	char url[PEER_URL_MAX + 128], token[PEER_TOKEN_MAX + 1] = "";
	size_t blen = strlen(ref->url);
	struct httpc_call call = {
		.method = method,
		.ca_pem = ref->ca_pem ? ref->ca_pem : default_ca,
		.accept = "application/json, application/problem+json",
		.body = body,
		.connect_timeout_ms = PEER_CONNECT_TIMEOUT_MS,
		.timeout_ms = PEER_TIMEOUT_MS,
		.body_limit = PEER_BODY_LIMIT,
	};
	int n, ret;

	memset(ans, 0, sizeof(*ans));
	while (blen > 0 && ref->url[blen - 1] == '/')
		blen--;
	n = snprintf(url, sizeof(url), "%.*s%s", (int)blen, ref->url, path);
	if (n < 0 || (size_t)n >= sizeof(url))
		return api_fail(err, 422, "bad_url", "url",
				"%s%s is too long a URL", ref->url, path);
	if (ref->token_file) {
		ret = read_token_file(ref->token_file, token, sizeof(token), err);
		if (ret)
			return ret;
		call.token = token;
	} else {
		call.token = ref->token;
	}
	call.url = url;
	ret = httpc_perform(&call, ans);
	explicit_bzero(token, sizeof(token));
	if (ret == 0)
		return 0;
	switch (ans->failure) {
	case HTTPC_TLS:
		ret = api_fail(err, 502, "peer_tls", "",
			       "%s: TLS failed (%s); is the CA that signed "
			       "its certificate given (\"ca\", --peer-ca)?",
			       ref->url, ans->error);
		break;
	case HTTPC_TOO_LARGE:
		ret = api_fail(err, 502, "peer_bad_answer", "",
			       "%s: %s", ref->url, ans->error);
		break;
	case HTTPC_TIMEOUT:
		ret = api_fail(err, 502, "peer_unreachable", "",
			       "%s did not answer in time (%ld ms to connect, "
			       "%ld ms in all): %s",
			       ref->url, PEER_CONNECT_TIMEOUT_MS,
			       PEER_TIMEOUT_MS, ans->error);
		break;
	case HTTPC_UNREACHABLE:
	case HTTPC_LOCAL:
	case HTTPC_OK:
	default:
		ret = api_fail(err, 502, "peer_unreachable", "",
			       "%s cannot be reached: %s", ref->url,
			       ans->error);
		break;
	}
	httpc_answer_free(ans);
	return ret < 0 ? -EIO : ret;
}

int peer_fetch_hostset(const struct peer_ref *ref, const char *default_ca,
		       struct hostset *out, struct api_error *err,
		       json_t **problem)
{
	struct httpc_answer ans;
	int ret;

	if (problem)
		*problem = NULL;
	ret = peer_request(ref, default_ca, "GET", PEER_REGISTERS_PATH, NULL,
			   &ans, err);
	if (ret)
		return ret;
	ret = peer_answer_hostset(ref->url, ans.status, ans.body, ans.len, out,
				  err, problem);
	httpc_answer_free(&ans);
	return ret;
}
