/**
 * Bounded retries with exponential backoff and full jitter for the errors the
 * SDK does not retry (AWS eventual consistency), and a last line of defence
 * for throttling once the SDK's own attempts are spent.
 */
import { isThrottle } from './errors.js'

export interface Timing {
  /** First backoff, ms. */
  baseDelayMs: number
  /** Largest single backoff, ms. */
  maxDelayMs: number
  /** Poll interval while waiting for AWS (instances, refreshes), ms. */
  pollMs: number
  /** How long a new IAM role may take to become assumable by Lambda, ms. */
  rolePropagationMs: number
  /** How long other eventual-consistency errors are retried, ms. */
  consistencyMs: number
  /**
   * How long a throttled call is retried, ms: longer than the rest, since a bucket shared with
   * the account refills for sure (a 100-service first deploy makes 500 IAM writes at ~10/s).
   */
  throttleMs: number
  /** How long to wait for instances to terminate and security groups to become free, ms. */
  teardownMs: number
}

export const DEFAULT_TIMING: Timing = {
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  pollMs: 5_000,
  rolePropagationMs: 120_000,
  consistencyMs: 60_000,
  throttleMs: 300_000,
  teardownMs: 600_000
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export function backoff(attempt: number, timing: Pick<Timing, 'baseDelayMs' | 'maxDelayMs'>): number {
  const cap = Math.min(timing.maxDelayMs, timing.baseDelayMs * 2 ** attempt)
  return Math.round(cap / 2 + (Math.random() * cap) / 2)
}

export interface RetryOptions {
  timing: Pick<Timing, 'baseDelayMs' | 'maxDelayMs'>
  /** Total time budget for retries, ms. */
  budgetMs: number
  /** Whether to retry this error (throttling is always retried). */
  retryable: (err: unknown) => boolean
  /** Called before each retry. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void
}

/** Runs `fn` until it succeeds, the error is not retryable, or the budget is spent. */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const started = Date.now()
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await fn()
    } catch (err) {
      if (!isThrottle(err) && !options.retryable(err)) throw err
      const delay = backoff(attempt, options.timing)
      if (Date.now() - started + delay > options.budgetMs) throw err
      options.onRetry?.(err, attempt + 1, delay)
      await sleep(delay)
    }
  }
}

/** Retries only throttling (after the SDK's own retries), within `budgetMs`. */
export function retryThrottling<T>(fn: () => Promise<T>, timing: Timing): Promise<T> {
  return withRetry(fn, { timing, budgetMs: timing.throttleMs, retryable: () => false })
}
