/** Which service, region and caller an incoming AWS request is for. */

export interface RequestIdentity {
  service?: string
  region: string
  accessKeyId?: string
}

const SCOPE = /Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/

const QUERY_VERSIONS: Record<string, string> = {
  '2016-11-15': 'ec2',
  '2011-01-01': 'autoscaling',
  '2010-05-08': 'iam',
  '2011-06-15': 'sts',
  '2015-12-01': 'elasticloadbalancing'
}

const TARGET_PREFIXES: Record<string, string> = {
  AWSEvents: 'events',
  Logs_20140328: 'logs',
  AmazonSSM: 'ssm',
  secretsmanager: 'secretsmanager',
  AmazonEC2ContainerRegistry_V20150921: 'ecr',
  CertificateManager: 'acm',
  AWSPriceListService: 'pricing'
}

function fromScope(text: string | undefined): RequestIdentity | undefined {
  const m = text ? SCOPE.exec(text) : null
  if (!m) return undefined
  return { accessKeyId: m[1], region: m[3] ?? 'us-east-1', service: m[4] }
}

function presignedScope(query: URLSearchParams): RequestIdentity | undefined {
  const credential = query.get('X-Amz-Credential')
  return credential ? fromScope(`Credential=${credential}`) : undefined
}

/** Guesses the service of an unsigned request from its target header, path or form body. */
function guessService(path: string, headers: Record<string, string>, body: Buffer): string | undefined {
  const target = headers['x-amz-target']
  if (target) return TARGET_PREFIXES[target.split('.')[0] ?? '']
  if (path.startsWith('/2013-04-01/')) return 'route53'
  if (/^\/20\d\d-\d\d-\d\d\/(functions|event-source-mappings)/.test(path)) return 'lambda'
  const contentType = headers['content-type'] ?? ''
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    const version = new URLSearchParams(body.toString('utf8')).get('Version') ?? ''
    return QUERY_VERSIONS[version]
  }
  return undefined
}

export function identify(
  path: string,
  query: URLSearchParams,
  headers: Record<string, string>,
  body: Buffer
): RequestIdentity {
  const signed = fromScope(headers.authorization) ?? presignedScope(query)
  if (signed?.service) return signed
  return { region: signed?.region ?? 'us-east-1', service: guessService(path, headers, body) }
}
