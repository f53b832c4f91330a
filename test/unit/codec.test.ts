/** Unit tests for the Mesos JSON/protobuf codecs (src/lib/mesos/codec.ts) and uuid helpers, replaying real fixtures. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {CodecError, decode, encode, toJsonForm, type MessageName} from '../../src/lib/mesos/codec.js'
import {RecordIODecoder} from '../../src/lib/mesos/recordio.js'
import {isValidUuidBase64, randomUuidBytes, uuidBase64} from '../../src/lib/mesos/uuid.js'
import type {ContentType} from '../../src/lib/mesos/types.js'

const FIX = fileURLToPath(new URL('../fixtures/real-mesos', import.meta.url))
const JSON_CT: ContentType = 'application/json'
const PB_CT: ContentType = 'application/x-protobuf'

type Json = Record<string, unknown>
interface Step {
  seq: number
  label: string
  streaming?: boolean
  request: {body?: unknown; body_format?: string; path?: string} | null
  response: {
    status?: number | null
    body?: unknown
    records?: Json[]
    records_base64?: string[]
    records_text?: string[]
    raw_base64?: string
  } | null
}
const load = (f: string): Json & {steps: Step[]} => JSON.parse(readFileSync(`${FIX}/${f}`, 'utf8')) as Json & {steps: Step[]}

const djson = <T = Json>(name: MessageName, v: unknown): T =>
  decode<T>(name, Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)), JSON_CT)

function codecError(fn: () => unknown): CodecError {
  try {
    fn()
  } catch (e) {
    assert.ok(e instanceof CodecError, `expected CodecError, got ${String(e)}`)
    return e
  }
  assert.fail('expected a CodecError')
}

/** Both content types round-trip to toJsonForm(x), and JSON output is byte-stable. */
function assertRoundTrips(name: MessageName, x: object): Json {
  const form = toJsonForm<Json>(name, x)
  for (const ct of [JSON_CT, PB_CT]) {
    const back = decode<Json>(name, encode(name, x, ct), ct)
    assert.deepEqual(back, form, `${name} via ${ct}`)
    assert.equal(JSON.stringify(back), JSON.stringify(form), `${name} via ${ct}: key order`)
  }
  assert.equal(encode(name, form, JSON_CT).toString(), encode(name, x, JSON_CT).toString())
  return form
}

/** Tiny protoc text-format reader (enough for records_text): repeated keys become arrays. */
function parseProtoText(text: string): Json {
  const tokens = text.match(/"(?:[^"\\]|\\.)*"|[{}:]|[^\s{}:"]+/g) ?? []
  let i = 0
  const put = (obj: Json, k: string, v: unknown): void => {
    if (!(k in obj)) obj[k] = v
    else if (Array.isArray(obj[k])) (obj[k] as unknown[]).push(v)
    else obj[k] = [obj[k], v]
  }
  const block = (): Json => {
    const obj: Json = {}
    while (i < tokens.length && tokens[i] !== '}') {
      const key = tokens[i++]!
      if (tokens[i] === ':') {
        i++
        const raw = tokens[i++]!
        put(obj, key, raw.startsWith('"') ? (JSON.parse(raw) as string) : /^-?[\d.]+(e[+-]?\d+)?$/i.test(raw) ? Number(raw) : raw)
      } else {
        assert.equal(tokens[i++], '{')
        put(obj, key, block())
        assert.equal(tokens[i++], '}')
      }
    }
    return obj
  }
  return block()
}

describe('uuid helpers', () => {
  it('randomUuidBytes is a 16-byte RFC 4122 v4 uuid and uuidBase64 round-trips through the validator', () => {
    const b = randomUuidBytes()
    assert.equal(b.length, 16)
    assert.equal(b[6]! >> 4, 4)
    assert.equal(b[8]! & 0xc0, 0x80)
    assert.ok(isValidUuidBase64(uuidBase64()))
    assert.notEqual(uuidBase64(), uuidBase64())
  })
  it('accepts a real TaskStatus uuid and rejects what Mesos rejects', () => {
    assert.ok(isValidUuidBase64('Aj56m8NVTUmPATbKQcyYUA=='))
    assert.equal(isValidUuidBase64('MTIzNDU2Nzg='), false, '8 bytes (fixture 03/06: Not a valid UUID)')
    assert.equal(isValidUuidBase64(Buffer.alloc(16).toString('base64')), false, 'version nibble 0')
    assert.equal(isValidUuidBase64(Buffer.alloc(17, 0x41).toString('base64')), false)
    assert.equal(isValidUuidBase64('not base64!!'), false)
  })
})

describe('JSON decode of scheduler.Call reproduces the real master 400 texts (fixture 03)', () => {
  const fx = load('03-errors.json')
  const steps = fx.steps.filter((s) => typeof s.response?.body === 'string' && /^Failed to (parse body|convert JSON)/.test(s.response.body))
  it('the fixture has such steps', () => assert.ok(steps.length >= 6))
  for (const s of steps) {
    it(`seq ${s.seq}: ${s.label}`, () => {
      const body = s.request!.body_format === 'json' ? JSON.stringify(s.request!.body) : String(s.request!.body ?? '')
      const err = codecError(() => decode('scheduler.Call', Buffer.from(body), JSON_CT))
      assert.equal(err.message, s.response!.body)
      assert.equal(err.kind, err.message.startsWith('Failed to parse') ? 'parse' : 'convert')
    })
  }
  it('calls that only fail Mesos call *validation* decode fine (that check belongs to the master)', () => {
    assert.deepEqual(djson('scheduler.Call', {type: 'FOO'}), {})
    assert.deepEqual(djson('scheduler.Call', {type: 'SUBSCRIBE'}), {type: 'SUBSCRIBE'})
  })
  it('picojson-style syntax errors report the rest of the line', () => {
    assert.equal(
      codecError(() => djson('scheduler.Call', 'MALFORMED_CONTENT')).message,
      'Failed to parse body into JSON: syntax error at line 1 near: MALFORMED_CONTENT',
    )
    assert.equal(
      codecError(() => djson('scheduler.Call', '{\n"type": x\n}')).message,
      'Failed to parse body into JSON: syntax error at line 2 near: x',
    )
    assert.equal(
      codecError(() => djson('scheduler.Call', '{} x')).message,
      'Failed to parse body into JSON: Parsed JSON included non-whitespace trailing characters:  x',
    )
  })
  it('never throws anything but CodecError on garbage (random bytes, deep nesting)', () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`
    assert.equal(codecError(() => djson('scheduler.Call', deep)).kind, 'parse')
    assert.equal(
      codecError(() => djson('scheduler.Call', `{"type":${'['.repeat(100)}1${']'.repeat(100)}}`)).message,
      "Failed to convert JSON into Call protobuf: Not expecting a JSON array for field 'type'",
    )
    let seed = 42
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (let n = 0; n < 300; n++) {
      const bytes = Buffer.from(Array.from({length: Math.floor(rnd() * 40)}, () => Math.floor(rnd() * 256)))
      for (const ct of [JSON_CT, PB_CT]) {
        try {
          decode('scheduler.Event', bytes, ct)
        } catch (e) {
          assert.ok(e instanceof CodecError, `${ct} ${bytes.toString('hex')}: ${String(e)}`)
        }
      }
    }
  })
  it('an undecodable protobuf body gives "Failed to parse body into Call protobuf"', () => {
    for (const bytes of [Buffer.from('MALFORMED_CONTENT'), Buffer.from([0x0a, 0x05, 0x01])]) {
      const err = codecError(() => decode('scheduler.Call', bytes, PB_CT))
      assert.equal(err.message, 'Failed to parse body into Call protobuf')
      assert.equal(err.kind, 'parse')
    }
    // missing required executor_id/framework_id in an executor.Call is a parse failure too (proto2)
    assert.equal(
      codecError(() => decode('executor.Call', Buffer.from([0x18, 0x04]), PB_CT)).message,
      'Failed to parse body into Call protobuf',
    )
  })
})

describe('Mesos JSON rules', () => {
  const fi = {user: 'root', name: 'x'}
  it('drops unknown and camelCase keys, keeps known ones, adds non-deprecated defaults (never role)', () => {
    const c = djson('scheduler.Call', {
      type: 'SUBSCRIBE',
      frameworkId: {value: 'a'},
      bogus: 1,
      subscribe: {framework_info: {...fi, failoverTimeout: 5, webUiUrl: 'u'}},
    })
    assert.deepEqual(c, {type: 'SUBSCRIBE', subscribe: {framework_info: {user: 'root', name: 'x', failover_timeout: 0, checkpoint: false}}})
    assert.equal(
      JSON.stringify(c),
      '{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"x","failover_timeout":0,"checkpoint":false}}}',
    )
  })
  it('rejects numeric enums with the exact text and drops unknown optional enum names', () => {
    assert.equal(
      codecError(() => djson('scheduler.Call', {type: 2})).message,
      "Failed to convert JSON into Call protobuf: Not expecting a JSON number for field 'type'",
    )
    const c = djson<Json>('scheduler.Call', {
      type: 'SUBSCRIBE',
      subscribe: {framework_info: {...fi, capabilities: [{type: 'MULTI_ROLE'}, {type: 'FOO'}]}},
    })
    assert.deepEqual((c.subscribe as Json).framework_info, {
      ...fi,
      failover_timeout: 0,
      checkpoint: false,
      capabilities: [{type: 'MULTI_ROLE'}, {}],
    })
  })
  it('an unknown name for a required enum is an error', () => {
    const e = codecError(() => djson('mesos.TaskStatus', {task_id: {value: 't'}, state: 'TASK_BOGUS'}))
    assert.equal(e.message, "Failed to convert JSON into TaskStatus protobuf: Failed to find enum for 'TASK_BOGUS'")
  })
  it('accepts numbers as numeric strings, doubles as strings incl. Infinity, bools as strings', () => {
    const s = djson<Json>('mesos.TaskStatus', {
      task_id: {value: 't'},
      state: 'TASK_RUNNING',
      timestamp: '1.5',
      healthy: 'true',
      container_status: {executor_pid: '42'},
    })
    assert.equal(s.timestamp, 1.5)
    assert.equal(s.healthy, true)
    assert.deepEqual(s.container_status, {executor_pid: 42})
    const f = djson<Json>('mesos.FrameworkInfo', {...fi, failover_timeout: 'Infinity'})
    assert.equal(f.failover_timeout, Infinity)
    assert.equal(
      encode('mesos.FrameworkInfo', f, JSON_CT).toString(),
      '{"user":"root","name":"x","failover_timeout":"Infinity","checkpoint":false}',
    )
    assert.equal(
      codecError(() => djson('mesos.FrameworkInfo', {...fi, failover_timeout: 'abc'})).message,
      "Failed to convert JSON into FrameworkInfo protobuf: Failed to parse 'abc' as a JSON number for field 'failover_timeout': syntax error at line 1 near: abc",
    )
    assert.equal(
      codecError(() => djson('mesos.FrameworkInfo', {...fi, checkpoint: '1'})).message,
      "Failed to convert JSON into FrameworkInfo protobuf: Failed to parse '1' as a JSON boolean for field 'checkpoint': Unexpected JSON type parsed",
    )
  })
  it('type mismatches give Mesos texts; null means unset', () => {
    const cases: Array<[unknown, string]> = [
      [{...fi, id: 'x'}, "Not expecting a JSON string for field 'id'"],
      [{...fi, name: 5}, "Not expecting a JSON number for field 'name'"],
      [{...fi, user: true}, "Not expecting a JSON boolean for field 'user'"],
      [{...fi, labels: []}, "Not expecting a JSON array for field 'labels'"],
      [{...fi, hostname: {}}, "Not expecting a JSON object for field 'hostname'"],
    ]
    for (const [v, msg] of cases)
      assert.equal(codecError(() => djson('mesos.FrameworkInfo', v)).message, `Failed to convert JSON into FrameworkInfo protobuf: ${msg}`)
    assert.deepEqual(djson('mesos.FrameworkInfo', {...fi, id: null, roles: null}), {...fi, failover_timeout: 0, checkpoint: false})
  })
  it('like Mesos, a single value for a repeated field is one element (and nested arrays flatten)', () => {
    const f = djson<Json>('mesos.FrameworkInfo', {...fi, roles: '*', capabilities: [[{type: 'MULTI_ROLE'}]]})
    assert.deepEqual(f.roles, ['*'])
    assert.deepEqual(f.capabilities, [{type: 'MULTI_ROLE'}])
    assert.equal(djson<Json>('mesos.FrameworkInfo', {...fi, roles: []}).roles, undefined, 'empty repeated fields are omitted')
  })
  it('bytes: standard base64, whitespace skipped, canonical re-encoding, bad characters rejected', () => {
    const m = djson<Json>('scheduler.Event', {type: 'MESSAGE', message: {agent_id: {value: 'a'}, executor_id: {value: 'e'}, data: 'aG\nk'}})
    assert.equal((m.message as Json).data, 'aGk=')
    const e = codecError(() => djson('executor.Call', {executor_id: {value: 'e'}, framework_id: {value: 'f'}, message: {data: 'a-b'}}))
    assert.equal(e.message, "Failed to convert JSON into Call protobuf: Failed to base64 decode bytes field 'data': Invalid character '-'")
  })
  it('maps are JSON objects', () => {
    const t = djson<Json>('mesos.TaskInfo', {
      name: 'n',
      task_id: {value: 't'},
      agent_id: {value: 'a'},
      limits: {mem: {value: 64}, cpus: {value: 1.5}},
    })
    assert.deepEqual(t.limits, {cpus: {value: 1.5}, mem: {value: 64}})
    assert.equal(
      codecError(() => djson('mesos.TaskInfo', {name: 'n', task_id: {value: 't'}, agent_id: {value: 'a'}, limits: {mem: {}}})).message,
      'Failed to convert JSON into TaskInfo protobuf: Missing required fields: limits[0].value.value',
    )
  })
  it('reports all missing required fields like protobuf InitializationErrorString', () => {
    const e = codecError(() =>
      djson('scheduler.Call', {
        type: 'ACCEPT',
        accept: {offer_ids: [{value: 'o'}, {}], operations: [{type: 'LAUNCH', launch: {task_infos: [{task_id: {value: 't'}}]}}]},
      }),
    )
    assert.equal(
      e.message,
      'Failed to convert JSON into Call protobuf: Missing required fields: accept.offer_ids[1].value, accept.operations[0].launch.task_infos[0].name, accept.operations[0].launch.task_infos[0].agent_id',
    )
    const e2 = codecError(() => djson('executor.Call', {type: 'HEARTBEAT'}))
    assert.equal(e2.message, 'Failed to convert JSON into Call protobuf: Missing required fields: executor_id, framework_id')
  })
  it('toJsonForm/encode of an invalid object throw kind validate', () => {
    const e = codecError(() => toJsonForm('mesos.FrameworkInfo', {name: 'x'}))
    assert.equal(e.kind, 'validate')
    assert.match(e.message, /Missing required fields: user/)
    assert.equal(codecError(() => encode('scheduler.Call', {type: 7}, JSON_CT)).kind, 'validate')
  })
  it('toJsonForm accepts Uint8Array for bytes and never writes role:"*"', () => {
    const t = toJsonForm<Json>('mesos.TaskInfo', {
      name: 'n',
      task_id: {value: 't'},
      agent_id: {value: 'a'},
      data: new Uint8Array([1, 2, 3]),
      resources: [{name: 'cpus', type: 'SCALAR', scalar: {value: 1}}],
    })
    assert.equal(t.data, 'AQID')
    assert.deepEqual(t.resources, [{name: 'cpus', type: 'SCALAR', scalar: {value: 1}}])
  })
})

describe('real JSON streams (fixtures 01, 06, 09)', () => {
  it('01: raw RecordIO bytes decode to records identical (incl. key order) to what Mesos sent', () => {
    const step = load('01-subscribe-json.json').steps[0]!
    const records = new RecordIODecoder().push(Buffer.from(step.response!.raw_base64!, 'base64'))
    assert.equal(records.length, step.response!.records!.length)
    records.forEach((r, i) => {
      const ev = decode<Json>('scheduler.Event', r, JSON_CT)
      assert.deepEqual(ev, step.response!.records![i])
      assert.equal(encode('scheduler.Event', ev, JSON_CT).toString(), r.toString(), 'byte-identical re-encoding')
      assertRoundTrips('scheduler.Event', ev)
    })
  })
  it('06: every scheduler and executor record decodes to itself and round-trips through protobuf', () => {
    const fx = load('06-launch-custom-executor.json')
    let n = 0
    const check = (name: MessageName, recs: Json[] | undefined): void => {
      for (const r of recs ?? []) {
        assert.deepEqual(djson(name, r), r)
        assertRoundTrips(name, r)
        n++
      }
    }
    for (const s of fx.steps) check('scheduler.Event', s.response?.records)
    for (const side of ['executor_side_custom_exec_1', 'executor_side_custom_exec_2']) {
      for (const s of (fx[side] as {steps: Step[]}).steps) {
        check('executor.Event', s.response?.records)
        if (s.request?.body_format === 'json' && s.response?.status !== undefined) {
          const call = djson<Json>('executor.Call', s.request.body)
          assertRoundTrips('executor.Call', call)
        }
      }
    }
    assert.ok(n > 10)
  })
  it('09: operator API responses decode (fields outside our subset dropped) and round-trip', () => {
    for (const s of load('09-master-state.json').steps.filter((x) => x.request?.path === '/api/v1')) {
      const body = s.response!.body as Json
      const r = djson<Json>('master.Response', body)
      assert.equal(r.type, body.type)
      assertRoundTrips('master.Response', r)
      assert.deepEqual(djson('master.Call', s.request!.body), s.request!.body)
    }
  })
})

describe('real protobuf streams and bodies (fixture 02)', () => {
  const fx = load('02-subscribe-protobuf.json')
  const pbSteps = fx.steps.filter((s) => s.response?.records_base64)
  it('every records_base64 Event equals its protoc text form (records_text)', () => {
    let n = 0
    for (const s of pbSteps) {
      s.response!.records_base64!.forEach((b64, i) => {
        const ev = decode<Json>('scheduler.Event', Buffer.from(b64, 'base64'), PB_CT)
        assert.deepEqual(ev, toJsonForm('scheduler.Event', parseProtoText(s.response!.records_text![i]!)))
        assert.ok(encode('scheduler.Event', ev, PB_CT).equals(Buffer.from(b64, 'base64')), 'byte-identical protobuf re-encoding')
        n++
      })
    }
    assert.ok(n >= 4)
  })
  it('protobuf events carry the same shapes as JSON events from the same master version', () => {
    const ev = decode<Json>('scheduler.Event', Buffer.from(pbSteps[0]!.response!.records_base64![0]!, 'base64'), PB_CT)
    const sub = ev.subscribed as Json
    assert.equal(ev.type, 'SUBSCRIBED')
    assert.match((sub.framework_id as Json).value as string, /^[0-9a-f-]{36}-0000$/)
    assert.equal(sub.heartbeat_interval_seconds, 15)
    assert.deepEqual(Object.keys(sub.master_info as Json), ['id', 'ip', 'port', 'pid', 'hostname', 'version', 'address', 'capabilities'])
  })
  it('protobuf request bodies decode as scheduler.Call matching protoc text', () => {
    const sub = decode<Json>('scheduler.Call', Buffer.from(fx.steps[0]!.request!.body as string, 'base64'), PB_CT)
    assert.deepEqual(sub, toJsonForm('scheduler.Call', parseProtoText(fx.request_protobuf_text_A as string)))
    assert.deepEqual((sub.subscribe as Json).framework_info, {
      user: 'root',
      name: 'fixture-subscribe-protobuf',
      failover_timeout: 60,
      checkpoint: true,
      roles: ['*'],
      capabilities: [{type: 'MULTI_ROLE'}],
    })
    const decline = decode<Json>('scheduler.Call', Buffer.from(fx.steps[1]!.request!.body as string, 'base64'), PB_CT)
    assert.deepEqual(decline, toJsonForm('scheduler.Call', parseProtoText(fx.request_protobuf_text_DECLINE as string)))
    assert.deepEqual((decline.decline as Json).filters, {refuse_seconds: 1})
    const teardown = decode<Json>('scheduler.Call', Buffer.from(fx.steps[2]!.request!.body as string, 'base64'), PB_CT)
    assert.equal(teardown.type, 'TEARDOWN')
    for (const s of fx.steps.filter((x) => x.request?.body_format === 'base64')) {
      const c = decode<Json>('scheduler.Call', Buffer.from(s.request!.body as string, 'base64'), PB_CT)
      assert.ok(
        encode('scheduler.Call', c, PB_CT).equals(Buffer.from(s.request!.body as string, 'base64')),
        `seq ${s.seq}: byte-identical protobuf re-encoding`,
      )
    }
  })
})

describe('protobuf <-> JSON round trips', () => {
  const fid = {value: 'fw-0000'}
  const aid = {value: 'agent-S0'}
  const uuid = randomUuidBytes().toString('base64')
  it('SUBSCRIBED', () => {
    assertRoundTrips('scheduler.Event', {
      type: 'SUBSCRIBED',
      subscribed: {
        framework_id: fid,
        heartbeat_interval_seconds: 15,
        master_info: {id: 'm', ip: 16777343, port: 5050, address: {ip: '127.0.0.1', port: 5050}, capabilities: [{type: 'AGENT_UPDATE'}]},
      },
    })
  })
  it('OFFERS with ranges and allocation_info', () => {
    const f = assertRoundTrips('scheduler.Event', {
      type: 'OFFERS',
      offers: {
        offers: [
          {
            id: {value: 'o1'},
            framework_id: fid,
            agent_id: aid,
            hostname: 'h',
            resources: [
              {
                name: 'ports',
                type: 'RANGES',
                ranges: {
                  range: [
                    {begin: 31000, end: 31005},
                    {begin: 31010, end: 32000},
                  ],
                },
                role: '*',
                allocation_info: {role: '*'},
              },
              {name: 'cpus', type: 'SCALAR', scalar: {value: 0.5}, allocation_info: {role: 'etcd'}},
            ],
            allocation_info: {role: '*'},
          },
        ],
      },
    })
    assert.deepEqual((((f.offers as Json).offers as Json[])[0]!.resources as Json[])[0]!.ranges, {
      range: [
        {begin: 31000, end: 31005},
        {begin: 31010, end: 32000},
      ],
    })
  })
  it('UPDATE with uuid bytes and data', () => {
    const f = assertRoundTrips('scheduler.Event', {
      type: 'UPDATE',
      update: {
        status: {
          task_id: {value: 't'},
          state: 'TASK_RUNNING',
          source: 'SOURCE_EXECUTOR',
          reason: 'REASON_RECONCILIATION',
          data: 'eyJhIjoxfQ==',
          agent_id: aid,
          timestamp: 1795315358.5383885,
          uuid,
          unreachable_time: {nanoseconds: 1795315357839201000},
        },
      },
    })
    assert.equal(((f.update as Json).status as Json).uuid, uuid)
  })
  it('ACCEPT with a LAUNCH carrying an executor and data, plus filters default', () => {
    const f = assertRoundTrips('scheduler.Call', {
      framework_id: fid,
      type: 'ACCEPT',
      accept: {
        offer_ids: [{value: 'o1'}],
        operations: [
          {
            type: 'LAUNCH',
            launch: {
              task_infos: [
                {
                  name: 'etcd-1',
                  task_id: {value: 'etcd-1'},
                  agent_id: aid,
                  data: Buffer.from('{"x":"é"}').toString('base64'),
                  resources: [{name: 'mem', type: 'SCALAR', scalar: {value: 128}}],
                  executor: {
                    executor_id: {value: 'ex'},
                    command: {
                      value: './etcd-mesos executor',
                      uris: [{value: 'http://h/bin'}],
                      environment: {variables: [{name: 'A', value: 'b'}]},
                    },
                    resources: [],
                  },
                  labels: {labels: [{key: 'k', value: 'v'}]},
                  discovery: {visibility: 'FRAMEWORK', ports: {ports: [{number: 31000, name: 'client'}]}},
                  kill_policy: {grace_period: {nanoseconds: 5e9}},
                },
              ],
            },
          },
          {type: 'LAUNCH_GROUP', launch_group: {executor: {type: 'DEFAULT', executor_id: {value: 'g'}}, task_group: {tasks: []}}},
        ],
        filters: {},
      },
    })
    const ti = ((((f.accept as Json).operations as Json[])[0]!.launch as Json).task_infos as Json[])[0]! as Json
    const cmd = (ti.executor as Json).command as Json
    assert.deepEqual(Object.keys(cmd), ['uris', 'environment', 'shell', 'value'])
    assert.deepEqual(cmd.uris, [{value: 'http://h/bin', extract: true}])
    assert.deepEqual(cmd.environment, {variables: [{name: 'A', type: 'VALUE', value: 'b'}]})
    assert.deepEqual((f.accept as Json).filters, {refuse_seconds: 5})
  })
  it('executor SUBSCRIBE with unacknowledged tasks and updates', () => {
    assertRoundTrips('executor.Call', {
      type: 'SUBSCRIBE',
      executor_id: {value: 'ex'},
      framework_id: fid,
      subscribe: {
        unacknowledged_tasks: [{name: 'n', task_id: {value: 't'}, agent_id: aid}],
        unacknowledged_updates: [{status: {task_id: {value: 't'}, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid}}],
      },
    })
    const empty = assertRoundTrips('executor.Call', {type: 'SUBSCRIBE', executor_id: {value: 'ex'}, framework_id: fid, subscribe: {}})
    assert.deepEqual(empty.subscribe, {}, 'an empty but present sub-message stays present')
  })
  it('executor Call.Message uses field number 2 on the wire', () => {
    const bytes = encode(
      'executor.Call',
      {type: 'MESSAGE', executor_id: {value: 'e'}, framework_id: {value: 'f'}, message: {data: 'aGk='}},
      PB_CT,
    )
    const msgField = Buffer.from([0x32, 0x04, 0x12, 0x02, 0x68, 0x69]) // field 6 (message) { field 2 (data) = "hi" }
    assert.ok(bytes.includes(msgField), bytes.toString('hex'))
    assertRoundTrips('executor.Event', {type: 'MESSAGE', message: {data: 'aGk='}})
  })
  it('unknown enum numbers on the protobuf wire are dropped (optional) like proto2', () => {
    const bytes = Buffer.from([0x08, 0x63]) // Event.type = 99
    assert.deepEqual(decode('scheduler.Event', bytes, PB_CT), {})
  })
})
