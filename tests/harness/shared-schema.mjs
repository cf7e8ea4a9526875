// A schema with a scope: the workflow editor of the users' documents,
// shared per project (docs/protocol.md, "Scopes and roles"). The same file
// feeds the C++ tests (tests/unit/scope_test.cpp).
import { readFileSync } from 'node:fs';

/** Projects (the scope), their members, nodes in a project, private notes. */
export const SHARED_SCHEMA = JSON.parse(readFileSync(new URL('../fixtures/schema.shared.json', import.meta.url), 'utf8'));
