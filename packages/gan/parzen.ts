/**
 * The Parzen-window log-likelihood estimate of Goodfellow et al. 2014 (as
 * goodfeli/adversarial `parzen_ll.py`): a Gaussian kernel density with
 * isotropic width σ centred on generated samples,
 *
 *   log p(x) = logsumexp_i(−‖x − c_i‖² / 2σ²) − log n − d·log(σ√(2π)),
 *
 * σ chosen from `logspace(−1, 0, 10)` by the mean log-likelihood of
 * held-out images, then the mean ± standard error over the test images.
 *
 * The squared distances come from one matrix product per batch,
 * ‖x − m‖² + ‖c − m‖² − 2 (x − m)·(c − m), with m the mean of the centres:
 * centring first keeps the norms (and the cancellation error of float32)
 * about half as large as on raw pixels. The log-sum-exp is stable (max
 * subtracted) and the constants, the means and the standard error are
 * added up in float64.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The σ candidates of the paper's evaluation: `logspace(−1, 0, 10)`. */
export const PARZEN_SIGMAS: readonly number[] = Object.freeze(
  Array.from({ length: 10 }, (_, i) => 10 ** (-1 + i / 9)),
);

/** Options of {@linkcode parzenLogLikelihoods}. */
export interface ParzenOptions {
  /** Rows of `x` scored per matrix product (bounds memory at `batchSize × centres` floats).
   * @default {500} */
  batchSize?: number;
}

/**
 * Per-image Parzen-window log-likelihoods of `x` under Gaussian kernels on `centres`, for each σ.
 *
 * @param x Images to score, `[n, d]` (caller owns).
 * @param centres Kernel centres, `[m, d]` (caller owns), in the same pixel scale as `x`.
 * @returns One `Float64Array` of `n` log-likelihoods per σ, in the order of `options.sigmas`.
 * @throws {TypeError} when the shapes do not fit; {@linkcode RangeError} for a σ ≤ 0 or no centres.
 *
 * @example One centre, one image on it: log p = −d·log(σ√(2π))
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { parzenLogLikelihoods } from "@simple-nets/gan";
 * const [ll] = parzenLogLikelihoods(tf.ones([1, 4]), tf.ones([1, 4]), [1]);
 * console.assert(Math.abs(ll[0] + 4 * Math.log(Math.sqrt(2 * Math.PI))) < 1e-6);
 * ```
 */
export function parzenLogLikelihoods(
  x: tf.Tensor2D,
  centres: tf.Tensor2D,
  sigmas: readonly number[],
  options: ParzenOptions = {},
): Float64Array[] {
  const { batchSize = 500 } = options;
  if (x.rank !== 2 || centres.rank !== 2 || x.shape[1] !== centres.shape[1]) {
    throw new TypeError(
      `Cannot score images of shape [${x.shape}] against centres of shape [${centres.shape}]: ` +
        `expected [n, d] and [m, d]`,
    );
  }
  const [n, d] = x.shape;
  const m = centres.shape[0];
  if (m < 1) throw new RangeError("Cannot build a Parzen window on 0 centres: expected at least 1");
  for (const s of sigmas) {
    if (!(s > 0 && Number.isFinite(s))) {
      throw new RangeError(`Parzen σ ${s} is invalid: expected a number > 0`);
    }
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Parzen batch size ${batchSize} is invalid: expected a whole number >= 1`);
  }
  const out = sigmas.map(() => new Float64Array(n));
  const constants = sigmas.map((s) => -Math.log(m) - d * Math.log(s * Math.sqrt(2 * Math.PI)));
  const [mean, centredT, centresSq] = tf.tidy(() => {
    const mean = tf.mean(centres, 0);
    const centred = tf.sub(centres, mean);
    return [mean, tf.transpose(centred), tf.reshape(tf.sum(tf.square(centred), 1), [1, m])];
  });
  try {
    for (let at = 0; at < n; at += batchSize) {
      const rows = Math.min(batchSize, n - at);
      const lse = tf.tidy(() => {
        const xb = tf.sub(tf.slice(x, [at, 0], [rows, d]), mean);
        const xSq = tf.sum(tf.square(xb), 1, true);
        const d2 = tf.relu(tf.sub(tf.add(xSq, centresSq), tf.mul(tf.matMul(xb, centredT), 2)));
        return tf.stack(sigmas.map((s) => tf.logSumExp(tf.mul(d2, -1 / (2 * s * s)), 1)));
      });
      const values = lse.dataSync();
      lse.dispose();
      for (let k = 0; k < sigmas.length; k++) {
        for (let i = 0; i < rows; i++) out[k][at + i] = values[k * rows + i] + constants[k];
      }
    }
  } finally {
    tf.dispose([mean, centredT, centresSq]);
  }
  return out;
}

/** Mean and standard error (population standard deviation / √n, as `parzen_ll.py`), in float64. */
export function meanAndStdErr(values: ArrayLike<number>): { mean: number; stdErr: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, stdErr: NaN };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (values[i] - mean) ** 2;
  return { mean, stdErr: Math.sqrt(sq / n) / Math.sqrt(n) };
}

/** Options of {@linkcode parzenEstimate}. */
export interface ParzenEstimateOptions extends ParzenOptions {
  /** σ candidates tried on the held-out images.
   * @default {PARZEN_SIGMAS} */
  sigmas?: readonly number[];
}

/** What {@linkcode parzenEstimate} returns. */
export interface ParzenEstimate {
  /** Mean log-likelihood of the test images at the chosen σ. */
  logLikelihood: number;
  /** Its standard error. */
  stdErr: number;
  /** The σ with the best mean held-out log-likelihood. */
  sigma: number;
  /** Mean held-out log-likelihood at that σ. */
  validationLogLikelihood: number;
  /** Mean held-out log-likelihood for every σ tried, in order. */
  validationBySigma: { sigma: number; logLikelihood: number }[];
  /** Test images scored. */
  testImages: number;
  /** Kernel centres. */
  centres: number;
}

/**
 * Chooses σ on held-out images, then scores the test images: the paper's evaluation.
 *
 * @param centres Kernel centres (e.g. generated samples in [0, 1]), `[m, d]` (caller owns).
 * @param data `validation` picks σ, `test` is scored; both `[n, d]` in the centres' pixel scale (caller owns).
 * @returns The estimate (plain numbers).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { parzenEstimate } from "@simple-nets/gan";
 * const centres = tf.randomUniform([50, 4], 0, 1, "float32", 1) as tf.Tensor2D;
 * const data = tf.randomUniform([20, 4], 0, 1, "float32", 2) as tf.Tensor2D;
 * const result = parzenEstimate(centres, { validation: data, test: data });
 * console.assert(result.validationLogLikelihood === result.logLikelihood);
 * ```
 */
export function parzenEstimate(
  centres: tf.Tensor2D,
  data: { validation: tf.Tensor2D; test: tf.Tensor2D },
  options: ParzenEstimateOptions = {},
): ParzenEstimate {
  const sigmas = options.sigmas ?? PARZEN_SIGMAS;
  if (sigmas.length === 0) throw new RangeError("Cannot choose a Parzen σ from an empty list");
  if (data.validation.shape[0] < 1) throw new RangeError("Cannot choose a Parzen σ on 0 held-out images");
  const byValidation = parzenLogLikelihoods(data.validation, centres, sigmas, options)
    .map((ll, k) => ({ sigma: sigmas[k], logLikelihood: meanAndStdErr(ll).mean }));
  let best = 0;
  for (let k = 1; k < byValidation.length; k++) {
    if (byValidation[k].logLikelihood > byValidation[best].logLikelihood) best = k;
  }
  const sigma = sigmas[best];
  const { mean, stdErr } = meanAndStdErr(parzenLogLikelihoods(data.test, centres, [sigma], options)[0]);
  return {
    logLikelihood: mean,
    stdErr,
    sigma,
    validationLogLikelihood: byValidation[best].logLikelihood,
    validationBySigma: byValidation,
    testImages: data.test.shape[0],
    centres: centres.shape[0],
  };
}
