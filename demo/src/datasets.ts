/**
 * Inputs: points on the unit circle (generated), a class-sorted slice of the repository's
 * Fashion-MNIST test subset (shipped with the site as an asset, fetched once at start-up so the page
 * works offline afterwards), or a user's .npy / CSV file.
 */
import { parseDelimited } from '../../src/io/csv.js';
import { parseNpy } from '../../src/io/npy.js';
import type { Matrix2D } from '../../src/index.js';
import fashionImagesUrl from '../../data/fashion-test-images.npy?url';
import fashionLabelsUrl from '../../data/fashion-test-labels.npy?url';

export interface Dataset {
  id: string;
  label: string;
  x: Matrix2D;
  /** Class of each row, where known (drawn as ticks along the heatmap). */
  classes?: number[];
}

/**
 * Largest number of rows accepted from a file. Up to STREAM_THRESHOLD_ROWS (compute.ts) the page
 * holds both Grams; above it the Gram is streamed to a .npy file of n²·8 bytes (34 GiB at this cap),
 * which the browser's blob store must be able to hold.
 */
export const MAX_UPLOAD_ROWS = 65_536;

/** n points on the unit circle, x_i = (cos 2πi/n, sin 2πi/n). */
export function circle(n: number): Dataset {
  const data = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    data[2 * i] = Math.cos((2 * Math.PI * i) / n);
    data[2 * i + 1] = Math.sin((2 * Math.PI * i) / n);
  }
  return { id: 'circle', label: `${n} points on the unit circle (d = 2)`, x: { data, rows: n, cols: 2 } };
}

const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

let fashionBytes: Promise<[ArrayBuffer, ArrayBuffer]> | null = null;

/** Starts downloading the Fashion-MNIST asset (call at start-up so that the page works offline later). */
export function prefetchFashion(): Promise<[ArrayBuffer, ArrayBuffer]> {
  const get = async (url: string) => {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`could not load ${url}: HTTP ${r.status}`);
    return r.arrayBuffer();
  };
  fashionBytes ??= Promise.all([get(fashionImagesUrl), get(fashionLabelsUrl)]);
  fashionBytes.catch(() => (fashionBytes = null));
  return fashionBytes;
}

/** The first `perClass` test images of each class, sorted by class, pixels scaled to [0, 1]. */
export async function fashion(perClass = 10): Promise<Dataset> {
  const [img, lab] = await prefetchFashion();
  const images = parseNpy(img, 'fashion-test-images.npy');
  const labels = parseNpy(lab, 'fashion-test-labels.npy');
  const d = images.shape[1]!;
  const rows: number[] = [];
  for (let c = 0; c < 10; c++) {
    let taken = 0;
    for (let i = 0; i < labels.data.length && taken < perClass; i++) {
      if (labels.data[i] === c) {
        rows.push(i);
        taken++;
      }
    }
  }
  const data = new Float64Array(rows.length * d);
  rows.forEach((r, k) => {
    for (let j = 0; j < d; j++) data[k * d + j] = images.data[r * d + j]! / 255;
  });
  return {
    id: 'fashion',
    label: `Fashion-MNIST: ${perClass} test images of each of the 10 classes (d = ${d}, pixels in [0, 1])`,
    x: { data, rows: rows.length, cols: d },
    classes: rows.map((r) => labels.data[r]!),
  };
}

export { FASHION_CLASSES };

/** Reads an uploaded .npy (1-D: one column; 2-D: rows are inputs) or delimited text file. */
export async function fromFile(file: File): Promise<Dataset> {
  const name = file.name;
  let x: Matrix2D;
  if (/\.npy$/i.test(name)) {
    const a = parseNpy(await file.arrayBuffer(), name);
    if (a.shape.length === 1) x = { data: a.data, rows: a.shape[0]!, cols: 1 };
    else if (a.shape.length === 2) x = { data: a.data, rows: a.shape[0]!, cols: a.shape[1]! };
    else throw new Error(`${name}: expected a 1-D or 2-D array (rows are inputs), got shape (${a.shape.join(', ')})`);
  } else if (/\.(csv|tsv|tab|txt)$/i.test(name)) {
    const m = parseDelimited(await file.text(), name);
    x = { data: m.data, rows: m.rows, cols: m.cols };
  } else {
    throw new Error(`${name}: unsupported file type (use .npy, .csv, .tsv or .txt)`);
  }
  if (x.rows < 2) throw new Error(`${name}: need at least 2 rows (inputs), got ${x.rows}`);
  if (x.cols < 1) throw new Error(`${name}: the inputs have no columns`);
  if (x.rows > MAX_UPLOAD_ROWS) throw new Error(`${name}: ${x.rows} rows is more than this page handles (${MAX_UPLOAD_ROWS}: its Gram file would be ${((x.rows * x.rows * 8) / 2 ** 30).toFixed(0)} GiB); use the CLI (webntk gram) for larger sets`);
  for (let i = 0; i < x.data.length; i++) {
    if (!Number.isFinite(x.data[i]!)) {
      throw new Error(`${name}: entry (row ${Math.floor(i / x.cols)}, column ${i % x.cols}) is ${String(x.data[i])}; every value must be finite`);
    }
  }
  return { id: 'upload', label: `${name}: ${x.rows} inputs of dimension ${x.cols}`, x };
}
