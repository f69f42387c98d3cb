import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { depsUpToDate } from '../../scripts/ensure-deps.mjs';
import { copyOf, execForm, type Env, type Stage } from './compose.js';

const exec = promisify(execFile);

/** A Dockerfile stage carried out in a folder of this machine that stands for its WORKDIR. */
export interface BuiltStage {
  dir: string;
  workdir: string;
  /** Its ENV, as its processes get it. */
  env: Env;
  cmd?: string[];
}

/** A path of the stage (absolute in the container, or relative to WORKDIR) in the folder that stands for it. */
function inStage(stage: Pick<BuiltStage, 'dir' | 'workdir'>, path: string): string {
  if (!stage.workdir) throw new Error(`${path}: no WORKDIR yet`);
  if (!isAbsolute(path)) return join(stage.dir, path);
  const inside = relative(stage.workdir, path);
  if (inside.startsWith('..')) throw new Error(`${path} is outside the stage's WORKDIR ${stage.workdir}`);
  return join(stage.dir, inside);
}

/**
 * `npm ci` without the network: node_modules as links into `context`'s, which npm ci installed from
 * the same lockfile. With --omit=dev, only the packages the lockfile does not mark "dev" are linked,
 * so that code needing a devDependency (tsx, TypeScript) cannot find it.
 */
function linkDependencies(context: string, dir: string, omitDev: boolean): void {
  const lockfile = readFileSync(join(dir, 'package-lock.json'), 'utf8');
  if (lockfile !== readFileSync(join(context, 'package-lock.json'), 'utf8')) throw new Error('the stage has another lockfile than the context');
  if (!omitDev) {
    symlinkSync(join(context, 'node_modules'), join(dir, 'node_modules'));
    return;
  }
  const packages = (JSON.parse(lockfile) as { packages: Record<string, { dev?: boolean }> }).packages;
  for (const [path, entry] of Object.entries(packages)) {
    // Top-level packages only: a nested one comes with the package it is nested in.
    if (!path.startsWith('node_modules/') || path.includes('/node_modules/', 1) || entry.dev) continue;
    // An optional package for another platform is not installed.
    if (!existsSync(join(context, path))) continue;
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    symlinkSync(join(context, path), join(dir, path));
  }
}

function envOf(args: string): Env {
  return Object.fromEntries(
    args
      .split(/\s+/)
      .filter(Boolean)
      .map((pair) => {
        const at = pair.indexOf('=');
        if (at < 1) throw new Error(`ENV ${pair}: only the KEY=value form is carried out here`);
        return [pair.slice(0, at), pair.slice(at + 1)];
      }),
  );
}

/**
 * Carries out a Dockerfile stage without Docker, in `dir`: WORKDIR, ENV, COPY from the build context
 * or an earlier stage (timestamps kept, as COPY keeps them), and RUN's commands — npm ci as links
 * (linkDependencies), `npm run <script>` for real, and `npm cache clean`, which would empty this
 * machine's cache rather than a layer's, skipped. Any other instruction or command is refused, so a
 * change to the Dockerfile makes the test that uses this learn it rather than pass it unread.
 */
export async function carryOutStage(stage: Stage, options: { context: string; dir: string; earlier: Record<string, BuiltStage> }): Promise<BuiltStage> {
  const { context, dir, earlier } = options;
  const built: BuiltStage = { dir, workdir: '', env: {} };
  for (const { keyword, args } of stage.instructions) {
    if (keyword === 'WORKDIR') {
      built.workdir = args;
    } else if (keyword === 'ENV') {
      Object.assign(built.env, envOf(args));
    } else if (keyword === 'COPY') {
      const copy = copyOf({ keyword, args });
      const source = copy.from === undefined ? undefined : earlier[copy.from];
      if (copy.from !== undefined && !source) throw new Error(`COPY --from=${copy.from}: no such earlier stage`);
      const intoFolder = copy.sources.length > 1 || copy.destination.endsWith('/');
      for (const path of copy.sources) {
        const from = source ? inStage(source, path) : join(context, path);
        const to = inStage(built, intoFolder ? join(copy.destination, basename(path)) : copy.destination);
        mkdirSync(dirname(to), { recursive: true });
        cpSync(from, to, { recursive: true, preserveTimestamps: true });
      }
    } else if (keyword === 'RUN') {
      for (const command of args.split('&&').map((part) => part.trim())) {
        const script = /^npm run ([\w:-]+)$/.exec(command)?.[1];
        if (/^npm ci(\s|$)/.test(command)) {
          linkDependencies(context, dir, /\s--omit=dev(\s|$)/.test(command));
        } else if (command === 'npm cache clean --force') {
          continue;
        } else if (script !== undefined) {
          // npm run's pre-script installs when node_modules looks older than the lockfile: never into the links.
          if (!depsUpToDate(dir)) throw new Error(`node_modules in ${dir} looks stale to scripts/ensure-deps.mjs`);
          await exec('npm', ['run', script], { cwd: dir, env: { ...process.env, ...built.env }, maxBuffer: 16 * 1024 * 1024 });
        } else {
          throw new Error(`RUN ${command}: not carried out without Docker (test/helpers/image.ts)`);
        }
      }
    } else if (keyword === 'CMD') {
      const cmd = execForm({ keyword, args });
      if (cmd === undefined) throw new Error('CMD in the shell form');
      built.cmd = cmd;
    } else if (keyword !== 'USER' && keyword !== 'EXPOSE' && keyword !== 'ARG') {
      throw new Error(`${keyword}: not carried out without Docker (test/helpers/image.ts)`);
    }
  }
  return built;
}
