// Marks the CLI (package.json "bin") executable after every build: tsc writes it as mode 644, and
// npx marks a local bin executable only the first time it links it, so a rebuild broke `npx webntk`.
import { chmodSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
for (const file of Object.values(pkg.bin ?? {})) chmodSync(file, 0o755);
