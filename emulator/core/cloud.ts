/** The Cloud every service module receives: settings, shared state, the bus, randomness and work tracking. */
import { EventEmitter } from 'node:events'
import type {
  BusEvents,
  CallKind,
  CallRecord,
  Cloud,
  EmulatorOptions,
  FaultSettings,
  SimulationSettings
} from '../types.js'
import { seededRandom } from './random.js'

export const DEFAULT_ACCOUNT_ID = '123456789012'

export const DEFAULT_FAULTS: FaultSettings = {
  latencyMs: 0,
  latencyJitterMs: 0,
  throttleRate: 0,
  serverErrorRate: 0,
  rolePropagationSeconds: 0,
  ec2VisibilitySeconds: 0,
  duplicateEventRate: 0,
  reorderWindowMs: 0,
  services: [],
  seed: 1
}

export const DEFAULT_SIMULATION: SimulationSettings = {
  launchDelayMs: 30,
  terminateDelayMs: 30,
  terminatedRetentionMs: 60 * 60 * 1000,
  functionPendingMs: 50
}

/** The Cloud plus what only the core may touch. */
export interface CoreCloud extends Cloud {
  readonly calls: CallRecord[]
  readonly faults: FaultSettings
  setFaults(partial: Partial<FaultSettings>): FaultSettings
  waitIdle(): Promise<void>
  pendingWork(): number
  setEndpoint(url: string): void
  /** Resolves at once, or when the cloud is resumed if it is paused for this call (see pause()). */
  gate(call: GatedCall): Promise<void>
  pause(holds?: (call: GatedCall) => boolean): PauseHandle
  /** Makes the next call of `operation` on `service` (signing name) answer with one of the service's error codes. */
  queueError(error: QueuedError): void
  /** The error queued for this call, removed from the queue; undefined when none is. */
  takeQueuedError(service: string, operation: string): QueuedError | undefined
}

/** An error the next matching call answers with, serialised by the service as its real errors are. */
export interface QueuedError {
  service: string
  operation: string
  code: string
  message?: string
}

/** An AWS call at the door: who makes it and what it is. */
export interface GatedCall {
  caller?: string
  service: string
  operation: string
  kind: CallKind
}

/** A paused cloud holds the AWS calls it matches at the door (not yet handled, not recorded) until resume(). */
export interface PauseHandle {
  /** Callers (access key ids) of the calls held so far, one entry per call. */
  waiting(): string[]
  resume(): void
}

interface CloudInternals {
  pending: Set<Promise<unknown>>
  calls: CallRecord[]
  seq: number
  endpoint: string
  random: () => number
}

function createTracker(internals: CloudInternals): Pick<CoreCloud, 'track' | 'waitIdle' | 'pendingWork'> {
  return {
    track<T>(work: Promise<T>): Promise<T> {
      const settled = work.then(
        () => undefined,
        () => undefined
      )
      internals.pending.add(settled)
      void settled.then(() => internals.pending.delete(settled))
      return work
    },
    async waitIdle(): Promise<void> {
      while (internals.pending.size > 0) {
        await Promise.all([...internals.pending])
        // let continuations that register follow-up work run first
        await new Promise((resolve) => setImmediate(resolve))
      }
    },
    pendingWork: () => internals.pending.size
  }
}

export function createCloud(options: EmulatorOptions): CoreCloud {
  const faults: FaultSettings = { ...DEFAULT_FAULTS, ...options.faults }
  const simulation: SimulationSettings = { ...DEFAULT_SIMULATION, ...options.simulation }
  const internals: CloudInternals = {
    pending: new Set(),
    calls: [],
    seq: 0,
    endpoint: '',
    random: seededRandom(faults.seed)
  }
  const bus = new EventEmitter<BusEvents>()
  const queued: QueuedError[] = []
  let paused:
    { held: string[]; holds: (call: GatedCall) => boolean; open: Promise<void>; resume: () => void } | undefined
  return {
    accountId: options.accountId ?? DEFAULT_ACCOUNT_ID,
    options,
    faults,
    simulation,
    shared: { vpcs: new Map(), roles: new Map() },
    bus,
    calls: internals.calls,
    endpoint: () => internals.endpoint,
    setEndpoint: (url) => {
      internals.endpoint = url
    },
    random: () => internals.random(),
    ...createTracker(internals),
    log(record) {
      internals.seq += 1
      const call: CallRecord = { seq: internals.seq, ...record }
      internals.calls.push(call)
      bus.emit('call', call)
    },
    gate(call) {
      if (!paused?.holds(call)) return Promise.resolve()
      paused.held.push(call.caller ?? '')
      return paused.open
    },
    pause(holds = () => true) {
      if (paused) throw new Error('the emulator is already paused')
      let resume: () => void = () => undefined
      const open = new Promise<void>((resolve) => (resume = resolve))
      paused = { held: [], holds, open, resume }
      const mine = paused
      return {
        waiting: () => [...mine.held],
        resume: () => {
          if (paused === mine) paused = undefined
          mine.resume()
        }
      }
    },
    queueError(error) {
      queued.push({ ...error })
    },
    takeQueuedError(service, operation) {
      const i = queued.findIndex((e) => e.service === service && e.operation === operation)
      return i < 0 ? undefined : queued.splice(i, 1)[0]
    },
    setFaults(partial) {
      Object.assign(faults, partial)
      if (partial.seed !== undefined) internals.random = seededRandom(partial.seed)
      return { ...faults }
    }
  }
}
