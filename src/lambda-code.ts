/**
 * Where the DNS updater's zip and its SHA-256 are: beside the bundled action
 * (dist/lambda/), or in dist/ when running from the sources (tests).
 */
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const ZIP_NAME = 'update-r53-record.zip'

function candidates(): string[] {
  return [new URL(`./lambda/${ZIP_NAME}`, import.meta.url), new URL(`../dist/lambda/${ZIP_NAME}`, import.meta.url)].map(
    (u) => fileURLToPath(u)
  )
}

export function lambdaCode(): { zipPath: string; codeSha256: string } {
  const zipPath = candidates().find((file) => existsSync(file))
  if (!zipPath) throw new Error(`the DNS updater package ${ZIP_NAME} is missing beside the action (run npm run bundle)`)
  const codeSha256 = readFileSync(`${zipPath}.sha256`, 'utf8').trim()
  return { zipPath, codeSha256 }
}
