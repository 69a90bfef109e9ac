/**
 * Pull-request previews: what the event asks for, and the one comment the
 * action keeps on the pull request (found by a hidden marker, updated in place).
 */
import { HttpClient } from '@actions/http-client'
import { USER_AGENT } from './aws/clients.js'
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
    | {
        number?: number
        head?: { repo?: { full_name?: string; fork?: boolean } | null }
        base?: { repo?: { full_name?: string } }
      }
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
export function decideCommand(args: {
  command: Command
  explicit: boolean
  event?: PullRequestEvent
}): CommandDecision {
  const { command, explicit, event } = args
  if (explicit || !event) return { command, reason: explicit ? 'the command input' : 'the default command' }
  if (event.action === 'closed') return { command: 'destroy', reason: `pull request #${event.number} was closed` }
  if (DEPLOY_ACTIONS.has(event.action) || event.action === '')
    return { command, reason: `pull request #${event.number} ${event.action || 'event'}` }
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

export interface CommentTarget {
  token: string
  /** GITHUB_API_URL, e.g. https://api.github.com (GitHub Enterprise Server has its own). */
  apiUrl: string
  /** owner/name */
  repository: string
  number: number
}

interface Comment {
  id: number
  body?: string
}

/** The URL of the next page from a Link header (RFC 8288), as GitHub paginates. */
function nextPage(link: string | string[] | undefined): string | undefined {
  const header = Array.isArray(link) ? link.join(',') : (link ?? '')
  return /<([^>]+)>;\s*rel="next"/.exec(header)?.[1]
}

/** Runs one request; any status but 2xx is an error naming the request (the client answers 404 with no error). */
async function call<T>(
  request: () => Promise<{ statusCode: number; result: T | null; headers: object }>,
  what: string
): Promise<{ statusCode: number; result: T | null; headers: object }> {
  let response
  try {
    response = await request()
  } catch (error) {
    // HttpClientError carries the status; anything else (no connection) is thrown as it is.
    const status = (error as { statusCode?: unknown }).statusCode
    if (typeof status !== 'number') throw error
    throw new Error(`GitHub API ${what} answered ${status}: ${String((error as Error).message).slice(0, 200)}`, {
      cause: error
    })
  }
  if (response.statusCode < 200 || response.statusCode > 299)
    throw new Error(`GitHub API ${what} answered ${response.statusCode}`)
  return response
}

/**
 * Creates the comment, or updates the one carrying the marker: never a second one. The toolkit's
 * HTTP client brings the runner's proxy settings (https_proxy, no_proxy), as Octokit would.
 */
export async function upsertComment(
  target: CommentTarget,
  args: { marker: string; body: string }
): Promise<'created' | 'updated'> {
  // The runtime in the user agent, as Octokit sends it: GitHub's logs show what ran the action.
  const client = new HttpClient(`${USER_AGENT} Node.js/${process.versions.node}`, [], {
    headers: {
      authorization: `token ${target.token}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28'
    }
  })
  const api = target.apiUrl.replace(/\/+$/, '')
  const comments = `${api}/repos/${target.repository}/issues/${target.number}/comments`
  // The marker last (it is invisible either way): the comment starts with what a reviewer reads first.
  const body = `${args.body.replace(/\n+$/, '')}\n${args.marker}\n`
  try {
    // Page by 100 (the API's maximum) and stop at the page that holds the marker.
    let existing: Comment | undefined
    for (let url: string | undefined = `${comments}?per_page=100`; url && !existing;) {
      const page: { result: Comment[] | null; headers: object } = await call(
        () => client.getJson<Comment[]>(url ?? ''),
        `GET ${url}`
      )
      existing = (page.result ?? []).find((c) => c.body?.includes(args.marker))
      url = nextPage((page.headers as Record<string, string | string[] | undefined>).link)
    }
    if (existing) {
      const url = `${api}/repos/${target.repository}/issues/comments/${existing.id}`
      await call(() => client.patchJson(url, { body }), `PATCH ${url}`)
      return 'updated'
    }
    await call(() => client.postJson(comments, { body }), `POST ${comments}`)
    return 'created'
  } finally {
    client.dispose()
  }
}
