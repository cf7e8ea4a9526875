// `edgesync schema from-drizzle …`: the shared schema made from another
// source of truth (tools/cli/from-drizzle.mjs does the work).
import { CliError } from './cli-error.mjs';

/** One line for `edgesync help`. */
export const summary = 'the shared schema from Drizzle tables (schema from-drizzle ./db/schema.ts)';
/** The command line it takes. */
export const usage = 'edgesync schema from-drizzle ./db/schema.ts [-o schema.json] [--casing snake_case|camelCase] [--schema-version N]';

/** Runs a `schema` subcommand; returns the exit code. */
export async function run([sub, ...args]) {
  if (sub !== 'from-drizzle') throw new CliError(`unknown schema command "${sub ?? ''}"; usage: ${usage}`, 2);
  const { fromDrizzle } = await import('./from-drizzle.mjs');
  return fromDrizzle(args);
}
