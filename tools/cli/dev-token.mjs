// edgesync dev-token --user alice: prints a development token (HS256, 1 hour,
// audience and role "authenticated") signed with the local development
// secret — the one `edgesync serve --dev` / `npm start` generate in the data
// folder (<data dir>/dev-jwt-secret), or EDGESYNC_JWT_SECRET from .dev.vars,
// the file `wrangler dev` reads its local secrets from. It never signs with
// EDGESYNC_JWT_SECRET from the environment: that is where a real secret lives.
import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseCommand, CliError } from './cli-error.mjs';
import { signDevToken, DEV_USER_PATTERN } from '../../hosts/server/auth.mjs';
import { DEV_SECRET_FILE } from '../../hosts/node/host.mjs';

/** One line for the help. */
export const summary = 'print a development token for a user (secret of `serve --dev` or of .dev.vars for wrangler dev)';
/** The command line. */
export const usage = 'edgesync dev-token --user ID [--ttl 3600] [--data-dir .data | --dev-vars .dev.vars]';

const MIN_SECRET = 32;
const MAX_TTL = 86400;

// EDGESYNC_JWT_SECRET=… in a .dev.vars file (dotenv syntax, optional quotes).
function devVarsSecret(file) {
  const m = readFileSync(file, 'utf8').match(/^\s*EDGESYNC_JWT_SECRET\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S*))\s*$/m);
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

// The secret and where it came from, or a CliError saying how to get one.
function findSecret(values) {
  const dataDir = resolve(values['data-dir'] ?? (process.env.EDGESYNC_DATA_DIR || '.data'));
  const secretFile = resolve(dataDir, DEV_SECRET_FILE);
  const devVars = resolve(values['dev-vars'] ?? '.dev.vars');
  const candidates = values['dev-vars'] ? [] : [[secretFile, () => readFileSync(secretFile, 'utf8').trim()]];
  if (!values['data-dir']) candidates.push([devVars, () => devVarsSecret(devVars)]);
  for (const [file, read] of candidates) {
    if (!existsSync(file)) continue;
    const secret = read();
    if (!secret) continue;
    if (secret.length < MIN_SECRET) {
      throw new CliError(`the development secret in ${file} is shorter than ${MIN_SECRET} characters; ` +
        'the server would refuse it too: make it longer (or delete it and restart `edgesync serve --dev`)');
    }
    return { secret, file };
  }
  const env = process.env.EDGESYNC_JWT_SECRET ? ' (EDGESYNC_JWT_SECRET in the environment is never used: it is where a real secret lives)' : '';
  throw new CliError(`no development secret in ${candidates.map(([f]) => f).join(' or ')}${env}: start ` +
    '`npx edgesync serve --dev` (it writes one), or put EDGESYNC_JWT_SECRET=<32+ characters> in .dev.vars for `wrangler dev`');
}

/** Runs the command: the token on stdout, nothing else. */
export async function run(args) {
  const { values } = parseCommand(args, {
    usage,
    options: { user: { type: 'string' }, ttl: { type: 'string' }, 'data-dir': { type: 'string' }, 'dev-vars': { type: 'string' } },
  });
  if (values['data-dir'] && values['dev-vars']) throw new CliError(`give --data-dir or --dev-vars, not both; usage: ${usage}`, 2);
  if (!values.user) throw new CliError(`--user is required (the token's subject, the user id); usage: ${usage}`, 2);
  if (!DEV_USER_PATTERN.test(values.user)) throw new CliError('--user must be 1-128 characters of A-Z a-z 0-9 _ . @ -', 2);
  const ttlSec = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!Number.isInteger(ttlSec) || ttlSec < 1 || ttlSec > MAX_TTL) throw new CliError(`--ttl must be 1-${MAX_TTL} seconds`, 2);
  const { secret } = findSecret(values);
  console.log(await signDevToken(secret, { sub: values.user, ttlSec, audience: 'authenticated' }));
}
