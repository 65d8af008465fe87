/* Request and reply helpers every handler shares (declared in request.h). */
#include "request.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void reply_api_error(struct reply *rep, const struct api_error *e)
{
	reply_problem(rep, e->status ? e->status : 500,
		      e->code[0] ? e->code : "internal_error",
		      e->field[0] ? e->field : NULL, "%s", e->detail);
}

int parse_json_body(const struct request *req, struct reply *rep, json_t **out)
{
	json_error_t jerr;
	json_t *doc;

	*out = NULL;
	if (!req->body_len) {
		reply_problem(rep, 400, "missing_body", "body",
			      "this request needs a JSON object body");
		return -EINVAL;
	}
	doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		reply_problem(rep, 400, "malformed_json", "body",
			      "line %d, column %d: %s", jerr.line, jerr.column,
			      jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		reply_problem(rep, 400, "wrong_type", "body",
			      "the body must be a JSON object");
		return -EINVAL;
	}
	*out = doc;
	return 0;
}
