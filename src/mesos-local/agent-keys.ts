/**
 * Small shared helpers of the local agent's modules: the key of a (framework id, task or executor id)
 * pair in the agent's record maps, and the terminal-state test.
 */
import {TERMINAL_STATES, type TaskStatus} from '../lib/mesos/types.js'

/** Key of a (framework id, executor id) or (framework id, task id) pair in LocalAgent's maps. */
export const key = (a: string, b: string): string => `${a}\u0000${b}`

export const isTerminal = (s: TaskStatus['state']): boolean => TERMINAL_STATES.has(s)
