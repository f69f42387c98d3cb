import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/**
 * Reading docker-compose.yml, .env files and the Dockerfile the way Docker Compose and Docker would,
 * far enough to check them without a Docker engine (test/compose.test.ts). Each check returns the
 * problems it finds, as sentences, so that a test can show all of them and prove each check fires.
 */

export type Env = Record<string, string>;

// ---- .env files ---------------------------------------------------------------------------------

const NAME = /[A-Za-z_][A-Za-z0-9_]*/;
const ASSIGNMENT = new RegExp(`^(?:export\\s+)?(${NAME.source})\\s*=\\s*(.*)$`);

/** A .env file as Compose reads it: `NAME=value` lines, `#` comments, optionally quoted values. */
export function parseDotEnv(text: string): Env {
  const env: Env = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = ASSIGNMENT.exec(line);
    if (!match) throw new Error(`line ${index + 1} is not NAME=value: ${line}`);
    const [, name, rawValue] = match as unknown as [string, string, string];
    let value = rawValue;
    if (/^'.*'$/.test(value) || /^".*"$/.test(value)) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '');
    env[name] = value;
  });
  return env;
}

/** Every name a .env file sets or shows commented out as `# NAME=…` (an optional setting). */
export function documentedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    const match = ASSIGNMENT.exec(raw.trim().replace(/^#\s*/, ''));
    if (match?.[1]) names.add(match[1]);
  }
  return names;
}

// ---- Interpolation --------------------------------------------------------------------------------

export class InterpolationError extends Error {
  override readonly name = 'InterpolationError';
}

function closingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i;
  }
  throw new InterpolationError(`unclosed \${ in "${text}"`);
}

function expand(body: string, env: Env, where: string): string {
  const match = new RegExp(`^(${NAME.source})(?:(:?[-?+])([\\s\\S]*))?$`).exec(body);
  if (!match) throw new InterpolationError(`${where}: invalid interpolation "\${${body}}"`);
  const [, name, operator, word = ''] = match as unknown as [string, string, string | undefined, string | undefined];
  const value = env[name];
  const isSet = value !== undefined;
  const nonEmpty = isSet && value !== '';
  switch (operator) {
    case undefined:
      return value ?? '';
    case ':-':
      return nonEmpty ? value : interpolate(word, env, where);
    case '-':
      return isSet ? value : interpolate(word, env, where);
    case ':?':
    case '?':
      if (operator === ':?' ? !nonEmpty : !isSet) {
        throw new InterpolationError(`${where}: required variable ${name} is missing a value: ${interpolate(word, env, where)}`);
      }
      return value as string;
    case ':+':
      return nonEmpty ? interpolate(word, env, where) : '';
    case '+':
      return isSet ? interpolate(word, env, where) : '';
    default:
      throw new InterpolationError(`${where}: unknown operator ${operator}`);
  }
}

/**
 * Compose's interpolation of one string: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?message}`, `${VAR?message}`, `${VAR:+other}`, `${VAR+other}` (defaults may nest), `$$` for `$`.
 */
export function interpolate(text: string, env: Env, where = 'value'): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const char = text[i] as string;
    if (char !== '$') {
      out += char;
      i++;
    } else if (text[i + 1] === '$') {
      out += '$';
      i += 2;
    } else if (text[i + 1] === '{') {
      const end = closingBrace(text, i + 1);
      out += expand(text.slice(i + 2, end), env, where);
      i = end + 1;
    } else {
      const name = new RegExp(`^${NAME.source}`).exec(text.slice(i + 1))?.[0];
      if (!name) throw new InterpolationError(`${where}: a lone "$" (write "$$" for a literal one) in "${text}"`);
      out += env[name] ?? '';
      i += 1 + name.length;
    }
  }
  return out;
}

/** The names a compose file's text refers to, with whether some reference requires a value. */
export function referencedVariables(text: string): Map<string, { required: boolean }> {
  const names = new Map<string, { required: boolean }>();
  const pattern = new RegExp(`\\$\\$|\\$\\{(${NAME.source})(:?[-?+])?|\\$(${NAME.source})`, 'g');
  for (const match of text.matchAll(pattern)) {
    const name = match[1] ?? match[3];
    if (!name) continue; // "$$"
    const required = match[2] === ':?' || match[2] === '?';
    names.set(name, { required: required || (names.get(name)?.required ?? false) });
  }
  return names;
}

function interpolateDeep(node: unknown, env: Env, where: string): unknown {
  if (typeof node === 'string') return interpolate(node, env, where);
  if (Array.isArray(node)) return node.map((item, index) => interpolateDeep(item, env, `${where}[${index}]`));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, interpolateDeep(value, env, where ? `${where}.${key}` : key)]));
  }
  return node;
}

// ---- docker-compose.yml -------------------------------------------------------------------------

export interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
}

export interface PortMapping {
  target: number | string;
  published?: number | string;
  host_ip?: string;
  protocol?: string;
}

export interface DependsOn {
  condition?: string;
  required?: boolean;
}

export interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  /** .env-style files whose variables the service gets first; `environment` overrides them. */
  env_file?: string | string[];
  ports?: (string | number | PortMapping)[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  healthcheck?: Healthcheck;
  depends_on?: string[] | Record<string, DependsOn>;
  restart?: string;
  profiles?: string[];
  init?: boolean;
  secrets?: (string | { source: string; target?: string })[];
}

export interface ComposeFile {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  /** Secrets made from a file, or from a variable of the project's environment (.env). */
  secrets?: Record<string, { file?: string; environment?: string }>;
}

/**
 * A compose file as Compose sees it: YAML with anchors and `<<` merge keys, `x-` extension fields
 * dropped, every string interpolated from `env`. Throws InterpolationError for a required variable
 * without a value, as `docker compose` refuses to start.
 */
export function loadCompose(text: string, env: Env): ComposeFile {
  const raw = parse(text, { merge: true }) as unknown;
  if (raw === null || typeof raw !== 'object') throw new Error('the compose file is not a mapping');
  const withoutExtensions = Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith('x-')));
  const compose = interpolateDeep(withoutExtensions, env, '') as ComposeFile;
  if (compose.services === null || typeof compose.services !== 'object') throw new Error('the compose file has no services');
  return compose;
}

/** The variables the file's secrets are made from (`secrets: name: environment: VAR`), read from .env like `${VAR}`. */
export function secretVariables(compose: ComposeFile): string[] {
  return Object.values(compose.secrets ?? {}).flatMap((secret) => (secret.environment === undefined ? [] : [secret.environment]));
}

/** A service's environment as its container gets it. A variable without a value would come from the shell of whoever runs compose: refused. */
export function serviceEnv(service: Service, name = 'service', readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): Env {
  // As Compose: the env_file files' variables first (paths relative to the compose file, here the
  // repository root), then `environment`.
  const files = service.env_file === undefined ? [] : Array.isArray(service.env_file) ? service.env_file : [service.env_file];
  const env: Env = {};
  for (const file of files) Object.assign(env, parseDotEnv(readFile(file)));
  const entries: [string, string | number | boolean | null | undefined][] = Array.isArray(service.environment)
    ? service.environment.map((item) => {
        const at = item.indexOf('=');
        return at === -1 ? [item, null] : ([item.slice(0, at), item.slice(at + 1)] as [string, string]);
      })
    : Object.entries(service.environment ?? {});
  for (const [key, value] of entries) {
    if (value === null || value === undefined) throw new Error(`${name}: ${key} has no value, so it would come from the shell`);
    env[key] = String(value);
  }
  return env;
}

export interface PublishedPort {
  hostIp: string;
  published: number;
  target: number;
  protocol: string;
}

/** The ports a service publishes on the host, from the short (`[ip:]host:container[/proto]`) or long syntax. */
export function publishedPorts(service: Service, name = 'service'): PublishedPort[] {
  const ports: PublishedPort[] = [];
  for (const entry of service.ports ?? []) {
    if (typeof entry === 'object') {
      if (entry.published === undefined) continue;
      ports.push({
        hostIp: entry.host_ip ?? '0.0.0.0',
        published: Number(entry.published),
        target: Number(entry.target),
        protocol: entry.protocol ?? 'tcp',
      });
      continue;
    }
    const [spec, protocol = 'tcp'] = String(entry).split('/') as [string, string?];
    // ip:published:target, published:target or target; an IPv6 address comes in brackets.
    const match = /^(?:(\[[^\]]+\]|[^:[\]]+):(?=[^:]*:))?(?:(\d+):)?(\d+)$/.exec(spec);
    if (!match) throw new Error(`${name}: cannot read the port mapping "${String(entry)}"`);
    const [, hostIp = '0.0.0.0', published, target] = match as unknown as [string, string | undefined, string | undefined, string];
    if (published === undefined) continue; // an ephemeral host port: nothing to clash with
    ports.push({ hostIp, published: Number(published), target: Number(target), protocol });
  }
  return ports;
}

export function dependencies(service: Service): Record<string, DependsOn> {
  if (Array.isArray(service.depends_on)) {
    return Object.fromEntries(service.depends_on.map((name) => [name, { condition: 'service_started' }]));
  }
  return service.depends_on ?? {};
}

/** Services others wait to see finish (`service_completed_successfully`), or never restarted: jobs, not servers. */
export function oneShotServices(compose: ComposeFile): Set<string> {
  const jobs = new Set<string>();
  for (const [name, service] of Object.entries(compose.services)) {
    // A job nothing waits for: it runs once and is not restarted.
    if (service.restart === 'no') jobs.add(name);
    for (const [target, { condition }] of Object.entries(dependencies(service))) {
      if (condition === 'service_completed_successfully') jobs.add(target);
    }
  }
  return jobs;
}

export function healthcheckTest(service: Service): string[] | undefined {
  const test = service.healthcheck?.test;
  if (test === undefined || service.healthcheck?.disable) return undefined;
  return typeof test === 'string' ? ['CMD-SHELL', test] : test;
}

export function commandArgs(service: Service): string[] | undefined {
  const { command } = service;
  return typeof command === 'string' ? command.split(/\s+/).filter(Boolean) : command;
}

/** Every long-running service (not a one-shot job) has a health check that is not switched off. */
export function healthcheckProblems(compose: ComposeFile): string[] {
  const jobs = oneShotServices(compose);
  return Object.entries(compose.services)
    .filter(([name]) => !jobs.has(name))
    .filter(([, service]) => {
      const test = healthcheckTest(service);
      return test === undefined || test.length < 2 || test[0] === 'NONE';
    })
    .map(([name]) => `${name} runs for good but has no health check`);
}

/** No host port is published twice (on any address: 0.0.0.0 overlaps every other one). */
export function portClashProblems(compose: ComposeFile): string[] {
  const owners = new Map<string, string>();
  const problems: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    for (const port of publishedPorts(service, name)) {
      const key = `${port.published}/${port.protocol}`;
      const owner = owners.get(key);
      if (owner !== undefined) problems.push(`host port ${key} is published by both ${owner} and ${name}`);
      else owners.set(key, name);
    }
  }
  return problems;
}

/**
 * Every dependency is a service of the file; waits for a server's health or a job's completion;
 * jobs are not restarted forever; and a dependency that only runs in a profile is optional.
 */
export function dependsOnProblems(compose: ComposeFile): string[] {
  const problems: string[] = [];
  const jobs = oneShotServices(compose);
  for (const [name, service] of Object.entries(compose.services)) {
    for (const [target, { condition = 'service_started', required }] of Object.entries(dependencies(service))) {
      const dependency = compose.services[target];
      if (!dependency) {
        problems.push(`${name} depends on ${target}, which is not a service of this file`);
        continue;
      }
      if (condition === 'service_healthy' && !healthcheckTest(dependency)) {
        problems.push(`${name} waits for ${target} to be healthy, but ${target} has no health check`);
      } else if (condition !== 'service_healthy' && condition !== 'service_completed_successfully') {
        problems.push(`${name} depends on ${target} with "${condition}": wait for service_healthy or service_completed_successfully`);
      }
      const dependencyProfiles = dependency.profiles ?? [];
      const own = service.profiles ?? [];
      if (dependencyProfiles.length > 0 && !dependencyProfiles.some((p) => own.includes(p)) && required !== false) {
        problems.push(`${name} depends on ${target}, which runs only with profile ${dependencyProfiles.join('/')}: mark it required: false`);
      }
    }
  }
  for (const job of jobs) {
    const restart = compose.services[job]?.restart ?? 'no';
    if (restart === 'always' || restart === 'unless-stopped') {
      problems.push(`${job} is a one-shot job but restart: ${restart} would run it forever`);
    }
  }
  return problems;
}

// ---- Dockerfile --------------------------------------------------------------------------------

export interface Instruction {
  keyword: string;
  args: string;
}

/** A Dockerfile's instructions, continuation lines joined, comments dropped, ARG defaults substituted. */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  const args: Env = {};
  let pending = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = `${pending}${line}`.trim();
    pending = '';
    if (full === '' || full.startsWith('#')) continue;
    const [, keyword = '', rest = ''] = /^(\S+)\s*([\s\S]*)$/.exec(full) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'ARG') {
      const [name = '', value] = rest.split('=', 2);
      if (value !== undefined) args[name.trim()] = value.trim();
    }
    instructions.push({ keyword: upper, args: upper === 'ARG' ? rest : interpolate(rest, args, `Dockerfile ${upper}`) });
  }
  return instructions;
}

/** An exec-form instruction's arguments (`CMD ["node", "x.js"]`); undefined for the shell form. */
export function execForm(instruction: Instruction | undefined): string[] | undefined {
  if (!instruction?.args.startsWith('[')) return undefined;
  return JSON.parse(instruction.args) as string[];
}

/** A stage of a multi-stage Dockerfile: from `FROM <image> [AS <name>]` to the next FROM. */
export interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

export function stages(instructions: Instruction[]): Stage[] {
  const found: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = instruction.args.split(/\s+/);
      found.push({ image, ...(as?.toUpperCase() === 'AS' && name !== undefined && { name }), instructions: [] });
    } else {
      found.at(-1)?.instructions.push(instruction);
    }
  }
  return found;
}

/** A COPY: its sources, its destination, and the stage it copies from (undefined: the build context). */
export interface Copy {
  from?: string;
  sources: string[];
  destination: string;
}

export function copyOf(instruction: Instruction): Copy {
  const words = instruction.args.split(/\s+/);
  const flags = words.filter((word) => word.startsWith('--'));
  const paths = words.filter((word) => !word.startsWith('--'));
  const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length);
  return { ...(from !== undefined && { from }), sources: paths.slice(0, -1), destination: paths.at(-1) ?? '' };
}

/**
 * The command the image runs for an npm script that runs TypeScript through tsx: plain node with the
 * script's other flags, on the file tsconfig.build.json compiles its entry to (src/x.ts → dist/x.js).
 */
export function compiledCommand(script: string): string[] {
  const words = script.trim().split(/\s+/);
  if (words[0] !== 'node') throw new Error(`not a node command: ${script}`);
  const args = words.filter((word, i) => !(word === '--import' && words[i + 1] === 'tsx') && !(word === 'tsx' && words[i - 1] === '--import'));
  const entry = args.at(-1) ?? '';
  if (!/^src\/.+\.ts$/.test(entry)) throw new Error(`no TypeScript entry under src/ in: ${script}`);
  return [...args.slice(0, -1), entry.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js')];
}
