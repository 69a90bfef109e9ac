/** Compose files written to a temporary workspace and loaded, for the compose tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { formatDiagnostic, loadCompose } from '../../src/compose/index.js'
import type { LoadResult, ServiceModel } from '../../src/compose/model.js'

export interface ComposeCase {
  files: Record<string, string>
  compose?: string[]
  env?: Record<string, string | undefined>
}

export class ComposeWorkspaces {
  private readonly dirs: string[] = []

  workspace(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'hyperform-compose-'))
    this.dirs.push(dir)
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true })
      writeFileSync(join(dir, name), text)
    }
    return dir
  }

  load(c: ComposeCase): Promise<LoadResult> {
    return loadCompose({ files: c.compose ?? ['compose.yaml'], workspace: this.workspace(c.files), env: c.env ?? {} })
  }

  async service(c: ComposeCase, name = 'web'): Promise<ServiceModel> {
    const result = await this.load(c)
    if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join('\n'))
    const found = result.model.services.find((s) => s.name === name)
    if (!found) throw new Error(`no service ${name}`)
    return found
  }

  async errors(c: ComposeCase): Promise<string[]> {
    const result = await this.load(c)
    return result.ok ? [] : result.errors.map(formatDiagnostic)
  }

  async warnings(c: ComposeCase): Promise<string[]> {
    return (await this.load(c)).warnings.map(formatDiagnostic)
  }

  /** Every diagnostic, errors and warnings, as printed. */
  async printed(c: ComposeCase): Promise<string[]> {
    const result = await this.load(c)
    return [...(result.ok ? [] : result.errors), ...result.warnings].map(formatDiagnostic)
  }

  cleanup(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  }
}
