// Helpers shared by the durable stores.

/**
 * Collapse the batches of one call into one write per token: the final effect per record
 * id, the last metadata, a wipe if any batch wiped (a wipe drops the earlier batches'
 * record changes), and the generation after all of them.
 * → Map name → { expected, generation, wipe, meta (Uint8Array|undefined), changes: Map idHex → blob|null }
 */
export function collapse(pending) {
  const out = new Map();
  for (const b of pending) {
    let t = out.get(b.name);
    if (!t) {
      t = { expected: b.expected, generation: b.expected, wipe: false, meta: undefined, changes: new Map() };
      out.set(b.name, t);
    }
    t.generation += 1;
    if (b.wipe) {
      t.wipe = true;
      t.changes.clear();
    }
    for (const op of b.ops) {
      if (op.op === 'meta') t.meta = op.blob;
      else if (op.op === 'put') t.changes.set(op.id, op.blob);
      else if (op.op === 'delete') t.changes.set(op.id, null);
    }
  }
  return out;
}
