/**
 * The REST and JSON protocol layers read requests and write responses from schemas in the SDK's own
 * format, so a handler only ever sees and returns SDK-shaped objects.
 */
import { AwsError, type EmulatorRequest } from '../emulator/types.js'
import { readJson, writeJson } from '../emulator/protocols/json-shapes.js'
import { createRestModule } from '../emulator/protocols/rest.js'
import { jsonBodyCodec, restJsonError } from '../emulator/protocols/rest-json.js'
import { xmlBodyCodec } from '../emulator/protocols/rest-xml.js'
import { NormalizedSchema } from '@smithy/core/schema'

const ns = 'test'
// Static schemas in the SDK's format: [3, ns, name, traits, memberNames, memberSchemas] for structures,
// [1, ns, name, traits, member] for lists, [-3, ...] for errors, [9, ns, name, traits, input, output] for operations.
const Tags = [1, ns, 'Tags', 0, [0, { xmlName: 'Tag' }]]
const PartInput = [
  3,
  ns,
  'PartInput',
  0,
  ['Id', 'Tags', 'Mode', 'Body'],
  [
    [0, 1],
    [Tags, { httpQuery: 'tag' }],
    [0, { httpHeader: 'X-Mode' }],
    [21, 16]
  ]
]
const PartOutput = [
  3,
  ns,
  'PartOutput',
  0,
  ['Code', 'Version', 'Name', 'Created', 'Data'],
  [[1, 32], [0, { httpHeader: 'X-Version' }], [0, { jsonName: 'name' }], 4, 21]
]
const PutPart = [
  9,
  ns,
  'PutPart',
  { http: ['POST', '/2020-01-01/things/{Id}/parts', 201] },
  () => PartInput,
  () => PartOutput
]
const Busy = [
  -3,
  ns,
  'Busy',
  { error: 'client', httpError: 429 },
  ['retryAfter', 'message'],
  [[0, { httpHeader: 'Retry-After' }], 0]
]
const Zone = [3, ns, 'Zone', 0, ['Name', 'Tags'], [0, Tags]]

type Schema = Parameters<typeof NormalizedSchema.of>[0]

interface RequestParts {
  query?: string
  headers?: Record<string, string>
  body?: string
}

function request(method: string, path: string, parts: RequestParts = {}): EmulatorRequest {
  const { query = '', headers = {}, body = '' } = parts
  return {
    service: 'test',
    region: 'us-east-1',
    method,
    path,
    query: new URLSearchParams(query),
    headers,
    body: Buffer.from(body)
  }
}

describe('the REST protocol layer', () => {
  let seen: unknown
  const module = createRestModule({
    signingName: 'test',
    schemas: { PutPart$: PutPart },
    handlers: {
      PutPart: (input: never) => {
        seen = input
        return {
          Code: 202,
          Version: '7',
          Name: 'n',
          Created: new Date(1_700_000_000_000),
          Data: new Uint8Array([1, 2]),
          Unmodelled: true
        }
      }
    },
    codec: jsonBodyCodec(() => new AwsError('Bad', 'bad body')),
    errors: { Bad: 400, UnknownOperationException: 400, Throttled: 400, Broken: 500 },
    throttleCode: 'Throttled',
    serverErrorCode: 'Broken',
    error: (err) => restJsonError(err)
  })

  test("routes by the operation's http trait and reads each member from where its binding puts it", async () => {
    const req = request('POST', '/2020-01-01/things/t-1/parts', {
      query: 'tag=a&tag=b',
      headers: { 'x-mode': 'fast' },
      body: 'raw bytes'
    })
    expect(module.operation(req)).toBe('PutPart')
    await module.handle('PutPart', req)
    expect(seen).toEqual({ Id: 't-1', Tags: ['a', 'b'], Mode: 'fast', Body: new Uint8Array(Buffer.from('raw bytes')) })
  })

  test('writes the response code, header and body members where the output binds them, and nothing unmodelled', async () => {
    const res = await module.handle('PutPart', request('POST', '/2020-01-01/things/t-1/parts'))
    expect(res.status).toBe(202)
    expect(res.headers?.['x-version']).toBe('7')
    expect(JSON.parse(String(res.body))).toEqual({ name: 'n', Created: 1_700_000_000, Data: 'AQI=' })
  })

  test('answers a path no handled operation has with UnknownOperationException', () => {
    expect(() => module.operation(request('GET', '/2020-01-01/things/t-1/parts'))).toThrow(/does not implement/)
  })

  test("puts an error's header-bound members in headers", () => {
    const res = restJsonError(new AwsError('Busy', 'slow down', 429), { retryAfter: '3', extra: 'x' }, { Busy$: Busy })
    expect(res.headers?.['retry-after']).toBe('3')
    expect(JSON.parse(String(res.body))).toEqual({ Type: 'User', message: 'slow down', extra: 'x' })
  })
})

describe('the JSON and XML body codecs', () => {
  test('JSON reads epoch-second timestamps and base64 blobs into SDK values and drops unknown members', () => {
    const Shape = [3, ns, 'Shape', 0, ['When', 'Blob', 'Name'], [4, 21, 0]]
    expect(
      readJson(
        Shape as unknown as Schema,
        { When: 1_700_000_000, Blob: 'AQI=', Name: 'x', Other: 1 },
        { jsonName: false }
      )
    ).toEqual({
      When: new Date(1_700_000_000_000),
      Blob: new Uint8Array([1, 2]),
      Name: 'x'
    })
    expect(
      writeJson(Shape as unknown as Schema, { When: new Date(1_700_000_000_500), Name: 'x' }, { jsonName: false })
    ).toEqual({ When: 1_700_000_000.5, Name: 'x' })
  })

  test('XML reads wrapped lists by their member name and writes the root with the namespace', () => {
    const codec = xmlBodyCodec('https://example.com/doc/', () => new AwsError('Bad', 'bad'))
    const zone = NormalizedSchema.of(Zone as unknown as Schema)
    const members = new Set(['Name', 'Tags'])
    const body = Buffer.from(
      '<?xml version="1.0"?><ZoneRequest xmlns="x"><Name>a&amp;b</Name><Tags><Tag>1</Tag><Tag>2</Tag></Tags></ZoneRequest>'
    )
    expect(codec.read(zone, body, members)).toEqual({ Name: 'a&b', Tags: ['1', '2'] })
    expect(codec.write(zone, { Name: 'z', Tags: ['t'] }, members)).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Zone xmlns="https://example.com/doc/"><Name>z</Name><Tags><Tag>t</Tag></Tags></Zone>'
    )
  })
})
