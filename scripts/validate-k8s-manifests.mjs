// Checks rendered Kubernetes manifests against the API's JSON schemas, offline: the schemas ship in
// the kubernetes-models package (core APIs) and @kubernetes-models/prometheus-operator (ServiceMonitor,
// PrometheusRule). A kind with no schema here is reported, never passed silently.
//   kubectl kustomize deploy/k8s | node scripts/validate-k8s-manifests.mjs
// Prints one line per problem and exits 1 if there is any; prints the checked objects with --list.
// The schemas come from the OpenAPI spec, which leaves most objects open: a misspelt optional field is
// not caught here (the manifest tests pin the fields that matter).
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const MODULES = {
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};
const loaded = new Map();

async function modelFor(apiVersion, kind) {
  const specifier = MODULES[apiVersion] ?? `kubernetes-models/${apiVersion}`;
  if (!loaded.has(specifier)) loaded.set(specifier, await import(specifier).catch(() => ({})));
  return loaded.get(specifier)[kind];
}

const problems = [];
const checked = [];
const documents = parseAllDocuments(readFileSync(0, 'utf8'));
for (const [index, document] of documents.entries()) {
  if (document.errors.length > 0) {
    problems.push(`document ${index}: ${document.errors.map((e) => e.message).join('; ')}`);
    continue;
  }
  const object = document.toJS();
  if (object === null) continue;
  const where = `${object.kind}/${object.metadata?.name} (${object.apiVersion})`;
  const Model = await modelFor(object.apiVersion, object.kind);
  if (typeof Model?.prototype?.validate !== 'function') {
    problems.push(`${where}: no schema for this kind`);
    continue;
  }
  // kustomize's secretGenerator wraps base64 at 70 columns; the API server's decoder (Go's base64)
  // skips the line breaks, the schema's "byte" format does not.
  if (object.kind === 'Secret' && object.data) {
    for (const key of Object.keys(object.data))
      object.data[key] = String(object.data[key]).replace(/\s+/g, '');
  }
  try {
    new Model(object).validate();
    checked.push(where);
  } catch (error) {
    const details = (error.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
    problems.push(`${where}: ${details.length > 0 ? details.join('; ') : error.message}`);
  }
}
if (process.argv.includes('--list')) for (const line of checked) console.log(`ok ${line}`);
for (const line of problems) console.log(line);
process.exitCode = problems.length > 0 ? 1 : 0;
