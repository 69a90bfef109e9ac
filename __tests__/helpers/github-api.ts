/** A local stand-in for the GitHub REST API's issue comments, with Link-header pagination. */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeComment {
  id: number
  body: string
  issue: number
}

export interface FakeGitHub {
  url: string
  comments: FakeComment[]
  requests: { method: string; url: string; authorization?: string; userAgent?: string }[]
  close(): Promise<void>
}

const PAGE = /^\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/comments/
const ONE = /^\/repos\/([^/]+\/[^/]+)\/issues\/comments\/(\d+)$/

/** GitHub's Link header: prev, next, last and first, each present only when that page differs from this one. */
function pageLinks(base: string, at: { page: number; perPage: number; total: number }): Record<string, string> {
  const last = Math.max(1, Math.ceil(at.total / at.perPage))
  const link = (page: number, rel: string) => `<${base}?per_page=${at.perPage}&page=${page}>; rel="${rel}"`
  const links = [
    ...(at.page > 1 ? [link(at.page - 1, 'prev')] : []),
    ...(at.page < last ? [link(at.page + 1, 'next'), link(last, 'last')] : []),
    ...(at.page > 1 ? [link(1, 'first')] : [])
  ]
  return links.length > 0 ? { link: links.join(', ') } : {}
}

export async function startFakeGitHub(): Promise<FakeGitHub> {
  const comments: FakeComment[] = []
  const requests: FakeGitHub['requests'] = []
  let nextId = 1000
  const server = createServer((req, res) => {
    let text = ''
    req.on('data', (c: Buffer) => (text += c.toString()))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost')
      requests.push({
        method: req.method ?? '',
        url: url.pathname + url.search,
        authorization: req.headers.authorization,
        userAgent: req.headers['user-agent']
      })
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
      const list = PAGE.exec(url.pathname)
      const one = ONE.exec(url.pathname)
      if (list && req.method === 'GET') {
        const perPage = Number(url.searchParams.get('per_page') ?? 30)
        const page = Number(url.searchParams.get('page') ?? 1)
        const all = comments.filter((c) => c.issue === Number(list[2]))
        const slice = all.slice((page - 1) * perPage, page * perPage)
        return send(
          200,
          slice,
          pageLinks(`http://${req.headers.host}${url.pathname}`, { page, perPage, total: all.length })
        )
      }
      if (list && req.method === 'POST') {
        const comment = { id: nextId++, body: (JSON.parse(text) as { body: string }).body, issue: Number(list[2]) }
        comments.push(comment)
        return send(201, comment)
      }
      const found = one ? comments.find((c) => c.id === Number(one[2])) : undefined
      if (found && req.method === 'PATCH') {
        found.body = (JSON.parse(text) as { body: string }).body
        return send(200, found)
      }
      send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    comments,
    requests,
    close: () => new Promise((r) => server.close(() => r()))
  }
}
