import { describeStateStore } from '../testing/index.js';
import { memoryStore } from './memory.js';

describeStateStore('memoryStore', (clock) => memoryStore({ now: clock.now }));

describeStateStore('memoryStore restored from a JSON snapshot', (clock) => {
  // A store that went through persistence must behave exactly like a fresh one.
  const original = memoryStore({ now: clock.now });
  const restored = memoryStore({ now: clock.now });
  restored.restore(JSON.parse(JSON.stringify(original.snapshot())));
  return restored;
});
