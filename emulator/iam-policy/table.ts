/**
 * The authorization table as markdown (emulator/README.md carries it; a test keeps the two equal):
 * each rule of actions.ts run against a request whose every parameter is a placeholder.
 */
import { AUTHORIZATION, type Check } from './actions.js'
import type { RequestView } from './request.js'

/** Where each REST operation's identifiers travel, as placeholders. */
const PATHS: Record<string, string> = {
  route53: '/2013-04-01/hostedzone/{Id}/change/{Id}',
  lambda: '/2015-03-31/functions/{FunctionName}/policy'
}

function placeholderView(service: string, operation: string): RequestView {
  const json = new Proxy({} as Record<string, unknown>, {
    get: (_t, key) =>
      key === 'QueueUrl'
        ? 'https://sqs.{Region}.amazonaws.com/{Account}/{QueueName}'
        : typeof key === 'string' && key !== 'EventBusName' && key !== 'Tags' && key !== 'tags'
          ? `{${key}}`
          : undefined
  })
  return {
    service,
    operation,
    region: '{Region}',
    account: '{Account}',
    partition: 'aws',
    path: PATHS[service] ?? '/',
    // list members exist once (index 1), so the rules' loops end
    param: (name) =>
      /^(Path|DryRun)$|\.Version$|^LaunchTemplate\.|^MixedInstancesPolicy|\.([2-9]|\d\d+)(\.|$)/.test(name)
        ? undefined
        : `{${name.replace(/^.*\.1\./, '').replace(/\.1$/, '')}}`,
    params: (prefix) => [`{${prefix.replace(/\.$/, '')}}`],
    json: () => json,
    text: () => '',
    state: () => undefined
  }
}

function describe(c: Check): string {
  const keys = Object.keys(c.context ?? {})
    .filter((k) => !k.startsWith('aws:requesttag/') && !k.includes(':resourcetag/'))
    .map((k) => `\`${k}\``)
  return `\`${c.action}\` on \`${c.resource}\`${keys.length > 0 ? ` (${keys.join(', ')})` : ''}`
}

/** One row per operation: service, operation, what it is authorized as. */
export function authorizationTable(): string {
  const rows = [
    '| service | operation | authorized as (action on resource, with the condition keys it supplies) |',
    '| --- | --- | --- |'
  ]
  for (const [service, rules] of Object.entries(AUTHORIZATION)) {
    for (const [operation, rule] of Object.entries(rules)) {
      const checks = rule(placeholderView(service, operation))
      const text = checks.length === 0 ? 'nothing (always allowed)' : [...new Set(checks.map(describe))].join('; ')
      rows.push(`| ${service} | ${operation} | ${text} |`)
    }
  }
  return rows.join('\n')
}
