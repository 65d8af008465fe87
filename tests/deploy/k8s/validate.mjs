// Static check of Kubernetes manifests, offline, with no cluster:
//
//   node validate.mjs --deps DIR FILE.yaml...
//
// Each YAML document is checked three ways:
//   1. schema: kubernetes-models' validators, compiled from Kubernetes'
//      published OpenAPI schemas (types, required fields, enums, formats);
//   2. fields: the document as a TypeScript object literal typed with
//      kubernetes-types, compiled by tsc --strict. Excess-property checks
//      reject a field Kubernetes does not have (a typo such as
//      runAsNonRot), which the OpenAPI schemas, open to extra members,
//      let through, and which kubectl --validate=strict would refuse;
//   3. policy: what pinvm's manifests promise (deploy/k8s/pinvmd.yaml's
//      header): arm64 nodes, non-root with no capability and no privilege,
//      /dev/kvm through a device resource, probes on /v1/health and
//      /v1/ready, the Service reaching the DaemonSet's named port.
// Then, so that a pass means something, the same checks must refuse broken
// copies of the first DaemonSet (an unknown field, a wrong type, a missing
// required field, a policy breach).
// DIR holds node_modules with the packages pinned in package-lock.json
// here. Prints "ok - ..." / "not ok - ..." lines and "N passed, N failed".
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
let deps = null;
const files = [];
for (let i = 0; i < args.length; i++) {
	if (args[i] === '--deps') deps = path.resolve(args[++i] ?? '');
	else files.push(args[i]);
}
if (!deps || files.length === 0) {
	process.stderr.write('usage: node validate.mjs --deps DIR FILE.yaml...\n');
	process.exit(2);
}
const require = createRequire(path.join(deps, 'package.json'));
const YAML = require('yaml');
const ts = require('typescript');
const modelsDir = path.dirname(require.resolve('kubernetes-models/package.json'));

let passed = 0;
let failed = 0;
function report(ok, title, problems = []) {
	if (ok) passed++;
	else failed++;
	console.log(`${ok ? 'ok' : 'not ok'} - ${title}`);
	for (const p of ok ? [] : problems) console.log(`    ${p}`);
}

// ------------------------------------------------------------ 1. schema
async function schemaProblems(doc) {
	if (typeof doc?.apiVersion !== 'string' || typeof doc?.kind !== 'string')
		return ['no apiVersion or kind'];
	// apps/v1 -> apps/v1/DaemonSet.js; v1 -> v1/Service.js
	const file = path.join(modelsDir, ...doc.apiVersion.split('/'), `${doc.kind}.js`);
	let mod;
	try {
		mod = await import(pathToFileURL(file).href);
	} catch {
		return [`kubernetes-models knows no ${doc.apiVersion} ${doc.kind}`];
	}
	try {
		new mod[doc.kind](doc).validate();
		return [];
	} catch (e) {
		return (e.errors ?? [e]).map((x) => (x.instancePath !== undefined ? `${x.instancePath || '/'}: ${x.message}` : String(x.message ?? x)));
	}
}

// ------------------------------------------------------------ 2. fields
// kubernetes-types' module of each apiVersion
function typesModule(apiVersion) {
	return apiVersion.includes('/') ? `kubernetes-types/${apiVersion}` : `kubernetes-types/core/${apiVersion}`;
}

// Type-checks every document at once; returns one list of problems per doc.
function fieldProblems(docs) {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'k8s-fields-'));
	try {
		const lines = [];
		const starts = [];
		docs.forEach((doc, i) => {
			const type = doc.kind;
			lines.push(`import type { ${type} as T${i} } from '${typesModule(doc.apiVersion)}';`);
		});
		docs.forEach((doc, i) => {
			starts.push(lines.length + 1);
			// JSON is a TypeScript object literal: fresh, so every nested
			// object gets the excess-property check.
			lines.push(...`export const d${i}: T${i} = ${JSON.stringify(doc, null, 1)};`.split('\n'));
		});
		const file = path.join(dir, 'manifests.ts');
		writeFileSync(file, lines.join('\n') + '\n');
		const program = ts.createProgram([file], {
			strict: true,
			noEmit: true,
			skipLibCheck: true,
			module: ts.ModuleKind.NodeNext,
			moduleResolution: ts.ModuleResolutionKind.NodeNext,
			target: ts.ScriptTarget.ES2022,
			typeRoots: [],
			types: [],
			baseUrl: dir,
			paths: { 'kubernetes-types/*': [path.join(deps, 'node_modules', 'kubernetes-types', '*')] },
		});
		const out = docs.map(() => []);
		for (const d of ts.getPreEmitDiagnostics(program)) {
			const msg = ts.flattenDiagnosticMessageText(d.messageText, ' ');
			let i = 0;
			let line = 0;
			if (d.file && d.start !== undefined) {
				line = d.file.getLineAndCharacterOfPosition(d.start).line + 1;
				while (i + 1 < starts.length && starts[i + 1] <= line) i++;
			}
			out[i].push(`${msg}${line ? ` (generated line ${line})` : ''}`);
		}
		return out;
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

// ------------------------------------------------------------ 3. policy
function policyProblems(doc, all) {
	const p = [];
	if (doc.kind === 'DaemonSet') {
		const pod = doc.spec?.template?.spec ?? {};
		const psc = pod.securityContext ?? {};
		if (pod.nodeSelector?.['kubernetes.io/arch'] !== 'arm64') p.push('nodeSelector kubernetes.io/arch is not arm64');
		if (psc.runAsNonRoot !== true) p.push('pod securityContext.runAsNonRoot is not true');
		if (!(psc.runAsUser > 0)) p.push('pod securityContext.runAsUser is not a non-root uid');
		if (!(psc.runAsGroup > 0)) p.push('pod securityContext.runAsGroup is not a non-root gid');
		if (!Array.isArray(psc.supplementalGroups) || psc.supplementalGroups.length === 0) p.push('no supplementalGroups (the kvm group)');
		if (pod.hostNetwork || pod.hostPID || pod.hostIPC) p.push('shares a host namespace');
		for (const c of pod.containers ?? []) {
			const sc = c.securityContext ?? {};
			if (sc.privileged) p.push(`${c.name}: privileged`);
			if (sc.allowPrivilegeEscalation !== false) p.push(`${c.name}: allowPrivilegeEscalation is not false`);
			if (!(sc.capabilities?.drop ?? []).includes('ALL')) p.push(`${c.name}: capabilities.drop lacks ALL`);
			if ((sc.capabilities?.add ?? []).length) p.push(`${c.name}: adds capabilities ${sc.capabilities.add}`);
			if (!Object.keys(c.resources?.limits ?? {}).some((k) => k.endsWith('/kvm'))) p.push(`${c.name}: no /dev/kvm device resource in limits`);
			const probeText = (pr) => JSON.stringify(pr ?? null);
			if (!probeText(c.livenessProbe).includes('/v1/health')) p.push(`${c.name}: livenessProbe does not ask /v1/health`);
			if (!probeText(c.readinessProbe).includes('/v1/ready')) p.push(`${c.name}: readinessProbe does not ask /v1/ready`);
			for (const m of c.volumeMounts ?? [])
				if (!(pod.volumes ?? []).some((v) => v.name === m.name)) p.push(`${c.name}: mounts undeclared volume ${m.name}`);
		}
		for (const v of pod.volumes ?? [])
			if (v.hostPath && v.hostPath.path.startsWith('/dev')) p.push(`volume ${v.name}: hostPath ${v.hostPath.path} (devices come through the device resource)`);
		const sel = doc.spec?.selector?.matchLabels ?? {};
		const labels = doc.spec?.template?.metadata?.labels ?? {};
		for (const [k, v] of Object.entries(sel)) if (labels[k] !== v) p.push(`selector ${k}=${v} does not match the pod template`);
	}
	if (doc.kind === 'Service') {
		const sel = doc.spec?.selector ?? {};
		const targets = all.filter((d) => d.kind === 'DaemonSet' &&
			Object.entries(sel).every(([k, v]) => d.spec?.template?.metadata?.labels?.[k] === v));
		if (targets.length === 0) p.push('its selector matches no DaemonSet here');
		for (const port of doc.spec?.ports ?? []) {
			if (typeof port.targetPort !== 'string') continue;
			const named = targets.some((d) => (d.spec.template.spec.containers ?? []).some((c) => (c.ports ?? []).some((cp) => cp.name === port.targetPort)));
			if (!named) p.push(`targetPort ${port.targetPort} names no container port`);
		}
	}
	return p;
}

async function check(docs) {
	const fields = fieldProblems(docs);
	const out = [];
	for (let i = 0; i < docs.length; i++)
		out.push({ schema: await schemaProblems(docs[i]), fields: fields[i], policy: policyProblems(docs[i], docs) });
	return out;
}

// ------------------------------------------------------------ main
const docs = [];
const names = [];
for (const f of files) {
	const parsed = YAML.parseAllDocuments(readFileSync(f, 'utf8'));
	parsed.forEach((d, i) => {
		if (d.errors.length) {
			report(false, `${f} document ${i + 1} parses as YAML`, d.errors.map((e) => e.message));
			return;
		}
		const js = d.toJS();
		if (js === null) return;
		docs.push(js);
		names.push(`${path.basename(f)}: ${js.kind ?? '?'} ${js.metadata?.name ?? '?'}`);
	});
}
const results = await check(docs);
results.forEach((r, i) => {
	report(r.schema.length === 0, `${names[i]}: valid against Kubernetes' OpenAPI schema (kubernetes-models)`, r.schema);
	report(r.fields.length === 0, `${names[i]}: every field exists with its type (kubernetes-types, tsc --strict)`, r.fields);
	report(r.policy.length === 0, `${names[i]}: policy (non-root, no privilege, arm64, /dev/kvm, probes, wiring)`, r.policy);
});

// The checks must refuse broken copies, or their passing says nothing.
const dsIndex = docs.findIndex((d) => d.kind === 'DaemonSet');
if (dsIndex < 0) {
	report(false, 'a DaemonSet to break on purpose');
} else {
	const breakages = [
		['unknown field spec.template.spec.securityContext.runAsNonRot', 'fields', (d) => { d.spec.template.spec.securityContext.runAsNonRot = true; }],
		['containerPort given as a string', 'schema', (d) => { d.spec.template.spec.containers[0].ports[0].containerPort = 'eighty'; }],
		['no spec.selector (required)', 'schema', (d) => { delete d.spec.selector; }],
		['a container with no name (required)', 'fields', (d) => { delete d.spec.template.spec.containers[0].name; }],
		['imagePullPolicy not one of its values', 'schema', (d) => { d.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes'; }],
		['privileged: true', 'policy', (d) => { d.spec.template.spec.containers[0].securityContext.privileged = true; }],
		['runAsUser 0', 'policy', (d) => { d.spec.template.spec.securityContext.runAsUser = 0; }],
	];
	for (const [what, by, mutate] of breakages) {
		const copy = structuredClone(docs);
		mutate(copy[dsIndex]);
		const r = (await check(copy))[dsIndex];
		report(r[by].length > 0, `a DaemonSet with ${what} is refused (${by})`, [`the ${by} check accepted it`]);
	}
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
