// The Playwright test server: a fresh SQLite database in a temporary folder, seeded with the
// demo fleet, served by the binary cargo-leptos built. Removed again when the server stops.
//
// Binary: $OWNER_CONSOLE_BIN, else the newer of target/debug and target/release. Port:
// $E2E_PORT. Arguments are passed on to `owner-console serve` (e.g. `--simulate`).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function pickBinary() {
  if (process.env.OWNER_CONSOLE_BIN) return process.env.OWNER_CONSOLE_BIN;
  const candidates = ['debug', 'release']
    .map((profile) => join(root, 'target', profile, 'owner-console'))
    .filter((path) => existsSync(path))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (candidates.length === 0) {
    console.error('serve.mjs: no owner-console binary; run `cargo leptos build` first.');
    process.exit(1);
  }
  return candidates[0];
}

const bin = pickBinary();
const dir = mkdtempSync(join(tmpdir(), 'owner-console-e2e-'));
const databaseUrl = `sqlite://${join(dir, 'console.db')}`;
const port = process.env.E2E_PORT ?? '3917';
const env = {
  ...process.env,
  LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
  LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT ?? 'target/site',
  LEPTOS_SITE_PKG_DIR: process.env.LEPTOS_SITE_PKG_DIR ?? 'pkg',
  RUST_LOG: process.env.RUST_LOG ?? 'info',
};
delete env.DATABASE_URL;

const cleanup = () => rmSync(dir, { recursive: true, force: true });

console.log(`serve.mjs: ${bin} on ${databaseUrl}`);
const seed = spawnSync(bin, ['seed-demo', '--database-url', databaseUrl], {
  cwd: root,
  env,
  stdio: 'inherit',
});
if (seed.status !== 0) {
  console.error(`serve.mjs: seed-demo failed (${seed.status ?? seed.signal})`);
  cleanup();
  process.exit(1);
}

const server = spawn(bin, ['serve', '--database-url', databaseUrl, ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => server.kill(signal));
}
server.on('exit', (code, signal) => {
  cleanup();
  process.exit(code ?? (signal ? 1 : 0));
});
