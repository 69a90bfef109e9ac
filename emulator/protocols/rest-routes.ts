/** Method + path-template routing for the REST protocols (Route 53 REST-XML, Lambda REST-JSON). */

export interface RestRoute {
  method: string
  /** A path template such as /2013-04-01/hostedzone/{Id}/rrset; a trailing slash in the request is ignored. */
  pattern: string
  operation: string
}

export interface RouteMatch {
  operation: string
  params: Record<string, string>
}

function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/')
  const got = path.replace(/\/+$/, '').split('/')
  if (want.length !== got.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? ''
    const g = got[i] ?? ''
    if (w.startsWith('{') && w.endsWith('}')) {
      if (g === '') return undefined
      params[w.slice(1, -1)] = g
    } else if (w !== g) return undefined
  }
  return params
}

export function matchRoute(routes: readonly RestRoute[], method: string, path: string): RouteMatch | undefined {
  for (const route of routes) {
    if (route.method !== method) continue
    const params = matchPattern(route.pattern, path)
    if (params) return { operation: route.operation, params }
  }
  return undefined
}
