/**
 * Pull-request previews: what the event asks for, and the one comment the
 * action keeps on the pull request (found by a hidden marker, updated in place).
 */
import { getOctokit } from '@actions/github'
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

/** Octokit's RequestError, told apart by shape (its class comes from a transitive dependency). */
function isRequestError(
  error: unknown
): error is { status: number; message: string; request: { method: string; url: string } } {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { status?: unknown }).status === 'number' &&
    'request' in error
  )
}

/** Creates the comment, or updates the one carrying the marker: never a second one. */
export async function upsertComment(
  target: CommentTarget,
  args: { marker: string; body: string }
): Promise<'created' | 'updated'> {
  // getOctokit brings the runner's proxy settings and the toolkit's user agent; the base URL
  // is passed explicitly so a caller's apiUrl wins over the one read when the module loaded.
  const octokit = getOctokit(target.token, { baseUrl: target.apiUrl })
  const [owner = '', repo = ''] = target.repository.split('/')
  const issue = { owner, repo, issue_number: target.number }
  const body = `${args.marker}\n${args.body}`
  try {
    // Page by 100 (the API's maximum) and stop at the page that holds the marker.
    const [existing] = await octokit.paginate(
      octokit.rest.issues.listComments,
      { ...issue, per_page: 100 },
      (response, done) => {
        const found = response.data.find((c) => c.body?.includes(args.marker))
        if (found) done()
        return found ? [found] : []
      }
    )
    if (existing) {
      await octokit.rest.issues.updateComment({ owner, repo, comment_id: existing.id, body })
      return 'updated'
    }
    await octokit.rest.issues.createComment({ ...issue, body })
    return 'created'
  } catch (error) {
    if (!isRequestError(error)) throw error
    throw new Error(
      `GitHub API ${error.request.method} ${error.request.url} answered ${error.status}: ${error.message.slice(0, 200)}`,
      { cause: error }
    )
  }
}
