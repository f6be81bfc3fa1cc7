// Checks recorded HTTP answers against Winnow's OpenAPI document with a real
// JSON Schema validator (Ajv, JSON Schema 2020-12: OpenAPI 3.1's dialect).
//
//   node validate_answers.mjs --document openapi.json --answers DIR
//
// DIR holds *.jsonl files, one answer a line (tests/support/answer_log.h and
// run_clients.mjs write them): {"test", "method", "target", "status",
// "content_type", "body"}. Each answer must be documented: its path matches
// a path template, its method an operation there, its status a response of
// that operation, its content type a media type of that response, and its
// body the media type's schema. What the server answers outside any
// operation is checked too: unknown paths (404), other methods (405),
// OPTIONS (204 or an error), and raw requests the tests could not attribute
// (errors only), all against the document's Error schema.
//
// Exit status: 0 when every answer matches, 1 when some do not (each is
// printed with its test, request, status, body and the validator's errors),
// 2 when there is nothing to check or the input cannot be read.
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

function usage(message) {
  console.error(`validate_answers: ${message}`);
  console.error('usage: node validate_answers.mjs --document openapi.json --answers DIR');
  process.exit(2);
}

const args = process.argv.slice(2);
const option = (name) => {
  const at = args.indexOf(name);
  return at >= 0 && at + 1 < args.length ? args[at + 1] : undefined;
};
const documentPath = option('--document');
const answersDir = option('--answers');
if (!documentPath || !answersDir) usage('--document and --answers are required');

let document;
try {
  document = JSON.parse(fs.readFileSync(documentPath, 'utf8'));
} catch (e) {
  usage(`${documentPath}: ${e.message}`);
}
if (typeof document.openapi !== 'string' || !document.openapi.startsWith('3.1')) {
  usage(`${documentPath}: not an OpenAPI 3.1 document (openapi: ${JSON.stringify(document.openapi)})`);
}

// The components' schemas become one schema's $defs, so that every
// "#/components/schemas/X" reference resolves within it.
const kSchemaRef = '#/components/schemas/';
const kRoot = 'winnow-openapi';
function rewriteRefs(value, prefix) {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, prefix));
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === '$ref' && typeof v === 'string' && v.startsWith(kSchemaRef)) {
      out[key] = `${prefix}#/$defs/${v.slice(kSchemaRef.length)}`;
    } else {
      out[key] = rewriteRefs(v, prefix);
    }
  }
  return out;
}

// Strict about the schemas' keywords; `required` may name properties an allOf branch defines.
const ajv = new Ajv2020({allErrors: true, strict: true, strictTypes: false, strictRequired: false, allowUnionTypes: true});
addFormats(ajv);
const schemas = (document.components && document.components.schemas) || {};
ajv.addSchema({$id: kRoot, $defs: rewriteRefs(schemas, '')});
const compiled = new Map();
function validatorFor(schema) {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) compiled.set(key, ajv.compile(rewriteRefs(schema, kRoot)));
  return compiled.get(key);
}
const errorValidator = validatorFor({$ref: `${kSchemaRef}Error`});

function resolve(object) {
  // A $ref to components (responses, parameters, ...), followed to its target.
  let seen = 0;
  while (object && typeof object.$ref === 'string' && object.$ref.startsWith('#/')) {
    if (++seen > 16) throw new Error(`reference loop at ${object.$ref}`);
    let target = document;
    for (const part of object.$ref.slice(2).split('/')) target = target && target[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (target === undefined) throw new Error(`unresolved reference ${object.$ref}`);
    object = target;
  }
  return object;
}

// Path templates, literal ones first: /v1/retrievers/execute before /v1/retrievers/{id}.
const templates = Object.keys(document.paths || {})
  .map((template) => ({template, segments: template.split('/')}))
  .sort((a, b) => a.segments.filter((s) => s.startsWith('{')).length - b.segments.filter((s) => s.startsWith('{')).length);
function matchTemplate(rawPath) {
  const parts = rawPath.split('/');
  for (const {template, segments} of templates) {
    if (segments.length !== parts.length) continue;
    let ok = true;
    for (let i = 0; i < parts.length && ok; ++i) {
      const want = segments[i];
      ok = want.length > 2 && want.startsWith('{') && want.endsWith('}') ? parts[i].length > 0 : want === parts[i];
    }
    if (ok) return template;
  }
  return undefined;
}

function mediaTypeKey(content, contentType) {
  const normalise = (t) => t.toLowerCase().replace(/\s+/g, '');
  const answered = normalise(contentType || '');
  for (const key of Object.keys(content)) {
    if (normalise(key) === answered) return key;
  }
  for (const key of Object.keys(content)) {
    if (!key.includes(';') && normalise(key) === answered.split(';')[0]) return key;
  }
  return undefined;
}

const kJson = /^application\/([a-z.+-]*\+)?json\b/i;
function checkBody(answer, schema, contentType) {
  // The problem with the body, or null.
  if (!kJson.test(contentType)) {
    if (schema && schema.type === 'string') return typeof answer.body === 'string' ? null : 'body is not text';
    return null;
  }
  let body;
  try {
    body = JSON.parse(answer.body);
  } catch (e) {
    return `body is not JSON (${e.message})`;
  }
  if (!schema) return null;
  const validate = validatorFor(schema);
  if (validate(body)) return null;
  return ajv.errorsText(validate.errors, {dataVar: 'body', separator: '\n    '});
}

function checkError(answer, why) {
  // An answer outside any operation: a documented error shape, or `why`.
  if (answer.status < 400) return `${why}, and status ${answer.status} is not an error`;
  if (!kJson.test(answer.content_type)) return `${why}; content type ${JSON.stringify(answer.content_type)} is not JSON`;
  let body;
  try {
    body = JSON.parse(answer.body);
  } catch (e) {
    return `${why}; body is not JSON (${e.message})`;
  }
  if (errorValidator(body)) return null;
  return `${why}; body is not an Error: ${ajv.errorsText(errorValidator.errors, {dataVar: 'body'})}`;
}

const kTransportStatuses = new Set([400, 413, 414, 431]);
const seenOperations = new Set();
function check(answer) {
  // The problem with one answer, or null.
  const method = (answer.method || '').toUpperCase();
  if (!method) return checkError(answer, 'an answer to raw bytes that held no request line');
  const rawPath = (answer.target || '').split('?')[0];
  if (method === 'OPTIONS') {
    if (answer.status === 204) return answer.body === '' ? null : 'a 204 answer with a body';
    return checkError(answer, 'an OPTIONS answer other than 204');
  }
  const template = matchTemplate(rawPath);
  if (!template) {
    if (answer.status !== 404 && !kTransportStatuses.has(answer.status)) {
      return `no path template matches ${rawPath}, and status ${answer.status} is not 404`;
    }
    return checkError(answer, `no path template matches ${rawPath}`);
  }
  const item = resolve(document.paths[template]);
  const operation = item[(method === 'HEAD' ? 'get' : method.toLowerCase())];
  if (!operation) {
    if (answer.status !== 405 && !kTransportStatuses.has(answer.status)) {
      return `${template} has no ${method} operation, and status ${answer.status} is not 405`;
    }
    return checkError(answer, `${template} has no ${method} operation`);
  }
  seenOperations.add(`${method === 'HEAD' ? 'GET' : method} ${template}`);
  const responses = operation.responses || {};
  const declared = responses[String(answer.status)] || responses[`${String(answer.status)[0]}XX`] || responses.default;
  if (!declared) {
    return `status ${answer.status} is not documented for ${method} ${template} (documented: ${Object.keys(responses).join(', ')})`;
  }
  const response = resolve(declared);
  const content = response.content;
  if (method === 'HEAD') return answer.body === '' ? null : 'a HEAD answer with a body';
  if (!content || Object.keys(content).length === 0) {
    return answer.body === '' ? null : `status ${answer.status} of ${method} ${template} is documented without a body, but one came`;
  }
  const key = mediaTypeKey(content, answer.content_type);
  if (key === undefined) {
    return `content type ${JSON.stringify(answer.content_type)} is not documented for ${answer.status} of ${method} ${template} (documented: ${Object.keys(content).join(', ')})`;
  }
  const problem = checkBody(answer, content[key].schema, answer.content_type);
  return problem && `${method} ${template} ${answer.status}: ${problem}`;
}

let files;
try {
  files = fs.readdirSync(answersDir).filter((f) => f.endsWith('.jsonl')).sort();
} catch (e) {
  usage(`${answersDir}: ${e.message} (no answers were recorded: did the end-to-end tests run?)`);
}
let total = 0;
const failures = [];
for (const file of files) {
  const lines = fs.readFileSync(path.join(answersDir, file), 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let answer;
    try {
      answer = JSON.parse(line);
    } catch (e) {
      failures.push({where: `${file}:${i + 1}`, problem: `not a JSON line (${e.message})`, answer: {}});
      return;
    }
    ++total;
    let problem;
    try {
      problem = check(answer);
    } catch (e) {
      problem = `the document could not be applied: ${e.message}`;
    }
    if (problem) failures.push({where: `${file}:${i + 1}`, problem, answer});
  });
}

if (total === 0 && failures.length === 0) {
  console.error(`validate_answers: no answers recorded in ${answersDir} (did the end-to-end tests run?)`);
  process.exit(2);
}
const operations = [];
for (const [template, item] of Object.entries(document.paths)) {
  for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
    if (item[method]) operations.push(`${method.toUpperCase()} ${template}`);
  }
}
const unseen = operations.filter((o) => !seenOperations.has(o));
console.log(`${total} answers from ${files.length} files; ${operations.length - unseen.length} of ${operations.length} operations answered` +
            (unseen.length ? ` (not answered: ${unseen.join(', ')})` : ''));
for (const f of failures.slice(0, 50)) {
  const a = f.answer;
  const body = typeof a.body === 'string' && a.body.length > 2000 ? `${a.body.slice(0, 2000)}...` : a.body;
  console.log(`MISMATCH ${f.where} [${a.test || '?'}] ${a.method || '?'} ${a.target || '?'} -> ${a.status} ${a.content_type || ''}\n` +
              `  ${f.problem}\n  body: ${body}`);
}
if (failures.length > 0) {
  console.log(`${failures.length} of ${total} answers do not match the document`);
  process.exit(1);
}
console.log(`every answer matches the document`);
