/**
 * What every apply step shares: the door to AWS (calls counted, bounded per
 * service, throttling retried), the steps and their failures, the log, and
 * what was applied.
 */
import type { AppliedChange, DesiredState } from '../state.js'
import type { Clients } from './clients.js'
import { wrap } from './errors.js'
import { Aws } from './send.js'
import type { Timing } from './retry.js'

export interface ApplyContext {
  clients: Clients
  /** The desired state (deploy); absent for destroy. */
  desired?: DesiredState
  log: (line: string) => void
  /** In-flight calls per AWS service (default DEFAULT_CONCURRENCY). */
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

export class Engine extends Aws {
  readonly applied: AppliedChange[] = []
  readonly errors: Error[] = []

  constructor(ctx: ApplyContext) {
    super(ctx.clients, { log: ctx.log, timing: ctx.timing, concurrency: ctx.concurrency })
  }

  done(change: AppliedChange, detail = ''): void {
    this.applied.push(change)
    const what =
      change.service && !change.name.includes(change.service) ? `${change.name} (${change.service})` : change.name
    this.log(`${change.action} ${change.kind} ${what}${change.id ? `: ${change.id}` : ''}${detail ? ` ${detail}` : ''}`)
  }

  /**
   * Runs a step after its dependencies; records its failure (once) and rethrows for dependants.
   * `after` only orders: the step runs once they settle, whether they failed or not.
   */
  step<T>(
    what: string,
    deps: Array<Promise<unknown>>,
    fn: () => Promise<T>,
    after: Array<Promise<unknown>> = []
  ): Promise<T> {
    const run = async (): Promise<T> => {
      await Promise.allSettled(after)
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
