/** Drift of the project-level DNS stack: what one missing part says when the others exist. */
import type { CurrentState } from '../state.js'

type ProjectPart = 'zone' | 'role' | 'logGroup' | 'function' | 'rule'

/**
 * A project-level resource that is missing while another one exists was deleted by hand
 * (a fresh project has none of them; a destroy removes them all): drift.
 */
export function othersExist(current: CurrentState, missing: ProjectPart): boolean {
  const present: Record<ProjectPart, boolean> = {
    zone: current.zone !== undefined,
    role: current.rolePolicy !== undefined,
    logGroup: current.logGroup !== undefined,
    function: current.function !== undefined,
    rule: current.rule !== undefined
  }
  return Object.entries(present).some(([part, exists]) => part !== missing && exists)
}
