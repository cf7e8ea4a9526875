// `edgesync schema from-drizzle SCHEMA.ts [-o OUT.json] [--casing snake_case|camelCase]
// [--schema-version N]`: prints (or writes) the shared schema of a Drizzle
// schema module (tools/schema/from-drizzle.mjs). Errors are one line each.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { nodeCore } from '../../hosts/wasm/node.mjs';
import { schemaFromDrizzle, formatSchema } from '../schema/from-drizzle.mjs';

const USAGE = 'usage: edgesync schema from-drizzle ./db/schema.ts [-o schema.json] [--casing snake_case|camelCase] [--schema-version N]';

/** Runs the command on its arguments (after `schema from-drizzle`); returns the exit code. */
export async function fromDrizzle(argv, { stdout = process.stdout, stderr = process.stderr } = {}) {
  let args;
  try {
    args = parseArgs({
      args: argv, allowPositionals: true,
      options: { out: { type: 'string', short: 'o' }, casing: { type: 'string' }, 'schema-version': { type: 'string' } },
    });
  } catch (e) {
    stderr.write(`error[usage] ${e.message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = args;
  const version = values['schema-version'] === undefined ? undefined : Number(values['schema-version']);
  if (positionals.length !== 1 || (version !== undefined && !(Number.isInteger(version) && version >= 1))) {
    stderr.write(`${USAGE}\n`);
    return 2;
  }
  try {
    const schema = await schemaFromDrizzle(positionals[0], { core: await nodeCore(), casing: values.casing, version });
    const text = formatSchema(schema);
    if (values.out) {
      try {
        writeFileSync(values.out, text);
      } catch (e) {
        stderr.write(`error[write_failed] ${values.out}: cannot write the schema (${e.code ?? e.message})\n`);
        return 1;
      }
    }
    else await new Promise((done) => stdout.write(text, done)); // flushed before the caller exits
    return 0;
  } catch (e) {
    if (!e.errors) throw e; // a bug of ours: let node print it
    for (const x of e.errors) stderr.write(`error[${x.code}] ${x.path ? x.path + ': ' : ''}${x.message}\n`);
    return 1;
  }
}
