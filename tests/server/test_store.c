/* The SQLite store: round trips, uniqueness, deletion, reopen, schema guard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pinvm-store-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static json_t *doc(const char *name, int n)
{
	return json_pack("{s:s, s:i}", "name", name, "n", n);
}

static void test_round_trip(void **state)
{
	struct store *s;
	json_t *d = doc("a", 1), *got, *list;
	char err[256];

	(void)state;
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	assert_int_equal(store_profile_insert(s, "a", d, err, sizeof(err)), 0);
	assert_int_equal(store_profile_insert(s, "a", d, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "exists"));
	assert_int_equal(store_profile_get(s, "a", &got, err, sizeof(err)), 0);
	assert_true(json_equal(got, d));
	json_decref(got);
	assert_int_equal(store_profile_get(s, "b", &got, err, sizeof(err)), -ENOENT);
	assert_null(got);

	json_decref(d);
	d = doc("b", 2);
	assert_int_equal(store_profile_insert(s, "b", d, err, sizeof(err)), 0);
	assert_int_equal(store_profile_list(s, &list, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")), "a");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "name")), "b");
	json_decref(list);

	assert_int_equal(store_profile_delete(s, "a", err, sizeof(err)), 0);
	assert_int_equal(store_profile_delete(s, "a", err, sizeof(err)), -ENOENT);
	store_close(s);

	/* What was committed is there after reopening; what was deleted is not. */
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	assert_int_equal(store_profile_get(s, "a", &got, err, sizeof(err)), -ENOENT);
	assert_int_equal(store_profile_get(s, "b", &got, err, sizeof(err)), 0);
	assert_true(json_equal(got, d));
	json_decref(got);
	json_decref(d);
	store_close(s);
}

static void test_names_are_data(void **state)
{
	const char *name = "x'); DROP TABLE profiles; --";
	struct store *s;
	json_t *d = doc(name, 3), *got;
	char err[256];

	(void)state;
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	assert_int_equal(store_profile_insert(s, name, d, err, sizeof(err)), 0);
	assert_int_equal(store_profile_get(s, name, &got, err, sizeof(err)), 0);
	json_decref(got);
	json_decref(d);
	store_close(s);
}

/* VM records: upsert keeps a VM's place in the list; reopen keeps all. */
static void test_vm_records(void **state)
{
	struct store *s;
	json_t *a = json_pack("{s:s, s:s}", "id", "a", "state", "created");
	json_t *b = json_pack("{s:s, s:s}", "id", "b", "state", "running");
	json_t *list;
	char err[256];

	(void)state;
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	assert_int_equal(store_vm_put(s, "a", a, err, sizeof(err)), 0);
	assert_int_equal(store_vm_put(s, "b", b, err, sizeof(err)), 0);
	json_object_set_new(a, "state", json_string("running"));
	assert_int_equal(store_vm_put(s, "a", a, err, sizeof(err)), 0);
	store_close(s);

	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	assert_int_equal(store_vm_list(s, &list, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_true(json_equal(json_array_get(list, 0), a)); /* still first */
	assert_true(json_equal(json_array_get(list, 1), b));
	json_decref(list);
	assert_int_equal(store_vm_delete(s, "a", err, sizeof(err)), 0);
	assert_int_equal(store_vm_delete(s, "a", err, sizeof(err)), -ENOENT);
	assert_int_equal(store_vm_list(s, &list, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	store_close(s);
	json_decref(a);
	json_decref(b);
}

/* Puts from many threads at once (group-committed): every caller hears
 * 0, every row is there, each with its thread's last document. */
#define PUTTERS 16
#define PUTS 40

struct putter {
	pthread_t t;
	struct store *s;
	int n, failed;
};

static void *put_many(void *arg)
{
	struct putter *p = arg;
	char id[16], err[256];

	snprintf(id, sizeof(id), "vm-%d", p->n);
	for (int i = 0; i < PUTS; i++) {
		json_t *d = json_pack("{s:s, s:i}", "id", id, "round", i);

		p->failed += store_vm_put(p->s, id, d, err, sizeof(err)) != 0;
		json_decref(d);
	}
	return NULL;
}

static void test_vm_puts_concurrent(void **state)
{
	struct putter p[PUTTERS];
	struct store *s;
	json_t *list, *row;
	char err[256];
	size_t i;

	(void)state;
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	for (int n = 0; n < PUTTERS; n++) {
		p[n] = (struct putter){ .s = s, .n = n };
		assert_int_equal(pthread_create(&p[n].t, NULL, put_many, &p[n]), 0);
	}
	for (int n = 0; n < PUTTERS; n++) {
		pthread_join(p[n].t, NULL);
		assert_int_equal(p[n].failed, 0);
	}
	store_close(s);
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	assert_int_equal(store_vm_list(s, &list, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(list), PUTTERS);
	json_array_foreach(list, i, row)
		assert_int_equal(json_integer_value(json_object_get(row, "round")), PUTS - 1);
	json_decref(list);
	store_close(s);
}

/* A database from before VM records gains the table and keeps profiles. */
static void test_migrates_v1(void **state)
{
	char path[128], err[256];
	struct store *s;
	json_t *list, *got;
	sqlite3 *db;

	(void)state;
	snprintf(path, sizeof(path), "%s/pinvm.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"CREATE TABLE profiles (name TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL,"
		" created_seq INTEGER NOT NULL);"
		"INSERT INTO profiles VALUES ('old', '{\"name\":\"old\"}', 1);"
		"PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	assert_int_equal(store_profile_get(s, "old", &got, err, sizeof(err)), 0);
	json_decref(got);
	assert_int_equal(store_vm_list(s, &list, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	store_close(s);
}

static void test_newer_schema_refused(void **state)
{
	char path[128], err[256];
	struct store *s;
	sqlite3 *db;

	(void)state;
	snprintf(path, sizeof(path), "%s/pinvm.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), -EPROTO);
	assert_null(s);
	assert_non_null(strstr(err, "newer"));
}

/* A 0-byte database is a damaged state, not a new one: refused, kept. */
static void test_empty_file_refused(void **state)
{
	char path[128], err[256];
	struct store *s;
	struct stat st;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/pinvm.db", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), -EPROTO);
	assert_null(s);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "0 bytes"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
}

/* A row that is not JSON: refused at open, naming the file and the row;
 * found at run time, reported by store_ping (so /v1/ready). */
static void test_bad_row(void **state)
{
	char path[128], err[512];
	struct store *s;
	json_t *d = doc("good", 1), *list;
	sqlite3 *db;

	(void)state;
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	assert_int_equal(store_profile_insert(s, "good", d, err, sizeof(err)), 0);
	assert_int_equal(store_ping(s, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/pinvm.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO profiles VALUES ('broken', '{\"na', 99)",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_profile_list(s, &list, err, sizeof(err)), -EPROTO);
	assert_int_equal(store_ping(s, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, path));
	store_close(s);

	assert_int_equal(store_open(dir, &s, err, sizeof(err)), -EPROTO);
	assert_null(s);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "profile \"broken\" is not a JSON object"));
	json_decref(d);
}

/* Pages, the cap, and the index behind created_seq. */
static void test_pages_and_cap(void **state)
{
	char path[128], err[256], name[16];
	struct store *s;
	json_t *d, *page;
	long long next = 0, after = 0;
	sqlite3 *db;
	sqlite3_stmt *st;
	int total = 0, pages = 0;

	(void)state;
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	store_set_max_profiles(s, 7);
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		d = doc(name, i);
		assert_int_equal(store_profile_insert(s, name, d, err, sizeof(err)),
				 i < 7 ? 0 : -ENOSPC);
		json_decref(d);
	}
	do {
		assert_int_equal(store_profile_page(s, after, 3, &page, &next, err, sizeof(err)), 0);
		for (size_t i = 0; i < json_array_size(page); i++) {
			snprintf(name, sizeof(name), "n%d", total++);
			assert_string_equal(json_string_value(json_object_get(
				json_array_get(page, i), "name")), name);
		}
		json_decref(page);
		after = next;
		pages++;
	} while (next);
	assert_int_equal(total, 7);
	assert_int_equal(pages, 3);
	assert_int_equal(store_profile_delete(s, "n3", err, sizeof(err)), 0);
	d = doc("again", 1);
	assert_int_equal(store_profile_insert(s, "again", d, err, sizeof(err)), 0);
	json_decref(d);
	store_close(s);

	snprintf(path, sizeof(path), "%s/pinvm.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN SELECT MAX(created_seq) "
					    "FROM profiles", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_non_null(strstr((const char *)sqlite3_column_text(st, 3), "profiles_by_seq"));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_unwritable_dir(void **state)
{
	struct store *s;
	char err[256];

	(void)state;
	assert_true(store_open("/nonexistent/pinvm", &s, err, sizeof(err)) < 0);
	assert_null(s);
	assert_non_null(strstr(err, "/nonexistent/pinvm/pinvm.db"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_are_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_puts_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrates_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pages_and_cap, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
