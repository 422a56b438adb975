#!/usr/bin/env python3
"""Builds the small, class-balanced Fashion-MNIST subset shipped in data/.

Reads the four IDX files of Fashion-MNIST (Zalando Research, MIT license), gzip-compressed or
not, and writes
    data/fashion-train-images.npy  uint8, (10 * TRAIN, 784)
    data/fashion-train-labels.npy  uint8, (10 * TRAIN,)
    data/fashion-test-images.npy   uint8, (10 * TEST, 784)
    data/fashion-test-labels.npy   uint8, (10 * TEST,)
The subset is deterministic: the first TRAIN images of each class in the training file and the
first TEST images of each class in the test file, kept in file order (classes interleave as in
the source). Pixels are the raw 0..255 bytes, rows are images (28 x 28, row-major).

Default source: Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist).
Plain Python (struct, gzip, hashlib); numpy is not needed.

Run (the files in data/ were made with exactly this):
    python3 scripts/make-fashion-subset.py
which is the same as
    python3 scripts/make-fashion-subset.py --source /usr/share/datasets/fashion-mnist --train 200 --test 100 --out data
"""
import argparse
import gzip
import hashlib
import os
import struct
import sys

DEFAULT_SOURCE = '/usr/share/datasets/fashion-mnist'
NUM_CLASSES = 10
FILES = {
    'train-images': 'train-images-idx3-ubyte',
    'train-labels': 'train-labels-idx1-ubyte',
    'test-images': 't10k-images-idx3-ubyte',
    'test-labels': 't10k-labels-idx1-ubyte',
}


def find(source, stem):
    """The IDX file for stem in source: stem.gz or stem (also the stem.idx3-ubyte spelling)."""
    alt = stem.replace('-idx', '.idx')
    for name in (stem + '.gz', stem, alt + '.gz', alt):
        path = os.path.join(source, name)
        if os.path.isfile(path):
            return path
    sys.exit(f'error: no {stem}[.gz] in {source}')


def read_idx(path):
    """Returns (raw file bytes, dims, payload bytes) of an unsigned-byte IDX file."""
    with open(path, 'rb') as f:
        raw = f.read()
    data = gzip.decompress(raw) if raw[:2] == b'\x1f\x8b' else raw
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        sys.exit(f'error: {path}: not an IDX file')
    if data[2] != 0x08:
        sys.exit(f'error: {path}: element type 0x{data[2]:02x}, expected 0x08 (unsigned byte)')
    ndim = data[3]
    dims = struct.unpack(f'>{ndim}I', data[4:4 + 4 * ndim])
    payload = data[4 + 4 * ndim:]
    count = 1
    for d in dims:
        count *= d
    if len(payload) != count:
        sys.exit(f'error: {path}: dims {dims} need {count} bytes, file has {len(payload)}')
    return raw, data, dims, payload


def npy_bytes(payload, shape):
    """A .npy v1.0 file of uint8 values in C order (header padded to 64 bytes, ending in '\\n')."""
    shape_text = '(' + ', '.join(str(d) for d in shape) + (',)' if len(shape) == 1 else ')')
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': %s, }" % shape_text
    pad = (-(10 + len(header) + 1)) % 64
    header = (header + ' ' * pad + '\n').encode('latin1')
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(header)) + header + bytes(payload)


def subset(split, source, per_class):
    images_path = find(source, FILES[split + '-images'])
    labels_path = find(source, FILES[split + '-labels'])
    provenance = []
    img_raw, img_data, img_dims, img = read_idx(images_path)
    lab_raw, lab_data, lab_dims, lab = read_idx(labels_path)
    for path, raw, data in ((images_path, img_raw, img_data), (labels_path, lab_raw, lab_data)):
        provenance.append((path, len(raw), hashlib.sha256(raw).hexdigest(), len(data), hashlib.sha256(data).hexdigest()))
    if len(img_dims) != 3 or len(lab_dims) != 1 or img_dims[0] != lab_dims[0]:
        sys.exit(f'error: {split}: image dims {img_dims} do not match label dims {lab_dims}')
    n, rows, cols = img_dims
    size = rows * cols
    taken = [0] * NUM_CLASSES
    keep = []
    for i in range(n):
        c = lab[i]
        if c >= NUM_CLASSES:
            sys.exit(f'error: {labels_path}: label {c} at index {i} is not in 0..{NUM_CLASSES - 1}')
        if taken[c] < per_class:
            taken[c] += 1
            keep.append(i)
            if len(keep) == per_class * NUM_CLASSES:
                break
    if any(t < per_class for t in taken):
        sys.exit(f'error: {split}: wanted {per_class} per class, found only {taken}')
    images = bytearray()
    for i in keep:
        images += img[i * size:(i + 1) * size]
    labels = bytes(lab[i] for i in keep)
    return provenance, keep, images, labels, size, taken


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--source', default=DEFAULT_SOURCE, help=f'folder with the four IDX files, .gz or not (default {DEFAULT_SOURCE})')
    ap.add_argument('--train', type=int, default=200, help='training images per class (default 200)')
    ap.add_argument('--test', type=int, default=100, help='test images per class (default 100)')
    ap.add_argument('--out', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data'),
                    help='output folder (default: the repository\'s data/)')
    args = ap.parse_args()
    if args.train < 1 or args.test < 1:
        sys.exit('error: --train and --test must be at least 1')
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)

    print(f'source: {os.path.abspath(args.source)}')
    # Build both splits before writing anything, so a failure leaves data/ as it was.
    splits = [(split, per_class, subset(split, args.source, per_class))
              for split, per_class in (('train', args.train), ('test', args.test))]
    for split, per_class, (provenance, keep, images, labels, size, taken) in splits:
        for path, nbytes, sha, dbytes, dsha in provenance:
            print(f'  {os.path.basename(path)}: {nbytes} bytes, sha256 {sha}'
                  + (f' (decompressed {dbytes} bytes, sha256 {dsha})' if dbytes != nbytes else ''))
    for split, per_class, (provenance, keep, images, labels, size, taken) in splits:
        n = len(keep)
        for kind, payload, shape in (('images', images, (n, size)), ('labels', labels, (n,))):
            path = os.path.join(out, f'fashion-{split}-{kind}.npy')
            blob = npy_bytes(payload, shape)
            with open(path, 'wb') as f:
                f.write(blob)
            print(f'wrote {os.path.relpath(path)}: uint8 {shape}, {len(blob)} bytes, sha256 {hashlib.sha256(blob).hexdigest()}')
        print(f'  {split}: {per_class} per class, source indices {keep[0]}..{keep[-1]}, class counts {taken}')

if __name__ == '__main__':
    main()
