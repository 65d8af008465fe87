/*
 * A blocking HTTP client for tests (libcurl): one call, one response with
 * its status, selected headers and parsed JSON body.
 */
#ifndef PINVM_TESTS_CLIENT_H
#define PINVM_TESTS_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct client {
	char base[256];        /* "http://127.0.0.1:8080" */
	char unix_path[256];   /* non-empty: connect over this socket */
	char token[160];       /* non-empty: sent as "Authorization: Bearer" */
	void *conn;            /* NULL: a new connection per call; else a CURL
				* easy handle (caller's) whose connection every
				* call reuses, one thread at a time */
};

struct response {
	long status;           /* 0 when the request itself failed */
	char *body;            /* raw body, NUL-terminated (owned) */
	size_t len;
	json_t *json;          /* parsed body or NULL (owned) */
	char content_type[128];
	char allow[128];
	char request_id[128];
	char etag[64];
	char replayed[16];     /* Idempotent-Replayed */
	char console_offset[32]; /* X-Console-Offset */
	char console_next[32];   /* X-Console-Next-Offset */
	char error[256];       /* transport error when status == 0 */
};

/*
 * Sends method path with an optional body (content_type may be NULL for
 * application/json) and extra "Name: value" header (may be NULL).
 * Always fills *r; free it with response_free.
 */
void client_call(const struct client *c, const char *method, const char *path,
		 const char *content_type, const char *body, size_t body_len,
		 const char *header, struct response *r);

void response_free(struct response *r);

/*
 * Sends req[0..len) as is over a new TCP connection to 127.0.0.1:port
 * (for requests no HTTP library would send), then reads until one whole
 * response has come (by its Content-Length), the server closes, or 10 s
 * pass. Parses the first response into *r
 * (status, headers kept as client_call keeps them, body and JSON) and
 * returns the number of bytes read, or -1 when no connection was made.
 */
long raw_call(int port, const char *req, size_t len, struct response *r);

/* CLOCK_MONOTONIC in seconds: what the tests time waits and figures by. */
double client_now(void);

/* client_call with a JSON body (taken; NULL: none); returns r->status. */
long client_json(const struct client *c, const char *method, const char *path, json_t *body,
		 struct response *r);

/* POSTs text as text/plain (the lab's control port runs it as shell);
 * its answer's body on 200 (caller frees), else NULL. */
char *client_post_text(const struct client *c, const char *path, const char *text);

/* GET path: its JSON body (a new reference) on 200, else NULL. */
json_t *client_get_json(const struct client *c, const char *path);

/* GET /v1/vms/ID: the VM (a new reference) on 200, else NULL. */
json_t *client_get_vm(const struct client *c, const char *vm_id);

/* A VM's whole console so far (caller frees), or NULL unless 200. */
char *client_console(const struct client *c, const char *vm_id);

/*
 * Polls vm_id's console until done(console, arg) holds and returns that
 * console (caller frees); NULL once it has not grown for stall_s seconds,
 * or after 4 * stall_s in all. A guest that makes progress is waited for,
 * however loaded the machine: a boot in the emulated lab beside other
 * work can take many times its idle time.
 */
char *client_wait_console(const struct client *c, const char *vm_id,
			  bool (*done)(const char *console, void *arg), void *arg, int stall_s);

/* The lab's guest image name of the periodic probe guest (vmm/probe_image.S). */
#define CLIENT_PROBE_IMAGE "probe.Image"

/* Through the lab's control port ctl: pinvm-vmm writes the probe guest's
 * image (its call table filled in) into /images, where pinvmd takes guest
 * images from. NULL on success, else what went wrong (caller frees). */
char *client_lab_probe_image(const struct client *ctl);

/* Runs a shell command in the lab through its control port ctl: its
 * output (caller frees), or NULL unless 200. */
char *client_lab_sh(const struct client *ctl, const char *cmd);

/* The value of an unlabelled series `name` in GET /metrics, or -1 when
 * the answer has none. */
long client_metric(const struct client *c, const char *name);

/* Waits (up to seconds) until GET /v1/health answers 200. */
bool client_api_up(const struct client *c, int seconds);

/* Sends the lab's pinvmd signal sig and waits (up to 60 s: an ASan
 * build's leak check alone takes seconds under emulation) until it is
 * gone; the lab's /init stays up meanwhile (/run/lab-hold). */
bool client_lab_pinvmd_end(const struct client *ctl, int sig);

/* Looks up a string member of the response's JSON object, or NULL. */
const char *response_str(const struct response *r, const char *key);

#endif
