import { commentMarker, decideCommand, forkProblem, pullRequestEvent, upsertComment } from '../src/github.js'
import { startFakeGitHub, type FakeGitHub } from './helpers/github-api.js'

function prPayload(action: string, head = 'octo-org/shop'): Record<string, unknown> {
  return {
    action,
    number: 7,
    pull_request: {
      number: 7,
      head: { repo: { full_name: head, fork: head !== 'octo-org/shop' } },
      base: { repo: { full_name: 'octo-org/shop' } }
    }
  }
}

const PR_ENV = { GITHUB_EVENT_NAME: 'pull_request', GITHUB_REPOSITORY: 'octo-org/shop' }

describe('pull request events', () => {
  it('reads the number, the action and whether the head is a fork', () => {
    expect(pullRequestEvent(prPayload('opened'), PR_ENV)).toEqual({
      number: 7,
      action: 'opened',
      fromFork: false,
      repository: 'octo-org/shop'
    })
    expect(pullRequestEvent(prPayload('opened', 'mallory/shop'), PR_ENV)?.fromFork).toBe(true)
  })

  it('treats a pull request whose head repository was deleted as a fork', () => {
    const payload = {
      action: 'synchronize',
      pull_request: { number: 3, head: { repo: null }, base: { repo: { full_name: 'octo-org/shop' } } }
    }
    expect(pullRequestEvent(payload, PR_ENV)?.fromFork).toBe(true)
  })

  it('ignores events that are not pull requests', () => {
    expect(pullRequestEvent(prPayload('opened'), { GITHUB_EVENT_NAME: 'push' })).toBeUndefined()
  })

  it.each(['opened', 'reopened', 'synchronize'])('deploys on %s', (action) => {
    const event = pullRequestEvent(prPayload(action), PR_ENV)
    expect(decideCommand({ command: 'deploy', explicit: false, event })).toEqual({
      command: 'deploy',
      reason: `pull request #7 ${action}`
    })
  })

  it('destroys on closed unless the command was set explicitly', () => {
    const event = pullRequestEvent(prPayload('closed'), PR_ENV)
    expect(decideCommand({ command: 'deploy', explicit: false, event })).toEqual({
      command: 'destroy',
      reason: 'pull request #7 was closed'
    })
    expect(decideCommand({ command: 'plan', explicit: true, event }).command).toBe('plan')
  })

  it('skips pull request actions that neither deploy nor destroy', () => {
    const event = pullRequestEvent(prPayload('labeled'), PR_ENV)
    expect(decideCommand({ command: 'deploy', explicit: false, event }).skip).toBe(
      'pull request action "labeled" neither deploys nor destroys'
    )
  })

  it('refuses forks unless allowed, saying why', () => {
    const fork = pullRequestEvent(prPayload('opened', 'mallory/shop'), PR_ENV)
    expect(forkProblem(fork, false)).toBe(
      "pull request #7 comes from a fork: its code would deploy with this repository's AWS credentials; set allow-forks: true to deploy it anyway"
    )
    expect(forkProblem(fork, true)).toBeUndefined()
    expect(forkProblem(pullRequestEvent(prPayload('opened'), PR_ENV), false)).toBeUndefined()
  })
})

describe('the preview comment', () => {
  let api: FakeGitHub
  beforeEach(async () => {
    api = await startFakeGitHub()
  })
  afterEach(async () => api.close())

  const target = () => ({ token: 'ghs_test', apiUrl: api.url, repository: 'octo-org/shop', number: 7 })
  const marker = commentMarker('shop', 'pr-7')

  it('is created once, then updated in place, never duplicated', async () => {
    expect(await upsertComment(target(), { marker, body: 'first' })).toBe('created')
    expect(await upsertComment(target(), { marker, body: 'second' })).toBe('updated')
    const ours = api.comments.filter((c) => c.body.includes(marker))
    expect(ours).toHaveLength(1)
    expect(ours[0]?.body).toBe(`second\n${marker}\n`)
    expect(api.requests.map((r) => `${r.method} ${r.authorization}`)).toEqual(
      ['GET', 'POST', 'GET', 'PATCH'].map((m) => `${m} token ghs_test`)
    )
  })

  it('finds its comment past the first page of a long discussion', async () => {
    for (let i = 0; i < 150; i++) api.comments.push({ id: i + 1, body: `chatter ${i}`, issue: 7 })
    api.comments.push({ id: 999, body: `${marker}\nold`, issue: 7 })
    expect(await upsertComment(target(), { marker, body: 'new' })).toBe('updated')
    expect(api.comments.find((c) => c.id === 999)?.body).toBe(`new\n${marker}\n`)
    expect(api.comments.filter((c) => c.body.includes(marker))).toHaveLength(1)
    expect(api.requests.filter((r) => r.method === 'GET')).toHaveLength(2)
  })

  it('reads no page past the one holding its comment', async () => {
    api.comments.push({ id: 1, body: `${marker}\nold`, issue: 7 })
    for (let i = 0; i < 250; i++) api.comments.push({ id: i + 2, body: `chatter ${i}`, issue: 7 })
    expect(await upsertComment(target(), { marker, body: 'new' })).toBe('updated')
    expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /repos/octo-org/shop/issues/7/comments?per_page=100',
      'PATCH /repos/octo-org/shop/issues/comments/1'
    ])
  })

  it('leaves comments of other stacks alone', async () => {
    const other = commentMarker('shop', 'pr-8')
    api.comments.push({ id: 5, body: `${other}\nkeep`, issue: 7 })
    expect(await upsertComment(target(), { marker, body: 'mine' })).toBe('created')
    expect(api.comments.find((c) => c.id === 5)?.body).toBe(`${other}\nkeep`)
  })

  it('reports a GitHub API failure with its status', async () => {
    await expect(upsertComment({ ...target(), apiUrl: `${api.url}/nowhere` }, { marker, body: 'x' })).rejects.toThrow(
      /answered 404/
    )
  })
})
