/** CloudWatch Logs' operations, one row each. */
import type {
  CreateLogGroupRequest,
  CreateLogStreamRequest,
  DeleteLogGroupRequest,
  DeleteRetentionPolicyRequest,
  DescribeLogGroupsRequest,
  DescribeLogGroupsResponse,
  DescribeLogStreamsRequest,
  DescribeLogStreamsResponse,
  FilterLogEventsRequest,
  FilterLogEventsResponse,
  GetLogEventsRequest,
  GetLogEventsResponse,
  PutLogEventsRequest,
  PutLogEventsResponse,
  PutRetentionPolicyRequest
} from '@aws-sdk/client-cloudwatch-logs'
import type { Cloud } from '../../types.js'
import type { JsonContext, JsonHandler } from '../../protocols/json-rpc.js'
import { logsError } from './errors.js'
import {
  appendEvents,
  getGroup,
  getStream,
  groupKey,
  newGroup,
  type Group,
  type LogsState,
  type StoredEvent,
  type Stream
} from './model.js'

const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
]

function required(value: string | undefined, member: string): string {
  if (value === undefined || value === '') {
    throw logsError(
      'InvalidParameterException',
      `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`
    )
  }
  return value
}

function groupArn(cloud: Cloud, g: Group): string {
  return `arn:aws:logs:${g.region}:${cloud.accountId}:log-group:${g.name}`
}

function page<T>(items: T[], nextToken: string | undefined, limit: number): { items: T[]; nextToken?: string } {
  const start = Number(nextToken ?? 0) || 0
  const slice = items.slice(start, start + limit)
  return { items: slice, nextToken: start + limit < items.length ? String(start + limit) : undefined }
}

function lastTime(s: Stream): number {
  return s.events[s.events.length - 1]?.timestamp ?? s.createdAt
}

function inTimeRange(e: StoredEvent, range: { startTime?: number; endTime?: number }): boolean {
  return (
    (range.startTime === undefined || e.timestamp >= range.startTime) &&
    (range.endTime === undefined || e.timestamp < range.endTime)
  )
}

/**
 * Filter pattern terms: every term (a word or a "quoted phrase") must occur,
 * a -term must not; with ?terms, any one of them is enough.
 */
function matchesPattern(message: string, pattern: string | undefined): boolean {
  if (!pattern || pattern.trim() === '') return true
  const terms = [...pattern.matchAll(/([?-]?)(?:"([^"]*)"|(\S+))/g)].map((m) => ({
    op: m[1] ?? '',
    text: m[2] ?? m[3] ?? ''
  }))
  const anyOf = terms.filter((t) => t.op === '?')
  if (anyOf.length > 0) return anyOf.some((t) => message.includes(t.text))
  return terms.every((t) => (t.op === '-' ? !message.includes(t.text) : message.includes(t.text)))
}

export function handlers(cloud: Cloud, state: LogsState): Record<string, JsonHandler> {
  const group = (ctx: JsonContext, name: string | undefined): Group =>
    getGroup(state, ctx.region, required(name, 'logGroupName'))
  return {
    CreateLogGroup: (input: CreateLogGroupRequest, ctx: JsonContext) => {
      const name = required(input.logGroupName, 'logGroupName')
      const key = groupKey(ctx.region, name)
      if (state.groups.has(key))
        throw logsError('ResourceAlreadyExistsException', 'The specified log group already exists')
      state.groups.set(key, newGroup(ctx.region, name, { ...input.tags }))
    },
    DescribeLogGroups: (input: DescribeLogGroupsRequest, ctx: JsonContext): DescribeLogGroupsResponse => {
      const prefix = input.logGroupNamePrefix ?? ''
      const pattern = input.logGroupNamePattern
      const ids = input.logGroupIdentifiers
      if (ids && (input.logGroupNamePrefix !== undefined || pattern !== undefined))
        throw logsError(
          'InvalidParameterException',
          'logGroupIdentifiers cannot be combined with logGroupNamePrefix or logGroupNamePattern'
        )
      // An identifier is a group's name or its ARN (without the trailing :*).
      const named = ids ? new Set(ids.map((id) => id.replace(/^arn:[^:]+:logs:[^:]*:[^:]*:log-group:/, ''))) : undefined
      const groups = [...state.groups.values()]
        .filter(
          (g) =>
            g.region === ctx.region &&
            g.name.startsWith(prefix) &&
            (!pattern || g.name.includes(pattern)) &&
            (!named || named.has(g.name))
        )
        .sort((a, b) => (a.name < b.name ? -1 : 1))
      const { items, nextToken } = page(groups, input.nextToken, input.limit ?? 50)
      return {
        logGroups: items.map((g) => ({
          logGroupName: g.name,
          creationTime: g.createdAt,
          retentionInDays: g.retentionInDays,
          metricFilterCount: 0,
          arn: `${groupArn(cloud, g)}:*`,
          logGroupArn: groupArn(cloud, g),
          storedBytes: 0,
          logGroupClass: 'STANDARD'
        })),
        nextToken
      }
    },
    PutRetentionPolicy: (input: PutRetentionPolicyRequest, ctx: JsonContext) => {
      const g = group(ctx, input.logGroupName)
      const days = input.retentionInDays
      if (days === undefined || !RETENTION_DAYS.includes(days)) {
        throw logsError(
          'InvalidParameterException',
          `1 validation error detected: Value '${days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(', ')}]`
        )
      }
      g.retentionInDays = days
    },
    DeleteRetentionPolicy: (input: DeleteRetentionPolicyRequest, ctx: JsonContext) => {
      group(ctx, input.logGroupName).retentionInDays = undefined
    },
    DeleteLogGroup: (input: DeleteLogGroupRequest, ctx: JsonContext) => {
      const g = group(ctx, input.logGroupName)
      state.groups.delete(groupKey(g.region, g.name))
    },
    CreateLogStream: (input: CreateLogStreamRequest, ctx: JsonContext) => {
      const g = group(ctx, input.logGroupName)
      const name = required(input.logStreamName, 'logStreamName')
      if (g.streams.has(name))
        throw logsError('ResourceAlreadyExistsException', 'The specified log stream already exists')
      g.streams.set(name, { name, createdAt: Date.now(), events: [] })
    },
    DescribeLogStreams: (input: DescribeLogStreamsRequest, ctx: JsonContext): DescribeLogStreamsResponse => {
      const g = group(ctx, input.logGroupName)
      const prefix = input.logStreamNamePrefix ?? ''
      const streams = [...g.streams.values()].filter((s) => s.name.startsWith(prefix))
      if (input.orderBy === 'LastEventTime') streams.sort((a, b) => lastTime(a) - lastTime(b))
      else streams.sort((a, b) => (a.name < b.name ? -1 : 1))
      if (input.descending === true) streams.reverse()
      const { items, nextToken } = page(streams, input.nextToken, input.limit ?? 50)
      return {
        logStreams: items.map((s) => ({
          logStreamName: s.name,
          creationTime: s.createdAt,
          firstEventTimestamp: s.events[0]?.timestamp,
          lastEventTimestamp: s.events[s.events.length - 1]?.timestamp,
          lastIngestionTime: s.events[s.events.length - 1]?.ingestionTime,
          storedBytes: 0
        })),
        nextToken
      }
    },
    PutLogEvents: (input: PutLogEventsRequest, ctx: JsonContext): PutLogEventsResponse => {
      const stream = getStream(group(ctx, input.logGroupName), required(input.logStreamName, 'logStreamName'))
      const events = (input.logEvents ?? []).map((e) => ({ timestamp: Number(e.timestamp), message: e.message ?? '' }))
      if (events.some((e, i) => i > 0 && e.timestamp < (events[i - 1]?.timestamp ?? 0))) {
        throw logsError(
          'InvalidParameterException',
          'Log events in a single PutLogEvents request must be in chronological order.'
        )
      }
      appendEvents(state, stream, events)
      return { nextSequenceToken: String(state.seq) }
    },
    GetLogEvents: (input: GetLogEventsRequest, ctx: JsonContext): GetLogEventsResponse => {
      const stream = getStream(group(ctx, input.logGroupName), required(input.logStreamName, 'logStreamName'))
      const all = stream.events.filter((e) => inTimeRange(e, input))
      const limit = input.limit ?? 10000
      const token = input.nextToken
      const start = token
        ? Number(token.slice(2)) || 0
        : input.startFromHead === true
          ? 0
          : Math.max(0, all.length - limit)
      const slice = all.slice(start, start + limit)
      return {
        events: slice.map((e) => ({ timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime })),
        nextForwardToken: `f/${start + slice.length}`,
        nextBackwardToken: `b/${Math.max(0, start - limit)}`
      }
    },
    FilterLogEvents: (input: FilterLogEventsRequest, ctx: JsonContext): FilterLogEventsResponse => {
      const g = group(ctx, input.logGroupName)
      const names = input.logStreamNames ?? []
      const prefix = input.logStreamNamePrefix
      const streams = [...g.streams.values()].filter(
        (s) => (names.length === 0 || names.includes(s.name)) && (!prefix || s.name.startsWith(prefix))
      )
      const events = streams
        .flatMap((s) =>
          s.events
            .filter((e) => inTimeRange(e, input) && matchesPattern(e.message, input.filterPattern))
            .map((e) => ({ s, e }))
        )
        .sort((a, b) => a.e.timestamp - b.e.timestamp || a.e.seq - b.e.seq)
      const { items, nextToken } = page(events, input.nextToken, input.limit ?? 10000)
      return {
        events: items.map(({ s, e }) => ({
          logStreamName: s.name,
          timestamp: e.timestamp,
          message: e.message,
          ingestionTime: e.ingestionTime,
          eventId: String(e.seq)
        })),
        searchedLogStreams: streams.map((s) => ({ logStreamName: s.name, searchedCompletely: true })),
        nextToken
      }
    }
  }
}
