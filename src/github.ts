/**
 * Pull-request previews: what the event asks for, and the one comment the
 * action keeps on the pull request (found by a hidden marker, updated in place).
 */
import type { Command } from './inputs.js'

type Env = Record<string, string | undefined>

export interface PullRequestEvent {
  number: number
  action: string
  /** The head repository is not the base repository. */
  fromFork: boolean
  /** owner/name of the base repository. */
  repository: string
}

const DEPLOY_ACTIONS = new Set(['opened', 'reopened', 'synchronize'])

/** The pull request this run is about, from GITHUB_EVENT_NAME and the event payload. */
export function pullRequestEvent(payload: Record<string, unknown> | undefined, env: Env): PullRequestEvent | undefined {
  if (env.GITHUB_EVENT_NAME !== 'pull_request' && env.GITHUB_EVENT_NAME !== 'pull_request_target') return undefined
  const pr = payload?.pull_request as
    | { number?: number; head?: { repo?: { full_name?: string; fork?: boolean } | null }; base?: { repo?: { full_name?: string } } }
    | undefined
  if (!pr || typeof pr.number !== 'number') return undefined
  const head = pr.head?.repo?.full_name
  const base = pr.base?.repo?.full_name ?? env.GITHUB_REPOSITORY ?? ''
  return {
    number: pr.number,
    action: typeof payload?.action === 'string' ? payload.action : '',
    fromFork: pr.head?.repo === null || pr.head?.repo?.fork === true || (head !== undefined && head !== base),
    repository: base
  }
}

export interface CommandDecision {
  command: Command
  /** Why this run does nothing at all (e.g. a pull request label change), if it doesn't. */
  skip?: string
  reason: string
}

/**
 * What a run does on this event: a closed pull request destroys its stack unless `command`
 * was set explicitly; opened, reopened and synchronize deploy; other pull request actions skip.
 */
export function decideCommand(args: { command: Command; explicit: boolean; event?: PullRequestEvent }): CommandDecision {
  const { command, explicit, event } = args
  if (explicit || !event) return { command, reason: explicit ? 'the command input' : 'the default command' }
  if (event.action === 'closed') return { command: 'destroy', reason: `pull request #${event.number} was closed` }
  if (DEPLOY_ACTIONS.has(event.action) || event.action === '') return { command, reason: `pull request #${event.number} ${event.action || 'event'}` }
  return { command, skip: `pull request action "${event.action}" neither deploys nor destroys`, reason: event.action }
}

/** Refuses fork pull requests unless allowed: their code would run with this repository's AWS credentials. */
export function forkProblem(event: PullRequestEvent | undefined, allowForks: boolean): string | undefined {
  if (!event?.fromFork || allowForks) return undefined
  return `pull request #${event.number} comes from a fork: its code would deploy with this repository's AWS credentials; set allow-forks: true to deploy it anyway`
}

export function commentMarker(project: string, stack: string): string {
  return `<!-- hyperform-action:preview ${project}/${stack} -->`
}

interface Comment {
  id: number
  body?: string
}

export interface CommentTarget {
  token: string
  /** GITHUB_API_URL, e.g. https://api.github.com */
  apiUrl: string
  repository: string
  number: number
}

async function github<T>(target: CommentTarget, request: { method: string; path: string; body?: unknown }): Promise<{ data: T; next?: string }> {
  const url = request.path.startsWith('http') ? request.path : `${target.apiUrl}${request.path}`
  const response = await fetch(url, {
    method: request.method,
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${target.token}`,
      'x-github-api-version': '2022-11-28',
      'user-agent': 'hyperform-action',
      ...(request.body ? { 'content-type': 'application/json' } : {})
    },
    body: request.body ? JSON.stringify(request.body) : undefined
  })
  if (!response.ok) throw new Error(`GitHub API ${request.method} ${url} answered ${response.status}: ${(await response.text()).slice(0, 200)}`)
  const next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1]
  return { data: (await response.json()) as T, next }
}

async function findComment(target: CommentTarget, marker: string): Promise<Comment | undefined> {
  let page: string | undefined = `/repos/${target.repository}/issues/${target.number}/comments?per_page=100`
  while (page) {
    const { data, next }: { data: Comment[]; next?: string } = await github<Comment[]>(target, { method: 'GET', path: page })
    const found = data.find((c) => c.body?.includes(marker))
    if (found) return found
    page = next
  }
  return undefined
}

/** Creates the comment, or updates the one carrying the marker: never a second one. */
export async function upsertComment(target: CommentTarget, args: { marker: string; body: string }): Promise<'created' | 'updated'> {
  const body = `${args.marker}\n${args.body}`
  const existing = await findComment(target, args.marker)
  if (existing) {
    await github(target, { method: 'PATCH', path: `/repos/${target.repository}/issues/comments/${existing.id}`, body: { body } })
    return 'updated'
  }
  await github(target, { method: 'POST', path: `/repos/${target.repository}/issues/${target.number}/comments`, body: { body } })
  return 'created'
}
