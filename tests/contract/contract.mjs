// Contract tests for pinvmd against openapi.yaml.
//
//   node contract.mjs --base http://127.0.0.1:8080 [--kvm] [--spec openapi.yaml]
//                     [--deps tests/.deps/contract] [--kernel NAME] [--initrd NAME]
//
// Loads the spec, compiles every response schema (per operation, status and
// content type) with Ajv's draft 2020-12 validator, drives a scenario that
// calls every operation of the spec at least once (coverage is computed from
// the spec), and checks every response: its status is one the operation
// lists (or a range / default covers it), its Content-Type is one the spec
// lists for that status, its body validates, every header the spec marks
// required is there (and every header the spec describes matches its
// schema), and X-Request-Id is present. One line per call, then
// "N passed, N failed"; exit 1 on any failure.
//
// Without --kvm the server is a native pinvmd without a hypervisor: KVM
// routes must answer 503 no_hypervisor. With --kvm it is the arm64 lab:
// captures, verdicts, probe guests and a real Linux microVM.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');

// ---------------------------------------------------------------- arguments
const opts = {
	base: null,
	kvm: false,
	spec: path.join(ROOT, 'openapi.yaml'),
	deps: path.join(ROOT, 'tests', '.deps', 'contract'),
	kernel: 'debian-6.1-arm64.Image',
	initrd: 'busybox-initramfs.cpio.gz',
	timeout: 120,
	token: null,
};
{
	const a = process.argv.slice(2);
	for (let i = 0; i < a.length; i++) {
		const need = () => {
			if (i + 1 >= a.length) usage(`${a[i]} needs a value`);
			return a[++i];
		};
		switch (a[i]) {
		case '--base': opts.base = need(); break;
		case '--kvm': opts.kvm = true; break;
		case '--spec': opts.spec = path.resolve(need()); break;
		case '--deps': opts.deps = path.resolve(need()); break;
		case '--kernel': opts.kernel = need(); break;
		case '--initrd': opts.initrd = need(); break;
		case '--boot-timeout': opts.timeout = Number(need()); break;
		case '--token-file': opts.token = readFileSync(need(), 'utf8').trim(); break;
		default:
			if (!opts.base && /^https?:\/\//.test(a[i])) opts.base = a[i];
			else usage(`unknown argument ${a[i]}`);
		}
	}
	if (!opts.base) usage('no base URL');
	opts.base = opts.base.replace(/\/+$/, '');
}

function usage(msg) {
	process.stderr.write(`contract.mjs: ${msg}\nusage: node contract.mjs --base URL [--kvm] [--spec FILE] [--deps DIR] [--token-file FILE]\n`);
	process.exit(2);
}

const require = createRequire(path.join(opts.deps, 'package.json'));
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;
const YAML = require('yaml');

// ---------------------------------------------------------------- reporting
let passed = 0;
let failed = 0;
const MAX_BODY_SHOWN = 3000;

function report(ok, title, problems = [], body) {
	if (ok) {
		passed++;
		console.log(`ok - ${title}`);
		return;
	}
	failed++;
	console.log(`not ok - ${title}`);
	for (const p of problems)
		for (const line of String(p).split('\n')) console.log(`#   ${line}`);
	if (body !== undefined && body !== null) {
		let s = (Buffer.isBuffer(body) ? body.toString('utf8') : String(body)).replace(/\n+$/, '');
		if (!s.length) s = '(empty)';
		if (s.length > MAX_BODY_SHOWN) s = `${s.slice(0, MAX_BODY_SHOWN)}... (${s.length} bytes)`;
		console.log(`#   body: ${s.replace(/\n/g, '\n#         ')}`);
	}
}

function finish() {
	console.log(`${passed} passed, ${failed} failed`);
	process.exit(failed ? 1 : 0);
}

// ---------------------------------------------------------------- the spec
const SPEC_ID = 'urn:pinvm:openapi';
const SCHEMA_REF = '#/components/schemas/';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

let spec;
try {
	spec = YAML.parse(readFileSync(opts.spec, 'utf8'), { uniqueKeys: true });
} catch (e) {
	report(false, `load ${opts.spec}`, [e.message]);
	finish();
}

function pointer(ref) {
	if (typeof ref !== 'string' || !ref.startsWith('#/'))
		throw new Error(`only local $refs are supported, not ${JSON.stringify(ref)}`);
	let node = spec;
	for (const raw of ref.slice(2).split('/')) {
		const k = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
		if (node === null || typeof node !== 'object' || !(k in node))
			throw new Error(`$ref ${ref} does not resolve`);
		node = node[k];
	}
	return node;
}

// Resolves a Reference Object (response, header, parameter, path item).
function deref(obj) {
	for (let n = 0; obj && typeof obj === 'object' && '$ref' in obj; n++) {
		if (n > 32) throw new Error(`$ref loop at ${obj.$ref}`);
		obj = pointer(obj.$ref);
	}
	return obj;
}

// Schema $refs point into the components, which Ajv holds as one schema
// (urn:pinvm:openapi, components.schemas as its $defs): recursive schemas
// and error paths keep working without inlining anything.
function rewriteRefs(node) {
	if (Array.isArray(node)) return node.map(rewriteRefs);
	if (node === null || typeof node !== 'object') return node;
	const out = {};
	for (const [k, v] of Object.entries(node)) {
		if (k === '$ref' && typeof v === 'string' && v.startsWith('#/')) {
			if (!v.startsWith(SCHEMA_REF))
				throw new Error(`schema $ref ${v} does not point into components/schemas`);
			pointer(v); // must exist
			out[k] = `${SPEC_ID}#/$defs/${v.slice(SCHEMA_REF.length)}`;
		} else {
			out[k] = rewriteRefs(v);
		}
	}
	return out;
}

const ajvWarnings = [];
const ajv = new Ajv2020({
	allErrors: true,
	strict: true,
	strictTypes: false,
	strictTuples: false,
	strictRequired: false,
	logger: {
		log: () => {},
		warn: (...m) => ajvWarnings.push(m.join(' ')),
		error: (...m) => ajvWarnings.push(m.join(' ')),
	},
});
addFormats(ajv);
// OpenAPI 3.1's base dialect adds these annotation keywords to 2020-12
// (examples is 2020-12's own).
for (const keyword of ['example', 'discriminator', 'xml', 'externalDocs'])
	ajv.addKeyword({ keyword });

function compile(schema, where) {
	try {
		return ajv.compile(rewriteRefs(schema));
	} catch (e) {
		throw new Error(`${where}: the schema does not compile: ${e.message}`);
	}
}

const ops = [];
let nschemas = 0;
try {
	ajv.addSchema({ $id: SPEC_ID, $defs: rewriteRefs(spec.components?.schemas ?? {}) });
	for (const [p, item0] of Object.entries(spec.paths ?? {})) {
		const item = deref(item0);
		for (const m of METHODS) {
			if (!item[m]) continue;
			const op = item[m];
			const where = `${m.toUpperCase()} ${p}`;
			const responses = {};
			for (const [code, r0] of Object.entries(op.responses ?? {})) {
				const r = deref(r0);
				const content = {};
				for (const [mt, media] of Object.entries(r.content ?? {})) {
					content[mt.toLowerCase()] = {
						name: mt,
						validate: media?.schema ? compile(media.schema, `${where} ${code} ${mt}`) : null,
					};
					if (media?.schema) nschemas++;
				}
				const headers = {};
				for (const [hn, h0] of Object.entries(r.headers ?? {})) {
					if (hn.toLowerCase() === 'content-type') continue; // ignored by OpenAPI
					const h = deref(h0);
					headers[hn.toLowerCase()] = {
						name: hn,
						required: h.required === true,
						schema: h.schema ?? null,
						validate: h.schema ? compile(h.schema, `${where} ${code} header ${hn}`) : null,
					};
				}
				responses[String(code)] = { code: String(code), content, headers, hasContent: r.content !== undefined };
			}
			const requestBody = op.requestBody ? deref(op.requestBody) : null;
			const reqSchema = requestBody?.content?.['application/json']?.schema;
			ops.push({
				method: m.toUpperCase(),
				path: p,
				id: op.operationId ?? where,
				responses,
				validateRequest: reqSchema ? compile(reqSchema, `${where} requestBody`) : null,
				re: templateRegex(p),
				literals: p.split('/').filter((s) => s && !s.startsWith('{')).length,
				calls: 0,
				statuses: new Set(),
			});
		}
	}
	if (!ops.length) throw new Error('the spec has no operations');
} catch (e) {
	report(false, `compile ${path.relative(process.cwd(), opts.spec)} with Ajv (draft 2020-12)`, [e.message]);
	finish();
}
const problemValidate = ajv.getSchema(`${SPEC_ID}#/$defs/Problem`);
report(true, `${path.basename(opts.spec)}: ${ops.length} operations, ${nschemas} response schemas compiled with Ajv2020` +
	(ajvWarnings.length ? ` (${ajvWarnings.length} strict-mode warnings: ${ajvWarnings.join('; ')})` : ''));

function templateRegex(p) {
	const src = p.split('/').map((seg) =>
		seg.replace(/\{[^}]+\}|[^{]+/g, (t) => (t.startsWith('{') ? '([^/]+)' : t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))).join('/');
	return new RegExp(`^${src}$`);
}

// The operation a request lands on, like a router: a concrete path wins
// over a templated one.
function route(method, urlPath) {
	const onPath = ops.filter((o) => o.re.test(urlPath));
	if (!onPath.length) return { known: false };
	const most = Math.max(...onPath.map((o) => o.literals));
	const best = onPath.filter((o) => o.literals === most);
	return { known: true, template: best[0].path, op: best.find((o) => o.method === method) ?? null, pathOps: best };
}

// ---------------------------------------------------------------- checks
function fmtAjv(errors, max = 20) {
	const all = errors ?? [];
	const more = all.length > max ? [`  ... and ${all.length - max} more`] : [];
	return all.slice(0, max).map((e) => {
		const params = e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : '';
		return `  ${e.instancePath || '(root)'}: ${e.message}${params} [schema ${e.schemaPath}]`;
	}).concat(more).join('\n');
}

function pickResponse(responses, status) {
	const s = String(status);
	if (responses[s]) return responses[s];
	const range = Object.keys(responses).find((k) => k.toUpperCase() === `${s[0]}XX`);
	if (range) return responses[range];
	return responses.default ?? null;
}

function essence(ct) {
	return ct.split(';')[0].trim().toLowerCase();
}

function pickMedia(content, ct) {
	const e = essence(ct);
	if (content[e]) return content[e];
	const [type] = e.split('/');
	return content[`${type}/*`] ?? content['*/*'] ?? null;
}

const isJson = (mt) => mt === 'application/json' || /^[a-z0-9.+-]+\/[a-z0-9.+-]*\+json$/.test(mt);

function coerceHeader(value, schema) {
	const t = schema?.type;
	const types = Array.isArray(t) ? t : [t];
	if ((types.includes('integer') || types.includes('number')) && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
	if (types.includes('boolean') && (value === 'true' || value === 'false')) return value === 'true';
	return value;
}

// Validates one response against what the spec says for it. Returns the
// problems, and the parsed body when it is JSON.
function checkAgainst(responses, res, label) {
	const problems = [];
	let parsed;
	const r = pickResponse(responses, res.status);
	if (!r) {
		problems.push(`spec: ${label} does not list status ${res.status} (it lists ${Object.keys(responses).join(', ')})`);
	} else {
		const ct = res.headers['content-type'];
		if (!r.hasContent) {
			if (res.body.length)
				problems.push(`spec: ${label} ${r.code} describes no body; got ${res.body.length} bytes (Content-Type ${ct ?? 'none'})`);
		} else if (!ct) {
			problems.push(`spec: ${label} ${r.code} has content ${Object.values(r.content).map((c) => c.name).join(', ')}; the response has no Content-Type`);
		} else {
			const media = pickMedia(r.content, ct);
			if (!media) {
				problems.push(`spec: ${label} ${r.code}: Content-Type ${ct} is not one the spec lists (${Object.values(r.content).map((c) => c.name).join(', ')})`);
			} else {
				let instance;
				if (isJson(essence(ct))) {
					try {
						instance = parsed = JSON.parse(res.body.toString('utf8'));
					} catch (e) {
						problems.push(`spec: ${label} ${r.code} ${media.name}: the body is not JSON: ${e.message}`);
					}
				} else {
					instance = res.body.toString('utf8');
				}
				if (instance !== undefined && media.validate && !media.validate(instance))
					problems.push(`spec: ${label} ${r.code} ${media.name}: the body does not match the schema:\n${fmtAjv(media.validate.errors)}`);
			}
		}
		for (const [lname, h] of Object.entries(r.headers)) {
			const v = res.headers[lname];
			if (v === undefined) {
				if (h.required) problems.push(`spec: ${label} ${r.code}: required header ${h.name} is missing`);
				continue;
			}
			if (h.validate) {
				const value = coerceHeader(Array.isArray(v) ? v.join(', ') : v, h.schema);
				if (!h.validate(value))
					problems.push(`spec: ${label} ${r.code}: header ${h.name}: ${JSON.stringify(v)} does not match its schema:\n${fmtAjv(h.validate.errors)}`);
			}
		}
	}
	if (parsed === undefined && /json/.test(res.headers['content-type'] ?? '')) {
		try { parsed = JSON.parse(res.body.toString('utf8')); } catch { /* reported above */ }
	}
	return { problems, parsed };
}

// What info.description promises every response: X-Request-Id (the
// client's when it sent a safe one), and problem bodies that carry it and
// their own status.
function checkCommon(res, sentId, parsed) {
	const problems = [];
	const rid = res.headers['x-request-id'];
	if (rid === undefined) problems.push('X-Request-Id is missing');
	else if (sentId && rid !== sentId) problems.push(`X-Request-Id is ${JSON.stringify(rid)}; sent ${JSON.stringify(sentId)}, a safe id, which the server must echo`);
	if (res.status >= 400 && parsed && typeof parsed === 'object') {
		if (parsed.status !== res.status) problems.push(`problem body: status ${parsed.status}, HTTP status ${res.status}`);
		if (rid !== undefined && parsed.request_id !== rid) problems.push(`problem body: request_id ${JSON.stringify(parsed.request_id)}, X-Request-Id ${JSON.stringify(rid)}`);
	}
	return problems;
}

// ---------------------------------------------------------------- HTTP
const baseUrl = new URL(opts.base);
let seq = 0;
const runTag = Date.now().toString(36);

function rawRequest(method, urlPath, headers, body, timeoutMs) {
	return new Promise((resolve, reject) => {
		let done = false;
		const req = http.request({
			host: baseUrl.hostname,
			port: baseUrl.port || 80,
			path: `${baseUrl.pathname.replace(/\/$/, '')}${urlPath}`,
			method,
			headers,
			agent: false,
			timeout: timeoutMs,
		}, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => {
				done = true;
				resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) });
			});
			res.on('error', (e) => { if (!done) { done = true; reject(e); } });
		});
		req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)));
		// A server may answer (413) and close before the whole body is sent:
		// a write error after the response is not the server's fault.
		req.on('error', (e) => { if (!done) { done = true; reject(e); } });
		req.end(body);
	});
}

// A streamed GET (text/event-stream): its status and headers are checked
// against the spec, and its first bytes read; then the connection is cut.
async function callStream(urlPath, note) {
	const id = `contract-${runTag}-${++seq}`;
	const headers = { 'X-Request-Id': id, Accept: 'text/event-stream' };
	if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
	const rt = route('GET', urlPath.split('?')[0]);
	if (rt.op) rt.op.calls++;
	let res;
	try {
		res = await new Promise((resolve, reject) => {
			const req = http.request({
				host: baseUrl.hostname, port: baseUrl.port || 80, method: 'GET', headers, agent: false,
				path: `${baseUrl.pathname.replace(/\/$/, '')}${urlPath}`, timeout: 30000,
			}, (r) => {
				r.once('data', (chunk) => {
					resolve({ status: r.statusCode, headers: r.headers, body: Buffer.from(chunk) });
					req.destroy();
				});
				r.on('error', () => {});
			});
			req.on('timeout', () => req.destroy(new Error('no first bytes in 30 s')));
			req.on('error', reject);
			req.end();
		});
	} catch (e) {
		report(false, `GET ${urlPath} - (${note})`, [`no response: ${e.message}`]);
		return null;
	}
	let problems = [];
	if (rt.op) {
		rt.op.statuses.add(res.status);
		({ problems } = checkAgainst(rt.op.responses, res, `${rt.op.id} (GET ${rt.template})`));
	}
	problems.push(...checkCommon(res, id, undefined));
	if (res.status !== 200) problems.push(`scenario: expected 200, got ${res.status}`);
	if (!/^(retry|id|event|data|:)/.test(res.body.toString('utf8'))) problems.push('scenario: the first bytes are no event-stream field');
	report(!problems.length, `GET ${urlPath} -> ${res.status} (${note})${rt.op ? ` [${rt.op.id}]` : ''}`, problems, problems.length ? res.body : undefined);
	return res;
}

// One call of the scenario: sends it, validates the response against the
// spec, checks what the scenario expects, prints one line. Returns
// { status, headers, body, json } or null when no response came.
async function call(method, urlPath, o = {}) {
	const id = `contract-${runTag}-${++seq}`;
	const headers = { 'X-Request-Id': id };
	if (opts.token && o.auth !== false) headers.Authorization = `Bearer ${opts.token}`;
	Object.assign(headers, o.headers ?? {});
	let body = o.body;
	if (o.json !== undefined) body = JSON.stringify(o.json);
	if (body !== undefined) {
		if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
	}
	headers['Content-Length'] = body === undefined ? 0 : Buffer.byteLength(body);
	const expect = o.expect === undefined ? null : [].concat(o.expect);
	const note = o.note ? ` (${o.note})` : '';
	const pathOnly = urlPath.split('?')[0];
	const rt = route(method, pathOnly);
	if (rt.op) rt.op.calls++;

	let res;
	try {
		res = await rawRequest(method, urlPath, headers, body, (o.timeout ?? 90) * 1000);
	} catch (e) {
		report(false, `${method} ${urlPath} -${note}`, [`no response: ${e.message}`]);
		return null;
	}
	let problems;
	let parsed;
	if (rt.op) {
		rt.op.statuses.add(res.status);
		({ problems, parsed } = checkAgainst(rt.op.responses, res, `${rt.op.id} (${method} ${rt.template})`));
	} else if (rt.known) {
		// A method the path does not have: the path's operations describe
		// that answer (405 MethodNotAllowed), and Allow must list them.
		const describer = rt.pathOps.find((op) => pickResponse(op.responses, res.status)) ?? rt.pathOps[0];
		({ problems, parsed } = checkAgainst(describer.responses, res, `${method} ${rt.template} (no such operation; as described by ${describer.id})`));
		if (res.status === 405) {
			const want = rt.pathOps.map((op) => op.method).sort().join(', ');
			const allow = (res.headers.allow ?? '').split(',').map((s) => s.trim().toUpperCase()).filter(Boolean)
				.filter((m) => m !== 'HEAD' || !rt.pathOps.some((op) => op.method === 'GET')).sort().join(', ');
			if (allow !== want) problems.push(`Allow is ${JSON.stringify(res.headers.allow ?? null)}; the spec's methods on ${rt.template} are ${want}`);
		}
	} else {
		// Outside every path: only info.description's promise applies (every
		// error is application/problem+json with the Problem schema).
		problems = [];
		const ct = res.headers['content-type'] ?? '';
		if (essence(ct) !== 'application/problem+json') problems.push(`${urlPath} is no path of the spec; its error must be application/problem+json, got ${ct || 'no Content-Type'}`);
		try {
			parsed = JSON.parse(res.body.toString('utf8'));
			if (!problemValidate(parsed)) problems.push(`the body does not match components/schemas/Problem:\n${fmtAjv(problemValidate.errors)}`);
		} catch (e) {
			problems.push(`the body is not JSON: ${e.message}`);
		}
	}
	problems.push(...checkCommon(res, id, parsed));
	if (expect && !expect.includes(res.status)) problems.push(`scenario: expected ${expect.join(' or ')}, got ${res.status}`);
	if (o.code && parsed?.code !== o.code) problems.push(`scenario: expected code ${o.code}, got ${parsed?.code}`);
	if (o.field && parsed?.field !== o.field) problems.push(`scenario: expected field ${o.field}, got ${parsed?.field}`);
	for (const k of o.has ?? []) if (parsed?.[k] === undefined) problems.push(`scenario: expected the problem to have "${k}"`);
	// A request the server accepted must be one the spec's requestBody
	// allows (else the spec forbids what the server does).
	if (rt.op?.validateRequest && o.json !== undefined && res.status < 300 && !rt.op.validateRequest(o.json))
		problems.push(`spec: the server accepted (${res.status}) a request body that ${rt.op.id}'s requestBody schema rejects:\n${fmtAjv(rt.op.validateRequest.errors)}`);
	const out = { status: res.status, headers: res.headers, body: res.body, json: parsed };
	if (o.check) {
		try {
			problems.push(...(o.check(out) ?? []).map((p) => `scenario: ${p}`));
		} catch (e) {
			problems.push(`scenario: check threw ${e.message}`);
		}
	}
	const opName = rt.op ? ` [${rt.op.id}]` : '';
	report(!problems.length, `${method} ${urlPath} ${res.status}${problems.length ? opName : ''}${note}`, problems,
		problems.length ? res.body : undefined);
	return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const enc = encodeURIComponent;
const locationIs = (want) => (r) => (r.headers.location === want ? [] : [`Location is ${JSON.stringify(r.headers.location ?? null)}, expected ${want}`]);

// ---------------------------------------------------------------- scenario
function fixture(kernel) {
	const f = JSON.parse(readFileSync(path.join(ROOT, 'tests', 'fixtures', `lab-${kernel}.json`), 'utf8'));
	return { ...f.firmware_registers, observed_abi: f.observed_abi };
}

// A host set as a pinvmd from before the vCPU features sends it: without them.
function withoutCpu(set) {
	const { cpu_features: _unsaid, ...rest } = set;
	return rest;
}

async function scenario() {
	const kvm = opts.kvm;
	const noKvm = 503;
	const docName = `ct-doc-${runTag}`;
	const refusedName = `ct-refused-${runTag}`;
	const captureName = `ct-capture-${runTag}`;
	const baselineName = `ct-baseline-${runTag}`;
	const host510 = fixture('5.10');
	const host612 = fixture('6.12');
	const doc = {
		name: docName,
		description: 'contract test: Linux 5.10 services',
		unknown_registers: 'disable',
		registers: {
			PSCI_VERSION: '1.0',
			STD_BMAP: { TRNG: false },
			STD_HYP_BMAP: '0x0',
			VENDOR_HYP_BMAP: '0x0',
			SMCCC_ARCH_WORKAROUND_1: 'host',
			SMCCC_ARCH_WORKAROUND_2: 'host',
			SMCCC_ARCH_WORKAROUND_3: 'host',
		},
	};

	// --- host
	const host = await call('GET', '/v1/host', {
		expect: 200,
		check: (r) => (r.json?.hypervisor === (kvm ? 'kvm' : 'none') ? [] : [`hypervisor is ${r.json?.hypervisor}; ${kvm ? '--kvm needs the lab' : 'without --kvm the server must have no hypervisor'}`]),
	});
	if (!host) return;
	const fw = await call('GET', '/v1/host/firmware-registers', { expect: kvm ? 200 : noKvm, code: kvm ? undefined : 'no_hypervisor' });
	await call('GET', '/v1/host/observed-abi', { expect: kvm ? 200 : noKvm, code: kvm ? undefined : 'no_hypervisor', timeout: 120 });
	const liveHost = kvm && fw?.status === 200 ? fw.json : null;
	await call('GET', '/v1/health', { expect: 200 });
	await call('GET', '/v1/ready', {
		expect: 200,
		check: (r) => (r.json?.checks?.hypervisor === (kvm ? 'kvm' : 'none') ? [] : [`checks.hypervisor is ${r.json?.checks?.hypervisor}`]),
	});
	await call('GET', '/metrics', {
		expect: 200,
		check: (r) => (/^# TYPE pinvm_/m.test(r.body.toString('utf8')) ? [] : ['no pinvm_ metric family']),
	});
	if (opts.token) {
		// A TCP listener with --token-file: no token, or a wrong one, is 401.
		const challenge = (r) => (/^Bearer\b/i.test(r.headers['www-authenticate'] ?? '') ? [] : [`WWW-Authenticate is ${JSON.stringify(r.headers['www-authenticate'] ?? null)}`]);
		await call('GET', '/v1/host', { auth: false, expect: 401, code: 'unauthorized', note: 'no token', check: challenge });
		await call('GET', '/metrics', { auth: false, expect: 401, code: 'unauthorized', note: 'no token', check: challenge });
		await call('POST', '/v1/profiles', {
			auth: false,
			headers: { Authorization: `Bearer ${opts.token}x` },
			json: { name: `ct-unauth-${runTag}`, registers: {} },
			expect: 401,
			code: 'unauthorized',
			note: 'wrong token',
			check: challenge,
		});
		await call('GET', `/v1/profiles/ct-unauth-${runTag}`, { expect: 404, note: 'nothing stored without the token' });
	}

	// --- profiles
	await call('GET', '/v1/profiles', { expect: 200 });
	await call('POST', '/v1/profiles', { json: doc, expect: 201, note: 'profile document', check: locationIs(`/v1/profiles/${docName}`) });
	await call('POST', '/v1/profiles', { json: doc, expect: 409, code: 'profile_exists', note: 'duplicate name' });
	await call('POST', '/v1/profiles', { body: '{"name": "broken", "registers": {', expect: 400, code: 'malformed_json', note: 'malformed JSON' });
	await call('POST', '/v1/profiles', { json: { name: 5, registers: {} }, expect: 400, note: 'name of the wrong type' });
	await call('POST', '/v1/profiles', { body: JSON.stringify(doc), headers: { 'Content-Type': 'text/plain' }, expect: 415, code: 'unsupported_media_type', field: 'Content-Type', note: 'text/plain body' });
	const big = JSON.stringify({ name: 'too-big', registers: {}, description: 'x'.repeat(2 * 1024 * 1024) });
	await call('POST', '/v1/profiles', { body: big, expect: 413, code: 'body_too_large', note: '2 MiB body' });
	await call('POST', '/v1/profiles', { json: { name: `ct-bad-${runTag}`, registers: { NO_SUCH_REGISTER: '0x1' } }, expect: 422, code: 'unknown_register', note: 'unknown register' });
	await call('POST', '/v1/profiles', {
		json: { capture: 'host', name: captureName },
		expect: kvm ? 201 : noKvm,
		code: kvm ? undefined : 'no_hypervisor',
		note: 'capture',
		timeout: 120,
		check: kvm ? locationIs(`/v1/profiles/${captureName}`) : undefined,
	});
	// Every other register unmentioned, unknown_registers refuse: no host
	// can honour it (rule unmentioned_register).
	await call('POST', '/v1/profiles', {
		json: { name: refusedName, unknown_registers: 'refuse', registers: { PSCI_VERSION: 'host' } },
		expect: 201,
		note: 'a profile no host honours',
	});
	await call('GET', '/v1/profiles', {
		expect: 200,
		check: (r) => (r.json?.profiles?.some((p) => p.name === docName) ? [] : [`${docName} is not listed`]),
	});
	await call('GET', `/v1/profiles/${docName}`, { expect: 200 });
	await call('GET', `/v1/profiles/ct-missing-${runTag}`, { expect: 404, note: 'unknown profile' });
	await call('GET', `/v1/profiles/${docName}/compatibility`, { expect: kvm ? 200 : noKvm });
	await call('GET', `/v1/profiles/ct-missing-${runTag}/compatibility`, { expect: 404, note: 'unknown profile' });
	await call('GET', `/v1/profiles/${docName}/observed-abi`, { expect: kvm ? 200 : noKvm, timeout: 120 });
	if (kvm) {
		await call('GET', `/v1/profiles/${refusedName}/compatibility`, {
			expect: 200,
			check: (r) => (r.json?.compatible === false ? [] : ['compatible is not false']),
		});
		await call('GET', `/v1/profiles/${refusedName}/observed-abi`, { expect: 409, note: 'refused' });
		await call('GET', `/v1/profiles/${captureName}/observed-abi`, { expect: 200, timeout: 120 });
	}
	await call('GET', `/v1/profiles/ct-missing-${runTag}/observed-abi`, { expect: 404, note: 'unknown profile' });

	// --- verdicts against other hosts, baselines
	await call('POST', '/v1/compatibility', { json: { profile: docName, host: host510 }, expect: 200, note: 'stored profile vs 5.10' });
	await call('POST', '/v1/compatibility', {
		json: { profile: { ...doc, name: 'inline' }, host: liveHost ?? host612 },
		expect: 200,
		note: `document vs ${liveHost ? 'this host' : '6.12'}`,
	});
	await call('POST', '/v1/compatibility', { json: { profile: refusedName, host: host612 }, expect: 200, note: 'refused verdict', check: (r) => (r.json?.compatible === false ? [] : ['compatible is not false']) });
	await call('POST', '/v1/compatibility', { json: { profile: `ct-missing-${runTag}`, host: host612 }, expect: 404, note: 'unknown stored profile' });
	await call('POST', '/v1/compatibility', { json: { profile: 7, host: host612 }, expect: 400, note: 'profile of the wrong type' });
	await call('POST', '/v1/compatibility', { json: { profile: docName, host: host612, extra: 1 }, expect: 422, note: 'unknown member' });
	await call('POST', '/v1/compatibility', { body: 'not json', expect: 400, note: 'malformed JSON' });
	const hosts = [host510, host612, ...(liveHost ? [liveHost] : [])];
	await call('POST', '/v1/baselines', { json: { name: baselineName, description: 'contract test', hosts }, expect: 201, check: locationIs(`/v1/profiles/${baselineName}`) });
	await call('POST', '/v1/baselines', { json: { name: baselineName, hosts }, expect: 409, code: 'profile_exists', note: 'duplicate name' });
	{
		const doc = { name: `ct-idem-${runTag}`, unknown_registers: 'disable', registers: { PSCI_VERSION: '1.0' } };
		const key = { 'Idempotency-Key': `ct-${runTag}` };
		const first = await call('POST', '/v1/profiles', { json: doc, headers: key, expect: 201, note: 'with an Idempotency-Key' });
		await call('POST', '/v1/profiles', { json: doc, headers: key, expect: 201, note: 'the same again: replayed', check: (r) => [
			...(r.headers['idempotent-replayed'] === 'true' ? [] : ['no Idempotent-Replayed: true']),
			...(JSON.stringify(r.json) === JSON.stringify(first?.json) ? [] : ['not the first answer'])] });
		await call('POST', '/v1/profiles', { json: { ...doc, name: `ct-idem2-${runTag}` }, headers: key, expect: 422, code: 'idempotency_key_reused', note: 'the key with another body' });
		await call('POST', '/v1/compatibility', { json: {}, headers: { 'Idempotency-Key': 'bad key' }, expect: 400, code: 'bad_idempotency_key', note: 'a key with a space' });
		const got = await call('GET', `/v1/profiles/${doc.name}`, { expect: 200, note: 'has an ETag', check: (r) => (r.headers.etag ? [] : ['no ETag']) });
		if (got?.headers?.etag)
			await call('GET', `/v1/profiles/${doc.name}`, { headers: { 'If-None-Match': got.headers.etag }, expect: 304, note: 'If-None-Match: unchanged' });
		await call('DELETE', `/v1/profiles/${doc.name}`, { expect: 204 });
	}
	await call('POST', '/v1/baselines', { json: { name: `ct-b-${runTag}`, hosts: [], colour: 'red' }, expect: 422, note: 'unknown member' });
	// Hosts by URL (another pinvmd): port 1 of the server's own loopback
	// answers nobody, so the peer is named unreachable.
	await call('POST', '/v1/baselines', { json: { name: `ct-peer-${runTag}`, hosts: [host510, { url: 'http://127.0.0.1:1' }] }, expect: 502, code: 'peer_unreachable', note: 'a peer nobody answers for', check: (r) => (r.json?.peers?.[0]?.field === 'hosts[1]' ? [] : ['peers[0].field is not hosts[1]']) });
	await call('POST', '/v1/compatibility', { json: { profile: docName, host: { url: 'http://127.0.0.1:1', token: 'contract-test-token-0123' } }, expect: 502, code: 'peer_unreachable', note: 'a host by URL nobody answers for' });
	await call('POST', '/v1/compatibility', { json: { profile: docName, host: { url: 'file:///etc/passwd' } }, expect: 422, code: 'bad_url', note: 'a peer URL that is not http(s)' });
	await call('POST', '/v1/baselines', { body: '{}', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, expect: 415, code: 'unsupported_media_type', field: 'Content-Type', note: 'form body' });

	// --- vCPU features pinned by profiles (issue 16)
	const cpuName = `ct-cpu-${runTag}`;
	const noFeatures = { pmu: false, sve: false, pauth: false, sve_vector_lengths: [] };
	const cpuVerdict = (want) => (r) => {
		const c = r.json?.cpu_features ?? {};
		return Object.entries(want).filter(([k, v]) => c[k] !== v).map(([k, v]) => `cpu_features.${k} is ${JSON.stringify(c[k])}, not ${JSON.stringify(v)}`);
	};
	await call('POST', '/v1/profiles', {
		json: { name: cpuName, unknown_registers: 'disable', registers: {}, cpu_features: { pmu: true } },
		expect: 201,
		note: 'a profile pinning a PMU',
		check: (r) => (JSON.stringify(r.json?.cpu_features) === JSON.stringify({ pmu: true, sve: false, pauth: false }) ? [] : [`cpu_features ${JSON.stringify(r.json?.cpu_features)}`]),
	});
	await call('POST', '/v1/profiles', { json: { name: `ct-cpu-bad-${runTag}`, registers: {}, cpu_features: { sve: { vector_length: 100 } } }, expect: 422, code: 'out_of_range', field: 'cpu_features.sve.vector_length', note: 'an SVE length off the 128-bit steps' });
	await call('POST', '/v1/compatibility', { json: { profile: cpuName, host: { ...host612, cpu_features: noFeatures } }, expect: 200, note: 'a PMU on a host without one', check: cpuVerdict({ verdict: 'refused', rule: 'cpu_feature_unavailable', field: 'cpu_features.pmu' }) });
	await call('POST', '/v1/compatibility', { json: { profile: cpuName, host: { ...host612, cpu_features: { ...noFeatures, pmu: true } } }, expect: 200, note: 'a PMU on a host with one', check: cpuVerdict({ verdict: 'given' }) });
	await call('POST', '/v1/compatibility', { json: { profile: cpuName, host: withoutCpu(host612) }, expect: 200, note: 'a host set that does not say its vCPU features', check: cpuVerdict({ verdict: 'undetermined', host: null }) });
	await call('POST', '/v1/compatibility', { json: { profile: docName, host: { ...host510, cpu_features: { ...noFeatures, pmu: true, pmu_without_request: true } } }, expect: 200, note: 'a PMU shown without asking is reported', check: cpuVerdict({ verdict: 'unpinned', pinned: null, pmu_without_request: true }) });
	await call('POST', '/v1/compatibility', { json: { profile: cpuName, host: { ...host612, cpu_features: { ...noFeatures, sve: true, sve_vector_lengths: [256, 128] } } }, expect: 422, code: 'bad_value', field: 'host.cpu_features.sve_vector_lengths', note: 'host SVE lengths out of order' });
	await call('POST', '/v1/profiles', { json: { capture: 'host', name: `ct-cpu-cap-${runTag}`, cpu_features: 'everything' }, expect: 422, code: 'bad_value', field: 'cpu_features', note: 'capture: cpu_features neither host, none nor an object' });
	await call('POST', '/v1/baselines', { json: { name: `ct-cpu-b-${runTag}`, hosts: [withoutCpu(host510), host612], cpu_features: 'common' }, expect: 422, code: 'cpu_features_unknown', field: 'hosts[0]', note: 'common vCPU features of host sets that do not say theirs' });
	await call('POST', '/v1/baselines', { json: { name: `ct-cpu-b-${runTag}`, hosts: [host510], cpu_features: 'all' }, expect: 422, code: 'bad_value', field: 'cpu_features', note: 'baseline: cpu_features neither none nor common' });
	// ID registers: a profile pins fields of them; the fixtures' sets say
	// what each kernel's vCPUs show and which bits KVM takes (6.7+).
	const host61 = fixture('6.1');
	const idName = `ct-id-${runTag}`;
	const idVerdict = (want) => (r) => {
		const v = r.json?.id_registers ?? {};
		return Object.entries(want).filter(([k, x]) => v[k] !== x).map(([k, x]) => `id_registers.${k} is ${JSON.stringify(v[k])}, not ${JSON.stringify(x)}`);
	};
	await call('POST', '/v1/profiles', {
		json: { name: idName, unknown_registers: 'disable', registers: {}, id_registers: [{ name: 'ID_AA64DFR0_EL1', mask: '0xf', value: '0x6' }] },
		expect: 201, note: 'a profile pinning DebugVer 6',
		check: (r) => (r.json?.id_registers?.[0]?.id === '0x603000000013c028' ? [] : [`id_registers ${JSON.stringify(r.json?.id_registers)}`]),
	});
	await call('POST', '/v1/profiles', { json: { name: `ct-id-bad-${runTag}`, registers: {}, id_registers: [{ name: 'ID_AA64DFR0_EL1', mask: '0xf00', value: '0x100' }] }, expect: 422, code: 'bad_mask', field: 'id_registers[0].mask', note: 'PMUVer is cpu_features\' to pin' });
	await call('POST', '/v1/profiles', { json: { name: `ct-id-bad-${runTag}`, registers: {}, id_registers: [{ name: 'MIDR_EL1', mask: '0xf', value: '0x1' }] }, expect: 422, code: 'unknown_register', field: 'id_registers[0].name', note: 'not a feature ID register' });
	await call('POST', '/v1/compatibility', { json: { profile: idName, host: host612 }, expect: 200, note: 'DebugVer 6 on 6.12: written lower', check: idVerdict({ verdict: 'given' }) });
	await call('POST', '/v1/compatibility', { json: { profile: idName, host: host510 }, expect: 200, note: 'DebugVer 6 on 5.10: no write taken', check: idVerdict({ verdict: 'refused', rule: 'id_register_differs' }) });
	await call('POST', '/v1/baselines', { json: { name: `ct-id-b-${runTag}`, hosts: [host510, host61] }, expect: 422, code: 'baseline_conflict', field: 'id_registers.ID_AA64DFR0_EL1', note: '5.10 and 6.1 show DebugVer differently and take no write' });
	await call('DELETE', `/v1/profiles/${idName}`, { expect: 204 });
	await call('POST', '/v1/baselines', {
		json: { name: `ct-cpu-b-${runTag}`, hosts: [{ ...host510, cpu_features: { ...noFeatures, pmu: true, pauth: true } }, { ...host612, cpu_features: { pmu: true, sve: true, pauth: false, sve_vector_lengths: [128, 256] } }], cpu_features: 'common' },
		expect: 201,
		note: 'common vCPU features: the PMU both have',
		check: (r) => (JSON.stringify(r.json?.cpu_features) === JSON.stringify({ pmu: true, sve: false, pauth: false }) ? [] : [`cpu_features ${JSON.stringify(r.json?.cpu_features)}`]),
	});
	if (kvm) {
		await call('GET', '/v1/host/firmware-registers', { expect: 200, note: 'says the vCPU features a peer would judge', check: (r) => (typeof r.json?.cpu_features?.pmu === 'boolean' && typeof r.json?.smccc_filter === 'boolean' ? [] : ['no cpu_features or smccc_filter']) });
		// The capture pinned every optional feature off: a VM asking for one conflicts.
		await call('GET', `/v1/profiles/${captureName}`, { expect: 200, note: 'a capture pins the vCPU features (all off by default)', check: (r) => (JSON.stringify(r.json?.cpu_features) === JSON.stringify({ pmu: false, sve: false, pauth: false }) ? [] : [`cpu_features ${JSON.stringify(r.json?.cpu_features)}`]) });
		await call('POST', '/v1/vms', { json: { vcpus: 1, memory_mib: 128, kernel: opts.kernel, profile: captureName, cpu_features: { pmu: true } }, expect: 422, code: 'profile_conflict', field: 'cpu_features', note: 'a VM asking for a PMU its profile pins off' });
	}
	// The fixtures say theirs (captured from the lab's kernels): every
	// feature on both, SVE up to 2048 bits.
	await call('POST', '/v1/baselines', {
		json: { name: `ct-cpu-b2-${runTag}`, hosts: [host510, host612], cpu_features: 'common' },
		expect: 201,
		note: 'common vCPU features of the lab fixtures: all three, SVE at the longest length both offer',
		check: (r) => (JSON.stringify(r.json?.cpu_features) === JSON.stringify({ pmu: true, sve: { vector_length: 2048 }, pauth: true }) ? [] : [`cpu_features ${JSON.stringify(r.json?.cpu_features)}`]),
	});
	for (const name of [cpuName, `ct-cpu-b-${runTag}`, `ct-cpu-b2-${runTag}`])
		await call('DELETE', `/v1/profiles/${name}`, { expect: 204 });

	// --- images and VMs
	const images = await call('GET', '/v1/images', { expect: 200 });
	await call('GET', '/v1/vms', { expect: 200 });
	const imageNames = images?.json?.images?.map((i) => i.name) ?? [];
	const kernel = kvm ? opts.kernel : (imageNames[0] ?? opts.kernel);
	const vmSpec = { vcpus: 1, memory_mib: 256, kernel, cmdline: 'console=ttyS0 pinvm.poweroff=1' };
	if (kvm) vmSpec.initrd = opts.initrd;
	await call('POST', '/v1/vms', { json: { ...vmSpec, vcpus: 0 }, expect: 422, note: 'vcpus 0' });
	await call('POST', '/v1/vms', { json: { ...vmSpec, vcpus: 'one' }, expect: 400, note: 'vcpus of the wrong type' });
	await call('POST', '/v1/vms', { json: { ...vmSpec, disk: 'x' }, expect: 422, note: 'unknown member' });
	await call('POST', '/v1/vms', { json: { ...vmSpec, name: 'Not Valid' }, expect: 422, code: 'bad_name', note: 'a bad name' });
	await call('POST', '/v1/vms', { json: { ...vmSpec, labels: { k: 1 } }, expect: 400, code: 'wrong_type', note: 'a label that is no string' });
	await call('POST', '/v1/vms', { json: { ...vmSpec, cpu_features: { pmu: 1 } }, expect: 400, code: 'wrong_type', note: 'cpu_features.pmu not a boolean' });
	await call('POST', '/v1/vms', { json: { ...vmSpec, cpu_features: { sve: { vector_length: 100 } } }, expect: 422, code: 'out_of_range', note: 'an SVE vector length off the 128-bit steps' });
	await call('GET', '/v1/vms?state=running&label=tier=web,env&limit=2', { expect: 200, note: 'filters and a page' });
	await call('GET', '/v1/vms?state=sleeping', { expect: 400, code: 'bad_state', note: 'an unknown state' });
	await call('GET', '/v1/vms?label=a=b=c', { expect: 400, code: 'bad_label_selector', note: 'a bad label selector' });
	await call('GET', '/v1/vms?cursor=x', { expect: 400, code: 'bad_cursor', note: 'a bad cursor' });
	await call('GET', '/v1/vms?colour=red', { expect: 400, code: 'unknown_parameter', note: 'an unknown parameter' });
	const missing = `ct-no-such-vm-${runTag}`;
	if (!kvm) {
		await call('POST', '/v1/vms', { json: vmSpec, expect: noKvm, code: 'no_hypervisor', note: 'refused before anything is created' });
		await call('GET', '/v1/vms', { expect: 200, check: (r) => (r.json?.vms?.length === 0 ? [] : [`${r.json?.vms?.length} VMs exist after a refused create`]) });
	} else {
		await vmLifecycle(vmSpec, imageNames, docName, refusedName);
	}
	await call('GET', `/v1/vms/${missing}`, { expect: 404, note: 'unknown VM' });
	await call('DELETE', `/v1/vms/${missing}`, { expect: 404, note: 'unknown VM' });
	await call('POST', `/v1/vms/${missing}/actions`, { json: { action: 'start' }, expect: 404, note: 'unknown VM' });
	await call('GET', `/v1/vms/${missing}/console?offset=0`, { expect: 404, note: 'unknown VM' });
	await call('GET', `/v1/vms/${missing}/console?follow=1`, { expect: 404, note: 'follow an unknown VM' });
	await call('GET', `/v1/vms/${missing}/console?follow=yes`, { expect: 400, code: 'bad_follow', note: 'follow=yes' });
	await call('POST', `/v1/vms/${missing}/console`, { body: 'ls\n', headers: { 'Content-Type': 'application/octet-stream' }, expect: 404, note: 'input for an unknown VM' });
	await call('POST', `/v1/vms/${missing}/console`, { body: 'ls\n', headers: { 'Content-Type': 'text/plain' }, expect: 415, note: 'input that is not application/octet-stream' });
	await call('POST', `/v1/vms/${missing}/console`, { body: 'x'.repeat(4097), headers: { 'Content-Type': 'application/octet-stream' }, expect: 413, code: 'console_input_too_large', note: 'more than 4 KiB of input' });
	await call('POST', `/v1/vms/${missing}/console`, { body: '', headers: { 'Content-Type': 'application/octet-stream' }, expect: 400, code: 'empty_input', note: 'no bytes' });
	await call('GET', `/v1/vms/${missing}?wait_for=running&timeout=5`, { expect: 404, note: 'long-poll on an unknown VM' });
	await call('GET', `/v1/vms/${missing}?wait_for=sleeping`, { expect: 400, code: 'bad_state', note: 'wait_for an unknown state' });
	await call('GET', `/v1/vms/${missing}?timeout=5`, { expect: 400, code: 'missing_parameter', note: 'timeout without wait_for' });
	if (!kvm) await call('POST', '/v1/vms', { json: vmSpec, headers: { Prefer: 'respond-async' }, expect: 503, code: 'no_hypervisor', note: 'respond-async: refused before anything is accepted' });

	// --- the event stream: its head (it never ends by itself), then refusals
	await callStream('/v1/events?type=vm.', 'a live stream; its first bytes');
	await call('GET', '/v1/events?last_event_id=9223372036854775807', { expect: 410, code: 'events_gone', note: 'resuming beyond the history' });
	await call('GET', '/v1/events', { headers: { 'Last-Event-ID': 'x' }, expect: 400, code: 'bad_last_event_id', note: 'a bad Last-Event-ID' });
	await call('GET', '/v1/events?type=VM', { expect: 400, code: 'bad_event_type', note: 'a bad type filter' });
	await call('GET', '/v1/events?since=1', { expect: 400, code: 'unknown_parameter', note: 'an unknown parameter' });

	// --- snapshots (issue 10): what needs no VM; the lab adds a real one
	const noSnap = '0f8fad5b-d9cb-469f-a165-70867728950e';
	const octet = { 'Content-Type': 'application/octet-stream' };
	await call('GET', '/v1/snapshots', { expect: 200 });
	await call('GET', '/v1/snapshots?limit=0', { expect: 400, code: 'bad_limit', note: 'limit 0' });
	await call('GET', `/v1/snapshots/${noSnap}`, { expect: 404, code: 'snapshot_not_found', note: 'unknown snapshot' });
	await call('DELETE', `/v1/snapshots/${noSnap}`, { expect: 404, note: 'unknown snapshot' });
	await call('GET', `/v1/snapshots/${noSnap}/archive`, { expect: 404, note: 'unknown snapshot' });
	await call('GET', `/v1/snapshots/${noSnap}/compatibility`, { expect: 404, note: 'unknown snapshot' });
	await call('POST', `/v1/vms/${missing}/snapshot`, { expect: 404, note: 'unknown VM' });
	await call('POST', '/v1/snapshots', { body: 'not a tar archive', headers: octet, expect: 422, note: 'not an archive' });
	await call('POST', '/v1/snapshots', { json: {}, expect: 415, code: 'unsupported_media_type', field: 'Content-Type', note: 'JSON instead of an archive' });
	await call('POST', '/v1/vms', { json: { snapshot: noSnap }, expect: 422, code: 'unknown_snapshot', note: 'restore of an unknown snapshot' });
	await call('POST', '/v1/vms', { json: { snapshot: noSnap, kernel: 'x' }, expect: 422, code: 'unknown_field', note: 'restore with a kernel' });
	await call('POST', '/v1/compatibility', { json: { snapshot: noSnap, host: fixture('6.12') }, expect: 422, code: 'unknown_snapshot', note: 'unknown snapshot' });

	// --- live migration (issue 11): its refusals need no VM; the lab link moves one
	await call('POST', `/v1/vms/${missing}/migrate`, { json: { destination: 'http://169.254.1.2:8080' }, expect: 404, code: 'vm_not_found', note: 'unknown VM' });
	await call('POST', `/v1/vms/${missing}/migrate`, { json: {}, expect: 422, code: 'missing_field', field: 'destination', note: 'no destination' });
	await call('POST', `/v1/vms/${missing}/migrate`, { json: { destination: 'ftp://169.254.1.2' }, expect: 422, code: 'bad_url', field: 'destination', note: 'not http(s)' });
	await call('DELETE', `/v1/vms/${missing}/migrate`, { expect: 404, code: 'vm_not_found', note: 'cancel for an unknown VM' });
	await call('POST', '/v1/vms/incoming', { json: { memory_mib: 64, spec: {} }, expect: 422, code: 'missing_field', field: 'vcpus', note: 'incoming without vcpus' });

	// --- deleting profiles
	for (const name of [docName, refusedName, baselineName, ...(kvm ? [captureName] : [])])
		await call('DELETE', `/v1/profiles/${name}`, { expect: 204 });
	await call('DELETE', `/v1/profiles/${docName}`, { expect: 404, note: 'already deleted' });

	// --- routing: 405 on every path of the spec, 404 outside them
	const paths = [...new Set(ops.map((o) => o.path))];
	for (const p of paths) {
		const have = new Set(ops.filter((o) => o.path === p).map((o) => o.method));
		const method = ['PATCH', 'PUT', 'DELETE', 'POST', 'GET'].find((m) => !have.has(m));
		if (!method) continue;
		const concrete = p.replace(/\{[^}]+\}/g, 'x');
		await call(method, concrete, { expect: 405, code: 'method_not_allowed', note: 'method not allowed' });
	}
	await call('GET', '/v1/no-such-route', { expect: 404, note: 'no such path' });

	// The body checks come before routing: a body on an operation that
	// takes none still gets the server's 415 / 413, so the spec must list them.
	await call('GET', '/v1/host', { body: 'hello', headers: { 'Content-Type': 'text/plain' }, expect: 415, note: 'text/plain body on a GET' });
	await call('DELETE', `/v1/vms/${missing}`, { body: big, expect: 413, note: '2 MiB body on a DELETE' });
}

// A paused lab VM: snapshot, record, archive out and back in, verdict,
// delete. 409 snapshot_failed until pinvm-vmm has the op (snapvmm branch).
async function snapshotLifecycle(vm) {
	const taken = await call('POST', `${vm}/snapshot`, { expect: [201, 409], timeout: 300 });
	const sid = taken?.status === 201 ? taken.json?.id : null;
	if (!sid) return;
	const snap = `/v1/snapshots/${enc(sid)}`;
	await call('GET', snap, { expect: 200 });
	const tar = await call('GET', `${snap}/archive`, { expect: 200, timeout: 300 });
	await call('POST', '/v1/snapshots', { body: tar?.body, headers: { 'Content-Type': 'application/octet-stream' }, expect: 409, code: 'snapshot_exists', note: 'import of a stored id', timeout: 300 });
	await call('GET', `${snap}/compatibility`, { expect: 200, timeout: 120 });
	await call('DELETE', snap, { expect: 204 });
	if (tar?.body?.length) {
		await call('POST', '/v1/snapshots', { body: tar.body, headers: { 'Content-Type': 'application/octet-stream' }, expect: 201, note: 'import', timeout: 300 });
		await call('DELETE', snap, { expect: 204 });
	}
}

async function vmLifecycle(vmSpec, imageNames, docName, refusedName) {
	for (const img of [vmSpec.kernel, vmSpec.initrd])
		if (!imageNames.includes(img)) report(false, `the lab's image dir holds ${img}`, [`GET /v1/images lists ${imageNames.join(', ') || 'nothing'}`]);
	const created = await call('POST', '/v1/vms', { json: vmSpec, expect: 201, timeout: 60 });
	const id = created?.json?.id;
	if (!id) return;
	const vm = `/v1/vms/${enc(id)}`;
	const stateIs = (want) => (r) => (r.json?.state === want ? [] : [`state is ${r.json?.state}, expected ${want}`]);
	if (created.headers.location !== `/v1/vms/${id}`) report(false, 'POST /v1/vms Location', [`Location ${created.headers.location}, expected /v1/vms/${id}`]);
	await call('GET', vm, { expect: 200, check: stateIs('created') });
	{
		const acc = await call('POST', '/v1/vms', { json: { ...vmSpec, name: `ct-async-${runTag}` }, headers: { Prefer: 'respond-async' }, expect: 202, note: 'Prefer: respond-async', check: stateIs('creating') });
		const aid = acc?.json?.id;
		if (aid) {
			await call('GET', `/v1/vms/${enc(aid)}?wait_for=created&timeout=90`, { expect: 200, note: 'long-poll until created', check: stateIs('created'), timeout: 120 });
			await call('DELETE', `/v1/vms/${enc(aid)}`, { expect: 204 });
		}
	}
	await call('GET', '/v1/vms', { expect: 200, check: (r) => (r.json?.vms?.some((v) => v.id === id) ? [] : [`${id} is not listed`]) });
	await call('POST', `${vm}/actions`, { json: { action: 'resume' }, expect: 409, code: 'illegal_transition', note: 'resume a created VM' });
	await call('POST', `${vm}/actions`, { json: { action: 'restart' }, expect: 422, code: 'bad_action', note: 'unknown action' });
	await call('POST', `${vm}/actions`, { json: { action: 'reboot' }, expect: 409, code: 'illegal_transition', note: 'reboot a created VM' });
	await call('POST', `${vm}/actions`, { json: { action: 'shutdown' }, expect: 409, code: 'illegal_transition', note: 'shutdown a created VM' });
	await call('POST', `${vm}/actions`, { json: { action: 'shutdown', timeout_s: 0 }, expect: 422, code: 'out_of_range', note: 'shutdown timeout_s 0' });
	await call('POST', `${vm}/actions`, { json: { action: 'shutdown', timeout_s: 'soon' }, expect: 400, code: 'wrong_type', note: 'shutdown timeout_s not a number' });
	await call('POST', `${vm}/actions`, { json: { action: 'stop', timeout_s: 5 }, expect: 422, code: 'unknown_field', note: 'timeout_s with stop' });
	await call('POST', `${vm}/actions`, { body: '{"action":', expect: 400, note: 'malformed JSON' });
	await call('POST', `${vm}/actions`, { json: { action: 'start' }, expect: 200, note: 'start', check: stateIs('running'), timeout: 60 });
	await call('POST', `${vm}/actions`, { json: { action: 'pause' }, expect: 200, note: 'pause', check: stateIs('paused'), timeout: 60 });
	await snapshotLifecycle(vm);
	await call('POST', `${vm}/actions`, { json: { action: 'resume' }, expect: 200, note: 'resume', check: stateIs('running'), timeout: 60 });
	// pinvm.poweroff=1: the guest prints its marker and powers off.
	const t0 = Date.now();
	let state = 'running';
	while (state === 'running' && Date.now() - t0 < opts.timeout * 1000) {
		await sleep(3000);
		const r = await call('GET', vm, { expect: 200, note: 'waiting for the guest to power off' });
		state = r?.json?.state ?? 'unknown';
	}
	if (state !== 'stopped') report(false, `the guest powers off within ${opts.timeout} s`, [`state ${state}`]);
	const con = await call('GET', `${vm}/console?offset=0`, {
		expect: 200,
		check: (r) => {
			const p = [];
			if (!r.body.toString('utf8').includes('pinvm-guest-ready 1')) p.push('no "pinvm-guest-ready 1" on the console');
			if (r.headers['x-console-next-offset'] !== String(r.body.length)) p.push(`X-Console-Next-Offset is ${r.headers['x-console-next-offset']}, the body has ${r.body.length} bytes`);
			return p;
		},
	});
	const next = Number(con?.headers?.['x-console-next-offset'] ?? 0);
	await call('GET', `${vm}/console?offset=${next}`, { expect: 200, note: 'from X-Console-Next-Offset', check: (r) => (r.body.length ? [`${r.body.length} bytes past the end`] : []) });
	await call('GET', `${vm}/console`, { expect: 200, note: 'no offset' });
	await call('GET', `${vm}/console?offset=-1`, { expect: 400, code: 'bad_offset', note: 'negative offset' });
	await call('POST', `${vm}/console`, { body: 'ls\n', headers: { 'Content-Type': 'application/octet-stream' }, expect: 409, code: 'vm_not_running', note: 'input for a stopped VM' });
	await call('POST', `${vm}/actions`, { json: { action: 'stop' }, expect: 409, note: 'stop a stopped VM' });
	await call('DELETE', vm, { expect: 204 });
	await call('GET', vm, { expect: 404, note: 'deleted' });

	// Under a profile: refused before anything is created, or pinned; a
	// profile in use cannot be deleted.
	await call('POST', '/v1/vms', { json: { ...vmSpec, profile: refusedName }, expect: 409, note: 'profile this host refuses' });
	await call('POST', '/v1/vms', { json: { ...vmSpec, profile: `ct-missing-${runTag}` }, expect: 422, code: 'unknown_profile', note: 'unknown profile' });
	await call('POST', '/v1/vms', { json: { ...vmSpec, kernel: 'no-such.Image' }, expect: 422, code: 'image_not_found', field: 'kernel', has: ['image_dir', 'images'], note: 'no such image' });
	const pinned = await call('POST', '/v1/vms', {
		json: { ...vmSpec, profile: docName },
		expect: 201,
		note: 'with a profile',
		timeout: 60,
		check: (r) => (Array.isArray(r.json?.abi) && r.json.abi.length ? [] : ['no abi report']),
	});
	if (pinned?.json?.id) {
		await call('DELETE', `/v1/profiles/${docName}`, { expect: 409, code: 'profile_in_use', has: ['vms', 'vm_count'], note: 'profile in use' });
		await call('DELETE', `/v1/vms/${enc(pinned.json.id)}`, { expect: 204 });
	}
}

// ---------------------------------------------------------------- main
try {
	await scenario();
} catch (e) {
	report(false, 'scenario', [e.stack ?? String(e)]);
}
// Coverage from the spec: every operation called at least once.
for (const op of ops) {
	const title = `coverage: ${op.method} ${op.path} (${op.id})`;
	if (op.calls) report(true, `${title} called ${op.calls}x, statuses ${[...op.statuses].sort().join(', ') || 'none'}`);
	else report(false, `${title} never called`, ['the scenario must call every operation of the spec']);
}
const unexercised = ops.flatMap((op) => Object.keys(op.responses)
	.filter((c) => /^\d+$/.test(c) && !op.statuses.has(Number(c)) && c !== '405')
	.map((c) => `${op.id} ${c}`));
if (unexercised.length) console.log(`# documented statuses not exercised (informational): ${unexercised.join(', ')}`);
finish();
