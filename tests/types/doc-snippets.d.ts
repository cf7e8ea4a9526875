// The names README.md's and docs/*.md's code blocks take from the prose around
// them (the app's own functions, the values of an earlier step), for
// tools/check-doc-snippets.mjs.
import type { Sync, Oo1Database } from 'edgesync/client';

declare global {
  /** The app's auth library. */
  const auth: {
    accessToken(o: { refresh: boolean }): Promise<string | null>;
    signIn(): Promise<void>;
    signOut(): Promise<void>;
  };
  /** The app's UI. */
  function show(label: string, pending: number): void;
  function rerender(tables: string[]): void;
  function render(rows: Record<string, unknown>[]): void;
  function toast(message: string): void;
  /** Values of the app. */
  const id: string;
  const id2: string;
  const userId: string;
  const title: string;
  const databaseUrl: string;
  /** The `sync` of README step 3. */
  const sync: Sync;
  /** The app's database (an oo1.DB). */
  const db: Oo1Database;
  /** The shared schema (README step 2). */
  const schema: typeof import('./schema.json');
}
