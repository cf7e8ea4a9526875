// Runs one schema operation of the WASM core; the core's errors become one
// line each (`error[code] path: message`) and exit code 1.
import { nodeCore } from '../../hosts/wasm/node.mjs';
import { CliError } from './cli-error.mjs';

/** The result of core operation `op` on `input`, or a CliError listing the core's errors. */
export async function coreOp(op, input) {
  const core = await nodeCore();
  const env = JSON.parse(core.callRaw(op, input));
  if (!env.ok) {
    throw new CliError(env.errors.map((e) => `error[${e.code}] ${e.path ? `${e.path}: ` : ''}${e.message}`).join('\n'));
  }
  return env.result;
}

/** Prints a generated text (DDL) or document. */
export function print(result) {
  process.stdout.write(typeof result === 'string' ? result : `${JSON.stringify(result, null, 2)}\n`);
}
