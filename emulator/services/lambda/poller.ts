/**
 * The SQS poller of an event source mapping. While the mapping is Enabled it receives messages
 * (each receive makes them invisible for the queue's visibility timeout and counts a receive),
 * gathers a batch until BatchSize is reached, the batching window is over, or the payload would
 * pass 6 MB, and invokes the function synchronously with the SQS event; at most
 * ScalingConfig.MaximumConcurrency (else the function's concurrency) batches at once. A successful
 * batch is deleted; with ReportBatchItemFailures every message but the reported ones is; a failed
 * invocation deletes nothing (the messages come back after the visibility timeout, and move to
 * the dead-letter queue after maxReceiveCount receives).
 *
 * waitIdle: a mapping is busy (tracked work) from the moment its queue has a visible message until
 * the queue has none and none of its invocations runs. Messages in flight or delayed do not keep
 * it busy, so a function that keeps failing cannot hold waitIdle for ever.
 */
import type { Cloud } from '../../types.js'
import { queueAccess, type ReceivedMessage } from '../sqs/access.js'
import { functionLimit } from './concurrency.js'
import { count, liveSnapshot, type EventSourceMapping, type Fn, type LambdaState } from './model.js'

const POLL_MS = 20
const MAX_PAYLOAD = 6 * 1024 * 1024

function nap(m: EventSourceMapping, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      if (m.poller.wake === done) m.poller.wake = undefined
      resolve()
    }
    m.poller.wake = done
  })
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** The function the mapping feeds, when the mapping is Enabled and the function can run. */
function target(cloud: Cloud, state: LambdaState, m: EventSourceMapping): Fn | undefined {
  if (m.poller.stopped || m.state !== 'Enabled' || !state.executor.accepting) return undefined
  const fn = [...state.functions.values()].find((f) => f.arn === m.functionArn)
  if (!fn || functionLimit(cloud, state, fn.arn) === 0) return undefined
  return fn
}

function markBusy(cloud: Cloud, m: EventSourceMapping): void {
  if (m.poller.idle) return
  void cloud.track(new Promise<void>((resolve) => (m.poller.idle = resolve)))
}

function settle(cloud: Cloud, m: EventSourceMapping, force = false): void {
  if (!m.poller.idle) return
  const quiet = m.poller.inflight === 0 && (queueAccess(cloud)?.visibleCount(m.eventSourceArn) ?? 0) === 0
  if (!force && !quiet) return
  const idle = m.poller.idle
  m.poller.idle = undefined
  idle()
}

function sqsMs(cloud: Cloud, seconds: number): number {
  return seconds * 1000 * (cloud.simulation.sqsTimeScale ?? 1)
}

/** Receive a batch: up to BatchSize, waiting up to the batching window once a first message came. */
async function gather(cloud: Cloud, m: EventSourceMapping): Promise<ReceivedMessage[]> {
  const queues = queueAccess(cloud)
  if (!queues) return []
  const out: ReceivedMessage[] = []
  let bytes = 0
  let deadline: number | undefined
  while (out.length < m.batchSize && !m.poller.stopped) {
    const asked = Math.min(10, m.batchSize - out.length)
    const got = queues.receive(m.eventSourceArn, asked)
    // busy from the first message on: waitIdle must not settle while a batching window holds messages
    if (got.length > 0) markBusy(cloud, m)
    out.push(...got)
    bytes += got.reduce((n, r) => n + Buffer.byteLength(r.body), 0)
    if (out.length === 0 || bytes >= MAX_PAYLOAD) break
    if (got.length === asked) continue
    deadline ??= Date.now() + sqsMs(cloud, m.batchingWindowSeconds)
    const left = deadline - Date.now()
    if (left <= 0) break
    await nap(m, Math.min(POLL_MS, left))
  }
  return out
}

function sqsEvent(m: EventSourceMapping, batch: ReceivedMessage[]): string {
  return JSON.stringify({
    Records: batch.map((r) => ({
      messageId: r.messageId,
      receiptHandle: r.receiptHandle,
      body: r.body,
      attributes: r.attributes,
      messageAttributes: r.messageAttributes,
      md5OfBody: r.md5OfBody,
      eventSource: 'aws:sqs',
      eventSourceARN: m.eventSourceArn,
      awsRegion: m.region
    }))
  })
}

/**
 * The message ids the function reported as failed; every id when the response does not follow the
 * ReportBatchItemFailures contract (an itemIdentifier missing, empty or not in the batch).
 */
function reportedFailures(batch: ReceivedMessage[], payload: string): Set<string> {
  const all = new Set(batch.map((r) => r.messageId))
  let parsed: unknown
  try {
    parsed = JSON.parse(payload)
  } catch {
    return all
  }
  if (parsed === null || typeof parsed !== 'object') return new Set()
  const failures = (parsed as { batchItemFailures?: unknown }).batchItemFailures
  if (failures === undefined || failures === null) return new Set()
  if (!Array.isArray(failures)) return all
  const out = new Set<string>()
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier
    if (typeof id !== 'string' || !all.has(id)) return all
    out.add(id)
  }
  return out
}

interface PollerContext {
  cloud: Cloud
  state: LambdaState
  m: EventSourceMapping
}

async function invokeBatch({ cloud, state, m }: PollerContext, fn: Fn, batch: ReceivedMessage[]): Promise<void> {
  m.stats.batches += 1
  m.stats.records += batch.length
  m.stats.largestBatch = Math.max(m.stats.largestBatch, batch.length)
  const wait = fn.activeAt - Date.now()
  if (wait > 0) await sleep(wait)
  const result = await state.executor
    .invoke(liveSnapshot(fn), sqsEvent(m, batch))
    .then((r) => count(fn, r))
    .catch(() => undefined)
  if (!result?.ok) {
    m.lastProcessingResult = 'PROBLEM: Function call failed'
    return
  }
  const failed = m.functionResponseTypes.includes('ReportBatchItemFailures')
    ? reportedFailures(batch, result.payload)
    : new Set<string>()
  const queues = queueAccess(cloud)
  for (const r of batch) if (!failed.has(r.messageId)) queues?.deleteMessage(m.eventSourceArn, r.receiptHandle)
  m.lastProcessingResult = 'OK'
}

async function loop(cloud: Cloud, state: LambdaState, m: EventSourceMapping): Promise<void> {
  while (!m.poller.stopped) {
    const fn = target(cloud, state, m)
    if (!fn) {
      settle(cloud, m, m.poller.inflight === 0)
      await nap(m, POLL_MS)
      continue
    }
    const cap = Math.min(m.maximumConcurrency ?? Infinity, Math.max(1, functionLimit(cloud, state, fn.arn)))
    if (m.poller.inflight >= cap) {
      await nap(m, POLL_MS)
      continue
    }
    const batch = await gather(cloud, m)
    if (batch.length === 0) {
      settle(cloud, m)
      await nap(m, POLL_MS)
      continue
    }
    markBusy(cloud, m)
    m.poller.inflight += 1
    const work = invokeBatch({ cloud, state, m }, fn, batch).finally(() => {
      m.poller.inflight -= 1
      m.poller.wake?.()
    })
    void cloud.track(work)
  }
  settle(cloud, m, true)
}

/** Starts the mapping's poller; it runs (untracked, timers only) until stopPoller. */
export function startPoller(cloud: Cloud, state: LambdaState, m: EventSourceMapping): void {
  const queues = queueAccess(cloud)
  m.poller.unsubscribe = queues?.subscribe(m.eventSourceArn, () => {
    if (!target(cloud, state, m)) return
    markBusy(cloud, m)
    m.poller.wake?.()
  })
  void loop(cloud, state, m)
}

export function stopPoller(m: EventSourceMapping): void {
  m.poller.stopped = true
  m.poller.unsubscribe?.()
  m.poller.wake?.()
}
