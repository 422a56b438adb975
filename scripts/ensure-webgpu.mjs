// Before the tests: checks that WebGPU has an adapter in Node (Dawn on the machine's Vulkan driver).
// On a fresh Debian 12 run as root it installs what is missing (scripts/setup-debian-webgpu.sh:
// lavapipe from bookworm-backports, the Vulkan loader, Chromium); elsewhere it says what to do.
// The GPU tests themselves never skip: without an adapter they fail.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const probe = `
import('webgpu').then(async ({ create, globals }) => {
  Object.assign(globalThis, globals);
  globalThis.__gpu = create([]);
  const a = await globalThis.__gpu.requestAdapter();
  console.log(a ? 'adapter' : 'none');
  process.exit(0);
}).catch(() => { console.log('none'); process.exit(0); });`;

function hasAdapter() {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8', timeout: 60_000 });
  return r.stdout.includes('adapter');
}

const debian = existsSync('/etc/debian_version') && readFileSync('/etc/debian_version', 'utf8').startsWith('12');
const needChromium = !existsSync('/usr/bin/chromium');
if (!hasAdapter() || needChromium) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (debian && root) {
    process.stderr.write('webntk: installing WebGPU prerequisites (scripts/setup-debian-webgpu.sh)…\n');
    execFileSync('bash', ['scripts/setup-debian-webgpu.sh'], { stdio: ['ignore', 'inherit', 'inherit'] });
  } else {
    process.stderr.write(
      'webntk: no WebGPU adapter or no Chromium here; the GPU tests will fail. On Debian 12 run ' +
        '`sudo bash scripts/setup-debian-webgpu.sh`; elsewhere install a Vulkan driver and Chromium.\n',
    );
  }
}
