/** Pure view of the NOSPACE recovery for /stats (`nospace`; lib/stats.ts NospaceStats). */
import type {NospaceStats} from '../lib/stats.js'
import type {SchedulerState} from './core/state.js'

export function nospaceStatsView(s: SchedulerState): NospaceStats {
  const m = s.maintenance
  const last = m.lastNospace
  return {
    active: m.nospace !== null,
    step: m.nospace?.step ?? null,
    started_at: m.nospace?.startedAt ?? null,
    episodes: s.stats.nospace_episodes,
    next_attempt_not_before: m.nospaceNotBefore,
    last:
      last === null
        ? null
        : {started_at: last.startedAt, ended_at: last.endedAt, outcome: last.outcome, message: last.message, steps: [...last.steps]},
  }
}
