/**
 * Hand-written optimizers with PyTorch 1.13 semantics (SCIENCE §3), updating
 * tf.Variables in place. Never tf.train.*: the state must be readable (for
 * SCIENCE §2.5–2.6) and the semantics exactly PyTorch's.
 *
 * All state buffers start at zero, as in PyTorch; with dampening 0 a zero
 * heavy-ball buffer gives `buf = g` on the first step, PyTorch's rule.
 */
import * as tf from "@tensorflow/tfjs";
import type {
  Optimizer,
  OptimizerConfig,
  OptimizerName,
  Preconditioner,
} from "./contracts.ts";
import { dot, squaredNorm } from "./host_sums.ts";
import { preconditionedScale } from "./preconditioned_scale.ts";
import { OPTIMIZER_DEFAULTS } from "../train/params.ts";

/** A config with PyTorch's defaults filled in. */
export interface ResolvedConfig {
  name: OptimizerName;
  lr: number;
  momentum: number;
  nesterov: boolean;
  alpha: number;
  eps: number;
  centered: boolean;
  beta1: number;
  beta2: number;
  weight_decay: number;
  switch_eps: number;
  label: string;
}

/**
 * Fills in PyTorch's defaults. The config was parsed by the optimizer schema
 * (stages/train/params.ts: fields, ranges, which fields apply, Nesterov's
 * rule) when the experiment was loaded, so nothing is checked again here.
 */
export function resolveOptimizerConfig(
  config: OptimizerConfig,
): ResolvedConfig {
  const d = OPTIMIZER_DEFAULTS;
  return {
    name: config.name,
    lr: config.lr,
    momentum: config.momentum ?? d.momentum,
    nesterov: config.nesterov ?? d.nesterov,
    alpha: config.alpha ?? d.alpha,
    eps: config.eps ?? d.eps,
    centered: config.centered ?? d.centered,
    beta1: config.beta1 ?? d.beta1,
    beta2: config.beta2 ?? d.beta2,
    weight_decay: config.weight_decay ?? 0,
    switch_eps: config.switch_eps ?? d.switch_eps,
    label: config.label ?? config.name,
  };
}

/** Creates the optimizer named in the config over `variables` (their order is the gradients' order). */
export function createOptimizer(
  config: OptimizerConfig,
  variables: tf.Variable[],
): Optimizer {
  const c = resolveOptimizerConfig(config);
  switch (c.name) {
    case "gd":
    case "sgd":
      return new Sgd(config, c, variables);
    case "rmsprop":
      return new RmsProp(config, c, variables);
    case "adam":
      return new Adam(config, c, variables);
    case "swats":
      return new Swats(config, c, variables);
  }
}

type State = {
  arrays: Record<string, Float32Array>;
  scalars: Record<string, number>;
};

/** Shared bookkeeping: state slots (zero-initialised variables), step count, save/load. */
abstract class Base implements Optimizer {
  readonly config: OptimizerConfig;
  protected readonly c: ResolvedConfig;
  protected readonly vars: tf.Variable[];
  protected readonly slots = new Map<string, tf.Variable[]>();
  protected t = 0;
  /** Tensors handed out by `preconditioner()`, owned here until the next step. */
  protected cache: tf.Tensor[] | null = null;

  constructor(
    config: OptimizerConfig,
    c: ResolvedConfig,
    variables: tf.Variable[],
    slotNames: string[],
  ) {
    this.config = config;
    this.c = c;
    this.vars = variables;
    for (const s of slotNames) {
      this.slots.set(
        s,
        // tf.variable copies its initial value, so the zeros tensor is disposed here.
        variables.map((v) =>
          tf.tidy(() => tf.variable(tf.zerosLike(v), false))
        ),
      );
    }
  }

  get steps(): number {
    return this.t;
  }

  protected slot(name: string, i: number): tf.Variable {
    return this.slots.get(name)![i]!;
  }

  step(grads: tf.Tensor[]): void {
    if (grads.length !== this.vars.length) {
      throw new Error(
        `optimizer.step needs ${this.vars.length} gradients (one per variable), got ${grads.length}`,
      );
    }
    for (const [i, g] of grads.entries()) {
      const v = this.vars[i]!;
      if (!tf.util.arraysEqual(g.shape, v.shape)) {
        throw new Error(
          `gradient ${i} has shape [${g.shape}], variable '${v.name}' has [${v.shape}]`,
        );
      }
    }
    this.dropCache();
    this.t += 1;
    tf.tidy(() => {
      const wd = this.c.weight_decay;
      // PyTorch's L2 form (SCIENCE §5.1): g ← g + wd·w before the update.
      const gs = wd === 0
        ? grads
        : grads.map((g, i) => tf.add(g, tf.mul(wd, this.vars[i]!)));
      this.update(gs);
    });
  }

  /** The update proper, inside a tidy; `t` is already the 1-based index of this step. */
  protected abstract update(grads: tf.Tensor[]): void;

  abstract preconditioner(): Preconditioner | null;

  lr(): number {
    return this.c.lr;
  }

  protected extraScalars(): Record<string, number> {
    return {};
  }

  protected loadScalars(_s: Record<string, number>): void {}

  saveState(): State {
    const arrays: Record<string, Float32Array> = {};
    for (const [name, vs] of this.slots) {
      vs.forEach((v, i) => {
        arrays[`${name}.${i}`] = (v.dataSync() as Float32Array).slice();
      });
    }
    return { arrays, scalars: { steps: this.t, ...this.extraScalars() } };
  }

  loadState(state: State): void {
    const steps = state.scalars.steps;
    if (steps === undefined || !Number.isInteger(steps) || steps < 0) {
      throw new Error(
        `optimizer state scalars.steps must be a non-negative integer, got ${steps}`,
      );
    }
    for (const [name, vs] of this.slots) {
      vs.forEach((v, i) => {
        const key = `${name}.${i}`;
        const a = state.arrays[key];
        if (a === undefined || a.length !== v.size) {
          throw new Error(
            `optimizer state array '${key}' must have ${v.size} values, got ${
              a?.length ?? "none"
            }`,
          );
        }
        tf.tidy(() => v.assign(tf.tensor(a, v.shape, "float32")));
      });
    }
    this.dropCache();
    this.t = steps;
    this.loadScalars(state.scalars);
  }

  protected dropCache(): void {
    if (this.cache) { for (const t of this.cache) t.dispose(); }
    this.cache = null;
  }

  dispose(): void {
    this.dropCache();
    for (const vs of this.slots.values()) for (const v of vs) v.dispose();
    this.slots.clear();
  }
}

/**
 * SGD / GD (GD = SGD over one full batch; the loop decides the batch).
 * momentum β, dampening 0: buf ← β·buf + g; d = nesterov ? g + β·buf : buf;
 * w ← w − η·d. With β = 0: w ← w − η·g.
 */
class Sgd extends Base {
  constructor(
    config: OptimizerConfig,
    c: ResolvedConfig,
    variables: tf.Variable[],
  ) {
    super(config, c, variables, c.momentum > 0 ? ["momentum_buffer"] : []);
  }

  protected update(grads: tf.Tensor[]): void {
    const { lr, momentum: beta, nesterov } = this.c;
    grads.forEach((g, i) => {
      const w = this.vars[i]!;
      let d = g;
      if (beta > 0) {
        const buf = this.slot("momentum_buffer", i);
        const next = tf.add(tf.mul(beta, buf), g);
        buf.assign(next);
        d = nesterov ? tf.add(g, tf.mul(beta, next)) : next;
      }
      w.assign(tf.sub(w, tf.mul(lr, d)));
    });
  }

  preconditioner(): Preconditioner | null {
    return null;
  }
}

/**
 * RMSprop (PyTorch 1.13): s ← α s + (1−α) g²; centered: ḡ ← α ḡ + (1−α) g and
 * denom = √(s − ḡ²) + ε, else denom = √s + ε (ε outside the root);
 * momentum μ > 0: buf ← μ buf + g/denom, w ← w − η buf; else w ← w − η g/denom.
 */
class RmsProp extends Base {
  constructor(
    config: OptimizerConfig,
    c: ResolvedConfig,
    variables: tf.Variable[],
  ) {
    const slots = ["square_avg"];
    if (c.centered) slots.push("grad_avg");
    if (c.momentum > 0) slots.push("momentum_buffer");
    super(config, c, variables, slots);
  }

  protected update(grads: tf.Tensor[]): void {
    const { lr, alpha, eps, centered, momentum } = this.c;
    grads.forEach((g, i) => {
      const w = this.vars[i]!;
      const s = this.slot("square_avg", i);
      const sNext = tf.add(tf.mul(alpha, s), tf.mul(1 - alpha, tf.square(g)));
      s.assign(sNext);
      let avg: tf.Tensor;
      if (centered) {
        const ga = this.slot("grad_avg", i);
        const gaNext = tf.add(tf.mul(alpha, ga), tf.mul(1 - alpha, g));
        ga.assign(gaNext);
        avg = tf.add(tf.sqrt(tf.sub(sNext, tf.square(gaNext))), eps);
      } else {
        avg = tf.add(tf.sqrt(sNext), eps);
      }
      if (momentum > 0) {
        const buf = this.slot("momentum_buffer", i);
        const next = tf.add(tf.mul(momentum, buf), tf.div(g, avg));
        buf.assign(next);
        w.assign(tf.sub(w, tf.mul(lr, next)));
      } else {
        w.assign(tf.sub(w, tf.mul(lr, tf.div(g, avg))));
      }
    });
  }

  /**
   * SCIENCE §2.6: v = s (centered: s − ḡ², the quantity under the root the
   * update divides by), scale (1+μ)/(1−μ)² (1 without momentum). The tensors
   * belong to the optimizer and stay valid until the next step; do not
   * dispose them.
   */
  preconditioner(): Preconditioner | null {
    const scale = preconditionedScale(this.c);
    if (!this.c.centered) {
      return { v: this.slots.get("square_avg")!, eps: this.c.eps, scale };
    }
    this.cache ??= this.vars.map((_, i) =>
      tf.keep(
        tf.tidy(() =>
          tf.sub(
            this.slot("square_avg", i),
            tf.square(this.slot("grad_avg", i)),
          )
        ),
      )
    );
    return { v: this.cache, eps: this.c.eps, scale };
  }
}

/**
 * One PyTorch 1.13 Adam step for variable i, returning the step p (w ← w + p):
 * m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
 * p = −(η/(1−β₁^t)) · m / (√v/√(1−β₂^t) + ε).
 */
function adamStep(
  m: tf.Variable,
  v: tf.Variable,
  g: tf.Tensor,
  c: ResolvedConfig,
  t: number,
): tf.Tensor {
  const mNext = tf.add(tf.mul(c.beta1, m), tf.mul(1 - c.beta1, g));
  const vNext = tf.add(tf.mul(c.beta2, v), tf.mul(1 - c.beta2, tf.square(g)));
  m.assign(mNext);
  v.assign(vNext);
  const bc1 = 1 - c.beta1 ** t;
  const bc2Sqrt = Math.sqrt(1 - c.beta2 ** t);
  const denom = tf.add(tf.div(tf.sqrt(vNext), bc2Sqrt), c.eps);
  return tf.mul(-c.lr / bc1, tf.div(mNext, denom));
}

/**
 * Adam's v̂ = v/(1−β₂^t) per variable. √v̂ + ε = √v/√(1−β₂^t) + ε, the
 * denominator PyTorch uses, so SCIENCE §2.6's P matches the update exactly.
 */
function vHat(v: tf.Variable[], beta2: number, t: number): tf.Tensor[] {
  const bc2 = t === 0 ? 1 : 1 - beta2 ** t;
  // Kept: the optimizer owns these even when called inside a caller's tidy.
  return v.map((x) => tf.keep(tf.tidy(() => tf.div(x, bc2))));
}

/** Adam (PyTorch 1.13, no amsgrad); see `adamStep`. */
class Adam extends Base {
  constructor(
    config: OptimizerConfig,
    c: ResolvedConfig,
    variables: tf.Variable[],
    extraSlots: string[] = [],
  ) {
    super(config, c, variables, ["exp_avg", "exp_avg_sq", ...extraSlots]);
  }

  protected update(grads: tf.Tensor[]): void {
    grads.forEach((g, i) => {
      const w = this.vars[i]!;
      w.assign(tf.add(w, this.adamStepAt(i, g)));
    });
  }

  /** The Adam step p of variable i for gradient g (`adamStep`), its moments updated. */
  protected adamStepAt(i: number, g: tf.Tensor): tf.Tensor {
    return adamStep(
      this.slot("exp_avg", i),
      this.slot("exp_avg_sq", i),
      g,
      this.c,
      this.t,
    );
  }

  /**
   * SCIENCE §2.6: v̂ = v/(1−β₂^t), scale (1+β₁)/(1−β₁). The tensors belong to
   * the optimizer and stay valid until the next step; do not dispose them.
   */
  preconditioner(): Preconditioner | null {
    this.cache ??= vHat(this.slots.get("exp_avg_sq")!, this.c.beta2, this.t);
    return {
      v: this.cache,
      eps: this.c.eps,
      scale: preconditionedScale(this.c),
    };
  }
}

/**
 * SWATS (Keskar & Socher 2017; SCIENCE §3). Adam until the switch; at each
 * Adam step k with p_k the Adam step (over all variables as one vector) and
 * p_kᵀg_k ≠ 0: γ_k = p_kᵀp_k / (−p_kᵀg_k), both dot products summed in
 * float64 on the host, λ_k = β₂λ_{k−1} + (1−β₂)γ_k; switch when k > 1,
 * Λ = λ_k/(1−β₂^k) > 0 and |Λ − γ_k| < ε_switch. After it, the
 * paper's SGD phase (Algorithm 1): v ← β₁v + g, w ← w − (1−β₁)Λ v, i.e.
 * PyTorch SGD with momentum β₁ and learning rate (1−β₁)Λ, which `lr()` returns.
 * The (1−β₁) factor matches the SGD step to the Adam step whose projection Λ
 * is; the positivity guard keeps a negative projection from becoming a rate.
 */
class Swats extends Adam {
  private lambda = 0;
  private switchStep = 0; // 0 = not switched; else the step k at which the switch was decided
  private sgdLr = NaN; // Λ

  constructor(
    config: OptimizerConfig,
    c: ResolvedConfig,
    variables: tf.Variable[],
  ) {
    super(config, c, variables, ["momentum_buffer"]);
  }

  get switched(): boolean {
    return this.switchStep > 0;
  }

  /** The step at which SWATS switched to SGD (0 if not yet). */
  get switchedAt(): number {
    return this.switchStep;
  }

  protected override update(grads: tf.Tensor[]): void {
    const { beta1, beta2, switch_eps } = this.c;
    if (this.switched) {
      const eta = (1 - beta1) * this.sgdLr;
      grads.forEach((g, i) => {
        const w = this.vars[i]!;
        const buf = this.slot("momentum_buffer", i);
        const next = tf.add(tf.mul(beta1, buf), g);
        buf.assign(next);
        w.assign(tf.sub(w, tf.mul(eta, next)));
      });
      return;
    }
    // p_kᵀp_k and p_kᵀg_k in float64 on the host (SCIENCE §3): tfjs's float32
    // Sum moved γ_k by 1e-6 to 1e-4 relative (measured), far above ε_switch.
    let pp = 0;
    let pg = 0;
    grads.forEach((g, i) => {
      const w = this.vars[i]!;
      const p = this.adamStepAt(i, g);
      pp += squaredNorm([p]);
      pg += dot(p, g);
      w.assign(tf.add(w, p));
    });
    if (pg === 0) return;
    const gamma = pp / -pg;
    this.lambda = beta2 * this.lambda + (1 - beta2) * gamma;
    const corrected = this.lambda / (1 - beta2 ** this.t);
    if (
      this.t > 1 && corrected > 0 && Math.abs(corrected - gamma) < switch_eps
    ) {
      this.switchStep = this.t;
      this.sgdLr = corrected;
    }
  }

  override lr(): number {
    return this.switched ? (1 - this.c.beta1) * this.sgdLr : this.c.lr;
  }

  /** Like Adam before the switch; null (plain momentum SGD) after it. */
  override preconditioner(): Preconditioner | null {
    return this.switched ? null : super.preconditioner();
  }

  protected override extraScalars(): Record<string, number> {
    return {
      lambda: this.lambda,
      switch_step: this.switchStep,
      sgd_lr: this.sgdLr,
    };
  }

  protected override loadScalars(s: Record<string, number>): void {
    this.lambda = s.lambda ?? 0;
    this.switchStep = s.switch_step ?? 0;
    this.sgdLr = s.sgd_lr ?? NaN;
  }
}
