#include "http_offload.h"

#include "route_match.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

/*
 * The routes whose handler can block for seconds. Everything else answers
 * from memory or the store in microseconds, and a thread per request would
 * only slow it down (POST /v1/compatibility is on the load benchmark).
 */
static const enum route_index slow[] = {
	ROUTE_IDX_handle_vms_post,            /* spawn, build, pin read-back */
	ROUTE_IDX_handle_vm_delete,           /* waits for a start, the exit */
	ROUTE_IDX_handle_vm_action,           /* pinvm-vmm's answer; a restart */
	ROUTE_IDX_handle_vm_console_post,     /* pinvm-vmm's answer */
	ROUTE_IDX_handle_vm_snapshot,         /* pause, write memory, resume */
	ROUTE_IDX_handle_snapshots_post,      /* unpack an archive */
	ROUTE_IDX_handle_snapshot_compat_get, /* a restore-check helper */
	ROUTE_IDX_handle_profiles_post,       /* capture: the probe guest */
	ROUTE_IDX_handle_profile_observed_abi_get,
	ROUTE_IDX_handle_host_observed_abi_get,
	ROUTE_IDX_handle_vm_migrate_post,     /* the destination over libcurl */
	ROUTE_IDX_handle_vm_migrate_delete,
	ROUTE_IDX_handle_vms_incoming_post,   /* spawn a listening pinvm-vmm */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned running;
} jobs = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

bool http_offload_wanted(const struct route_match *m)
{
	if (m->status != 200)
		return false;
	for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++)
		if (m->route == (size_t)slow[i])
			return true;
	return false;
}

struct job {
	void (*fn)(void *arg);
	void *arg;
};

static void *run(void *p)
{
	struct job job = *(struct job *)p;

	free(p);
	job.fn(job.arg);
	pthread_mutex_lock(&jobs.lock);
	if (--jobs.running == 0)
		pthread_cond_broadcast(&jobs.idle);
	pthread_mutex_unlock(&jobs.lock);
	return NULL;
}

int http_offload_start(void (*fn)(void *arg), void *arg)
{
	struct job *job = malloc(sizeof(*job));
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;
	int ret;

	if (!job)
		return -ENOMEM;
	job->fn = fn;
	job->arg = arg;
	if ((ret = pthread_attr_init(&attr)) != 0) {
		free(job);
		return -ret;
	}
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&jobs.lock);
	jobs.running++;
	pthread_mutex_unlock(&jobs.lock);
	/* Signals are main()'s to take (sigwait); a job never sees one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&t, &attr, run, job);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (ret != 0) {
		free(job);
		pthread_mutex_lock(&jobs.lock);
		if (--jobs.running == 0)
			pthread_cond_broadcast(&jobs.idle);
		pthread_mutex_unlock(&jobs.lock);
		return -ret;
	}
	return 0;
}

void http_offload_wait_all(void)
{
	pthread_mutex_lock(&jobs.lock);
	while (jobs.running)
		pthread_cond_wait(&jobs.idle, &jobs.lock);
	pthread_mutex_unlock(&jobs.lock);
}
