/**
 * Registry: the local Mesos' stand-in for Mesos' replicated-log registry. One object is shared by the masters
 * of one startLocalMesos (an in-process object, so it survives killMaster but not the process). Like the real
 * registry it holds agents, never tasks or frameworks:
 *
 *   (unknown) --admit--> admitted --markUnreachable--> unreachable --admit (re-registration)--> admitted
 *   admitted/unreachable --remove (graceful shutdown)--> (unknown)
 *
 * Invariant: an agent id is in at most one of `admitted` and `unreachable`.
 * Only the leading master writes it; a newly elected master reads it to know which agents to wait for
 * ("recovered" agents, see leadership.ts `becomeLeader`, agent-lifecycle.ts `recoverAgents`) and which are unreachable.
 */
import type {AgentInfo, TimeInfo} from '../../lib/mesos/types.js'

export class Registry {
  private readonly admittedAgents = new Map<string, AgentInfo>()
  private readonly unreachableAgents = new Map<string, TimeInfo>()

  /** An agent registered or re-registered (its latest AgentInfo is kept). */
  admit(agentId: string, info: AgentInfo): void {
    this.unreachableAgents.delete(agentId)
    this.admittedAgents.set(agentId, {...info, id: {value: agentId}})
  }

  /** The agent was marked unreachable at `time` (ping timeout, or no re-registration after a failover). */
  markUnreachable(agentId: string, time: TimeInfo): void {
    this.admittedAgents.delete(agentId)
    this.unreachableAgents.set(agentId, time)
  }

  /** The agent left for good (graceful shutdown). */
  remove(agentId: string): void {
    this.admittedAgents.delete(agentId)
    this.unreachableAgents.delete(agentId)
  }

  /** Admitted agents, by id (copies). */
  admitted(): Map<string, AgentInfo> {
    return new Map([...this.admittedAgents].map(([id, info]) => [id, structuredClone(info)]))
  }

  /** Unreachable agents with the time they were marked so (copies). */
  unreachable(): Map<string, TimeInfo> {
    return new Map([...this.unreachableAgents].map(([id, t]) => [id, {...t}]))
  }
}
