// Which command starts `repolens lsp`: the configured command or interpreter, else a project
// virtualenv, an active one, `repolens` on PATH, or `python3`/`python` on PATH, the first
// with repolens importable. Pure: the file system and the probe are passed in.

import * as path from "node:path";

export interface Environment {
  platform: NodeJS.Platform;
  env: Readonly<Record<string, string | undefined>>;
  /** Workspace folder paths. */
  folders: readonly string[];
  /** Workspace trust: an untrusted workspace's virtualenvs are not run. */
  trusted: boolean;
  isFile(file: string): boolean;
}

export interface Configured {
  command: readonly string[];
  python: string;
}

/** A way to start the server; `python` is set when repolens must be importable there. */
export interface Candidate {
  command: string;
  args: string[];
  python?: string;
  origin: string;
}

export type Probe = (python: string) => Promise<{ ok: boolean; version?: string; error?: string }>;

export type Discovery =
  | { ok: true; command: string; args: string[]; origin: string; version?: string }
  | { ok: false; python: string; install: string; tried: string[] };

/** The distribution to install (pyproject.toml's `name`). */
export const DISTRIBUTION = "repolens";
const SERVER_ARGS = ["-m", "repolens.cli", "lsp"];
const VENV_DIRS = [".venv", "venv"];

function pathApi(platform: NodeJS.Platform): path.PlatformPath {
  return platform === "win32" ? path.win32 : path.posix;
}

export function venvPython(venv: string, platform: NodeJS.Platform): string {
  const p = pathApi(platform);
  return platform === "win32" ? p.join(venv, "Scripts", "python.exe") : p.join(venv, "bin", "python");
}

/** `name` on PATH (with Windows' executable suffixes), or undefined. */
export function findOnPath(name: string, e: Pick<Environment, "platform" | "env" | "isFile">): string | undefined {
  const p = pathApi(e.platform);
  const pathVar = e.env.PATH ?? e.env.Path ?? "";
  const suffixes = e.platform === "win32" ? [".exe", ".cmd", ".bat", ""] : [""];
  for (const dir of pathVar.split(e.platform === "win32" ? ";" : ":")) {
    if (!dir) {
      continue;
    }
    for (const suffix of suffixes) {
      const file = p.join(dir, name + suffix);
      if (e.isFile(file)) {
        return file;
      }
    }
  }
  return undefined;
}

function fromPython(python: string, origin: string): Candidate {
  return { command: python, args: [...SERVER_ARGS], python, origin };
}

/** Where to look, in order. A configured command or interpreter is the only candidate. */
export function candidates(configured: Configured, e: Environment): Candidate[] {
  const command = configured.command.filter((part) => part.trim() !== "");
  if (command.length > 0) {
    return [{ command: command[0], args: command.slice(1), origin: "setting repolens.server.command" }];
  }
  if (configured.python.trim()) {
    return [fromPython(configured.python.trim(), "setting repolens.server.python")];
  }
  const out: Candidate[] = [];
  const seen = new Set<string>();
  const add = (c: Candidate) => {
    if (!seen.has(c.command)) {
      seen.add(c.command);
      out.push(c);
    }
  };
  if (e.trusted) {
    for (const folder of e.folders) {
      for (const dir of VENV_DIRS) {
        const python = venvPython(pathApi(e.platform).join(folder, dir), e.platform);
        if (e.isFile(python)) {
          add(fromPython(python, `virtualenv ${pathApi(e.platform).join(folder, dir)}`));
        }
      }
    }
  }
  for (const variable of ["VIRTUAL_ENV", "CONDA_PREFIX"]) {
    const prefix = e.env[variable];
    if (prefix) {
      const python =
        variable === "CONDA_PREFIX" && e.platform !== "win32"
          ? pathApi(e.platform).join(prefix, "bin", "python")
          : venvPython(prefix, e.platform);
      if (e.isFile(python)) {
        add(fromPython(python, `$${variable}`));
      }
    }
  }
  const script = findOnPath("repolens", e);
  if (script) {
    add({ command: script, args: ["lsp"], origin: "repolens on PATH" });
  }
  for (const name of e.platform === "win32" ? ["python", "py"] : ["python3", "python"]) {
    const python = findOnPath(name, e);
    if (python) {
      add(fromPython(python, `${name} on PATH`));
    }
  }
  return out;
}

/** The command that installs repolens for `python`, quoted for a shell. */
export function pipInstallCommand(python: string, platform: NodeJS.Platform = process.platform): string {
  const quoted = /[\s"'$`&|;<>()]/.test(python)
    ? platform === "win32"
      ? `& "${python}"`
      : `'${python.replace(/'/g, `'\\''`)}'`
    : python;
  return `${quoted} -m pip install ${DISTRIBUTION}`;
}

/**
 * The first candidate that can run the server. Candidates without `python` (a configured
 * command, a `repolens` script) are taken as they are; interpreters are probed for repolens.
 */
export async function discover(found: readonly Candidate[], probe: Probe): Promise<Discovery> {
  const tried: string[] = [];
  for (const c of found) {
    if (c.python === undefined) {
      return { ok: true, command: c.command, args: c.args, origin: c.origin };
    }
    const result = await probe(c.python);
    if (result.ok) {
      return { ok: true, command: c.command, args: c.args, origin: c.origin, version: result.version };
    }
    tried.push(`${c.python} (${c.origin}): ${result.error ?? "repolens is not installed"}`);
  }
  // install into the most specific interpreter: the project's virtualenv, else the one on PATH
  const python = found.find((c) => c.python !== undefined)?.python ?? "python3";
  return { ok: false, python, install: pipInstallCommand(python), tried };
}
