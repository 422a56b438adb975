/**
 * The page: controls → one computation at a time (a new one cancels the running one) → plots,
 * numbers, downloads; the benchmark panel. Test hooks: body[data-ready="true"] after the first
 * computation, body[data-computations] counts finished computations, and the hidden
 * <output data-testid="result-json"> holds the computed values.
 */
import { conditionFromEigenvalues, describeAdapter, getGpu, PRESETS, type Arch, type Backend } from '../../src/index.js';
import { encodeNpy } from '../../src/io/npy.js';
import { archLabel, checkSpecText, presetCaps, presetJson, presetRef, type AlphaMode, type Controls } from './arch.js';
import { runBench } from './bench.js';
import { conditioning, gram, profile, spectrum, CONDITIONING_MAX_N, SPECTRUM_MAX_N, type GramOut } from './compute.js';
import { circle, fashion, fromFile, prefetchFashion, type Dataset } from './datasets.js';
import { heatmap, linePlot } from './plots.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing element #${id}`);
  return el as T;
};

const el = {
  preset: $<HTMLSelectElement>('preset'),
  presetTitle: $('preset-title'),
  depth: $<HTMLInputElement>('depth'),
  depthOut: $<HTMLOutputElement>('depth-out'),
  alpha: $<HTMLInputElement>('alpha'),
  alphaOut: $<HTMLOutputElement>('alpha-out'),
  gamma: $<HTMLInputElement>('gamma'),
  gammaOut: $<HTMLOutputElement>('gamma-out'),
  modeSet: $<HTMLFieldSetElement>('alpha-mode-set'),
  alphaNote: $('alpha-note'),
  spec: $<HTMLTextAreaElement>('spec'),
  specError: $('spec-error'),
  dataset: $<HTMLSelectElement>('dataset'),
  circleN: $<HTMLInputElement>('circle-n'),
  file: $<HTMLInputElement>('file'),
  uploadError: $('upload-error'),
  datasetLabel: $('dataset-label'),
  backend: $<HTMLSelectElement>('backend'),
  progress: $<HTMLProgressElement>('progress'),
  cancel: $<HTMLButtonElement>('cancel'),
  status: $('status'),
  dlNngp: $<HTMLButtonElement>('download-nngp'),
  dlNtk: $<HTMLButtonElement>('download-ntk'),
  adapter: $('adapter'),
  banner: $('no-webgpu'),
  resultJson: $<HTMLOutputElement>('result-json'),
};

// ---- formatting (never shows NaN) ----

function fmt(v: number | null | undefined, digits = 7): string {
  if (v === null || v === undefined) return '–';
  if (Number.isNaN(v)) return 'not a number (computation failed)';
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '−∞';
  return v.toPrecision(digits);
}

function fmtMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function fmtRate(r: number | null): string {
  if (r === null || !Number.isFinite(r)) return '–';
  const units: [number, string][] = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [u, s] of units) if (r >= u) return `${(r / u).toPrecision(3)} ${s}`;
  return r.toPrecision(3);
}

const setText = (id: string, text: string) => {
  $(id).textContent = text;
};

// ---- state ----

let gpuAvailable = false;
let adapterText = '';
let mode: 'preset' | 'custom' = 'preset';
let customSpec: Arch | null = null;
let uploaded: Dataset | null = null;
let last: { gram: GramOut; arch: Arch; dataset: Dataset } | null = null;
let running: AbortController | null = null;
let generation = 0;
let computations = 0;

function controls(): Controls {
  const m = document.querySelector<HTMLInputElement>('input[name="alpha-mode"]:checked');
  return {
    preset: el.preset.value === 'custom' ? lastPreset : el.preset.value,
    depth: Number(el.depth.value),
    alpha: Number(el.alpha.value),
    gamma: Number(el.gamma.value),
    alphaMode: (m?.value ?? 'gamma') as AlphaMode,
  };
}
let lastPreset = 'mlp';

function currentArch(): Arch {
  return mode === 'custom' && customSpec ? customSpec : presetRef(controls());
}

async function currentDataset(): Promise<Dataset> {
  switch (el.dataset.value) {
    case 'fashion':
      return fashion(10);
    case 'upload':
      if (!uploaded) throw new Error('no file uploaded yet');
      return uploaded;
    default: {
      const n = Math.round(Number(el.circleN.value));
      if (!Number.isInteger(n) || n < 4 || n > 400) throw new Error(`points on the circle: give an integer from 4 to 400, got "${el.circleN.value}"`);
      return circle(n);
    }
  }
}

// ---- controls ----

function fillPresets(): void {
  for (const p of PRESETS) {
    const o = document.createElement('option');
    o.value = p.name;
    o.textContent = `${p.name} — ${p.title}`;
    el.preset.append(o);
  }
  const o = document.createElement('option');
  o.value = 'custom';
  o.textContent = 'custom (the edited JSON spec)';
  el.preset.append(o);
  el.preset.value = lastPreset;
}

/** Enables the α/γ controls the preset has, and explains the others. */
function syncPresetControls(): void {
  const caps = presetCaps(controls().preset);
  el.presetTitle.textContent = `${caps.preset.title}. ${caps.preset.citation}.`;
  const m = controls().alphaMode;
  const alphaOn = caps.either ? m === 'alpha' : caps.alpha;
  const gammaOn = caps.either ? m === 'gamma' : caps.gamma;
  el.modeSet.disabled = !caps.either;
  el.alpha.disabled = !alphaOn;
  el.gamma.disabled = !gammaOn;
  el.alphaNote.textContent = !caps.alpha && !caps.gamma
    ? `${caps.preset.name} has no residual scale: α and γ do not apply.`
    : caps.either
      ? 'This preset takes either a constant α or α = L^(−γ).'
      : caps.alpha
        ? `${caps.preset.name} takes a constant α only.`
        : `${caps.preset.name} takes γ only.`;
  el.depthOut.value = el.depth.value;
  el.alphaOut.value = el.alpha.value;
  el.gammaOut.value = el.gamma.value;
}

function presetChanged(): void {
  if (el.preset.value === 'custom') {
    mode = 'custom';
    specEdited();
    return;
  }
  lastPreset = el.preset.value;
  mode = 'preset';
  syncPresetControls();
  el.spec.value = presetJson(controls());
  el.specError.textContent = '';
  el.spec.removeAttribute('aria-invalid');
  schedule();
}

function sliderMoved(): void {
  if (mode === 'custom') el.preset.value = lastPreset;
  mode = 'preset';
  syncPresetControls();
  try {
    el.spec.value = presetJson(controls());
    el.specError.textContent = '';
    el.spec.removeAttribute('aria-invalid');
  } catch (e) {
    el.specError.textContent = e instanceof Error ? e.message : String(e);
  }
  schedule();
}

function specEdited(): void {
  const r = checkSpecText(el.spec.value);
  if (!r.ok) {
    el.specError.textContent = `${r.path}: ${r.message}`;
    el.spec.setAttribute('aria-invalid', 'true');
    return; // keep showing the last valid result
  }
  el.specError.textContent = '';
  el.spec.removeAttribute('aria-invalid');
  if (el.spec.value.trim() !== presetJson(controls()).trim() || mode === 'custom') {
    mode = 'custom';
    customSpec = r.spec;
    el.preset.value = 'custom';
  }
  schedule();
}

// ---- computation ----

let timer: ReturnType<typeof setTimeout> | null = null;
function schedule(delay = 150): void {
  if (timer) clearTimeout(timer);
  timer = setTimeout(() => {
    timer = null;
    void compute();
  }, delay);
}

function setStatus(text: string, kind: 'info' | 'error' = 'info'): void {
  el.status.textContent = text;
  el.status.classList.toggle('error', kind === 'error');
}

async function compute(): Promise<void> {
  running?.abort(new DOMException('superseded by a newer computation', 'AbortError'));
  const ctl = new AbortController();
  running = ctl;
  const gen = ++generation;
  const stale = () => gen !== generation;
  const backend: Backend = el.backend.value === 'webgpu' && gpuAvailable ? 'webgpu' : 'cpu';
  el.cancel.disabled = false;
  el.progress.value = 0;
  document.body.dataset.busy = 'true';
  try {
    const arch = currentArch();
    setStatus('Loading the data…');
    const ds = await currentDataset();
    if (stale()) return;
    el.datasetLabel.textContent = ds.label;
    setStatus(`Computing the ${ds.x.rows} × ${ds.x.rows} Gram matrices on ${backend === 'webgpu' ? 'WebGPU' : 'the CPU'}…`);
    const g = await gram(arch, ds.x, backend, ctl.signal, (f) => {
      if (!stale()) el.progress.value = f;
    });
    if (stale()) return;
    last = { gram: g, arch, dataset: ds };
    el.dlNngp.disabled = false;
    el.dlNtk.disabled = false;
    setText('arch-label', archLabel(arch));
    setText('data-shape', `${ds.label} — n = ${ds.x.rows}, d = ${ds.x.cols}`);
    setText('computed-on', g.backend === 'webgpu' ? `WebGPU (float32): ${adapterText}` : 'CPU (float64 reference)');
    const n = g.n;
    setText('nngp-00', fmt(g.nngp[0]));
    setText('ntk-00', fmt(g.ntk[0]));
    setText('nngp-01', fmt(g.nngp[1]));
    setText('ntk-01', fmt(g.ntk[1]));
    await drawHeatmap();
    setStatus('Computing the profile, the spectrum and κ against depth…');
    const prof = await profile(arch, g.backend);
    if (stale()) return;
    await linePlot($('plot-profile'), {
      title: 'Normalised kernel against the angle',
      panels: [{ title: 'Normalised kernel against the angle', x: { title: 'θ (radians)' }, y: { title: 'K(θ)/K(0)' }, series: [{ name: 'NNGP', x: prof.angles, y: prof.nngp }, { name: 'NTK', x: prof.angles, y: prof.ntk }] }],
      width: 320,
      height: 220,
    });
    const spec = spectrum(g);
    // Eigenvalues below n·ε·λmax are rounding noise: ε of float32 for a WebGPU Gram, of float64 on the CPU.
    const eps = g.backend === 'webgpu' ? 2 ** -23 : 2 ** -52;
    const summaries = {
      nngp: conditionFromEigenvalues(spec.nngp, spec.m * eps * Math.abs(spec.nngp[0]!)),
      ntk: conditionFromEigenvalues(spec.ntk, spec.m * eps * Math.abs(spec.ntk[0]!)),
    };
    const noise = g.backend === 'webgpu' ? 'float32' : 'float64';
    for (const k of ['nngp', 'ntk'] as const) {
      const s = summaries[k];
      setText(`${k}-lmax`, fmt(s.lambdaMax));
      setText(`${k}-lmin`, fmt(s.lambdaMin) + (s.resolved ? '' : ` (below the ${noise} noise level)`));
      setText(`${k}-cond`, s.lambdaMin > 0 ? fmt(s.condition, 4) + (s.resolved ? '' : ' (not resolved)') : '∞ (λmin ≤ 0)');
    }
    const idx = Array.from({ length: spec.m }, (_, i) => i + 1);
    await linePlot($('plot-spectrum'), {
      title: 'Eigenvalue spectrum',
      panels: [{ title: 'Eigenvalue spectrum', x: { title: 'index k', scale: 'log' }, y: { title: 'λk', scale: 'log' }, series: [{ name: 'NNGP', x: idx, y: Array.from(spec.nngp), mark: 'line+points' }, { name: 'NTK', x: idx, y: Array.from(spec.ntk), mark: 'line+points' }] }],
      width: 320,
      height: 220,
    });
    setText('spectrum-caption', `All ${spec.m} eigenvalues of each Gram, descending, on log–log axes${g.backend === 'webgpu' ? ' (float32 Gram entries: eigenvalues below about n·1.2e−7·λmax are rounding noise; the CPU backend resolves them)' : ''}${spec.m < n ? ` (the leading ${spec.m} × ${spec.m} block: n = ${n} is above the page's ${SPECTRUM_MAX_N} for a dense eigen-solve)` : ''}; values ≤ 0 cannot be drawn.`);
    if (stale()) return;
    const cond = await conditioning(arch, ds.x, g.backend);
    if (stale()) return;
    await linePlot($('plot-conditioning'), {
      title: 'Condition number against depth',
      panels: [{ title: 'Condition number against depth', x: { title: 'depth t (sweep entry)' }, y: { title: 'κ = λmax/λmin', scale: 'log' }, series: [{ name: 'NNGP', x: cond.depths, y: cond.nngp, mark: 'line+points' }, { name: 'NTK', x: cond.depths, y: cond.ntk, mark: 'line+points' }] }],
      width: 320,
      height: 220,
    }, { integerX: true });
    const notDrawn = (ks: number[]) => cond.depths.filter((_, i) => !(Number.isFinite(ks[i]!) && ks[i]! > 0));
    const gaps = (['nngp', 'ntk'] as const)
      .map((k) => [k, notDrawn(cond[k])] as const)
      .filter(([, ds]) => ds.length > 0)
      .map(([k, ds]) => ` ${k.toUpperCase()}: κ = ∞ (λmin ≤ 0: a singular Gram, e.g. rank-deficient at small depth or a zero kernel) at depth${ds.length > 1 ? 's' : ''} ${ds.join(', ')}, not drawn.`)
      .join('');
    setText('conditioning-caption', `κ of the raw Grams of ${cond.m === ds.x.rows ? 'all' : `the first ${cond.m} of the`} ${ds.x.rows} inputs at every depth of the network's depth sweep (conditioningVsDepth${cond.m < ds.x.rows ? `, at most ${CONDITIONING_MAX_N} points` : ''}); with α = L^(−γ), entry t is the first t blocks of the depth-L network.${g.backend === 'webgpu' ? ` On WebGPU (float32) a κ above about ${fmt(1 / (cond.m * 2 ** -23), 2)} is at the rounding-noise level; the CPU backend resolves it.` : ''}${gaps}`);
    setText('timings', `Gram ${fmtMs(g.ms)} (${g.backend}), profile ${fmtMs(prof.ms)}, spectrum ${fmtMs(spec.ms)}, κ vs depth ${fmtMs(cond.ms)}`);
    computations++;
    el.resultJson.value = JSON.stringify({
      computation: computations,
      arch: typeof arch === 'string' ? arch : null,
      spec: typeof arch === 'string' ? null : arch,
      dataset: ds.id,
      n,
      d: ds.x.cols,
      backend: g.backend,
      adapter: g.backend === 'webgpu' ? adapterText : null,
      gramMs: g.ms,
      // The full Grams for small sets (the test compares them with the CPU reference).
      nngp: n <= 200 ? Array.from(g.nngp) : null,
      ntk: n <= 200 ? Array.from(g.ntk) : null,
      profile: { angles: prof.angles, nngp: prof.nngp, ntk: prof.ntk },
      lambdaMax: { nngp: summaries.nngp.lambdaMax, ntk: summaries.ntk.lambdaMax },
      conditioning: { depths: cond.depths, nngp: cond.nngp.map(String), ntk: cond.ntk.map(String) },
    });
    document.body.dataset.computations = String(computations);
    document.body.dataset.ready = 'true';
    setStatus(`Done: ${n} × ${n} Grams on ${g.backend === 'webgpu' ? 'WebGPU' : 'the CPU'} in ${fmtMs(g.ms)}.`);
  } catch (e) {
    if (stale()) return;
    if (ctl.signal.aborted || (e instanceof DOMException && e.name === 'AbortError')) {
      setStatus('Cancelled: the plots show the previous result.');
    } else {
      setStatus(`Error: ${e instanceof Error ? e.message : String(e)}`, 'error');
      console.error(e);
    }
  } finally {
    if (!stale()) {
      el.cancel.disabled = true;
      delete document.body.dataset.busy;
      running = null;
    }
  }
}

async function drawHeatmap(): Promise<void> {
  if (!last) return;
  const kind = (document.querySelector<HTMLInputElement>('input[name="heat-kind"]:checked')?.value ?? 'ntk') as 'nngp' | 'ntk';
  const caption = await heatmap($('plot-heatmap'), last.gram[kind], last.gram.n, `${kind.toUpperCase()} Gram matrix`, 320);
  const classes = last.dataset.classes ? ' Rows and columns are sorted by class (10 blocks of 10 images).' : '';
  setText('heatmap-caption', caption + classes);
}

function download(kind: 'nngp' | 'ntk'): void {
  if (!last) return;
  const n = last.gram.n;
  const bytes = encodeNpy(last.gram[kind], [n, n], 'float64');
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `webntk-${kind}-${n}x${n}.npy`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---- benchmark ----

async function bench(): Promise<void> {
  const btn = $<HTMLButtonElement>('bench-run');
  const status = $('bench-status');
  const n = Number($<HTMLInputElement>('bench-n').value);
  const d = Number($<HTMLInputElement>('bench-d').value);
  const L = Number($<HTMLInputElement>('bench-depth').value);
  const bad = (what: string, v: number, lo: number, hi: number) => (!Number.isInteger(v) || v < lo || v > hi ? `${what} must be an integer from ${lo} to ${hi}, got ${String(v)}` : null);
  const problem = bad('n', n, 2, 4096) ?? bad('d', d, 1, 4096) ?? bad('depth', L, 1, 1000);
  if (problem) {
    status.textContent = `Error: ${problem}`;
    return;
  }
  let arch: Arch;
  try {
    arch = mode === 'custom' && customSpec ? customSpec : presetRef({ ...controls(), depth: L });
  } catch (e) {
    status.textContent = `Error: ${e instanceof Error ? e.message : String(e)}`;
    return;
  }
  btn.disabled = true;
  status.textContent = `Running ${archLabel(arch)} on ${n} × ${d} inputs…`;
  document.body.dataset.benchBusy = 'true';
  try {
    const r = await runBench(arch, n, d, gpuAvailable);
    setText('bench-gpu-ms', r.gpuMs === null ? 'no WebGPU' : fmtMs(r.gpuMs));
    setText('bench-gpu-rate', fmtRate(r.gpuRate));
    setText('bench-cpu-ms', fmtMs(r.cpuMs));
    setText('bench-cpu-rate', fmtRate(r.cpuRate));
    setText('bench-ratio', r.gpuRate === null ? '–' : `${(r.gpuRate / r.cpuRate).toPrecision(3)} ×`);
    setText('bench-maxrel', r.maxRelDiff === null ? '–' : r.maxRelDiff.toExponential(2));
    $('bench-maxrel').dataset.value = r.maxRelDiff === null ? '' : String(r.maxRelDiff);
    status.textContent = `Done: ${archLabel(arch)}, n = ${r.n}, d = ${r.d}, ${r.layers} layers${r.adapter ? `; GPU: ${r.adapter}` : ''}.`;
    document.body.dataset.benchRuns = String(Number(document.body.dataset.benchRuns ?? 0) + 1);
  } catch (e) {
    status.textContent = `Error: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    btn.disabled = false;
    delete document.body.dataset.benchBusy;
  }
}

// ---- start ----

async function start(): Promise<void> {
  fillPresets();
  syncPresetControls();
  el.spec.value = presetJson(controls());
  void prefetchFashion().catch(() => undefined);

  el.preset.addEventListener('change', presetChanged);
  for (const s of [el.depth, el.alpha, el.gamma]) s.addEventListener('input', sliderMoved);
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name="alpha-mode"]')) r.addEventListener('change', sliderMoved);
  let specTimer: ReturnType<typeof setTimeout> | null = null;
  el.spec.addEventListener('input', () => {
    if (specTimer) clearTimeout(specTimer);
    specTimer = setTimeout(specEdited, 300);
  });
  el.dataset.addEventListener('change', () => schedule(0));
  el.circleN.addEventListener('change', () => {
    el.dataset.value = 'circle';
    schedule(0);
  });
  el.backend.addEventListener('change', () => schedule(0));
  el.cancel.addEventListener('click', () => running?.abort(new DOMException('cancelled by the user', 'AbortError')));
  el.dlNngp.addEventListener('click', () => download('nngp'));
  el.dlNtk.addEventListener('click', () => download('ntk'));
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name="heat-kind"]')) r.addEventListener('change', () => void drawHeatmap());
  $('bench-run').addEventListener('click', () => void bench());
  el.file.addEventListener('change', async () => {
    const f = el.file.files?.[0];
    if (!f) return;
    el.uploadError.textContent = '';
    try {
      uploaded = await fromFile(f);
      const opt = el.dataset.querySelector<HTMLOptionElement>('option[value="upload"]')!;
      opt.disabled = false;
      opt.textContent = `Uploaded: ${f.name} (${uploaded.x.rows} × ${uploaded.x.cols})`;
      el.dataset.value = 'upload';
      schedule(0);
    } catch (e) {
      el.uploadError.textContent = e instanceof Error ? e.message : String(e);
    }
  });

  try {
    const ctx = await getGpu();
    if (ctx) {
      gpuAvailable = true;
      adapterText = describeAdapter(ctx.adapter);
    }
  } catch (e) {
    adapterText = `WebGPU failed to start: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (!gpuAvailable) {
    el.banner.hidden = false;
    el.backend.value = 'cpu';
    el.backend.querySelector<HTMLOptionElement>('option[value="webgpu"]')!.disabled = true;
    el.adapter.textContent = adapterText || 'none: no WebGPU in this browser, computing on the CPU (float64)';
  } else {
    el.adapter.textContent = adapterText;
  }
  await compute();
}

void start();
