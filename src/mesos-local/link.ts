/**
 * The in-process link between the local Mesos master and its agents (real Mesos uses libprocess
 * messages here; the embedded one uses plain method calls). Agents register with whichever master
 * currently leads; the master drives agents through AgentPort, agents report through MasterPort.
 *
 * Status update reliability lives in the agent (as in Mesos' task status update manager): per task an
 * ordered stream, only the head is forwarded, re-sent at +10 s, +30 s, +70 s … until the scheduler's
 * ACK reaches the agent (MasterPort.statusUpdate again with the same uuid and timestamp).
 */
import type {
  AgentID,
  AgentInfo,
  ExecutorID,
  ExecutorInfo,
  FrameworkID,
  FrameworkInfo,
  KillPolicy,
  MasterInfo,
  Resource,
  TaskID,
  TaskInfo,
  TaskStatus,
} from '../lib/mesos/types.js'

/** What an agent offers the master. */
export interface AgentPort {
  readonly id: string
  /** AgentInfo as the master reports it (hostname, port, resources with role "*", id). */
  info(): AgentInfo
  /** The agent's HTTP endpoint `ip:port` (the v1 executor API lives there). */
  readonly endpoint: string
  /**
   * Total resources of the agent (scalar cpus/mem/disk, ranges ports), in the reservation-refinement format
   * (reserved resources carry `reservations`, never `role`; a persistent volume carries `disk`). Once the master
   * has checkpointed resources (checkpointResources below), this is that total, also after an agent restart.
   */
  totalResources(): Resource[]
  /**
   * The master applied RESERVE/UNRESERVE/CREATE/DESTROY operations: `total` is the agent's whole new total
   * (refinement format). The agent persists it with its checkpoint (it survives an agent restart), creates
   * `<agent work dir>/volumes/roles/<role>/<persistence id>` for each volume in `total` that has no directory yet
   * and removes the directory of each volume no longer in `total` (Mesos' CheckpointResourcesMessage).
   * Implemented in agent/volumes.ts; the total is kept in `<agent work dir>/meta/resources.json`.
   */
  checkpointResources(total: Resource[]): void
  /** Launch tasks (already validated by the master). `executor` absent = command task (built-in command executor). */
  launch(framework: FrameworkInfo & {id: FrameworkID}, task: TaskInfo, executor?: ExecutorInfo): void
  kill(frameworkId: string, taskId: TaskID, killPolicy?: KillPolicy): void
  shutdownExecutor(frameworkId: string, executorId: ExecutorID): void
  /** Scheduler → executor MESSAGE (best effort). */
  message(frameworkId: string, executorId: ExecutorID, data: string): void
  /** The scheduler acknowledged update `uuid` (base64) of task `taskId`. */
  acknowledge(frameworkId: string, taskId: TaskID, uuid: string): void
  /** Framework removed (teardown or failover timeout): kill its executors and tasks, forget it. */
  shutdownFramework(frameworkId: string): void
  /** Tasks the agent knows for a framework (non-terminal plus terminal-unacknowledged), for reconciliation and /state. */
  tasks(frameworkId?: string): AgentTaskView[]
}

export interface AgentTaskView {
  frameworkId: string
  task: TaskInfo
  executorId?: string
  /** Latest state the agent saw, and the state of the update being delivered (head of the stream). */
  state: TaskStatus['state']
  statusUpdateState?: TaskStatus['state']
  statusUpdateUuid?: string
  statuses: TaskStatus[]
}

/** What the master offers an agent. */
export interface MasterPort {
  /** The master's MasterInfo (the agent's /state shows `master_hostname` from its address). */
  masterInfo?(): MasterInfo
  /** Agent (re-)registers; `tasks` are the tasks it still runs (after an agent restart with checkpointing). */
  registerAgent(agent: AgentPort, reregister: boolean): {agentId: AgentID}
  /** The agent process went away (SIGKILL / TCP close): RESCIND its offers at once; agent removed after ping timeout. */
  agentDisconnected(agentId: string): void
  /** Reliable update (has uuid) or agent-made update (has uuid) forwarded to the framework. */
  statusUpdate(agentId: string, frameworkId: string, status: TaskStatus): void
  /** Executor process ended: FAILURE {agent_id, executor_id, status (raw wait status)}. */
  executorExited(agentId: string, frameworkId: string, executorId: ExecutorID, waitStatus: number): void
  /** Executor → scheduler MESSAGE. */
  frameworkMessage(agentId: string, frameworkId: string, executorId: ExecutorID, data: string): void
  /** Resources were freed on the agent (task terminal): allocator may offer them again. */
  resourcesFreed(agentId: string): void
}

export type {AgentID}
