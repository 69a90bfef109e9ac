import { queryTree, readQueryInput, writeOutput } from '../emulator/protocols/query.js'

const ns = 'test'
// Static schemas in the SDK's own format: [3, ns, name, traits, memberNames, memberSchemas] for structures,
// [1, ns, name, traits, member] for lists, [2, ns, name, traits, key, value] for maps.
const Attributes = [2, ns, 'Attributes', 0, 0, 0]
const FlatNames = [1, ns, 'FlatNames', { xmlFlattened: 1 }, [0, { xmlName: 'Name' }]]
const WrappedIds = [1, ns, 'WrappedIds', 0, 0]
const Counts = [1, ns, 'Counts', 0, 1]
const Input = [
  3,
  ns,
  'Input',
  0,
  ['Attributes', 'Names', 'Ids', 'Enabled', 'Count', 'Counts'],
  [Attributes, FlatNames, WrappedIds, 2, 1, Counts]
]
const Output = [3, ns, 'Output', 0, ['Ids', 'Attributes', 'When', 'Names'], [WrappedIds, Attributes, 4, FlatNames]]

type Schema = Parameters<typeof readQueryInput>[0]

describe('query protocol input', () => {
  test('dotted keys become a tree with numbered members', () => {
    const tree = queryTree(new URLSearchParams('Filter.1.Name=a&Filter.1.Value.1=x&Filter.1.Value.2=y&Action=Go'))
    expect(tree).toEqual({ Action: 'Go', Filter: { 1: { Name: 'a', Value: { 1: 'x', 2: 'y' } } } })
  })

  test('maps, flattened and wrapped lists, booleans and numbers are read by the shape', () => {
    const params = new URLSearchParams(
      'Attributes.entry.1.key=color&Attributes.entry.1.value=blue&Attributes.entry.2.key=size&Attributes.entry.2.value=L' +
        '&Names.2=second&Names.1=first&Ids.member.1=i-1&Ids.member.2=i-2&Enabled=true&Count=7&Counts='
    )
    expect(readQueryInput(Input as unknown as Schema, params, 'query')).toEqual({
      Attributes: { color: 'blue', size: 'L' },
      Names: ['first', 'second'],
      Ids: ['i-1', 'i-2'],
      Enabled: true,
      Count: 7,
      Counts: []
    })
  })

  test('EC2 flavour reads every list flattened and capitalised keys', () => {
    const params = new URLSearchParams('Ids.1=a&Ids.2=b&Names.1=n')
    expect(readQueryInput(Input as unknown as Schema, params, 'ec2')).toMatchObject({ Ids: ['a', 'b'], Names: ['n'] })
  })
})

describe('query protocol output', () => {
  test('members are written with list member names, map entries, flattened lists and ISO timestamps', () => {
    const xml = writeOutput(Output as unknown as Schema, {
      Ids: ['a', 'b&c'],
      Attributes: { k: 'v' },
      When: new Date('2026-01-02T03:04:05.000Z'),
      Names: ['x', 'y']
    })
    expect(xml).toBe(
      '<Ids><member>a</member><member>b&amp;c</member></Ids>' +
        '<Attributes><entry><key>k</key><value>v</value></entry></Attributes>' +
        '<When>2026-01-02T03:04:05.000Z</When>' +
        '<Names>x</Names><Names>y</Names>'
    )
  })
})
