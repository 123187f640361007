/**
 * The elementwise parts of the fused recurrent steps as WebAssembly SIMD
 * functions on the memory of TF.js's wasm backend, for `native_rnn.ts`:
 * tanh, σ and the LSTM and GRU gate math four units at a time (in
 * JavaScript they took about a third of an LSTM training step).
 *
 * The module is `_rnn_simd.wat` beside this file, compiled by wabt:
 * `wat2wasm packages/core/_rnn_simd.wat --output=- | base64 -w0`.
 *
 * @module
 */
import { moduleOn } from "./_wasm_module.ts";
import type { CellMath } from "./native_rnn.ts";

/** `_rnn_simd.wat`, compiled. */
export const RNN_WASM_BASE64 =
  "AGFzbQEAAAABNQZgAXsBe2ADf39/AGAFf39/f38AYAd/f39/f39/AGAJf39/f39/f39/AGAIf39/f39/f38AAg8BA2VudgZtZW1vcnkCAAEDDQwAAAAAAQIDBAICBQMHdwgKcm5uRm9yd2FyZAAEC3JubkJhY2t3YXJkAAULbHN0bUZvcndhcmQABgxsc3RtQmFja3dhcmQABwhncnVHYXRlcwAICWdydU91dHB1dAAJEWdydUJhY2t3YXJkT3V0cHV0AAoQZ3J1QmFja3dhcmRSZXNldAALCscPDOcCAQR7IAD9DE/4/MBP+PzAT/j8wE/4/MD96QH9DE/4/EBP+PxAT/j8QE/4/ED96AEhACAAIAD95gEhASABIAH95gEhAv0M3FmgO9xZoDvcWaA73FmgOyAB/QztDSc67Q0nOu0NJzrtDSc6/eYB/eQBIAL9DEpDeTdKQ3k3SkN5N0pDeTcgAf0MQQBcM0EAXDNBAFwzQQBcM/3mAf3kAf3mAf3kASACIAL95gH9DP83va7/N72u/ze9rv83va4gAf0MfjNhKn4zYSp+M2EqfjNhKv3mAf3kASAC/QzAJZ+lwCWfpcAln6XAJZ+l/eYB/eQB/eYB/eQBIQP9DN1ZoDvdWaA73VmgO91ZoDsgAf0MBaoUOwWqFDsFqhQ7BaoUO/3mAf3kASAC/QzWlfg41pX4ONaV+DjWlfg4IAH9DNjToDXY06A12NOgNdjToDX95gH95AH95gH95AEhBCAAIAP95gEgBP3nAQtFAP0MAAAAPwAAAD8AAAA/AAAAP/0MAAAAPwAAAD8AAAA/AAAAP/0MAAAAPwAAAD8AAAA/AAAAPyAA/eYBEAD95gH95AELHgD9DAAAgD8AAIA/AACAPwAAgD8gACAA/eYB/eUBCx4AIAD9DAAAgD8AAIA/AACAPwAAgD8gAP3lAf3mAQtHAgF/AXsgACACQQJ0aiEDAkADQCAAIANPDQEgAP0ABAAQACEEIAAgBP0LBAAgASAE/QsEACAAQRBqIQAgAUEQaiEBDAALCwtZAQF/IAAgBEECdGohBQJAA0AgACAFTw0BIAAgAv0ABAAgA/0ABAD95AEgAf0ABAAQAv3mAf0LBAAgAEEQaiEAIAFBEGohASACQRBqIQIgA0EQaiEDDAALCwuBAgIEfwZ7IAZBAnQhBwJAA0AgCCAFTg0BQQAhCQJAA0AgCSAHTg0BIAAgCWohCiAK/QAEABABIQsgCiAL/QsEACAKIAdqIQogCv0ABAAQASEMIAogDP0LBAAgCiAHaiEKIAr9AAQAEAEhDSAKIA39CwQAIAogB2ohCiAK/QAEABAAIQ4gCiAO/QsEACAMIAH9AAQA/eYBIAsgDv3mAf3kASEPIAIgD/0LBAAgDxAAIRAgAyAQ/QsEACAEIA0gEP3mAf0LBAAgAUEQaiEBIAJBEGohAiADQRBqIQMgBEEQaiEEIAlBEGohCQwACwsgACAHQQJ0aiEAIAhBAWohCAwACwsL0wICBX8HeyAIQQJ0IQkCQANAIAogB04NAUEAIQsCQANAIAsgCU4NASABIAtqIQwgACALaiENIAz9AAQAIQ4gDCAJav0ABAAhDyAMIAlBAXRq/QAEACEQIAwgCUEDbGr9AAQAIREgAv0ABAAgA/0ABAD95AEhEiAG/QAEACETIAT9AAQAIBIgEP3mASATEAL95gH95AEhFCANIBQgEf3mASAOEAP95gH9CwQAIA0gCWogFCAF/QAEAP3mASAPEAP95gH9CwQAIA0gCUEBdGogEiAT/eYBIBAQA/3mAf0LBAAgDSAJQQNsaiAUIA795gEgERAC/eYB/QsEACAEIBQgD/3mAf0LBAAgAkEQaiECIANBEGohAyAEQRBqIQQgBUEQaiEFIAZBEGohBiALQRBqIQsMAAsLIAEgCUECdGohASAAIAlBAnRqIQAgCkEBaiEKDAALCwuUAQIEfwF7IARBAnQhBQJAA0AgBiADTg0BQQAhBwJAA0AgByAFTg0BIAAgB2ohCCAIIAj9AAQAEAH9CwQAIAggBWohCCAI/QAEABABIQkgCCAJ/QsEACACIAkgAf0ABAD95gH9CwQAIAFBEGohASACQRBqIQIgB0EQaiEHDAALCyAAIAVBA2xqIQAgBkEBaiEGDAALCwuaAQIEfwJ7IARBAnQhBQJAA0AgBiADTg0BQQAhBwJAA0AgByAFTg0BIAAgB2ogBUEBdGohCCAI/QAEABAAIQkgCCAJ/QsEACAB/QAEACEKIAIgCiAAIAdq/QAEACAJIAr95QH95gH95AH9CwQAIAFBEGohASACQRBqIQIgB0EQaiEHDAALCyAAIAVBA2xqIQAgBkEBaiEGDAALCwv5AQIDfwN7IAdBAnQhCAJAA0AgCSAGTg0BQQAhCgJAA0AgCiAITg0BIAL9AAQAIAP9AAQA/eQBIQsgASAKav0ABAAhDCABIApqIAhBAXRq/QAEACENIAAgCmogCEEBdGogCyAM/eYBIA0QAv3mAf0LBAAgACAKaiALIA0gBP0ABAD95QH95gEgDBAD/eYB/QsEACAFIAv9DAAAgD8AAIA/AACAPwAAgD8gDP3lAf3mAf0LBAAgAkEQaiECIANBEGohAyAEQRBqIQQgBUEQaiEFIApBEGohCgwACwsgASAIQQNsaiEBIAAgCEEDbGohACAJQQFqIQkMAAsLC7ABAgN/AnsgBkECdCEHAkADQCAIIAVODQFBACEJAkADQCAJIAdODQEgASAJaiAHav0ABAAhCiAC/QAEACELIAAgCWogB2ogCyAD/QAEAP3mASAKEAP95gH9CwQAIAQgBP0ABAAgCyAK/eYB/eQB/QsEACACQRBqIQIgA0EQaiEDIARBEGohBCAJQRBqIQkMAAsLIAEgB0EDbGohASAAIAdBA2xqIQAgCEEBaiEIDAALCws=";

type Fn = (...args: number[]) => void;

/**
 * {@linkcode CellMath} on `memory`, for arrays on it whose hidden size is a
 * multiple of 4 (positions are floats, as `HEAPF32` counts them); `undefined`
 * without a memory or WebAssembly SIMD (then JavaScript does it).
 */
export function simdCellMath(memory: WebAssembly.Memory | undefined): CellMath | undefined {
  const e = moduleOn(RNN_WASM_BASE64, memory) as Record<string, Fn> | undefined;
  if (!e) return undefined;
  return {
    rnnForward: (z, hn, n) => e.rnnForward(4 * z, 4 * hn, n),
    rnnBackward: (d, a, dy, dh, n) => e.rnnBackward(4 * d, 4 * a, 4 * dy, 4 * dh, n),
    lstmForward: (z, cp, cn, tc, hn, B, H) => e.lstmForward(4 * z, 4 * cp, 4 * cn, 4 * tc, 4 * hn, B, H),
    lstmBackward: (d, a, dy, dh, dc, cp, tc, B, H) =>
      e.lstmBackward(4 * d, 4 * a, 4 * dy, 4 * dh, 4 * dc, 4 * cp, 4 * tc, B, H),
    gruGates: (z, h, rh, B, H) => e.gruGates(4 * z, 4 * h, 4 * rh, B, H),
    gruOutput: (z, h, hn, B, H) => e.gruOutput(4 * z, 4 * h, 4 * hn, B, H),
    gruBackwardOutput: (d, a, dy, dh, hp, dhn, B, H) =>
      e.gruBackwardOutput(4 * d, 4 * a, 4 * dy, 4 * dh, 4 * hp, 4 * dhn, B, H),
    gruBackwardReset: (d, a, drh, hp, dhn, B, H) =>
      e.gruBackwardReset(4 * d, 4 * a, 4 * drh, 4 * hp, 4 * dhn, B, H),
  };
}
