/*
 * GET /v1/events: the event stream (events.h) as Server-Sent Events. The
 * handler only parses and subscribes; the stream is served by
 * libmicrohttpd calling the subscriber's content reader.
 */
#include "handlers.h"

#include "event_query.h"
#include "events.h"

#include <microhttpd.h>
#include <stdio.h>

void handle_events_get(struct request *req, struct reply *rep)
{
	static const char *const known[] = { "last_event_id", "vm", "type" };
	struct events_sub *sub;
	struct event_query q;
	struct api_error err;
	const char *header;

	if (!request_query_check(req, rep, known, sizeof(known) / sizeof(known[0])))
		return;
	header = req->conn ? MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
							  "Last-Event-ID")
			   : NULL;
	if (event_query_parse(header, request_query(req, "last_event_id"),
			      request_query(req, "vm"), request_query(req, "type"), &q,
			      &err) < 0 ||
	    events_subscribe(&q, req->conn, &sub, &err) < 0) {
		reply_api_error(rep, &err);
		return;
	}
	rep->status = 200;
	rep->raw_type = "text/event-stream";
	rep->stream_read = events_sub_reader;
	rep->stream_free = events_sub_free;
	rep->stream_cls = sub;
	snprintf(rep->extra_name, sizeof(rep->extra_name), "Cache-Control");
	snprintf(rep->extra_value, sizeof(rep->extra_value), "no-cache");
}
