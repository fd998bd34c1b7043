// The memory store: the engine's mirror is the whole truth; nothing touches disk.
export function openMemoryStore() {
  return {
    kind: 'memory',
    onClose: null,
    async loadAll() {
      return [];
    },
    async sync() {},
    async withWriteLock(fn) {
      return fn();
    },
    async persist() {},
    takeWarnings() {
      return [];
    },
    async close() {},
  };
}
