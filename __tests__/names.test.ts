import {
  asgName,
  dnsSearch,
  fit,
  functionName,
  launchTemplateName,
  logGroupName,
  recordName,
  roleName,
  sanitizeLabel,
  scopeProblems,
  serviceTags,
  vpcResolver,
  zoneName
} from '../src/names.js'

const scope = { project: 'prj-demo', stack: 'st-wordpress', region: 'us-east-1' }

describe('AWS names', () => {
  it('names the zone, records and search list with the region, as the seed example resolves', () => {
    expect(zoneName(scope)).toBe('prj-demo.us-east-1.internal')
    expect(recordName(scope, 'db')).toBe('db.st-wordpress.prj-demo.us-east-1.internal')
    expect(dnsSearch(scope)).toEqual(['st-wordpress.prj-demo.us-east-1.internal', 'prj-demo.us-east-1.internal'])
  })

  it('names the DNS updater and its log group after the project', () => {
    expect(functionName(scope)).toBe('update_r53_record-prj-demo')
    expect(logGroupName(scope)).toBe('/aws/lambda/update_r53_record-prj-demo')
  })

  it('derives the VPC resolver from the VPC CIDR base plus two', () => {
    expect(vpcResolver('172.28.0.0/16')).toBe('172.28.0.2')
    expect(vpcResolver('10.0.0.0/8')).toBe('10.0.0.2')
    expect(vpcResolver('192.168.1.0/24')).toBe('192.168.1.2')
    expect(() => vpcResolver('not-a-cidr')).toThrow('"not-a-cidr" is not an IPv4 CIDR')
  })

  it('keeps names within AWS limits with a stable hash suffix when they would be too long', () => {
    const long = { project: 'p'.repeat(46), stack: 's'.repeat(63), region: 'ap-southeast-2' }
    expect(roleName(long).length).toBeLessThanOrEqual(64)
    expect(roleName(long)).toBe(roleName(long))
    expect(launchTemplateName(long, 'x'.repeat(63)).length).toBeLessThanOrEqual(128)
    expect(launchTemplateName(long, 'a'.repeat(63))).not.toBe(launchTemplateName(long, 'b'.repeat(63)))
    expect(fit('short', 10)).toBe('short')
  })

  it('gives each service an on-demand and a spot group with distinct names', () => {
    expect(asgName(scope, 'web', 'on-demand')).toBe('hyperform-prj-demo-st-wordpress-web-on-demand')
    expect(asgName(scope, 'web', 'spot')).toBe('hyperform-prj-demo-st-wordpress-web-spot')
  })

  it('tags service resources with project, stack and service under one prefix', () => {
    expect(serviceTags(scope, 'db')).toEqual({
      'hyperform:project': 'prj-demo',
      'hyperform:stack': 'st-wordpress',
      'hyperform:service': 'db',
      'hyperform:managed-by': 'hyperform-action'
    })
  })

  it('sanitises a repository name into a DNS label', () => {
    expect(sanitizeLabel('My_Shop.Web')).toBe('my-shop-web')
    expect(sanitizeLabel('--x--')).toBe('x')
    expect(sanitizeLabel('a'.repeat(80))).toHaveLength(63)
  })

  it('reports every scope problem with the limit it breaks', () => {
    expect(scopeProblems({ project: 'Bad_Project', stack: 'ok', region: 'us-east-1' })).toEqual([
      'project "Bad_Project" must be a DNS label: lowercase letters, digits and hyphens, starting and ending with a letter or digit (the Lambda name update_r53_record-<project> is at most 64)'
    ])
    expect(scopeProblems({ project: 'p', stack: '-x', region: 'mars' })).toEqual([
      'stack "-x" must be a DNS label: lowercase letters, digits and hyphens, starting and ending with a letter or digit',
      'region "mars" is not an AWS region name such as us-east-1'
    ])
  })

  it('accepts the longest labels: the record name then stays within the 253-character FQDN limit', () => {
    const long = { project: 'p'.repeat(46), stack: 's'.repeat(63), region: 'ap-southeast-2' }
    expect(scopeProblems(long, ['a'.repeat(63)])).toEqual([])
    expect(recordName(long, 'a'.repeat(63))).toHaveLength(198)
  })
})
