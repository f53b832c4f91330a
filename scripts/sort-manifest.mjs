// `oclif manifest` lists commands in the order the file system returns them (readdir order differs between
// checkouts, e.g. backups/list before or after rollout/*): sort them by id so the committed manifest is the one every
// build generates (CI checks it is not stale).
import fs from 'node:fs'

const file = new URL('../oclif.manifest.json', import.meta.url)
const m = JSON.parse(fs.readFileSync(file, 'utf8'))
m.commands = Object.fromEntries(Object.entries(m.commands).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
fs.writeFileSync(file, JSON.stringify(m, null, 2))
