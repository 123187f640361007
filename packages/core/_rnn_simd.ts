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
  "AGFzbQEAAAABNQZgAXsBe2ADf39/AGAFf39/f38AYAd/f39/f39/AGAJf39/f39/f39/AGAIf39/f39/f38AAg8BA2VudgZtZW1vcnkCAAEDDQwAAAAAAQIDBAICBQMHdwgKcm5uRm9yd2FyZAAEC3JubkJhY2t3YXJkAAULbHN0bUZvcndhcmQABgxsc3RtQmFja3dhcmQABwhncnVHYXRlcwAICWdydU91dHB1dAAJEWdydUJhY2t3YXJkT3V0cHV0AAoQZ3J1QmFja3dhcmRSZXNldAALCtUPDPUCAQN7IAD9DE/4/MBP+PzAT/j8wE/4/MD96QH9DE/4/EBP+PxAT/j8QE/4/ED96AEhACAAIAD95gEhASAB/QzAJZ+lwCWfpcAln6XAJZ+l/eYB/Qx+M2EqfjNhKn4zYSp+M2Eq/eQBIQIgAiAB/eYB/Qz/N72u/ze9rv83va7/N72u/eQBIQIgAiAB/eYB/QxBAFwzQQBcM0EAXDNBAFwz/eQBIQIgAiAB/eYB/QxKQ3k3SkN5N0pDeTdKQ3k3/eQBIQIgAiAB/eYB/QztDSc67Q0nOu0NJzrtDSc6/eQBIQIgAiAB/eYB/QzcWaA73FmgO9xZoDvcWaA7/eQBIQIgAf0M2NOgNdjToDXY06A12NOgNf3mAf0M1pX4ONaV+DjWlfg41pX4OP3kASEDIAMgAf3mAf0MBaoUOwWqFDsFqhQ7BaoUO/3kASEDIAMgAf3mAf0M3VmgO91ZoDvdWaA73VmgO/3kASEDIAAgAv3mASAD/ecBC0UA/QwAAAA/AAAAPwAAAD8AAAA//QwAAAA/AAAAPwAAAD8AAAA//QwAAAA/AAAAPwAAAD8AAAA/IAD95gEQAP3mAf3kAQseAP0MAACAPwAAgD8AAIA/AACAPyAAIAD95gH95QELHgAgAP0MAACAPwAAgD8AAIA/AACAPyAA/eUB/eYBC0cCAX8BeyAAIAJBAnRqIQMCQANAIAAgA08NASAA/QAEABAAIQQgACAE/QsEACABIAT9CwQAIABBEGohACABQRBqIQEMAAsLC1kBAX8gACAEQQJ0aiEFAkADQCAAIAVPDQEgACAC/QAEACAD/QAEAP3kASAB/QAEABAC/eYB/QsEACAAQRBqIQAgAUEQaiEBIAJBEGohAiADQRBqIQMMAAsLC4ECAgR/BnsgBkECdCEHAkADQCAIIAVODQFBACEJAkADQCAJIAdODQEgACAJaiEKIAr9AAQAEAEhCyAKIAv9CwQAIAogB2ohCiAK/QAEABABIQwgCiAM/QsEACAKIAdqIQogCv0ABAAQASENIAogDf0LBAAgCiAHaiEKIAr9AAQAEAAhDiAKIA79CwQAIAwgAf0ABAD95gEgCyAO/eYB/eQBIQ8gAiAP/QsEACAPEAAhECADIBD9CwQAIAQgDSAQ/eYB/QsEACABQRBqIQEgAkEQaiECIANBEGohAyAEQRBqIQQgCUEQaiEJDAALCyAAIAdBAnRqIQAgCEEBaiEIDAALCwvTAgIFfwd7IAhBAnQhCQJAA0AgCiAHTg0BQQAhCwJAA0AgCyAJTg0BIAEgC2ohDCAAIAtqIQ0gDP0ABAAhDiAMIAlq/QAEACEPIAwgCUEBdGr9AAQAIRAgDCAJQQNsav0ABAAhESAC/QAEACAD/QAEAP3kASESIAb9AAQAIRMgBP0ABAAgEiAQ/eYBIBMQAv3mAf3kASEUIA0gFCAR/eYBIA4QA/3mAf0LBAAgDSAJaiAUIAX9AAQA/eYBIA8QA/3mAf0LBAAgDSAJQQF0aiASIBP95gEgEBAD/eYB/QsEACANIAlBA2xqIBQgDv3mASAREAL95gH9CwQAIAQgFCAP/eYB/QsEACACQRBqIQIgA0EQaiEDIARBEGohBCAFQRBqIQUgBkEQaiEGIAtBEGohCwwACwsgASAJQQJ0aiEBIAAgCUECdGohACAKQQFqIQoMAAsLC5QBAgR/AXsgBEECdCEFAkADQCAGIANODQFBACEHAkADQCAHIAVODQEgACAHaiEIIAggCP0ABAAQAf0LBAAgCCAFaiEIIAj9AAQAEAEhCSAIIAn9CwQAIAIgCSAB/QAEAP3mAf0LBAAgAUEQaiEBIAJBEGohAiAHQRBqIQcMAAsLIAAgBUEDbGohACAGQQFqIQYMAAsLC5oBAgR/AnsgBEECdCEFAkADQCAGIANODQFBACEHAkADQCAHIAVODQEgACAHaiAFQQF0aiEIIAj9AAQAEAAhCSAIIAn9CwQAIAH9AAQAIQogAiAKIAAgB2r9AAQAIAkgCv3lAf3mAf3kAf0LBAAgAUEQaiEBIAJBEGohAiAHQRBqIQcMAAsLIAAgBUEDbGohACAGQQFqIQYMAAsLC/kBAgN/A3sgB0ECdCEIAkADQCAJIAZODQFBACEKAkADQCAKIAhODQEgAv0ABAAgA/0ABAD95AEhCyABIApq/QAEACEMIAEgCmogCEEBdGr9AAQAIQ0gACAKaiAIQQF0aiALIAz95gEgDRAC/eYB/QsEACAAIApqIAsgDSAE/QAEAP3lAf3mASAMEAP95gH9CwQAIAUgC/0MAACAPwAAgD8AAIA/AACAPyAM/eUB/eYB/QsEACACQRBqIQIgA0EQaiEDIARBEGohBCAFQRBqIQUgCkEQaiEKDAALCyABIAhBA2xqIQEgACAIQQNsaiEAIAlBAWohCQwACwsLsAECA38CeyAGQQJ0IQcCQANAIAggBU4NAUEAIQkCQANAIAkgB04NASABIAlqIAdq/QAEACEKIAL9AAQAIQsgACAJaiAHaiALIAP9AAQA/eYBIAoQA/3mAf0LBAAgBCAE/QAEACALIAr95gH95AH9CwQAIAJBEGohAiADQRBqIQMgBEEQaiEEIAlBEGohCQwACwsgASAHQQNsaiEBIAAgB0EDbGohACAIQQFqIQgMAAsLCw==";

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
