// What every command shares: the one-line error, option parsing and file
// reading that turn mistakes into that error (never a raw stack).
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';

/** A problem the user fixes; the message says how. Exit code 2 for usage errors, 1 otherwise. */
export class CliError extends Error {
  constructor(message, exitCode = 1) { super(message); this.name = 'CliError'; this.exitCode = exitCode; }
}

/**
 * node:util parseArgs with `usage` in its errors. `options` as parseArgs
 * takes them; `positionals` is the exact count of positional arguments.
 */
export function parseCommand(args, { usage, options = {}, positionals = 0 }) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: positionals > 0, strict: true });
  } catch (e) {
    throw new CliError(`${e.message.replace(/\. To specify a positional argument.*$/s, '')}; usage: ${usage}`, 2);
  }
  if (parsed.positionals.length !== positionals) throw new CliError(`usage: ${usage}`, 2);
  return parsed;
}

/** Reads a JSON file; a missing, unreadable or malformed file is a one-line error naming it. */
export function readJsonFile(path, what = 'file') {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(e.code === 'ENOENT' ? `${what} ${path} does not exist`
      : e.code === 'EISDIR' ? `${what} ${path} is a folder, not a JSON file`
        : `cannot read ${what} ${path} (${e.code ?? e.message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`${what} ${path} is not valid JSON: ${e.message}`);
  }
}
