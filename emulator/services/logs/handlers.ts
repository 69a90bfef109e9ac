/** CloudWatch Logs (JSON 1.1, Logs_20140328.<Op>): log groups, streams and events; Lambda writes here too. */
import { type Cloud, type EmulatorRequest, type EmulatorResponse, type LogEventInput, type LogSink, type ServiceModule } from '../../types.js'
import { arr, jsonRpcBody, jsonRpcError, jsonRpcResponse, num, obj, requireStr, str, targetOperation } from '../../protocols/json-rpc.js'
import { LOGS_ERRORS, logsError } from './errors.js'

const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]

interface StoredEvent {
  timestamp: number
  message: string
  ingestionTime: number
  seq: number
}

interface Stream {
  name: string
  createdAt: number
  events: StoredEvent[]
}

interface Group {
  name: string
  region: string
  createdAt: number
  retentionInDays?: number
  streams: Map<string, Stream>
  tags: Record<string, string>
}

interface State {
  groups: Map<string, Group>
  seq: number
}

type Body = Record<string, unknown>
type Handler = (state: State, body: Body, req: EmulatorRequest, cloud: Cloud) => unknown

function groupKey(region: string, name: string): string {
  return `${region}/${name}`
}

function groupArn(cloud: Cloud, g: Group): string {
  return `arn:aws:logs:${g.region}:${cloud.accountId}:log-group:${g.name}`
}

function getGroup(state: State, region: string, name: string): Group {
  const g = state.groups.get(groupKey(region, name))
  if (!g) throw logsError('ResourceNotFoundException', 'The specified log group does not exist.')
  return g
}

function getStream(g: Group, name: string): Stream {
  const s = g.streams.get(name)
  if (!s) throw logsError('ResourceNotFoundException', 'The specified log stream does not exist.')
  return s
}

function newGroup(region: string, name: string, tags: Record<string, string> = {}): Group {
  if (!/^[.\-_/#A-Za-z0-9]{1,512}$/.test(name)) {
    throw logsError('InvalidParameterException', `1 validation error detected: Value '${name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+`)
  }
  return { name, region, createdAt: Date.now(), streams: new Map(), tags }
}

function appendEvents(state: State, stream: Stream, events: LogEventInput[]): void {
  const now = Date.now()
  for (const e of events) {
    state.seq += 1
    stream.events.push({ timestamp: e.timestamp, message: e.message, ingestionTime: now, seq: state.seq })
  }
}

const createLogGroup: Handler = (state, body, req) => {
  const name = requireStr(body, 'logGroupName', 'InvalidParameterException')
  const key = groupKey(req.region, name)
  if (state.groups.has(key)) throw logsError('ResourceAlreadyExistsException', 'The specified log group already exists')
  const tags = Object.fromEntries(Object.entries(obj(body.tags)).map(([k, v]) => [k, String(v)]))
  state.groups.set(key, newGroup(req.region, name, tags))
  return {}
}

function page<T>(items: T[], body: Body, defaultLimit: number): { items: T[]; nextToken?: string } {
  const start = Number(str(body, 'nextToken') ?? 0) || 0
  const limit = num(body, 'limit') ?? defaultLimit
  const slice = items.slice(start, start + limit)
  return { items: slice, nextToken: start + limit < items.length ? String(start + limit) : undefined }
}

const describeLogGroups: Handler = (state, body, req, cloud) => {
  const prefix = str(body, 'logGroupNamePrefix') ?? ''
  const pattern = str(body, 'logGroupNamePattern')
  const groups = [...state.groups.values()]
    .filter((g) => g.region === req.region && g.name.startsWith(prefix) && (!pattern || g.name.includes(pattern)))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
  const { items, nextToken } = page(groups, body, 50)
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
}

const putRetentionPolicy: Handler = (state, body, req) => {
  const g = getGroup(state, req.region, requireStr(body, 'logGroupName', 'InvalidParameterException'))
  const days = num(body, 'retentionInDays')
  if (days === undefined || !RETENTION_DAYS.includes(days)) {
    throw logsError('InvalidParameterException', `1 validation error detected: Value '${days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(', ')}]`)
  }
  g.retentionInDays = days
  return {}
}

const deleteRetentionPolicy: Handler = (state, body, req) => {
  getGroup(state, req.region, requireStr(body, 'logGroupName', 'InvalidParameterException')).retentionInDays = undefined
  return {}
}

const deleteLogGroup: Handler = (state, body, req) => {
  const g = getGroup(state, req.region, requireStr(body, 'logGroupName', 'InvalidParameterException'))
  state.groups.delete(groupKey(g.region, g.name))
  return {}
}

const createLogStream: Handler = (state, body, req) => {
  const g = getGroup(state, req.region, requireStr(body, 'logGroupName', 'InvalidParameterException'))
  const name = requireStr(body, 'logStreamName', 'InvalidParameterException')
  if (g.streams.has(name)) throw logsError('ResourceAlreadyExistsException', 'The specified log stream already exists')
  g.streams.set(name, { name, createdAt: Date.now(), events: [] })
  return {}
}

const describeLogStreams: Handler = (state, body, req) => {
  const g = getGroup(state, req.region, requireStr(body, 'logGroupName', 'InvalidParameterException'))
  const prefix = str(body, 'logStreamNamePrefix') ?? ''
  const streams = [...g.streams.values()].filter((s) => s.name.startsWith(prefix))
  if (str(body, 'orderBy') === 'LastEventTime') streams.sort((a, b) => lastTime(a) - lastTime(b))
  else streams.sort((a, b) => (a.name < b.name ? -1 : 1))
  if (body.descending === true) streams.reverse()
  const { items, nextToken } = page(streams, body, 50)
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
}

function lastTime(s: Stream): number {
  return s.events[s.events.length - 1]?.timestamp ?? s.createdAt
}

const putLogEvents: Handler = (state, body, req) => {
  const g = getGroup(state, req.region, requireStr(body, 'logGroupName', 'InvalidParameterException'))
  const stream = getStream(g, requireStr(body, 'logStreamName', 'InvalidParameterException'))
  const events = arr(body, 'logEvents').map((e) => ({ timestamp: Number(obj(e).timestamp), message: String(obj(e).message ?? '') }))
  if (events.some((e, i) => i > 0 && e.timestamp < (events[i - 1]?.timestamp ?? 0))) {
    throw logsError('InvalidParameterException', 'Log events in a single PutLogEvents request must be in chronological order.')
  }
  appendEvents(state, stream, events)
  return { nextSequenceToken: String(state.seq) }
}

function inTimeRange(e: StoredEvent, body: Body): boolean {
  const start = num(body, 'startTime')
  const end = num(body, 'endTime')
  return (start === undefined || e.timestamp >= start) && (end === undefined || e.timestamp < end)
}

const getLogEvents: Handler = (state, body, req) => {
  const g = getGroup(state, req.region, requireStr(body, 'logGroupName', 'InvalidParameterException'))
  const stream = getStream(g, requireStr(body, 'logStreamName', 'InvalidParameterException'))
  const all = stream.events.filter((e) => inTimeRange(e, body))
  const limit = num(body, 'limit') ?? 10000
  const token = str(body, 'nextToken')
  const fromHead = body.startFromHead === true
  const start = token ? Number(token.slice(2)) || 0 : fromHead ? 0 : Math.max(0, all.length - limit)
  const slice = all.slice(start, start + limit)
  return {
    events: slice.map((e) => ({ timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime })),
    nextForwardToken: `f/${start + slice.length}`,
    nextBackwardToken: `b/${Math.max(0, start - limit)}`
  }
}

/**
 * Filter pattern terms: every term (a word or a "quoted phrase") must occur,
 * a -term must not; with ?terms, any one of them is enough.
 */
function matchesPattern(message: string, pattern: string | undefined): boolean {
  if (!pattern || pattern.trim() === '') return true
  const terms = [...pattern.matchAll(/([?-]?)(?:"([^"]*)"|(\S+))/g)].map((m) => ({ op: m[1] ?? '', text: m[2] ?? m[3] ?? '' }))
  const anyOf = terms.filter((t) => t.op === '?')
  if (anyOf.length > 0) return anyOf.some((t) => message.includes(t.text))
  return terms.every((t) => (t.op === '-' ? !message.includes(t.text) : message.includes(t.text)))
}

const filterLogEvents: Handler = (state, body, req) => {
  const g = getGroup(state, req.region, requireStr(body, 'logGroupName', 'InvalidParameterException'))
  const names = arr(body, 'logStreamNames').map(String)
  const prefix = str(body, 'logStreamNamePrefix')
  const streams = [...g.streams.values()].filter((s) => (names.length === 0 || names.includes(s.name)) && (!prefix || s.name.startsWith(prefix)))
  const pattern = str(body, 'filterPattern')
  const events = streams
    .flatMap((s) => s.events.filter((e) => inTimeRange(e, body) && matchesPattern(e.message, pattern)).map((e) => ({ s, e })))
    .sort((a, b) => a.e.timestamp - b.e.timestamp || a.e.seq - b.e.seq)
  const { items, nextToken } = page(events, body, 10000)
  return {
    events: items.map(({ s, e }) => ({ logStreamName: s.name, timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime, eventId: String(e.seq) })),
    searchedLogStreams: streams.map((s) => ({ logStreamName: s.name, searchedCompletely: true })),
    nextToken
  }
}

const HANDLERS: Record<string, Handler> = {
  CreateLogGroup: createLogGroup,
  DescribeLogGroups: describeLogGroups,
  PutRetentionPolicy: putRetentionPolicy,
  DeleteRetentionPolicy: deleteRetentionPolicy,
  DeleteLogGroup: deleteLogGroup,
  CreateLogStream: createLogStream,
  DescribeLogStreams: describeLogStreams,
  PutLogEvents: putLogEvents,
  GetLogEvents: getLogEvents,
  FilterLogEvents: filterLogEvents
}

function sink(state: State): LogSink {
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

export function createLogs(cloud: Cloud): ServiceModule {
  const state: State = { groups: new Map(), seq: 0 }
  cloud.shared.logs = sink(state)
  return {
    signingName: 'logs',
    throttleCode: 'ThrottlingException',
    errors: LOGS_ERRORS,
    serverErrorCode: 'ServiceUnavailableException',
    operation: (req) => targetOperation(req, 'Logs_20140328'),
    async handle(operation, req): Promise<EmulatorResponse> {
      const handler = HANDLERS[operation]
      if (!handler) throw logsError('UnknownOperationException', `The emulator's CloudWatch Logs does not implement ${operation}`)
      return jsonRpcResponse(handler(state, jsonRpcBody(req), req, cloud))
    },
    error: (err) => jsonRpcError(err),
    state: () => [...state.groups.values()].map((g) => ({ name: g.name, region: g.region, retentionInDays: g.retentionInDays, streams: [...g.streams.keys()] }))
  }
}
