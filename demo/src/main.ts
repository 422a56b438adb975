/**
 * The page: controls → one computation at a time (a new one cancels the running one) → plots,
 * numbers, downloads; the streamed Gram of a large upload (its own progress and Cancel); the
 * benchmark panel. Test hooks: body[data-ready="true"] after the first computation,
 * body[data-computations] counts finished computations, body[data-streams] finished streamed
 * files, and the hidden <output data-testid="result-json"> holds the computed values. The URL
 * parameter `stream-threshold=<rows>` lowers the row count above which uploads are streamed
 * (default STREAM_THRESHOLD_ROWS = 4096), so that tests can exercise that path on small files.
 */
import { describeAdapter, getGpu, PRESETS, program, resolveSpec, conditionFromEigenvalues, type Arch, type Backend, type KernelKind, type ResolvedSpec } from '../../src/index.js';
import { encodeNpy } from '../../src/io/npy.js';
import {
  applyKnob,
  archLabel,
  checkSpecText,
  depthToStop,
  fixResidualScale,
  DEPTH_STOPS,
  MAX_DEPTH,
  presetCaps,
  presetJson,
  presetRef,
  specKnobs,
  sweepDepths,
  type AlphaMode,
  type Controls,
  type Knob,
} from './arch.js';
import { runBench } from './bench.js';
import {
  bandRowsFor,
  conditioning,
  gram,
  profile,
  spectrum,
  streamGramNpy,
  unitDiagonal,
  CONDITIONING_MAX_N,
  SPECTRUM_MAX_N,
  STREAM_THRESHOLD_ROWS,
  type GramOut,
} from './compute.js';
import { circle, fashion, fromFile, prefetchFashion, type Dataset } from './datasets.js';
import { clearPlot, heatmap, linePlot } from './plots.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing element #${id}`);
  return el as T;
};

const el = {
  preset: $<HTMLSelectElement>('preset'),
  presetTitle: $('preset-title'),
  depthSlider: $<HTMLInputElement>('depth-slider'),
  depth: $<HTMLInputElement>('depth'),
  depthOut: $<HTMLOutputElement>('depth-out'),
  depthError: $('depth-error'),
  alpha: $<HTMLInputElement>('alpha'),
  alphaOut: $<HTMLOutputElement>('alpha-out'),
  gamma: $<HTMLInputElement>('gamma'),
  gammaOut: $<HTMLOutputElement>('gamma-out'),
  modeSet: $<HTMLFieldSetElement>('alpha-mode-set'),
  alphaNote: $('alpha-note'),
  customNote: $('custom-note'),
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
  streamPanel: $('stream-panel'),
  streamInfo: $('stream-info'),
  streamKind: $<HTMLSelectElement>('stream-kind'),
  streamProgress: $<HTMLProgressElement>('stream-progress'),
  streamCancel: $<HTMLButtonElement>('stream-cancel'),
  streamRun: $<HTMLButtonElement>('stream-run'),
  streamStatus: $('stream-status'),
  heatTitle: $('t-heatmap'),
  heatNormalize: $<HTMLInputElement>('heat-normalize'),
  adapter: $('adapter'),
  banner: $('no-webgpu'),
  resultJson: $<HTMLOutputElement>('result-json'),
};

/** Uploads with more rows than this are streamed to a file (URL parameter stream-threshold, for tests). */
const streamThreshold = (() => {
  const v = Number(new URLSearchParams(location.search).get('stream-threshold'));
  return Number.isInteger(v) && v >= 2 ? v : STREAM_THRESHOLD_ROWS;
})();

/** Rows of a large upload that the page's own plots and numbers use. */
const PREVIEW_ROWS = 400;

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
/** "preset": the preset menu and the sliders define the network; "custom": the edited JSON spec does (the sliders edit it). */
let mode: 'preset' | 'custom' = 'preset';
/** The custom spec as written (JSON value) and resolved. */
let customRaw: unknown = null;
let customSpec: ResolvedSpec | null = null;
let uploaded: Dataset | null = null;
let last: { gram: GramOut; arch: Arch; dataset: Dataset; rows: number } | null = null;
let running: AbortController | null = null;
let streaming: AbortController | null = null;
let generation = 0;
let computations = 0;
let lastPreset = 'mlp';

function alphaMode(): AlphaMode {
  return (document.querySelector<HTMLInputElement>('input[name="alpha-mode"]:checked')?.value ?? 'gamma') as AlphaMode;
}

function controls(): Controls {
  return {
    preset: el.preset.value === 'custom' ? lastPreset : el.preset.value,
    depth: Number(el.depth.value),
    alpha: Number(el.alpha.value),
    gamma: Number(el.gamma.value),
    alphaMode: alphaMode(),
  };
}

function currentArch(): Arch {
  return mode === 'custom' && customSpec ? customSpec : presetRef(controls());
}

/** The current network with depth D (custom spec: its depth loop set to D; unchanged without one). */
function archAtDepth(D: number): Arch {
  if (mode === 'custom' && customSpec) return resolveSpec(applyKnob(customRaw, { depth: D }));
  return presetRef({ ...controls(), depth: D });
}

/**
 * Entry t of the current network's depth sweep, as a network of its own: the spec truncated to t
 * (its depth loop set to t) with α = alpha0·L^(−γ) fixed at the full network's value. All entries
 * share one GPU pipeline (the shader holds the structure only; α, the loop count and every other
 * number travel in a buffer).
 */
function sweepEntries(): (t: number) => Arch {
  const raw = mode === 'custom' && customSpec ? customRaw : (JSON.parse(presetJson(controls())) as unknown);
  const fixed = fixResidualScale(raw, program(resolveSpec(raw)).residualBlocks);
  return (t) => resolveSpec(applyKnob(fixed, { depth: t }));
}

/** Depth of the current network: the depth control, or the custom spec's own (null: it has no depth loop). */
function currentDepth(): number | null {
  if (mode === 'custom' && customSpec) return specKnobs(customRaw).depth;
  return controls().depth;
}

function firstRows(x: Dataset['x'], m: number): Dataset['x'] {
  return m >= x.rows ? x : { data: x.data.subarray(0, m * x.cols), rows: m, cols: x.cols };
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

/** Shows depth D on the slider (nearest stop), the number field and the output. */
function showDepth(D: number): void {
  el.depth.value = String(D);
  el.depthSlider.value = String(depthToStop(D));
  el.depthSlider.setAttribute('aria-valuetext', `depth ${D}`);
  el.depthOut.value = String(D);
  el.depthError.textContent = '';
}

function showSliderValues(): void {
  el.alphaOut.value = el.alpha.value;
  el.gammaOut.value = el.gamma.value;
}

/** Preset mode: enables the α/γ controls the preset has, and explains the others. */
function syncPresetControls(): void {
  const caps = presetCaps(controls().preset);
  el.presetTitle.textContent = `${caps.preset.title}. ${caps.preset.citation}.`;
  const m = alphaMode();
  el.depthSlider.disabled = false;
  el.depth.disabled = false;
  el.modeSet.disabled = !caps.either;
  el.alpha.disabled = !(caps.either ? m === 'alpha' : caps.alpha);
  el.gamma.disabled = !(caps.either ? m === 'gamma' : caps.gamma);
  el.alphaNote.textContent = !caps.alpha && !caps.gamma
    ? `${caps.preset.name} has no residual scale: α and γ do not apply.`
    : caps.either
      ? 'This preset takes either a constant α or α = L^(−γ).'
      : caps.alpha
        ? `${caps.preset.name} takes a constant α only.`
        : `${caps.preset.name} takes γ only.`;
  el.customNote.hidden = true;
  el.customNote.textContent = '';
  showSliderValues();
}

/** Custom mode: the sliders show the spec's values and act where the spec has the fields; the note says what they do. */
function syncCustomControls(): void {
  const k = specKnobs(customRaw);
  el.presetTitle.textContent = 'Custom spec (the edited JSON below).';
  const m = alphaMode();
  el.depthSlider.disabled = !k.loop;
  el.depth.disabled = !k.loop;
  el.modeSet.disabled = k.residuals === 0;
  el.alpha.disabled = k.residuals === 0 || m !== 'alpha';
  el.gamma.disabled = k.residuals === 0 || m !== 'gamma';
  el.alphaNote.textContent = k.residuals === 0 ? 'This spec has no residual layer: α and γ do not apply.' : '';
  const where = k.loop ? `layers[${k.loop.index}]` : '';
  const depthPart = k.loop
    ? `depth L sets the ${k.loop.type === 'repeat' ? 'count' : 'depth'} of its depth loop (${where}, a ${k.loop.type}) so that its depth sweep ends at L`
    : 'depth does not apply (it has no depth loop: no top-level repeat or denseBlock)';
  const alphaPart = k.residuals > 0
    ? `${m === 'alpha' ? 'α sets' : 'γ sets α = alpha0·L^(−γ) in'} its ${k.residuals === 1 ? 'residual layer' : `${k.residuals} residual layers`}`
    : 'α and γ do not apply (no residual layer)';
  el.customNote.textContent = `Custom spec active: the sliders edit it in place — ${depthPart}; ${alphaPart}. Everything else you wrote stays. Choose a preset to replace it.`;
  el.customNote.hidden = false;
  showSliderValues();
}

/** The sliders take the custom spec's values (depth from its loop, α or γ from its first residual layer). */
function slidersFromSpec(): void {
  const k = specKnobs(customRaw);
  if (k.depth !== null) showDepth(Math.max(1, Math.min(MAX_DEPTH, k.depth)));
  if (k.alphaMode) {
    const r = document.querySelector<HTMLInputElement>(`input[name="alpha-mode"][value="${k.alphaMode}"]`);
    if (r) r.checked = true;
  }
  if (k.alpha !== null) el.alpha.value = String(k.alpha);
  if (k.gamma !== null) el.gamma.value = String(k.gamma);
}

function setSpecError(text: string): void {
  el.specError.textContent = text;
  if (text) el.spec.setAttribute('aria-invalid', 'true');
  else el.spec.removeAttribute('aria-invalid');
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
  setSpecError('');
  schedule();
}

let specTimer: ReturnType<typeof setTimeout> | null = null;

/**
 * A slider (or the exact depth, or the α/γ choice) moved: rewrite the preset's spec, or edit the
 * custom spec in place. A spec edit still waiting for its check is taken first (so it becomes the
 * custom spec the slider edits); while the text is not a valid spec nothing is rewritten.
 */
function knobMoved(which: 'depth' | 'alpha' | 'gamma'): void {
  if (specTimer) {
    clearTimeout(specTimer);
    specTimer = null;
    specEdited();
  }
  const check = checkSpecText(el.spec.value);
  if (!check.ok) {
    showSliderValues();
    setSpecError(`${check.path}: ${check.message} — the ${which === 'depth' ? 'depth' : which === 'alpha' ? 'α' : 'γ'} change was not applied: fix the spec, or choose a preset to replace it.`);
    return;
  }
  if (mode === 'preset') {
    syncPresetControls();
    try {
      el.spec.value = presetJson(controls());
      setSpecError('');
    } catch (e) {
      setSpecError(e instanceof Error ? e.message : String(e));
    }
    schedule();
    return;
  }
  const knob: Knob = which === 'depth' ? { depth: controls().depth } : which === 'alpha' ? { alpha: controls().alpha } : { gamma: controls().gamma };
  const raw = applyKnob(JSON.parse(el.spec.value) as unknown, knob);
  const text = JSON.stringify(raw, null, 2);
  const c = checkSpecText(text);
  if (!c.ok) {
    setSpecError(`${c.path}: ${c.message} (after applying the slider)`);
    return;
  }
  el.spec.value = text;
  customRaw = raw;
  customSpec = c.spec;
  setSpecError('');
  syncCustomControls();
  schedule();
}

function depthTyped(): void {
  const v = Number(el.depth.value);
  if (!Number.isInteger(v) || v < 1 || v > MAX_DEPTH) {
    el.depthError.textContent = `Depth: give an integer from 1 to ${MAX_DEPTH}, got "${el.depth.value}".`;
    return;
  }
  showDepth(v);
  knobMoved('depth');
}

function specEdited(): void {
  const r = checkSpecText(el.spec.value);
  if (!r.ok) {
    setSpecError(`${r.path}: ${r.message}`);
    return; // keep showing the last valid result
  }
  setSpecError('');
  let same = false;
  try {
    same = el.spec.value.trim() === presetJson(controls()).trim();
  } catch {
    same = false;
  }
  if (!same || mode === 'custom') {
    mode = 'custom';
    customRaw = JSON.parse(el.spec.value) as unknown;
    customSpec = r.spec;
    el.preset.value = 'custom';
    slidersFromSpec();
    syncCustomControls();
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

function fmtBytes(b: number): string {
  const units: [number, string][] = [[2 ** 40, 'TiB'], [2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB']];
  for (const [u, s] of units) if (b >= u) return `${(b / u).toFixed(1)} ${s}`;
  return `${b} bytes`;
}

/** Shows or hides the large-upload panel for this data set. */
function syncStreamPanel(ds: Dataset, backend: Backend): void {
  const n = ds.x.rows;
  const large = n > streamThreshold;
  el.streamPanel.hidden = !large && !streaming; // a running stream keeps its progress and Cancel in view
  if (!large) return;
  const B = Math.min(n, bandRowsFor(n, backend));
  el.streamInfo.textContent =
    `${ds.label}: more than the ${streamThreshold} rows this page holds as a Gram in memory, so the numbers and plots above use the first ${Math.min(n, PREVIEW_ROWS)} rows. ` +
    `The full ${n} × ${n} Gram is computed here block by block on ${backend === 'webgpu' ? 'WebGPU' : 'the CPU'}, never held or plotted: ` +
    `bands of ${B} rows (${fmtBytes(B * n * 8)} at a time) are appended to a float64 .npy file of ${fmtBytes(n * n * 8 + 128)}, which is downloaded at the end.`;
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
    const L = currentDepth();
    setStatus('Loading the data…');
    const ds = await currentDataset();
    if (stale()) return;
    el.datasetLabel.textContent = ds.label;
    syncStreamPanel(ds, backend);
    const N = ds.x.rows;
    const large = N > streamThreshold;
    const x = large ? firstRows(ds.x, PREVIEW_ROWS) : ds.x;
    setStatus(`Computing the ${x.rows} × ${x.rows} Gram matrices on ${backend === 'webgpu' ? 'WebGPU' : 'the CPU'}…`);
    const g = await gram(arch, x, backend, ctl.signal, (f) => {
      if (!stale()) el.progress.value = f;
    });
    if (stale()) return;
    last = { gram: g, arch, dataset: ds, rows: N };
    el.dlNngp.disabled = large;
    el.dlNtk.disabled = large;
    setText('arch-label', archLabel(arch));
    setText('data-shape', `${ds.label} — n = ${N}, d = ${ds.x.cols}${large ? ` (numbers and plots: the first ${x.rows} rows; the full Gram: "Compute and download")` : ''}`);
    setText('computed-on', g.backend === 'webgpu' ? `WebGPU (float32): ${adapterText}` : 'CPU (float64 reference)');
    const n = g.n;
    setText('nngp-00', fmt(g.nngp[0]));
    setText('ntk-00', fmt(g.ntk[0]));
    setText('nngp-01', fmt(g.nngp[1]));
    setText('ntk-01', fmt(g.ntk[1]));
    await drawHeatmap();
    setStatus('Computing the profile and the spectrum…');
    const prof = await profile(arch, g.backend);
    if (stale()) return;
    const profNote = await linePlot($('plot-profile'), {
      title: 'Normalised kernel against the angle',
      panels: [{ title: 'Normalised kernel against the angle', x: { title: 'θ (radians)' }, y: { title: 'K(θ)/K(0)' }, series: [{ name: 'NNGP', x: prof.angles, y: prof.nngp }, { name: 'NTK', x: prof.angles, y: prof.ntk }] }],
      width: 320,
      height: 220,
    });
    setText('profile-caption', `K(x, z(θ))/K(x, x) for unit inputs at angle θ (kernelProfile, d = 2).${profNote ? ` ${profNote}.` : ''}`);
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
    const specNote = await linePlot($('plot-spectrum'), {
      title: 'Eigenvalue spectrum',
      panels: [{ title: 'Eigenvalue spectrum', x: { title: 'index k', scale: 'log' }, y: { title: 'λk', scale: 'log' }, series: [{ name: 'NNGP', x: idx, y: Array.from(spec.nngp), mark: 'line+points' }, { name: 'NTK', x: idx, y: Array.from(spec.ntk), mark: 'line+points' }] }],
      width: 320,
      height: 220,
    });
    setText('spectrum-caption', `All ${spec.m} eigenvalues of each Gram, descending, on log–log axes${g.backend === 'webgpu' ? ' (float32 Gram entries: eigenvalues below about n·1.2e−7·λmax are rounding noise; the CPU backend resolves them)' : ''}${spec.m < n ? ` (the leading ${spec.m} × ${spec.m} block: n = ${n} is above the page's ${SPECTRUM_MAX_N} for a dense eigen-solve)` : ''}; values ≤ 0 cannot be drawn.${specNote ? ` ${specNote}.` : ''}`);
    if (stale()) return;
    let condJson: { depths: number[]; nngp: string[]; ntk: string[]; m: number } | null = null;
    let condMs = 0;
    if (L === null) {
      clearPlot($('plot-conditioning'));
      setText('conditioning-caption', 'This spec has no depth loop (no top-level repeat or denseBlock): there is no depth to vary.');
    } else {
      const first = mode === 'custom' ? Math.max(1, specKnobs(customRaw).minDepth) : Math.max(1, specKnobs(JSON.parse(presetJson(controls()))).minDepth);
      const depths = sweepDepths(L, first);
      const cond = await conditioning(sweepEntries(), depths, x, g.backend, ctl.signal, (k, t) => {
        if (!stale()) setStatus(`Computing κ against depth: ${k} of ${t} depths (up to L = ${L})…`);
      });
      if (stale()) return;
      condMs = cond.ms;
      const logX = L > 20;
      const condNote = await linePlot($('plot-conditioning'), {
        title: 'Condition number against depth',
        panels: [{ title: 'Condition number against depth', x: { title: 'depth t (sweep entry)', scale: logX ? 'log' : 'linear' }, y: { title: 'κ = λmax/λmin', scale: 'log' }, series: [{ name: 'NNGP', x: cond.depths, y: cond.nngp, mark: 'line+points' }, { name: 'NTK', x: cond.depths, y: cond.ntk, mark: 'line+points' }] }],
        width: 320,
        height: 220,
      }, { integerX: !logX });
      const notDrawn = (ks: number[]) => cond.depths.filter((_, i) => !(Number.isFinite(ks[i]!) && ks[i]! > 0));
      const gaps = (['nngp', 'ntk'] as const)
        .map((k) => [k, notDrawn(cond[k])] as const)
        .filter(([, ds]) => ds.length > 0)
        .map(([k, ds]) => ` ${k.toUpperCase()}: κ = ∞ (λmin ≤ 0: a singular Gram, e.g. rank-deficient at small depth or a zero kernel) at depth${ds.length > 1 ? 's' : ''} ${ds.join(', ')}, not drawn.`)
        .join('');
      const fixedAlpha = specKnobs(mode === 'custom' ? customRaw : JSON.parse(presetJson(controls()))).gamma !== null;
      setText(
        'conditioning-caption',
        `κ of the raw Grams of ${cond.m === x.rows ? 'all' : `the first ${cond.m} of the`} ${N} inputs at ${cond.depths.length} ${logX ? 'log-spaced depths' : 'depths'} t from ${cond.depths[0]} to L = ${L} of the network's depth sweep:` +
          ` entry t is the network cut to its first t ${mode === 'custom' ? 'iterations of its depth loop' : 'layers/blocks'}${fixedAlpha ? ', with α = L^(−γ) kept at its depth-L value' : ''}` +
          ` (one Gram per depth${cond.m < x.rows ? `, at most ${CONDITIONING_MAX_N} points` : ''}).` +
          `${g.backend === 'webgpu' ? ` On WebGPU (float32) a κ above about ${fmt(1 / (cond.m * 2 ** -23), 2)} is at the rounding-noise level; the CPU backend resolves it.` : ''}${gaps}${condNote ? ` ${condNote}.` : ''}`,
      );
      condJson = { depths: cond.depths, nngp: cond.nngp.map(String), ntk: cond.ntk.map(String), m: cond.m };
    }
    setText('timings', `Gram ${fmtMs(g.ms)} (${g.backend}), profile ${fmtMs(prof.ms)}, spectrum ${fmtMs(spec.ms)}, κ vs depth ${fmtMs(condMs)}`);
    computations++;
    el.resultJson.value = JSON.stringify({
      computation: computations,
      arch: typeof arch === 'string' ? arch : null,
      spec: typeof arch === 'string' ? null : arch,
      dataset: ds.id,
      n: N,
      d: ds.x.cols,
      /** Rows of the Gram the page holds (= n, or the first PREVIEW_ROWS of a large upload). */
      gramRows: n,
      large,
      backend: g.backend,
      adapter: g.backend === 'webgpu' ? adapterText : null,
      gramMs: g.ms,
      // The full Grams for small sets (the test compares them with the CPU reference).
      nngp: n <= 200 ? Array.from(g.nngp) : null,
      ntk: n <= 200 ? Array.from(g.ntk) : null,
      profile: { angles: prof.angles, nngp: prof.nngp, ntk: prof.ntk },
      lambdaMax: { nngp: summaries.nngp.lambdaMax, ntk: summaries.ntk.lambdaMax },
      conditioning: condJson,
    });
    document.body.dataset.computations = String(computations);
    document.body.dataset.ready = 'true';
    setStatus(`Done: ${n} × ${n} Grams on ${g.backend === 'webgpu' ? 'WebGPU' : 'the CPU'} in ${fmtMs(g.ms)}${large ? ` (the first ${n} of ${N} rows)` : ''}.`);
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
  const kind = (document.querySelector<HTMLInputElement>('input[name="heat-kind"]:checked')?.value ?? 'ntk') as KernelKind;
  const normalized = el.heatNormalize.checked;
  const n = last.gram.n;
  const raw = last.gram[kind];
  const u = normalized ? unitDiagonal(raw, n) : null;
  const title = `${kind.toUpperCase()} Gram matrix${normalized ? ', normalised to unit diagonal' : ''}${n < last.rows ? ` (first ${n} of ${last.rows} inputs)` : ''}`;
  el.heatTitle.textContent = title;
  const plot = $('plot-heatmap');
  plot.dataset.kind = kind;
  plot.dataset.normalized = String(normalized);
  const caption = await heatmap(plot, u ? u.G : raw, n, title, normalized ? 'K(xᵢ, xⱼ)/√(K(xᵢ, xᵢ)K(xⱼ, xⱼ))' : 'K(xᵢ, xⱼ)', 320);
  const classes = last.dataset.classes ? ' Rows and columns are sorted by class (10 blocks of 10 images).' : '';
  const norm = normalized
    ? ` Each entry divided by √(K(xᵢ, xᵢ)K(xⱼ, xⱼ)), so the colours show the angle-like similarity rather than the input norms${u!.zeroDiagonal ? ` (${u!.zeroDiagonal} rows with K(xᵢ, xᵢ) ≤ 0 are drawn as 0)` : ''}.`
    : ' Raw entries: for inputs of different norms the colours mostly show the norms; tick "normalised to unit diagonal" to see the similarity.';
  setText('heatmap-caption', caption + norm + classes);
}

function saveFile(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function download(kind: KernelKind): void {
  if (!last || last.gram.n < last.rows) return;
  const n = last.gram.n;
  const bytes = encodeNpy(last.gram[kind], [n, n], 'float64');
  saveFile(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }), `webntk-${kind}-${n}x${n}.npy`);
}

// ---- the full Gram of a large upload, streamed to a file ----

async function streamLarge(): Promise<void> {
  if (!uploaded || streaming) return;
  const ds = uploaded;
  const n = ds.x.rows;
  const kind = el.streamKind.value as KernelKind;
  const backend: Backend = el.backend.value === 'webgpu' && gpuAvailable ? 'webgpu' : 'cpu';
  let arch: Arch;
  try {
    arch = currentArch();
  } catch (e) {
    el.streamStatus.textContent = `Error: ${e instanceof Error ? e.message : String(e)}`;
    return;
  }
  const ctl = new AbortController();
  streaming = ctl;
  el.streamRun.disabled = true;
  el.streamCancel.disabled = false;
  el.streamProgress.value = 0;
  document.body.dataset.streaming = 'true';
  const name = `webntk-${kind}-${n}x${n}.npy`;
  try {
    const r = await streamGramNpy(arch, ds.x, kind, backend, ctl.signal, (f, b) => {
      el.streamProgress.value = f;
      el.streamStatus.textContent = `Computing ${name}: band ${b.index + 1} of ${b.bands} (rows ${b.row0}–${b.row0 + b.rows - 1}), ${(100 * f).toFixed(1)} %…`;
    });
    el.streamProgress.value = 1;
    saveFile(r.file, name);
    el.streamStatus.textContent = `Done: ${name} (${fmtBytes(r.file.size)}, ${archLabel(arch)}) in ${fmtMs(r.ms)} on ${r.backend === 'webgpu' ? 'WebGPU' : 'the CPU'}, ${Math.ceil(n / r.bandRows)} bands of ${Math.min(n, r.bandRows)} rows.`;
    document.body.dataset.streams = String(Number(document.body.dataset.streams ?? 0) + 1);
  } catch (e) {
    if (ctl.signal.aborted || (e instanceof DOMException && e.name === 'AbortError')) {
      el.streamStatus.textContent = 'Cancelled: no file was written.';
    } else {
      el.streamStatus.textContent = `Error: ${e instanceof Error ? e.message : String(e)}`;
      console.error(e);
    }
  } finally {
    streaming = null;
    if (!(last && last.rows > streamThreshold)) el.streamPanel.hidden = true; // the data set changed meanwhile
    el.streamRun.disabled = false;
    el.streamCancel.disabled = true;
    delete document.body.dataset.streaming;
  }
}

// ---- benchmark ----

async function bench(): Promise<void> {
  const btn = $<HTMLButtonElement>('bench-run');
  const status = $('bench-status');
  const n = Number($<HTMLInputElement>('bench-n').value);
  const d = Number($<HTMLInputElement>('bench-d').value);
  const L = Number($<HTMLInputElement>('bench-depth').value);
  const bad = (what: string, v: number, lo: number, hi: number) => (!Number.isInteger(v) || v < lo || v > hi ? `${what} must be an integer from ${lo} to ${hi}, got ${String(v)}` : null);
  const problem = bad('n', n, 2, 4096) ?? bad('d', d, 1, 4096) ?? bad('depth', L, 1, MAX_DEPTH);
  if (problem) {
    status.textContent = `Error: ${problem}`;
    return;
  }
  let arch: Arch;
  try {
    arch = archAtDepth(L);
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
  el.depthSlider.max = String(DEPTH_STOPS.length - 1);
  showDepth(Number(el.depth.value) || 10);
  for (const t of document.querySelectorAll('.stream-threshold')) t.textContent = String(streamThreshold);
  syncPresetControls();
  el.spec.value = presetJson(controls());
  void prefetchFashion().catch(() => undefined);

  el.preset.addEventListener('change', presetChanged);
  el.depthSlider.addEventListener('input', () => {
    showDepth(DEPTH_STOPS[Number(el.depthSlider.value)] ?? 1);
    knobMoved('depth');
  });
  el.depth.addEventListener('input', depthTyped);
  el.alpha.addEventListener('input', () => knobMoved('alpha'));
  el.gamma.addEventListener('input', () => knobMoved('gamma'));
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name="alpha-mode"]')) r.addEventListener('change', () => knobMoved(alphaMode()));
  el.spec.addEventListener('input', () => {
    if (specTimer) clearTimeout(specTimer);
    specTimer = setTimeout(() => {
      specTimer = null;
      specEdited();
    }, 300);
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
  el.streamRun.addEventListener('click', () => void streamLarge());
  el.streamCancel.addEventListener('click', () => streaming?.abort(new DOMException('cancelled by the user', 'AbortError')));
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name="heat-kind"]')) r.addEventListener('change', () => void drawHeatmap());
  el.heatNormalize.addEventListener('change', () => void drawHeatmap());
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
      el.streamStatus.textContent = '';
      el.streamProgress.value = 0;
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
