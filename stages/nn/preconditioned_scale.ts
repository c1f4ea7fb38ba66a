/**
 * The factor of the preconditioned implicit-regularization term (SCIENCE
 * §2.6), a function of the optimizer's config alone. One home for it: the
 * optimizers report it with their preconditioner, and the metrics stage
 * derives terms with it from the config, so a formula fix reruns metrics only.
 */
import type { OptimizerConfig } from "./contracts.ts";

/**
 * SCIENCE §2.6: Adam and SWATS (Adam phase) (1+β₁)/(1−β₁), their first moment
 * damped by (1−β₁); RMSprop with momentum μ (undamped, heavy ball on
 * P·g) (1+μ)/(1−μ)², which is 1 at μ = 0; SGD/GD with heavy-ball β likewise
 * (1+β)/(1−β)² (P = I, the §2.4 factor). PyTorch's defaults fill omitted
 * fields (β₁ = 0.9, μ = β = 0): Adam 19; RMSprop at μ = 0.5, 6; at 0.9, 190.
 */
export function preconditionedScale(
  config: Pick<OptimizerConfig, "name" | "beta1" | "momentum">,
): number {
  if (config.name === "adam" || config.name === "swats") {
    const b = config.beta1 ?? 0.9;
    return (1 + b) / (1 - b);
  }
  const mu = config.momentum ?? 0;
  return (1 + mu) / ((1 - mu) * (1 - mu));
}
