/**
 * What every apply step shares: the clients, one concurrency limiter per AWS
 * service, call counting, retries, the log, and the ids resolved so far.
 */
import type { AppliedChange, DesiredState } from '../state.js'
import type { Clients } from './clients.js'
import { createLimiter, type Limiter } from './limit.js'
import { DEFAULT_TIMING, errorMessage, errorName, retryThrottling, withRetry, wrap, type Timing } from './retry.js'

export type ServiceKey = keyof Clients

/**
 * In-flight calls per AWS service: every independent call of a 100-service stack
 * at once (two groups per service), so that the depth does not grow with the
 * number of services (at 50, a 100-service deploy ran each step in 2 to 4 waves);
 * the clients' socket pools are as large (clients.ts). A burst beyond AWS's
 * buckets is throttled and retried either way: 50 did not keep it inside them.
 */
export const DEFAULT_CONCURRENCY = 256

export interface ApplyContext {
  clients: Clients
  /** The desired state (deploy); absent for destroy. */
  desired?: DesiredState
  log: (line: string) => void
  /** In-flight calls per AWS service (default 50). */
  concurrency?: number
  /** Backoff and wait timings (tests shorten them). */
  timing?: Partial<Timing>
}

/** A step that did not run because a step it needs failed; not reported on its own. */
export class SkippedError extends Error {
  constructor(what: string) {
    super(`${what}: skipped because a step it depends on failed`)
    this.name = 'SkippedError'
  }
}

export class ApplyError extends Error {
  constructor(
    readonly errors: Error[],
    readonly result: { applied: AppliedChange[]; writes: number; reads: number }
  ) {
    super(
      errors.length === 1
        ? (errors[0]?.message ?? 'apply failed')
        : `${errors.length} steps failed:\n${errors.map((e) => `  - ${e.message}`).join('\n')}`,
      { cause: errors[0] }
    )
    this.name = 'ApplyError'
  }
}

export const isRead = (operation: string): boolean => /^(Describe|Get|List)/.test(operation)

export class Engine {
  readonly clients: Clients
  readonly log: (line: string) => void
  readonly timing: Timing
  readonly applied: AppliedChange[] = []
  readonly errors: Error[] = []
  writes = 0
  reads = 0
  private readonly limiters = new Map<ServiceKey, Limiter>()
  private readonly concurrency: number

  constructor(ctx: ApplyContext) {
    this.clients = ctx.clients
    this.log = ctx.log
    this.timing = { ...DEFAULT_TIMING, ...ctx.timing }
    this.concurrency = ctx.concurrency ?? DEFAULT_CONCURRENCY
  }

  private limiter(service: ServiceKey): Limiter {
    let limiter = this.limiters.get(service)
    if (!limiter) {
      limiter = createLimiter(this.concurrency)
      this.limiters.set(service, limiter)
    }
    return limiter
  }

  /** One API call: bounded per service, counted, throttling retried past the SDK's attempts. */
  call<T>(service: ServiceKey, operation: string, send: () => Promise<T>): Promise<T> {
    return this.limiter(service)(() =>
      retryThrottling(() => {
        if (isRead(operation)) this.reads += 1
        else this.writes += 1
        return send()
      }, this.timing)
    )
  }

  /** Retries `fn` on the named errors (eventual consistency) within `budgetMs`. */
  retryOn<T>(names: string[] | ((err: unknown) => boolean), fn: () => Promise<T>, budgetMs = this.timing.consistencyMs): Promise<T> {
    const retryable = typeof names === 'function' ? names : (err: unknown): boolean => names.includes(errorName(err))
    return withRetry(fn, {
      timing: this.timing,
      budgetMs,
      retryable,
      onRetry: (err, attempt, delay) => this.log(`  retry ${attempt} in ${delay} ms: ${errorName(err)}: ${errorMessage(err)}`)
    })
  }

  done(change: AppliedChange, detail = ''): void {
    this.applied.push(change)
    const what = change.service && !change.name.includes(change.service) ? `${change.name} (${change.service})` : change.name
    this.log(`${change.action} ${change.kind} ${what}${change.id ? `: ${change.id}` : ''}${detail ? ` ${detail}` : ''}`)
  }

  /** Runs a step after its dependencies; records its failure (once) and rethrows for dependants. */
  step<T>(what: string, deps: Array<Promise<unknown>>, fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const settled = await Promise.allSettled(deps)
      if (settled.some((s) => s.status === 'rejected')) throw new SkippedError(what)
      try {
        return await fn()
      } catch (err) {
        const error = err instanceof Error && err.message.includes(what) ? err : wrap(what, err)
        if (!(err instanceof SkippedError)) this.errors.push(error)
        throw error
      }
    }
    const promise = run()
    promise.catch(() => undefined)
    return promise
  }

  result(): { applied: AppliedChange[]; writes: number; reads: number } {
    return { applied: this.applied, writes: this.writes, reads: this.reads }
  }
}
