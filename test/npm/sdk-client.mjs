#!/usr/bin/env node
// sdk-client.mjs: a command-line MCP client built on the official TypeScript SDK
// (@modelcontextprotocol/sdk Client). Forge's ctest tests run it as a child process against the
// gateway (or an upstream server) and assert on the single JSON object it prints on stdout.
//
// Usage:
//   node sdk-client.mjs --url URL [--transport streamable-http|sse] [OPTIONS] COMMAND...
//   node sdk-client.mjs --stdio "CMD ARGS" [OPTIONS] COMMAND...
//
// Options:
//   --url URL            server endpoint (streamable HTTP: .../mcp, legacy SSE: .../sse)
//   --transport T        streamable-http (default) or sse
//   --stdio "CMD ARGS"   spawn CMD and speak MCP over its stdin/stdout (the child inherits this
//                        process's environment; its stderr goes to our stderr)
//   --header "K: V"      extra HTTP request header (repeatable), e.g. "Authorization: Bearer x"
//   --timeout MS         per-request timeout (default 30000)
//
// Commands run in order on one session. Setup commands (capabilities the client declares, and how
// it answers server-to-client requests; they take effect before connecting wherever they appear):
//   sampling-reply TEXT  declare sampling; answer sampling/createMessage with assistant text TEXT
//   roots DIR...         declare roots; answer roots/list with file:// URIs of DIR... (to the next
//                        token that is a command name)
//   elicit-accept JSON   declare elicitation; answer elicitation/create with action "accept" and
//                        content JSON
// Session commands:
//   list-tools | list-resources | list-templates | list-prompts   (all pages, following nextCursor)
//   call TOOL JSON_ARGS             tools/call (put --progress right before it to request progress)
//   read URI                        resources/read
//   get-prompt NAME JSON_ARGS       prompts/get
//   set-level LEVEL                 logging/setLevel
//   ping
//   sleep MS                        wait, e.g. for late notifications
//   terminate-session               HTTP DELETE of the session (streamable-http only)
//
// Output: one JSON object. "initialize" holds the negotiated protocolVersion, serverInfo,
// capabilities, instructions and (HTTP) sessionId. Each command's entry is keyed by its name, or
// "call:TOOL", "read:URI", "get-prompt:NAME"; a repeated key gets a suffix "#2", "#3", ....
//   list-*: {pages, count, names, tools|resources|resourceTemplates|prompts}
//   call:   {result, logging: [params of notifications/message received while the call was in
//           flight], progress: [params of notifications/progress before the response] (--progress)}
//   others: the result, or {result} for ping, set-level and terminate-session
//   setup commands: {requests: [params of each server request answered]} (roots: a count)
// A failed request is recorded as {"error": {"code", "message", "data"?}} (code: JSON-RPC code, or
// HTTP status for an HTTP-level failure). Top-level "logging" lists every notifications/message,
// "notifications" every other server notification (a progress notification that arrives after its
// call's response lands here), "errors" protocol or transport errors reported by the SDK.
// Exit status: 0, or 1 if connecting failed (then only "initialize": {"error"} is printed), 2 on
// bad usage.

import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

const COMMANDS = {
  // name: number of arguments (-1 = variable, up to the next command name)
  'sampling-reply': 1, 'roots': -1, 'elicit-accept': 1,
  'list-tools': 0, 'list-resources': 0, 'list-templates': 0, 'list-prompts': 0,
  'call': 2, 'read': 1, 'get-prompt': 2, 'set-level': 1, 'ping': 0, 'sleep': 1,
  'terminate-session': 0,
};

function usage(message) {
  process.stderr.write(`sdk-client: ${message}\n` +
    'usage: node sdk-client.mjs (--url URL [--transport streamable-http|sse] | --stdio "CMD ARGS") COMMAND...\n');
  process.exit(2);
}

// Split "CMD ARGS" like a shell would for simple cases: whitespace, '...' and "..." quoting.
function splitCommandLine(line) {
  const words = [];
  let word = null;
  let quote = null;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null; else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word = word ?? '';
    } else if (/\s/.test(ch)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (quote) usage(`unterminated quote in --stdio "${line}"`);
  if (word !== null) words.push(word);
  return words;
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (e) {
    usage(`${what} is not valid JSON: ${text}`);
  }
}

function parseArgs(argv) {
  const opts = { transport: 'streamable-http', headers: {}, timeout: 30000, steps: [] };
  let progressNext = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--url') opts.url = value();
    else if (arg === '--transport') opts.transport = value();
    else if (arg === '--stdio') opts.stdio = value();
    else if (arg === '--timeout') opts.timeout = Number(value());
    else if (arg === '--header') {
      const h = value();
      const colon = h.indexOf(':');
      if (colon <= 0) usage(`bad --header "${h}" (want "Name: value")`);
      opts.headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
    } else if (arg === '--progress') progressNext = true;
    else if (arg in COMMANDS) {
      const n = COMMANDS[arg];
      let args;
      if (n >= 0) {
        if (i + n >= argv.length) usage(`${arg} needs ${n} argument(s)`);
        args = argv.slice(i + 1, i + 1 + n);
        i += n;
      } else {
        args = [];
        while (i + 1 < argv.length && !(argv[i + 1] in COMMANDS) && !argv[i + 1].startsWith('--')) {
          args.push(argv[++i]);
        }
      }
      const step = { command: arg, args };
      if (arg === 'call') {
        step.progress = progressNext;
        progressNext = false;
      }
      opts.steps.push(step);
    } else usage(`unknown argument "${arg}"`);
  }
  if (!opts.url && !opts.stdio) usage('need --url or --stdio');
  if (opts.url && opts.stdio) usage('--url and --stdio are exclusive');
  if (!['streamable-http', 'sse'].includes(opts.transport)) usage(`unknown transport "${opts.transport}"`);
  return opts;
}

// code: the JSON-RPC error code, the HTTP status for an HTTP-level failure, or null.
function errorRecord(e) {
  const error = { code: typeof e?.code === 'number' ? e.code : null, message: String(e?.message ?? e) };
  if (e?.data !== undefined) error.data = e.data;
  return { error };
}

// Collect every page of a list method. field: the array in each result.
async function listAll(fetchPage, field, keyOf) {
  const items = [];
  let pages = 0;
  let cursor;
  do {
    const result = await fetchPage(cursor === undefined ? {} : { cursor });
    pages++;
    items.push(...(result[field] ?? []));
    cursor = result.nextCursor;
  } while (cursor !== undefined && cursor !== null && pages < 1000);
  return { pages, count: items.length, names: items.map(keyOf), [field]: items };
}

// Transport wrapper that shows every incoming message to observe() before the SDK sees it.
// Notifications are recorded here, in wire order, because the SDK Client dispatches notifications
// a microtask later than responses: a progress notification that arrives in the same chunk as its
// call's response would otherwise be dropped ("unknown token") and logging attributed late.
class TapTransport {
  constructor(inner, observe) {
    this.inner = inner;
    inner.onmessage = (message, extra) => {
      observe(message);
      this.onmessage?.(message, extra);
    };
    inner.onclose = () => this.onclose?.();
    inner.onerror = (error) => this.onerror?.(error);
  }
  start() { return this.inner.start(); }
  send(message, options) { return this.inner.send(message, options); }
  close() { return this.inner.close(); }
  get sessionId() { return this.inner.sessionId; }
  setProtocolVersion(version) { this.inner.setProtocolVersion?.(version); }
}

// Client that remembers the raw initialize result (the SDK keeps only parts of it).
class RecordingClient extends Client {
  async request(request, schema, options) {
    const result = await super.request(request, schema, options);
    if (request.method === 'initialize') this.initializeResult = result;
    return result;
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const out = {};
  const logging = [];
  const notifications = [];
  const errors = [];
  const setKey = (base, value) => {
    let key = base;
    for (let n = 2; key in out; n++) key = `${base}#${n}`;
    out[key] = value;
  };

  // Declare capabilities and server-to-client handlers from the setup commands.
  const capabilities = {};
  const setup = {};
  for (const step of opts.steps) {
    if (step.command === 'sampling-reply') {
      capabilities.sampling = {};
      setup.sampling = { text: step.args[0], requests: [] };
    } else if (step.command === 'roots') {
      capabilities.roots = { listChanged: true };
      setup.roots = {
        roots: step.args.map((dir) => ({ uri: pathToFileURL(path.resolve(dir)).href, name: path.basename(path.resolve(dir)) })),
        requests: 0,
      };
    } else if (step.command === 'elicit-accept') {
      capabilities.elicitation = {};
      setup.elicitation = { content: parseJson(step.args[0], 'elicit-accept content'), requests: [] };
    }
  }

  const client = new RecordingClient({ name: 'forge-sdk-client', version: '1.0.0' }, { capabilities });
  if (setup.sampling) {
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      setup.sampling.requests.push(request.params);
      return { role: 'assistant', content: { type: 'text', text: setup.sampling.text }, model: 'forge-test-model', stopReason: 'endTurn' };
    });
  }
  if (setup.roots) {
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      setup.roots.requests++;
      return { roots: setup.roots.roots };
    });
  }
  if (setup.elicitation) {
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      setup.elicitation.requests.push(request.params);
      return { action: 'accept', content: setup.elicitation.content };
    });
  }
  // Incoming notifications, seen at the transport in wire order. Logging goes to "logging" and to
  // the call in flight; progress goes to the call in flight if it asked for progress and its
  // response has not arrived yet; anything else (including late progress) to "notifications".
  let currentCall = null;
  let currentCallAnswered = false;
  const observe = (message) => {
    if (message.method === undefined) {
      if (message.id !== undefined && currentCall) currentCallAnswered = true; // the call's response
      return;
    }
    if (message.id !== undefined) return; // a server-to-client request; the handlers record those
    const inCall = currentCall && !currentCallAnswered;
    if (message.method === 'notifications/message') {
      logging.push(message.params);
      if (inCall) currentCall.logging.push(message.params);
    } else if (message.method === 'notifications/progress' && inCall && currentCall.progress) {
      currentCall.progress.push(message.params);
    } else {
      notifications.push({ method: message.method, params: message.params });
    }
  };
  client.onerror = (e) => {
    const text = String(e?.message ?? e);
    // Progress is recorded by observe(); the SDK's complaint about late progress is noise here.
    if (!text.startsWith('Received a progress notification for an unknown token')) errors.push(text);
  };

  let inner;
  if (opts.stdio) {
    const [command, ...args] = splitCommandLine(opts.stdio);
    if (!command) usage('empty --stdio command');
    inner = new StdioClientTransport({ command, args, env: { ...process.env }, stderr: 'inherit' });
  } else if (opts.transport === 'sse') {
    inner = new SSEClientTransport(new URL(opts.url), { requestInit: { headers: opts.headers } });
  } else {
    inner = new StreamableHTTPClientTransport(new URL(opts.url), { requestInit: { headers: opts.headers } });
  }

  const transport = new TapTransport(inner, observe);
  const requestOptions = { timeout: opts.timeout };
  try {
    await client.connect(transport, requestOptions);
  } catch (e) {
    out.initialize = errorRecord(e);
    out.errors = errors;
    await client.close().catch(() => {});
    finish(out, 1);
    return;
  }
  const init = client.initializeResult ?? {};
  out.initialize = {
    protocolVersion: init.protocolVersion,
    serverInfo: client.getServerVersion(),
    capabilities: client.getServerCapabilities(),
    instructions: client.getInstructions(),
    sessionId: transport.sessionId,
  };

  for (const step of opts.steps) {
    const [a0, a1] = step.args;
    switch (step.command) {
      case 'sampling-reply': case 'roots': case 'elicit-accept':
        break; // recorded at the end, once all requests have arrived
      case 'list-tools':
        setKey('list-tools', await listAll((p) => client.listTools(p, requestOptions), 'tools', (t) => t.name).catch(errorRecord));
        break;
      case 'list-resources':
        setKey('list-resources', await listAll((p) => client.listResources(p, requestOptions), 'resources', (r) => r.uri).catch(errorRecord));
        break;
      case 'list-templates':
        setKey('list-templates', await listAll((p) => client.listResourceTemplates(p, requestOptions), 'resourceTemplates', (t) => t.uriTemplate).catch(errorRecord));
        break;
      case 'list-prompts':
        setKey('list-prompts', await listAll((p) => client.listPrompts(p, requestOptions), 'prompts', (p) => p.name).catch(errorRecord));
        break;
      case 'call': {
        const record = { logging: [] };
        if (step.progress) record.progress = [];
        const options = { ...requestOptions };
        if (step.progress) options.onprogress = () => {}; // makes the SDK send _meta.progressToken
        currentCall = record;
        currentCallAnswered = false;
        try {
          record.result = await client.callTool({ name: a0, arguments: parseJson(a1, 'call arguments') }, undefined, options);
        } catch (e) {
          Object.assign(record, errorRecord(e));
        }
        currentCall = null;
        setKey(`call:${a0}`, record);
        break;
      }
      case 'read':
        setKey(`read:${a0}`, await client.readResource({ uri: a0 }, requestOptions).catch(errorRecord));
        break;
      case 'get-prompt':
        setKey(`get-prompt:${a0}`, await client.getPrompt({ name: a0, arguments: parseJson(a1, 'prompt arguments') }, requestOptions).catch(errorRecord));
        break;
      case 'set-level':
        setKey('set-level', await client.setLoggingLevel(a0, requestOptions).then((result) => ({ result })).catch(errorRecord));
        break;
      case 'ping':
        setKey('ping', await client.ping(requestOptions).then((result) => ({ result })).catch(errorRecord));
        break;
      case 'sleep':
        await new Promise((resolve) => setTimeout(resolve, Number(a0)));
        break;
      case 'terminate-session':
        if (typeof inner.terminateSession !== 'function') {
          setKey('terminate-session', errorRecord(new Error('terminate-session needs --transport streamable-http')));
        } else {
          setKey('terminate-session', await inner.terminateSession().then(() => ({ result: {} })).catch(errorRecord));
        }
        break;
    }
  }

  if (setup.sampling) out['sampling-reply'] = { requests: setup.sampling.requests };
  if (setup.roots) out.roots = { roots: setup.roots.roots, requests: setup.roots.requests };
  if (setup.elicitation) out['elicit-accept'] = { requests: setup.elicitation.requests };
  out.logging = logging;
  out.notifications = notifications;
  out.errors = errors;
  await client.close().catch((e) => errors.push(String(e?.message ?? e)));
  finish(out, 0);
}

function finish(out, code) {
  process.stdout.write(JSON.stringify(out, null, 2) + '\n', () => process.exit(code));
}

main().catch((e) => {
  process.stderr.write(`sdk-client: ${e?.stack ?? e}\n`);
  process.exit(1);
});
