/** CloudWatch Logs' state: log groups, their streams and events; the sink Lambda writes function output through. */
import type { LogEventInput, LogSink } from '../../types.js'
import { logsError } from './errors.js'

export interface StoredEvent {
  timestamp: number
  message: string
  ingestionTime: number
  seq: number
}

export interface Stream {
  name: string
  createdAt: number
  events: StoredEvent[]
}

export interface Group {
  name: string
  region: string
  createdAt: number
  retentionInDays?: number
  streams: Map<string, Stream>
  tags: Record<string, string>
}

export interface LogsState {
  groups: Map<string, Group>
  seq: number
}

export function groupKey(region: string, name: string): string {
  return `${region}/${name}`
}

export function getGroup(state: LogsState, region: string, name: string): Group {
  const g = state.groups.get(groupKey(region, name))
  if (!g) throw logsError('ResourceNotFoundException', 'The specified log group does not exist.')
  return g
}

export function getStream(g: Group, name: string): Stream {
  const s = g.streams.get(name)
  if (!s) throw logsError('ResourceNotFoundException', 'The specified log stream does not exist.')
  return s
}

export function newGroup(region: string, name: string, tags: Record<string, string> = {}): Group {
  if (!/^[.\-_/#A-Za-z0-9]{1,512}$/.test(name)) {
    throw logsError(
      'InvalidParameterException',
      `1 validation error detected: Value '${name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+`
    )
  }
  return { name, region, createdAt: Date.now(), streams: new Map(), tags }
}

export function appendEvents(state: LogsState, stream: Stream, events: LogEventInput[]): void {
  const now = Date.now()
  for (const e of events) {
    state.seq += 1
    stream.events.push({ timestamp: e.timestamp, message: e.message, ingestionTime: now, seq: state.seq })
  }
}

/** Where other modules (Lambda) append log events. */
export function logSink(state: LogsState): LogSink {
  return {
    append(target, events, options) {
      const key = groupKey(target.region, target.group)
      let g = state.groups.get(key)
      if (!g) {
        if (options?.createGroup === false) return
        g = newGroup(target.region, target.group)
        state.groups.set(key, g)
      }
      let stream = g.streams.get(target.stream)
      if (!stream) {
        stream = { name: target.stream, createdAt: Date.now(), events: [] }
        g.streams.set(target.stream, stream)
      }
      appendEvents(state, stream, events)
    }
  }
}
