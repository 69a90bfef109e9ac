/**
 * The small languages inside a compose file: interpolation, the dotenv
 * format, port syntax and shell-style command splitting.
 */
import { parseDotenv } from '../src/compose/dotenv.js'
import { interpolateString } from '../src/compose/interpolate.js'
import type { ExposedPort, PortMapping } from '../src/compose/model.js'
import { parseExpose, parseShortPort } from '../src/compose/ports.js'
import { shellSplit } from '../src/compose/shlex.js'

const ENV: Record<string, string> = { NAME: 'web', EMPTY: '', TAG: '1.27', B: 'bee' }
const lookup = (name: string): string | undefined => ENV[name]

describe('interpolation', () => {
  it.each([
    ['substitutes a braced variable', 'nginx:${TAG}', 'nginx:1.27'],
    ['substitutes an unbraced variable', 'nginx:$TAG', 'nginx:1.27'],
    ['ends an unbraced name at the first character that cannot be in a name', '$NAME-$TAG.x', 'web-1.27.x'],
    ['turns $$ into a single dollar without interpolating', 'cost: $$NAME and $${TAG}', 'cost: $NAME and ${TAG}'],
    ['keeps a dollar that starts no variable', 'price $5 and a lone $', 'price $5 and a lone $'],
    ['uses the :- default when the variable is unset', '${MISSING:-fallback}', 'fallback'],
    ['uses the :- default when the variable is empty', '${EMPTY:-fallback}', 'fallback'],
    ['keeps a set value over the :- default', '${TAG:-latest}', '1.27'],
    ['uses the - default only when the variable is unset', '${MISSING-d}|${EMPTY-d}', 'd|'],
    [
      'substitutes the :+ replacement only for a set, non-empty variable',
      '${TAG:+yes}|${EMPTY:+yes}|${MISSING:+yes}',
      'yes||'
    ],
    ['substitutes the + replacement for any set variable', '${TAG+yes}|${EMPTY+yes}|${MISSING+yes}', 'yes|yes|'],
    ['passes a set variable through :? and ?', '${TAG:?need it}-${EMPTY?need it}', '1.27-'],
    ['interpolates nested defaults', '${MISSING:-${ALSO_MISSING:-${B}}}', 'bee'],
    ['allows an empty default', '${MISSING:-}', ''],
    ['keeps colons and dashes inside a default', '${MISSING:-a:b-c}', 'a:b-c']
  ])('%s', (_name, text, expected) => {
    expect(interpolateString(text, lookup)).toEqual({ value: expected, unset: [] })
  })

  it('substitutes an unset variable with an empty string and reports it', () => {
    expect(interpolateString('a${MISSING}b$MISSING', lookup)).toEqual({ value: 'ab', unset: ['MISSING', 'MISSING'] })
  })

  it('does not evaluate a default that is not used', () => {
    expect(interpolateString('${TAG:-${MISSING}}', lookup)).toEqual({ value: '1.27', unset: [] })
  })

  it.each([
    [
      'fails on :? with the message when the variable is empty',
      '${EMPTY:?set EMPTY}',
      'required variable EMPTY is missing a value: set EMPTY'
    ],
    [
      'fails on ? when the variable is unset, even without a message',
      '${MISSING?}',
      'required variable MISSING is missing a value'
    ],
    ['fails on an unclosed brace', 'x${TAG', 'invalid interpolation in "x${TAG": "${" is not closed by "}"'],
    ['fails on an unclosed default', '${A:-${B}', 'invalid interpolation in "${A:-${B}": "${" is not closed by "}"'],
    ['fails on an empty name', '${}', 'invalid interpolation in "${}": "${" must be followed by a variable name'],
    [
      'fails on a name that starts with a digit',
      '${1X}',
      'invalid interpolation in "${1X}": "${" must be followed by a variable name'
    ],
    [
      'fails on an unsupported modifier',
      '${TAG/1/2}',
      'invalid interpolation in "${TAG/1/2}": unsupported modifier "/" after TAG (supported: :- - :? ? :+ +)'
    ],
    [
      'fails on a substring modifier',
      '${TAG:1}',
      'invalid interpolation in "${TAG:1}": unsupported modifier ":" after TAG (supported: :- - :? ? :+ +)'
    ]
  ])('%s', (_name, text, error) => {
    expect(interpolateString(text, lookup).error).toBe(error)
  })
})

describe('the dotenv format', () => {
  const parse = (text: string) => parseDotenv(text, { template: false })

  it('reads keys and values, skipping comments and blank lines, with an optional export prefix', () => {
    const result = parse('# comment\n\nA=1\nexport B=two words\n  C = spaced  \nD=\n')
    expect(result.problems).toEqual([])
    expect(result.entries.map((e) => [e.key, e.value])).toEqual([
      ['A', '1'],
      ['B', 'two words'],
      ['C', 'spaced'],
      ['D', '']
    ])
  })

  it.each([
    ['strips an inline comment after a space in an unquoted value', 'A=value # note', 'value'],
    ['keeps a hash that is not preceded by a space', 'A=value#not-a-comment', 'value#not-a-comment'],
    ['keeps a single-quoted value literally, escapes and dollars included', "A='a\\tb $X # c'", 'a\\tb $X # c'],
    ['unescapes a quote inside single quotes', "A='Let\\'s go'", "Let's go"],
    ['applies escapes in double quotes', 'A="line1\\nline2\\t\\"q\\" \\\\"', 'line1\nline2\t"q" \\'],
    ['keeps a hash inside double quotes and drops a comment after them', 'A="a # b" # comment', 'a # b'],
    ['reads a double-quoted value over several lines', 'A="one\ntwo"', 'one\ntwo'],
    ['reads Windows line endings', 'A=1\r\n', '1']
  ])('%s', (_name, text, value) => {
    const result = parse(text)
    expect(result.problems).toEqual([])
    expect(result.entries[0]?.value).toBe(value)
  })

  it('marks a key without "=" as taken from the environment', () => {
    expect(parse('FROM_ENV\n').entries).toEqual([{ key: 'FROM_ENV', literal: false, line: 1, column: 1 }])
  })

  it('keeps an escaped dollar literal in a file that will be interpolated', () => {
    expect(parseDotenv('A="\\$HOME"', { template: true }).entries[0]?.value).toBe('$$HOME')
  })

  it.each([
    [
      'an invalid key',
      'OK=1\n1BAD=x\n',
      {
        line: 2,
        column: 1,
        message:
          '"1BAD" is not a valid environment variable name (letters, digits and underscores, not starting with a digit)'
      }
    ],
    ['an unclosed quote', 'A="open\n', { line: 1, column: 3, message: 'the value of "A" has no closing "' }],
    [
      'text after a closing quote',
      "A='x' y\n",
      { line: 1, column: 7, message: 'unexpected text after the closing quote' }
    ],
    ['a key followed by something other than "="', 'A B\n', { line: 1, column: 3, message: 'expected "=" after "A"' }]
  ])('reports %s with its line and column', (_name, text, problem) => {
    expect(parse(text).problems).toEqual([problem])
  })
})

const tcp = (published: number, target: number, hostIp?: string): PortMapping => ({
  target,
  published,
  protocol: 'tcp',
  ...(hostIp ? { hostIp } : {})
})

describe('port short syntax', () => {
  it.each<[string, string, PortMapping[]]>([
    ['publishes a container port alone on the same number', '80', [tcp(80, 80)]],
    ['maps a host port to a container port', '8000:80', [tcp(8000, 80)]],
    ['binds to a host IP', '127.0.0.1:8000:80', [tcp(8000, 80, '127.0.0.1')]],
    ['binds to a host IP with the host port left out', '127.0.0.1::80', [tcp(80, 80, '127.0.0.1')]],
    ['binds to a bracketed IPv6 address', '[::1]:8000:80', [tcp(8000, 80, '::1')]],
    ['expands equal ranges one port each', '8000-8002:80-82', [tcp(8000, 80), tcp(8001, 81), tcp(8002, 82)]],
    ['expands a range without host ports', '9000-9002', [tcp(9000, 9000), tcp(9001, 9001), tcp(9002, 9002)]],
    ['reads udp', '53:53/udp', [{ target: 53, published: 53, protocol: 'udp' }]],
    ['reads an explicit tcp', '80/tcp', [tcp(80, 80)]]
  ])('%s', (_name, text, mappings) => {
    expect(parseShortPort(text)).toEqual({ mappings })
  })

  it.each([
    ['a port above 65535', '70000', 'port 70000 is out of range 1-65535'],
    ['port 0', '0:80', 'port 0 is out of range 1-65535'],
    ['a name instead of a number', 'http', '"http" is not a port number or range such as 80 or 8000-8010'],
    ['a backwards range', '90-80', 'range "90-80" ends before it starts'],
    [
      'ranges of different lengths',
      '8000-8010:80',
      'published 8000-8010 (11 ports) and target 80 (1 port) must have the same number of ports'
    ],
    ['sctp', '80/sctp', 'protocol "sctp" is not supported; use tcp or udp'],
    ['a host IP that is not one', 'localhost:80:80', 'host IP "localhost" is not an IP address'],
    ['too many colons', '1:2:3:4', '"1:2:3:4" has too many ":"; expected [ip:][published:]target']
  ])('rejects %s', (_name, text, message) => {
    expect(parseShortPort(text)).toEqual({ problem: { message } })
  })
})

describe('expose', () => {
  const node = (value: string | number) => ({
    kind: 'scalar' as const,
    value,
    loc: { file: 'c.yaml', line: 1, column: 1 }
  })
  it.each<[string, string | number, ExposedPort[]]>([
    ['reads a number', 3000, [{ port: 3000, protocol: 'tcp' }]],
    ['reads a string with udp', '5000/udp', [{ port: 5000, protocol: 'udp' }]],
    [
      'expands a range',
      '7000-7001',
      [
        { port: 7000, protocol: 'tcp' },
        { port: 7001, protocol: 'tcp' }
      ]
    ]
  ])('%s', (_name, value, ports) => {
    expect(parseExpose(node(value))).toEqual({ ports })
  })
})

describe('command splitting without a shell', () => {
  it.each<[string, string, string[]]>([
    ['splits on whitespace', 'nginx -g   daemon', ['nginx', '-g', 'daemon']],
    ['keeps single-quoted text as one word, literally', "sh -c 'echo $HOME; ls'", ['sh', '-c', 'echo $HOME; ls']],
    ['applies the few escapes double quotes allow', 'echo "a \\"b\\" \\$c \\n"', ['echo', 'a "b" $c \\n']],
    ['escapes a space with a backslash', 'ls my\\ file', ['ls', 'my file']],
    ['joins quoted and unquoted parts of one word', 'a"b c"\'d\'', ['ab cd']],
    ['keeps an empty quoted word', "printf '' x", ['printf', '', 'x']],
    ['treats shell operators as plain words', 'echo a | grep b > out', ['echo', 'a', '|', 'grep', 'b', '>', 'out']],
    ['gives no words for an empty string', '   ', []]
  ])('%s', (_name, text, words) => {
    expect(shellSplit(text)).toEqual({ words })
  })

  it.each([
    ['an unterminated single quote', "echo 'a", '"echo \'a" has an unterminated single quote'],
    ['an unterminated double quote', 'echo "a', '"echo \\"a" has an unterminated double quote'],
    ['a trailing backslash', 'echo a\\', '"echo a\\\\" ends with a backslash that escapes nothing']
  ])('rejects %s', (_name, text, error) => {
    expect(shellSplit(text)).toEqual({ error })
  })
})
