/**
 * The stack's spot interruptions, as the DNS updater logged them (SpotEventLine in names.ts): one
 * FilterLogEvents over the project's updater log group, its lines parsed, the stack's kept, duplicates
 * (SQS delivers at least once) counted once. A run that writes nothing keeps no record of its own
 * time, so the window is fixed: the last INTERRUPTION_WINDOW_DAYS days, within the log's retention.
 */
import { paginateFilterLogEvents } from '@aws-sdk/client-cloudwatch-logs'
import { errorCode, wrap } from './aws/errors.js'
import type { Aws } from './aws/send.js'
import { logGroupName, parseSpotEventLine, SPOT_EVENT_FILTER, type StackScope } from './names.js'

export const INTERRUPTION_WINDOW_DAYS = 7

export interface ServiceInterruptions {
  service: string
  /** EC2's two-minute warnings. */
  warnings: number
  rebalances: number
  /** Instances EC2 took back. */
  reclaims: number
}

export interface Interruptions {
  /** ISO 8601: the window's start. */
  since: string
  services: ServiceInterruptions[]
}

/** Counts per service from the updater's log messages (pure): the stack's lines, each (event, instance, at) once. */
export function countInterruptions(scope: StackScope, messages: string[], since: string): Interruptions {
  const seen = new Set<string>()
  const by = new Map<string, ServiceInterruptions>()
  for (const message of messages) {
    const line = parseSpotEventLine(message.trim())
    if (!line || line.project !== scope.project || line.stack !== scope.stack) continue
    const key = `${line.event} ${line.instance} ${line.at ?? ''}`
    if (seen.has(key)) continue
    seen.add(key)
    const counts = by.get(line.service) ?? { service: line.service, warnings: 0, rebalances: 0, reclaims: 0 }
    if (line.event === 'spot-interruption-warning') counts.warnings += 1
    else if (line.event === 'rebalance-recommendation') counts.rebalances += 1
    else counts.reclaims += 1
    by.set(line.service, counts)
  }
  return { since, services: [...by.values()].sort((a, b) => a.service.localeCompare(b.service)) }
}

export async function readInterruptions(aws: Aws, scope: StackScope, now = Date.now()): Promise<Interruptions> {
  const startTime = now - INTERRUPTION_WINDOW_DAYS * 24 * 3600 * 1000
  const since = new Date(startTime).toISOString()
  const group = logGroupName(scope)
  const messages: string[] = []
  try {
    for await (const page of paginateFilterLogEvents(
      { client: aws.through('logs') },
      { logGroupName: group, filterPattern: SPOT_EVENT_FILTER, startTime }
    ))
      messages.push(...(page.events ?? []).map((e) => e.message ?? ''))
  } catch (err) {
    // no updater yet (a first deploy): nothing was interrupted
    if (errorCode(err) === 'ResourceNotFoundException') return { since, services: [] }
    throw wrap(`reading the spot interruptions from ${group}`, err)
  }
  return countInterruptions(scope, messages, since)
}
