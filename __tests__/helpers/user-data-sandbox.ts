/**
 * Runs an instance's user data script with bash in a sandbox, as cloud-init would but harmless:
 * docker, systemctl, dnf and python3 are stubs (python3 keeps the spec and launcher it is given)
 * and /etc/hyperform is moved under a temporary root. What the script wrote is then read back.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

export interface SandboxRun {
  /** The container spec the script wrote, as the launcher reads it. */
  spec: Record<string, unknown>
  /** The temporary root (the launcher is at launch.py). */
  root: string
}

export function runUserData(script: string): SandboxRun {
  const root = mkdtempSync(path.join(tmpdir(), 'hyperform-instance-'))
  const bin = path.join(root, 'bin')
  mkdirSync(bin)
  const stub = (name: string, body: string): void => {
    writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`)
    chmodSync(path.join(bin, name), 0o755)
  }
  stub('docker', 'exit 0')
  stub('systemctl', 'exit 0')
  stub('dnf', 'echo "dnf must not run: docker is installed" >&2; exit 1')
  stub('python3', `cp "$2" "${root}/spec.json"; cp "$1" "${root}/launch.py"`)
  if (script.split('/etc/hyperform').length < 4) throw new Error('the script does not write under /etc/hyperform')
  const moved = script.split('/etc/hyperform').join(`${root}/etc/hyperform`)
  writeFileSync(path.join(root, 'user-data.sh'), moved)
  mkdirSync(path.join(root, 'etc'))
  execFileSync('bash', [path.join(root, 'user-data.sh')], {
    env: { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: root },
    stdio: 'pipe'
  })
  return { spec: JSON.parse(readFileSync(path.join(root, 'spec.json'), 'utf8')) as Record<string, unknown>, root }
}
