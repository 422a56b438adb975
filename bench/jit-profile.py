#!/usr/bin/env python3
"""Where lavapipe spends a conv Gram, by instruction: perf samples mapped onto the JIT code.

Mesa's llvmpipe compiles each shader to anonymous executable memory, which perf cannot name. This
runs bench/jit-profile-run.mjs (webntk's built dist/ on WebGPU), samples the process with perf while
it computes, copies the sampled JIT region out of the live process (/proc/PID/mem), disassembles it
with objdump and prints the hottest 1 KiB blocks and a breakdown by instruction class; with --range
LO HI, the instructions there with their sample counts. GALLIVM_DEBUG=asm (Mesa) prints the same
code with its IR, at compile time (set MESA_SHADER_CACHE_DISABLE=true, or it compiles nothing).

  python3 bench/jit-profile.py [--arch cntk:depth=5,readout=gap,pad=zero] [--n 48] [--c 3] [--h 8]
                               [--reps 4] [--seconds 3] [--range 0xLO 0xHI]
Needs perf (Debian: linux-perf), objdump (binutils), root or perf_event_paranoid ≤ 1, `npm run build`.
Found with it (README, convolutional networks on WebGPU): llvmpipe reads and writes private arrays
lane by lane, and divides integer vectors lane by lane.
"""
import argparse, collections, os, re, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
ap.add_argument('--arch', default='cntk:depth=5,readout=gap,pad=zero')
ap.add_argument('--n', default='48')
ap.add_argument('--c', default='3')
ap.add_argument('--h', default='8')
ap.add_argument('--reps', default='4')
ap.add_argument('--seconds', type=float, default=3.0)
ap.add_argument('--range', nargs=2, metavar=('LO', 'HI'))
a = ap.parse_args()

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
work = tempfile.mkdtemp(prefix='jit-profile-')
child = subprocess.Popen(['node', os.path.join(root, 'bench', 'jit-profile-run.mjs'), work, a.arch, a.n, a.c, a.h, a.reps],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    while not os.path.exists(f'{work}/ready'):
        if child.poll() is not None:
            sys.exit(f'jit-profile: the workload exited ({child.returncode}) before its Grams: run `npm run build` first')
        time.sleep(0.1)
    pid = child.pid
    data = f'{work}/perf.data'
    subprocess.run(['perf', 'record', '-F', '2999', '-p', str(pid), '-o', data, '--', 'sleep', str(a.seconds)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    while not os.path.exists(f'{work}/done'):
        time.sleep(0.1)
    script = subprocess.run(['perf', 'script', '-i', data, '-F', 'ip'], capture_output=True, text=True, check=True).stdout
    ips = [int(t, 16) for t in script.split()]
    # Anonymous executable mappings (no file): where llvmpipe's JIT code lives; the most sampled one.
    regions = []
    with open(f'/proc/{pid}/maps') as f:
        for line in f:
            p = line.split()
            if 'x' in p[1] and len(p) < 6:
                lo, hi = (int(v, 16) for v in p[0].split('-'))
                regions.append((sum(lo <= i < hi for i in ips), lo, hi))
    count, lo, hi = max(regions)
    with open(f'/proc/{pid}/mem', 'rb') as mem:
        mem.seek(lo)
        code = mem.read(hi - lo)
finally:
    child.kill()
with open(f'{work}/jit.bin', 'wb') as f:
    f.write(code)
asm = subprocess.run(['objdump', '-D', '-b', 'binary', '-m', 'i386:x86-64', f'--adjust-vma={hex(lo)}', f'{work}/jit.bin'],
                     capture_output=True, text=True, check=True).stdout
print(f'{len(ips)} samples, {count} ({100 * count / max(1, len(ips)):.0f} %) in the JIT region {hex(lo)}-{hex(hi)} ({(hi - lo) >> 10} KiB)')
hits = collections.Counter(ips)
blocks = collections.Counter((i - lo) >> 10 for i in ips if lo <= i < hi)
print('hottest 1 KiB blocks:')
for b, v in blocks.most_common(12):
    print(f'  {hex(lo + (b << 10))}  {100 * v / count:5.1f} %')
# A sample lands on the instruction after the one that stalled: count it against the one before.
kinds = collections.Counter()
prev = None
lines = []
for line in asm.split('\n'):
    m = re.match(r'\s*([0-9a-f]+):\s+(?:[0-9a-f]{2} )+\s*(\S+)\s*(.*)', line)
    if not m:
        continue
    at, op, args = int(m.group(1), 16), m.group(2), m.group(3)
    lines.append((at, line))
    if prev:
        kinds[prev] += hits.get(at, 0)
    if '(%rsp,%' in args:
        prev = 'private array, one lane at a time'
    elif op.startswith(('vpextr', 'vextract', 'vpinsr', 'vinsert', 'vmovd', 'vmovq')):
        prev = 'lane extract / insert'
    elif op in ('div', 'idiv'):
        prev = 'scalar integer division'
    elif op.startswith(('mov', 'cmov', 'lea', 'test', 'j', 'add', 'sub', 'shl', 'sar', 'shr', 'and', 'or', 'xor', 'cmp', 'imul')):
        prev = 'scalar integer / branch'
    elif op.startswith(('vsqrt', 'vdiv')):
        prev = 'vector sqrt / div'
    elif op.startswith(('vblend', 'vpternlog', 'vptest', 'kor', 'kand', 'knot', 'vpcmp', 'vcmp', 'vpand', 'vpor', 'vpxor', 'vandps', 'vxorps')):
        prev = 'mask / blend / compare'
    else:
        prev = 'vector arithmetic and moves'
total = max(1, sum(kinds.values()))
print('by instruction class:')
for k, v in kinds.most_common():
    print(f'  {k:36s} {100 * v / total:5.1f} %')
if a.range:
    r0, r1 = int(a.range[0], 16), int(a.range[1], 16)
    for at, line in lines:
        if r0 <= at < r1:
            print(f'{hits.get(at, 0):5d} {line}')
print(f'(disassembly: {work}/jit.bin, objdump -D -b binary -m i386:x86-64 --adjust-vma={hex(lo)})')
