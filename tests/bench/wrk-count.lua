-- wrk script for tests/bench/load.sh: sends METHOD with the body read from
-- BODYFILE (wrk ... -s wrk-count.lua URL -- METHOD [BODYFILE]), counts every
-- answer that is not 2xx (wrk's own "errors.status" counts only >= 400), and
-- prints one machine-readable RESULT line.
local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	answers = 0
	non2xx = 0
	wrk.method = args[1] or "GET"
	if args[2] then
		local f = assert(io.open(args[2], "rb"))
		wrk.body = f:read("*a")
		f:close()
		wrk.headers["Content-Type"] = "application/json"
	end
end

function response(status, headers, body)
	answers = answers + 1
	if status < 200 or status > 299 then
		non2xx = non2xx + 1
	end
end

function done(summary, latency, requests)
	local answered, bad = 0, 0
	for _, t in ipairs(threads) do
		answered = answered + t:get("answers")
		bad = bad + t:get("non2xx")
	end
	local e = summary.errors
	io.write(string.format(
		"RESULT requests=%d answers=%d non2xx=%d sock_errors=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d\n",
		summary.requests, answered, bad,
		e.connect + e.read + e.write + e.timeout,
		summary.requests / (summary.duration / 1e6),
		latency:percentile(50), latency:percentile(99), latency.max))
end
